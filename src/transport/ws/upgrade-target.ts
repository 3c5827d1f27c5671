/**
 * The path and query of an upgrade request, read without trusting the request target: `new URL`
 * on a raw target such as `//a:b` reads `a:b` as a host and throws — inside the server's `upgrade`
 * event, where nothing catches it, so one request from anyone on the LAN ended the peer.
 */

/**
 * An origin-form target (`/path?query`) as a URL on a fixed origin, or undefined for anything else
 * (absolute-form, `*`, a target that does not parse). Never throws.
 *
 * @example
 * const url = upgradeUrl(req.url);
 * if (url === undefined) return refuse(socket, 400);
 */
export function upgradeUrl(target: string | undefined): URL | undefined {
  if (target === undefined || !target.startsWith('/')) return undefined;
  try {
    // The fixed origin first, so `//host:port/...` stays a path and is never read as an authority.
    return new URL(`http://upgrade.invalid${target}`);
  } catch {
    return undefined;
  }
}
