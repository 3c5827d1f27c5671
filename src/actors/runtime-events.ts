/**
 * The runtime's public events, for embedders and the local push streams. Names are `noun:verb`.
 */
import type { Pin } from '../machines/trust.machine.js';
import type { RecordedEvent } from '../store/event-store.js';

export interface RuntimeEvents {
  'peer:started': (info: { peerId: string; peerUrl: string; apiUrl: string }) => void;
  'peer:stopping': (info: { reason: string }) => void;
  'peer:stopped': () => void;
  'log:appended': (events: readonly RecordedEvent[]) => void;
  'log:error': (err: { stream: string; code: string; message: string }) => void;
  'log:overloaded': (info: { pending: number }) => void;
  'trust:changed': (pin: Pin) => void;
  /** Something the user must know about: a key that changed, a blocked peer knocking, … */
  'security:alert': (alert: {
    kind: string;
    peerId: string | null;
    detail: string;
    at: string;
  }) => void;
}
