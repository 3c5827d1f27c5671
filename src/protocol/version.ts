/** Wire protocol version of the peer API (`/p2p/v1/…`). Bumped only for incompatible changes. */
export const PROTOCOL_VERSION = 1 as const;

/** Version of the conclave software, reported by `/api/info` and `conclave --version`. */
export const SOFTWARE_VERSION = '0.1.0';
