/**
 * The raw baseline hub of `bench/rooms.bench.ts`, in its own process: a plain `ws` server that
 * takes each client message and broadcasts it to every connected client, coalescing per tick like
 * the room host does (everything received in one tick goes out as one frame per client, written
 * under one cork). No crypto, no envelopes, no log: the floor the rooms numbers are held against.
 */
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { procStats, serveIpc } from './rooms-ipc.js';

const NL = Buffer.from('\n');
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
const clients = new Set<WebSocket>();
let pending: Buffer[] = [];
let isScheduled = false;

function flush(): void {
  isScheduled = false;
  const parts: Buffer[] = [];
  for (const p of pending) {
    if (parts.length > 0) parts.push(NL);
    parts.push(p);
  }
  pending = [];
  const frame = Buffer.concat(parts);
  for (const ws of clients) {
    const raw = (ws as unknown as { _socket?: Duplex })._socket;
    raw?.cork();
    ws.send(frame, { binary: true });
    if (raw) process.nextTick(() => raw.uncork());
  }
}

wss.on('connection', (ws) => {
  clients.add(ws);
  ws.on('message', (data: RawData) => {
    pending.push(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
    if (!isScheduled) {
      isScheduled = true;
      setImmediate(flush);
    }
  });
  ws.on('close', () => clients.delete(ws));
  ws.on('error', () => undefined);
});

const address = wss.address();
const port = typeof address === 'object' && address !== null ? address.port : 0;
serveIpc({
  info: () => ({ url: `ws://127.0.0.1:${port}`, clients: clients.size }),
  stats: () => procStats(),
  exit() {
    for (const ws of clients) ws.terminate();
    wss.close();
    setImmediate(() => process.exit(0));
  },
});
