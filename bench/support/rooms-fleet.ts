/**
 * A fleet of receivers for `bench/rooms.bench.ts`, in its own process (the receivers never share
 * the host's process). One fleet runs, all of one mode:
 * - `rooms`: room members, each a whole in-process peer (rooms-peer.ts) that connects to the host,
 *   joins with an invite code and sees each message on its hub once it is decrypted and verified;
 * - `raw`: plain `ws` clients of the raw hub, reading the same payloads from unencrypted frames;
 * - `light`: sessions-only receivers (real handshake, sealed link, a real join request) that count
 *   the `room.msgs` the host pushes without verifying or decrypting them, so that a 50-member room
 *   can take 100 k messages in the time budget while the host does its full work (RSS phase).
 * When the fleet is the sender's, receiver 0 also sends: as fast as the window allows (`burst`,
 * gated by the slowest receiver of the whole room, relayed by the parent) or at a fixed rate.
 * Payloads carry `phase|index|send time (hrtime ns)|padding`, so latency needs no clock sync.
 */
import { WebSocket, type RawData } from 'ws';
import { createActor } from 'xstate';
import type { SpawnActor } from '../../src/actors/handshake/types.js';
import { createPeerSessions } from '../../src/actors/peer-sessions.js';
import type { PeerSessions } from '../../src/actors/peer-sessions.types.js';
import { generateIdentity } from '../../src/crypto/index.js';
import { decodeRoomFrame, decodeInvite } from '../../src/protocol/room.codec.js';
import type { InnerPush } from '../../src/protocol/sealed.codec.js';
import { measureFloorCpuUs } from './rooms-floor.js';
import { procStats, serveIpc } from './rooms-ipc.js';
import { startMemberPeer, type MemberPeer, type StoreKind } from './rooms-peer.js';

type Mode = 'rooms' | 'raw' | 'light';

interface Receiver {
  count: number;
  lat: Float64Array | null;
}

const PAYLOAD_BYTES = Number(process.env.ROOMS_BENCH_PAYLOAD ?? 256);
const receivers: Receiver[] = [];
const closers: Array<() => Promise<void> | void> = [];
let mode: Mode = 'raw';
let phase = 0;
let roomId = '';
let senderPeer: MemberPeer | undefined;
let senderWs: WebSocket | undefined;

// Sender state.
let isSending = false;
let windowSize = 0;
let globalMin = 0;
let sent = 0;
let acked = 0;
let failed = 0;
let lastError = '';

const nowNs = (): number => Number(process.hrtime.bigint());
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function payload(i: number): string {
  const head = `${phase}|${i}|${nowNs()}|`;
  return head.padEnd(PAYLOAD_BYTES, 'x');
}

function onPayload(r: Receiver, s: string, at: number): void {
  const a = s.indexOf('|');
  const b = s.indexOf('|', a + 1);
  const c = s.indexOf('|', b + 1);
  if (a < 0 || b < 0 || c < 0 || Number(s.slice(0, a)) !== phase) return;
  r.count++;
  if (r.lat) {
    const i = Number(s.slice(a + 1, b));
    if (i < r.lat.length) r.lat[i] = (at - Number(s.slice(b + 1, c))) / 1e6;
  }
}

function sendOne(): void {
  const text = payload(sent++);
  if (senderPeer) {
    senderPeer.rooms.send(roomId, text).then(
      () => void acked++,
      (err: unknown) => {
        failed++;
        lastError = err instanceof Error ? err.message : String(err);
      },
    );
  } else if (senderWs) {
    senderWs.send(Buffer.from(text), { binary: true });
    acked++;
  }
}

function pump(): void {
  while (isSending && sent - globalMin < windowSize) sendOne();
}

process.on('message', (raw) => {
  const m = raw as { t?: string; v?: number };
  if (m.t === 'gmin' && typeof m.v === 'number') {
    globalMin = m.v;
    pump();
  }
});

async function retry<T>(what: string, fn: () => Promise<T>, attempts = 80): Promise<T> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      // The host limits handshakes per source address (20/s): every fleet shares 127.0.0.1.
      await sleep(150 + Math.random() * 250);
    }
  }
  throw new Error(`${what}: ${last instanceof Error ? last.message : String(last)}`);
}

async function setupRooms(a: Record<string, unknown>): Promise<void> {
  const invites = a.invites as string[];
  const store = a.store as StoreKind;
  for (const [n, code] of invites.entries()) {
    const peer = await startMemberPeer(`${String(a.tag)}-${n}`, store);
    closers.push(() => peer.close());
    await retry('connect', () =>
      peer.sessions.connect({ url: String(a.hostUrl), expectedPeerId: String(a.hostId) }),
    );
    await retry('join', () => peer.rooms.join('', { invite: code }), 10);
    const r: Receiver = { count: 0, lat: null };
    receivers.push(r);
    peer.runtime.hub.events$(peer.runtime.hub.lastId).subscribe((e) => {
      if (e.type !== 'message' || e.data.roomId !== roomId) return;
      const text = e.data.text;
      if (typeof text === 'string') onPayload(r, text, nowNs());
    });
    if (n === 0 && a.sender === true) senderPeer = peer;
  }
}

async function setupRaw(a: Record<string, unknown>): Promise<void> {
  for (let n = 0; n < Number(a.n); n++) {
    const ws = new WebSocket(String(a.url), { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const r: Receiver = { count: 0, lat: null };
    receivers.push(r);
    ws.on('message', (data: RawData) => {
      const at = nowNs();
      for (const s of (data as Buffer).toString('utf8').split('\n')) onPayload(r, s, at);
    });
    closers.push(() => ws.terminate());
    if (n === 0 && a.sender === true) senderWs = ws;
  }
}

const spawnActor: SpawnActor = (machine, input) => createActor(machine, { input }).start() as never;

async function setupLight(a: Record<string, unknown>): Promise<void> {
  const hostId = String(a.hostId);
  for (const [n, code] of (a.invites as string[]).entries()) {
    const identity = await generateIdentity('ed25519');
    const r: Receiver = { count: 0, lat: null };
    const sessions: PeerSessions = createPeerSessions(
      { identity },
      {
        spawnActor,
        pinState: () => 'none',
        onEstablished: () => undefined,
        onSecurityAlert: () => undefined,
        app: {
          push: (_from: string, inner: InnerPush) => {
            if (inner.type !== 'room.msgs') return;
            const msgs = (inner as { msgs?: unknown[] }).msgs;
            if (Array.isArray(msgs)) r.count += msgs.length;
          },
          // host-signed room frames: count without checking (a stripped-down receiver)
          frame: (_from: string, frame: Buffer) => {
            const d = decodeRoomFrame(frame);
            if (d.ok) r.count += d.value.batch.msgs.length;
          },
        },
      },
    );
    closers.push(() => sessions.close());
    const c = await retry('connect', () =>
      sessions.connect({ url: String(a.hostUrl), expectedPeerId: hostId }),
    );
    if (c.link !== 'up') throw new Error('light receiver: no push link');
    const invite = decodeInvite(code);
    if (!invite.ok) throw new Error('light receiver: bad invite');
    const res = await sessions.request(hostId, {
      method: 'POST',
      path: '/rooms/join',
      body: {
        roomId,
        name: `${String(a.tag)}-${n}`,
        kind: identity.kind,
        publicKey: identity.publicKeyBytes.toString('base64url'),
        invite: invite.value.token,
      },
    });
    if (res.status !== 200) throw new Error(`light join answered ${res.status}`);
    receivers.push(r);
  }
}

function counts(): { min: number; sum: number } {
  let min = Number.POSITIVE_INFINITY;
  let sum = 0;
  for (const r of receivers) {
    if (r.count < min) min = r.count;
    sum += r.count;
  }
  return { min: receivers.length === 0 ? 0 : min, sum };
}

const ipc = serveIpc({
  async setup(a) {
    mode = a.mode as Mode;
    roomId = typeof a.roomId === 'string' ? a.roomId : '';
    if (mode === 'rooms') await setupRooms(a);
    else if (mode === 'raw') await setupRaw(a);
    else await setupLight(a);
    return { receivers: receivers.length };
  },
  phase(a) {
    phase = Number(a.phase);
    const cap = Number(a.latencyCap ?? 0);
    for (const r of receivers) {
      r.count = 0;
      r.lat = cap > 0 ? new Float64Array(cap).fill(Number.NaN) : null;
    }
    isSending = false;
    sent = 0;
    acked = 0;
    failed = 0;
    globalMin = 0;
    lastMin = -1;
    lastSum = -1;
    reportProgressEvery(Number(a.progressMs ?? 50));
    return true;
  },
  burst(a) {
    windowSize = Number(a.window);
    isSending = true;
    pump();
    return true;
  },
  async rate(a) {
    const rate = Number(a.rate);
    const count = Number(a.count);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      sendOne();
    }
    return { sent };
  },
  stop() {
    isSending = false;
    return { sent, acked, failed, lastError };
  },
  stats() {
    return { ...procStats(), ...counts(), sent, acked, failed };
  },
  floor: () => measureFloorCpuUs(5, 200, PAYLOAD_BYTES),
  collect() {
    const n = receivers[0]?.lat?.length ?? 0;
    const maxPerMsg: number[] = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
    const all: number[] = [];
    for (const r of receivers) {
      if (!r.lat) continue;
      for (let i = 0; i < n; i++) {
        const v = r.lat[i] as number;
        if (Number.isNaN(v)) maxPerMsg[i] = Number.NaN;
        else {
          all.push(v);
          if (v > (maxPerMsg[i] as number)) maxPerMsg[i] = v;
        }
      }
    }
    return { maxPerMsg: maxPerMsg.map((v) => (Number.isFinite(v) ? v : null)), all };
  },
  async exit() {
    for (const c of closers.splice(0)) await c();
    setImmediate(() => process.exit(0));
  },
});

let lastMin = -1;
let lastSum = -1;
let progressTimer: NodeJS.Timeout | undefined;

/** Report counts to the parent when they change: often while a burst needs flow control. */
function reportProgressEvery(ms: number): void {
  if (progressTimer) clearInterval(progressTimer);
  progressTimer = setInterval(() => {
    const { min, sum } = counts();
    if (min === lastMin && sum === lastSum) return;
    lastMin = min;
    lastSum = sum;
    ipc.note({ t: 'progress', min, sum, at: nowNs() });
  }, ms);
}
reportProgressEvery(50);
