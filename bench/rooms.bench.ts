/**
 * Rooms end to end over real processes (perf-ceilings §5 T1, T2, T3, T5, T10), each number beside
 * a baseline measured in the same run.
 *
 * Layout. The room host is a real peer: the compiled CLI, `node dist/cli/main.js serve --volatile
 * --no-discovery` (what `npm start` runs; the bench builds `dist/` first), in its own process,
 * driven through its local API; its CPU and memory come from its `/api/metrics`. Members are whole
 * in-process peers (sessions, push links, rooms, event log; bench/support/rooms-peer.ts) sharing a
 * few fleet processes, never the host's; they connect, join with invite codes and see messages on
 * their hub (`runtime.hub.events$()`, the feed behind `GET /api/events`). The sender is alone in
 * its fleet and also receives its own messages back, as every member does. The baseline is a
 * plain `ws` hub broadcasting each client message to N clients spread over the same number of
 * processes, with the same 256 B payload and the same batching (coalesced per tick).
 *
 * Measured, for rooms of K = 10 and 50 members:
 * - deliveries/s with the sender as fast as a window allows (≤ W messages in flight behind the
 *   slowest receiver; relayed by the parent), best of two interleaved bursts per side;
 * - p50/p99 completion latency (the last member has the message) at a fixed 100 msg/s;
 * - host CPU per delivery (CPU time of the host process / deliveries in the same window);
 * - per-receiver messages per CPU-second of the receiver processes vs 1/(verify + decrypt +
 *   10 µs), the floor measured in a receiver process right after each burst, also in CPU time;
 * - K = 10: sender and receiver messages per CPU-second at a fixed 200 msg/s with the memory
 *   event store vs the same room with every member on a no-op store (best of three, interleaved);
 * - host RSS every 10 k messages while a 50-member room takes 100 k messages (the sender is a
 *   real member; the other 49 are light receivers — real sessions, links and joins, no
 *   verify/decrypt — so that the host, which does its full work, is not held up by 49 members
 *   verifying on two shared cores). It stops at a time cap; a partial run already over the
 *   ceiling counts as a miss, one under it as incomplete.
 *
 * Wall-clock rows (deliveries/s, latency) depend on the CPU the box gives us: the "others busy"
 * column is the CPU other processes used meanwhile. CPU-normalized rows do not depend on it.
 * Knobs (env): ROOMS_BENCH_ONLY=k10,k50,log,rss picks parts (log runs with the K = 10 part);
 * ROOMS_BENCH_RSS_CAP_S (default 100) bounds the RSS part; ROOMS_BENCH_PROF=DIR starts every
 * child with `--cpu-prof --cpu-prof-dir DIR` and prints their PIDs on stderr;
 * ROOMS_BENCH_HEAP=DIR writes a heap snapshot of the host at the end of the RSS part;
 * ROOMS_BENCH_HOST_FLAGS adds node flags to the host (e.g. `--max-old-space-size=128`);
 * ROOMS_BENCH_TSX_HOST=1 runs the host from the sources under tsx (no build).
 * Timings are reported, never asserted.
 */
import { readFileSync } from 'node:fs';
import { percentile, toRate, type BenchModule, type RatioRow } from './lib.js';
import { measureFloorCpuUs } from './support/rooms-floor.js';
import { ensureBuilt, startCliHost } from './support/rooms-cli-host.js';
import { startChild, type BenchChild, type ProcStats } from './support/rooms-ipc.js';

const PAYLOAD_BYTES = 256;
const RATE = 100;
const LAT_MESSAGES = 300; // 3 s at 100 msg/s; the first 10 % are warm-up
const WARM_MS = 600;
const MEASURE_MS = 2_500;
const WINDOW = { raw: 1024, rooms: 256 } as const;
const RSS_MESSAGES = 100_000;
const RSS_EVERY = 10_000;
const RSS_CAP_MS = 1000 * Number(process.env.ROOMS_BENCH_RSS_CAP_S ?? 100);
const RECEIVER_PROCS: Readonly<Record<number, number>> = { 10: 2, 50: 4 };
const only = (process.env.ROOMS_BENCH_ONLY ?? 'k10,k50,log,rss').split(',');
const profDir = process.env.ROOMS_BENCH_PROF;
const heapDir = process.env.ROOMS_BENCH_HEAP;
const profFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
/** Extra node flags for the room host only (ROOMS_BENCH_HOST_FLAGS, space-separated). */
const hostFlags = (process.env.ROOMS_BENCH_HOST_FLAGS ?? '').split(' ').filter((f) => f !== '');

/** A bench child; with ROOMS_BENCH_PROF every child writes a CPU profile named by its PID. */
function child(name: string, script: string, extra: readonly string[] = []): BenchChild {
  const c = startChild(name, script, [], [...profFlags, ...extra]);
  if (profDir) process.stderr.write(`[rooms bench] ${name}: pid ${c.child.pid ?? '?'}\n`);
  return c;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---- the box -----------------------------------------------------------------------------------

interface BoxReading {
  readonly busy: number;
  readonly at: number;
}

/** Busy CPU of the whole box (every process, ours or not), in jiffies, from /proc/stat. */
function boxReading(): BoxReading {
  let busy = Number.NaN;
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/) ?? [];
    const [user, nice, system, , , irq, softirq] = f.slice(1).map(Number);
    busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0);
  } catch {
    // not Linux: the box figure is left out
  }
  return { busy, at: performance.now() };
}

/** Cores the whole box kept busy between two readings (USER_HZ = 100). */
const boxCores = (a: BoxReading, b: BoxReading): number =>
  (b.busy - a.busy) / 100 / ((b.at - a.at) / 1000);

// ---- processes ---------------------------------------------------------------------------------

interface FleetStats extends ProcStats {
  readonly min: number;
  readonly sum: number;
  readonly sent: number;
  readonly acked: number;
  readonly failed: number;
}

/** A room (or the raw hub) with its fleets, and the sender's flow-control relay. */
interface Setup {
  readonly label: string;
  readonly server: BenchChild;
  readonly fleets: BenchChild[];
  readonly window: number;
  /** The slowest receiver's count in this phase. */
  globalMin(): number;
  resetProgress(): void;
  close(): Promise<void>;
}

function wire(label: string, server: BenchChild, fleets: BenchChild[], window: number): Setup {
  const mins = fleets.map(() => 0);
  let gmin = 0;
  fleets.forEach((f, i) =>
    f.onNote((m) => {
      if (m.t !== 'progress') return;
      mins[i] = Number(m.min);
      const g = Math.min(...mins);
      if (g !== gmin) {
        gmin = g;
        fleets[0]?.tell({ t: 'gmin', v: g });
      }
    }),
  );
  return {
    label,
    server,
    fleets,
    window,
    globalMin: () => gmin,
    resetProgress() {
      mins.fill(0);
      gmin = 0;
    },
    async close() {
      await Promise.all([...fleets, server].map((c) => c.stop()));
    },
  };
}

/** The sender alone in fleet 0; the other K − 1 receivers spread over `procs` fleets. */
function fleetSizes(k: number, procs: number): number[] {
  const rest = k - 1;
  return [1, ...Array.from({ length: procs }, (_, i) => Math.floor((rest + i) / procs))];
}

async function rawSetup(k: number): Promise<Setup> {
  const hub = child('raw-hub', './rooms-raw-hub.ts');
  const { url } = await hub.call<{ url: string }>('info');
  const sizes = fleetSizes(k, RECEIVER_PROCS[k] ?? 2);
  const fleets = sizes.map((_, i) => child(`raw-fleet-${i}`, './rooms-fleet.ts'));
  await Promise.all(
    fleets.map((f, i) => f.call('setup', { mode: 'raw', n: sizes[i], url, sender: i === 0 })),
  );
  return wire(`raw ws K=${k}`, hub, fleets, WINDOW.raw);
}

async function startHost(): Promise<{
  host: BenchChild;
  peerUrl: string;
  peerId: string;
  roomId: string;
}> {
  // The host is the compiled CLI (`conclave serve --volatile`, what `npm start` runs); with
  // ROOMS_BENCH_TSX_HOST=1 it is the in-process IPC host under tsx instead.
  let host: BenchChild;
  if (process.env.ROOMS_BENCH_TSX_HOST === '1')
    host = child('room-host', './rooms-host.ts', hostFlags);
  else {
    host = await startCliHost('room-host', [...profFlags, ...hostFlags], heapDir);
    if (profDir) process.stderr.write(`[rooms bench] room-host: pid ${host.child.pid ?? '?'}\n`);
  }
  const { peerUrl, peerId } = await host.call<{ peerUrl: string; peerId: string }>('info');
  const roomId = await host.call<string>('create', { name: 'bench' });
  return { host, peerUrl, peerId, roomId };
}

/** Start a host, create an open room, and join `sizes` members per fleet with invite codes. */
async function joinFleets(
  label: string,
  sizes: readonly number[],
  modeOf: (i: number) => 'rooms' | 'light',
  store: 'memory' | 'noop',
  window: number,
): Promise<Setup> {
  const k = sizes.reduce((a, b) => a + b, 0);
  const { host, peerUrl, peerId, roomId } = await startHost();
  const invites = await host.call<string[]>('invites', { roomId, n: k });
  const fleets = sizes.map((_, i) => child(`${label}-fleet-${i}`, './rooms-fleet.ts'));
  const setup = wire(label, host, fleets, window);
  try {
    let from = 0;
    await Promise.all(
      fleets.map((f, i) =>
        f.call(
          'setup',
          {
            mode: modeOf(i),
            tag: `${label}-${i}`,
            hostUrl: peerUrl,
            hostId: peerId,
            roomId,
            invites: invites.slice(from, (from += sizes[i] ?? 0)),
            store,
            sender: i === 0,
          },
          120_000,
        ),
      ),
    );
    const members = await host.call<number>('members', { roomId });
    if (members !== k + 1) throw new Error(`${label}: ${members} members, expected ${k + 1}`);
  } catch (err) {
    await setup.close();
    throw err;
  }
  return setup;
}

const roomsSetup = (k: number, store: 'memory' | 'noop'): Promise<Setup> =>
  joinFleets(
    `rooms K=${k} ${store}`,
    fleetSizes(k, RECEIVER_PROCS[k] ?? 2),
    () => 'rooms',
    store,
    WINDOW.rooms,
  );

// ---- phases ------------------------------------------------------------------------------------

let phaseId = 0;

/**
 * Reset every receiver's counts for a new phase. Bursts need fresh progress (every 5 ms) for the
 * sender's window; other phases only to see the end, so they report every 50 ms and disturb less.
 */
async function startPhase(s: Setup, latencyCap: number, progressMs = 50): Promise<void> {
  phaseId++;
  s.resetProgress();
  await Promise.all(
    s.fleets.map((f) => f.call('phase', { phase: phaseId, latencyCap, progressMs })),
  );
}

async function drain(s: Setup, sent: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (s.globalMin() < sent) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

async function snapshot(s: Setup): Promise<{ server: ProcStats; fleets: FleetStats[] }> {
  const [server, ...fleets] = await Promise.all([
    s.server.call<ProcStats>('stats'),
    ...s.fleets.map((f) => f.call<FleetStats>('stats')),
  ]);
  return { server, fleets };
}

interface BurstResult {
  readonly deliveriesPerSec: number;
  readonly hostUsPerDelivery: number;
  /** Messages each receiver handles per CPU-second of its process (fleets 1..n). */
  readonly receiverPerCpuSec: number;
  /** Messages the sender gets acknowledged per CPU-second of its process (fleet 0). */
  readonly senderPerCpuSec: number;
  readonly senderPerSec: number;
  readonly drained: boolean;
  /** CPU over the measured window, in cores: ours (all our processes) and the whole box. */
  readonly ours: number;
  readonly box: number;
  readonly hostCores: number;
}

async function burst(s: Setup): Promise<BurstResult> {
  await startPhase(s, 0, 5);
  const sender = s.fleets[0] as BenchChild;
  await sender.call('burst', { window: s.window });
  await sleep(WARM_MS);
  const boxA = boxReading();
  const a = await snapshot(s);
  await sleep(MEASURE_MS);
  const b = await snapshot(s);
  const boxB = boxReading();
  const stop = await sender.call<{ sent: number; failed: number; lastError: string }>('stop');
  const drained = await drain(s, stop.sent);
  if (stop.failed > 0)
    process.stderr.write(`${s.label}: ${stop.failed} sends failed: ${stop.lastError}\n`);
  let rate = 0;
  let deliveries = 0;
  let recvMsgs = 0;
  let recvCpuS = 0;
  let oursCpuUs = b.server.cpuUs - a.server.cpuUs;
  b.fleets.forEach((f1, i) => {
    const f0 = a.fleets[i] as FleetStats;
    rate += ((f1.sum - f0.sum) * 1e9) / (f1.at - f0.at);
    deliveries += f1.sum - f0.sum;
    oursCpuUs += f1.cpuUs - f0.cpuUs;
    if (i > 0) {
      recvMsgs += f1.sum - f0.sum;
      recvCpuS += (f1.cpuUs - f0.cpuUs) / 1e6;
    }
  });
  const s0 = a.fleets[0] as FleetStats;
  const s1 = b.fleets[0] as FleetStats;
  const wallNs = b.server.at - a.server.at;
  return {
    deliveriesPerSec: rate,
    hostUsPerDelivery: (b.server.cpuUs - a.server.cpuUs) / deliveries,
    receiverPerCpuSec: recvMsgs / recvCpuS,
    senderPerCpuSec: (s1.acked - s0.acked) / ((s1.cpuUs - s0.cpuUs) / 1e6),
    senderPerSec: ((s1.acked - s0.acked) * 1e9) / (s1.at - s0.at),
    drained,
    ours: (oursCpuUs * 1e3) / wallNs,
    box: boxCores(boxA, boxB),
    hostCores: ((b.server.cpuUs - a.server.cpuUs) * 1e3) / wallNs,
  };
}

interface LatencyResult {
  readonly p50: number;
  readonly p99: number;
  readonly deliveryP50: number;
  readonly deliveryP99: number;
  readonly lost: number;
  readonly ours: number;
  readonly box: number;
}

async function latency(s: Setup): Promise<LatencyResult> {
  await startPhase(s, LAT_MESSAGES);
  const sender = s.fleets[0] as BenchChild;
  const boxA = boxReading();
  const a = await snapshot(s);
  await sender.call('rate', { rate: RATE, count: LAT_MESSAGES });
  await drain(s, LAT_MESSAGES, 30_000);
  const b = await snapshot(s);
  const boxB = boxReading();
  const parts = await Promise.all(
    s.fleets.map((f) => f.call<{ maxPerMsg: Array<number | null>; all: number[] }>('collect')),
  );
  const completion: number[] = [];
  let lost = 0;
  for (let i = Math.floor(LAT_MESSAGES / 10); i < LAT_MESSAGES; i++) {
    let worst = 0;
    let isLost = false;
    for (const p of parts) {
      const v = p.maxPerMsg[i];
      if (v === null || v === undefined) isLost = true;
      else if (v > worst) worst = v;
    }
    if (isLost) lost++;
    else completion.push(worst);
  }
  const all = parts.flatMap((p) => p.all);
  const cpu =
    b.server.cpuUs -
    a.server.cpuUs +
    b.fleets.reduce((n, f, i) => n + f.cpuUs - (a.fleets[i]?.cpuUs ?? 0), 0);
  return {
    p50: percentile(completion, 50),
    p99: percentile(completion, 99),
    deliveryP50: percentile(all, 50),
    deliveryP99: percentile(all, 99),
    lost,
    ours: (cpu * 1e3) / (b.server.at - a.server.at),
    box: boxCores(boxA, boxB),
  };
}

// ---- reporting ---------------------------------------------------------------------------------

interface Line {
  readonly metric: string;
  readonly ours: string;
  readonly base: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean | undefined;
  /** Cores other processes kept busy while this was measured, or a reason it does not apply. */
  readonly others: string;
}

const lines: Line[] = [];
const ms = (v: number): string => `${v.toFixed(2)} ms`;
const perS = (v: number): string => (v >= 1e4 ? `${(v / 1e3).toFixed(1)}k/s` : `${v.toFixed(0)}/s`);
const others = (...rs: Array<{ ours: number; box: number }>): string =>
  `${Math.max(...rs.map((r) => Math.max(0, r.box - r.ours))).toFixed(2)} cores`;
const CPU_NORMALIZED = 'n/a (CPU time)';

function line(
  report: (r: RatioRow) => void,
  l: Line & { row: Omit<RatioRow, 'section' | 'name' | 'target' | 'met'> },
): void {
  const { row, ...shown } = l;
  lines.push(shown);
  report({
    section: 'rooms',
    name: l.metric,
    ...row,
    target: l.target,
    ...(l.met !== undefined ? { met: l.met } : {}),
    note: `${l.ours} vs ${l.base} → ${l.ratio}; others on the box: ${l.others}${row.note ? `; ${row.note}` : ''}`,
  });
}

function printTable(): void {
  if (process.argv.includes('--json') || lines.length === 0) return;
  const head = ['metric', 'measured', 'baseline (same run)', 'ratio', 'target', 'verdict'];
  head.push('others busy');
  const rows = lines.map((l) => [
    l.metric,
    l.ours,
    l.base,
    l.ratio,
    l.target,
    l.met === undefined ? (l.target === '—' ? 'info' : 'INCOMPLETE') : l.met ? 'PASS' : 'MISS',
    l.others,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' │ ')}\n`;
  process.stdout.write(`\n${fmt(head)}  ${widths.map((w) => '─'.repeat(w)).join('─┼─')}\n`);
  for (const r of rows) process.stdout.write(fmt(r));
  process.stdout.write(
    '  "others busy": CPU other processes on the box used meanwhile (wall-clock rows only).\n',
  );
}

const bestBy = <T>(xs: readonly T[], f: (x: T) => number, pick: 'max' | 'min'): T =>
  xs.reduce((a, b) => ((pick === 'max' ? f(b) > f(a) : f(b) < f(a)) ? b : a));

// ---- parts -------------------------------------------------------------------------------------

async function kPart(report: (r: RatioRow) => void, k: number, withLog: boolean): Promise<void> {
  const raw = await rawSetup(k);
  let rooms: Setup | undefined;
  try {
    rooms = await roomsSetup(k, 'memory');
    const rawBs: BurstResult[] = [];
    const roomBs: BurstResult[] = [];
    const floors: number[] = [];
    const floorFleet = rooms.fleets[1] as BenchChild;
    for (let round = 0; round < 2; round++) {
      rawBs.push(await burst(raw));
      roomBs.push(await burst(rooms));
      floors.push(await floorFleet.call<number>('floor'));
    }
    const rawL = await latency(raw);
    const roomL = await latency(rooms);

    const rawB = bestBy(rawBs, (b) => b.deliveriesPerSec, 'max');
    const roomB = bestBy(roomBs, (b) => b.deliveriesPerSec, 'max');
    const tput = roomB.deliveriesPerSec / rawB.deliveriesPerSec;
    line(report, {
      metric: `K=${k} deliveries/s`,
      ours: perS(roomB.deliveriesPerSec),
      base: `raw ws ${perS(rawB.deliveriesPerSec)}`,
      ratio: `${tput.toFixed(3)}×`,
      target: '≥ 0.6× raw',
      met: tput >= 0.6,
      others: others(rawB, roomB),
      row: {
        ours: toRate(roomB.deliveriesPerSec),
        baseline: { name: 'raw ws fan-out', rate: toRate(rawB.deliveriesPerSec) },
        ratio: tput,
        note: `best of 2; window ${WINDOW.rooms} vs ${WINDOW.raw} messages; sender ${perS(roomB.senderPerSec)} msg/s; our processes ${roomB.ours.toFixed(2)} cores (raw ${rawB.ours.toFixed(2)})${roomB.drained ? '' : '; NOT drained'}`,
      },
    });
    for (const [q, ours, base, max, dOurs, dBase] of [
      ['p50', roomL.p50, rawL.p50, 1.75, roomL.deliveryP50, rawL.deliveryP50],
      ['p99', roomL.p99, rawL.p99, 2.5, roomL.deliveryP99, rawL.deliveryP99],
    ] as const) {
      const r = ours / base;
      line(report, {
        metric: `K=${k} completion latency ${q} @ ${RATE} msg/s`,
        ours: ms(ours),
        base: `raw ws ${ms(base)}`,
        ratio: `${r.toFixed(2)}×`,
        target: `≤ ${max}× raw`,
        met: r <= max,
        others: others(rawL, roomL),
        row: {
          ours: toRate(1000 / ours),
          baseline: { name: 'raw ws', rate: toRate(1000 / base) },
          ratio: r,
          note: `per delivery ${ms(dOurs)} vs ${ms(dBase)}; our processes ${roomL.ours.toFixed(2)} cores (raw ${rawL.ours.toFixed(2)}); lost ${roomL.lost}`,
        },
      });
    }
    const rawC = bestBy(rawBs, (b) => b.hostUsPerDelivery, 'min');
    const roomC = bestBy(roomBs, (b) => b.hostUsPerDelivery, 'min');
    const cpuR = roomC.hostUsPerDelivery / rawC.hostUsPerDelivery;
    line(report, {
      metric: `K=${k} host CPU per delivery`,
      ours: `${roomC.hostUsPerDelivery.toFixed(2)} µs`,
      base: `raw hub ${rawC.hostUsPerDelivery.toFixed(2)} µs`,
      ratio: `${cpuR.toFixed(1)}×`,
      target: '≤ 1.2× raw',
      met: cpuR <= 1.2,
      others: CPU_NORMALIZED,
      row: {
        ours: toRate(1e6 / roomC.hostUsPerDelivery),
        baseline: { name: 'raw hub', rate: toRate(1e6 / rawC.hostUsPerDelivery) },
        ratio: cpuR,
        note: `best of 2; host busy ${roomC.hostCores.toFixed(2)} cores, raw hub ${rawC.hostCores.toFixed(2)}`,
      },
    });
    const floorUs = Math.min(...floors);
    const floor = 1e6 / (floorUs + 10);
    const recv = bestBy(roomBs, (b) => b.receiverPerCpuSec, 'max').receiverPerCpuSec;
    const perRecv = recv / floor;
    line(report, {
      metric: `K=${k} per-receiver msgs per CPU-second`,
      ours: perS(recv),
      base: `1/(${floorUs.toFixed(0)}+10 µs) ${perS(floor)}`,
      ratio: `${perRecv.toFixed(2)}×`,
      target: '≥ 0.8×',
      met: perRecv >= 0.8,
      others: CPU_NORMALIZED,
      row: {
        ours: toRate(recv),
        baseline: {
          name: `1/(verify+decrypt ${floorUs.toFixed(1)} µs + 10 µs)`,
          rate: toRate(floor),
        },
        ratio: perRecv,
        note: `best of 2; floor measured in a receiver process after each burst: ${floors.map((f) => f.toFixed(0)).join(', ')} µs`,
      },
    });
    if (withLog) await logPart(report, rooms);
  } finally {
    await Promise.all([raw.close(), rooms?.close()]);
  }
}

interface PacedResult {
  /** Messages sent (and acknowledged) per CPU-second of the sender's process. */
  readonly senderPerCpuSec: number;
  /** Messages received per CPU-second of the receiver processes. */
  readonly receiverPerCpuSec: number;
}

/** A fixed-rate phase (every message travels alone): CPU per message on each side. */
async function paced(s: Setup, rate: number, count: number): Promise<PacedResult> {
  await startPhase(s, 0);
  const a = await snapshot(s);
  await (s.fleets[0] as BenchChild).call('rate', { rate, count });
  await drain(s, count, 30_000);
  const b = await snapshot(s);
  let recvMsgs = 0;
  let recvCpuS = 0;
  b.fleets.forEach((f1, i) => {
    const f0 = a.fleets[i] as FleetStats;
    if (i === 0) return;
    recvMsgs += f1.sum - f0.sum;
    recvCpuS += (f1.cpuUs - f0.cpuUs) / 1e6;
  });
  const s0 = a.fleets[0] as FleetStats;
  const s1 = b.fleets[0] as FleetStats;
  return {
    senderPerCpuSec: (s1.acked - s0.acked) / ((s1.cpuUs - s0.cpuUs) / 1e6),
    receiverPerCpuSec: recvMsgs / recvCpuS,
  };
}

const LOG_RATE = 200;
const LOG_MESSAGES = 500;

/**
 * T5: the K = 10 room beside the same room with every member on a no-op store, at a fixed
 * 200 msg/s (so batching cannot differ between the two), interleaved, best of three each.
 */
async function logPart(report: (r: RatioRow) => void, memory: Setup): Promise<void> {
  const noop = await roomsSetup(10, 'noop');
  try {
    // The memory room's processes are warm (JIT) from the bursts before; warm these the same way.
    await burst(noop);
    const mem: PacedResult[] = [];
    const nop: PacedResult[] = [];
    for (let round = 0; round < 3; round++) {
      mem.push(await paced(memory, LOG_RATE, LOG_MESSAGES));
      nop.push(await paced(noop, LOG_RATE, LOG_MESSAGES));
    }
    for (const [who, f, max] of [
      ['sender', (b: PacedResult) => b.senderPerCpuSec, 0.1],
      ['receivers', (b: PacedResult) => b.receiverPerCpuSec, 0.2],
    ] as const) {
      const m = f(bestBy(mem, f, 'max'));
      const n = f(bestBy(nop, f, 'max'));
      const overhead = 1 - m / n;
      line(report, {
        metric: `K=10 event-log overhead: ${who}`,
        ours: `memory ${perS(m)}`,
        base: `no-op ${perS(n)}`,
        ratio: `overhead ${(overhead * 100).toFixed(1)} %`,
        target: `≤ ${max * 100} %`,
        met: overhead <= max,
        others: CPU_NORMALIZED,
        row: {
          ours: toRate(m),
          baseline: { name: 'no-op store', rate: toRate(n) },
          ratio: m / n,
          note: `msgs per CPU-second at ${LOG_RATE} msg/s; best of 3 each, interleaved; all runs memory ${mem.map((x) => f(x).toFixed(0)).join('/')}, no-op ${nop.map((x) => f(x).toFixed(0)).join('/')}`,
        },
      });
    }
  } finally {
    await noop.close();
  }
}

/** No delivery for this long while the sender is on: the room has stalled. */
const STALL_MS = 4_000;

/** T10: host RSS every 10 k messages while a 50-member room takes 100 k messages. */
async function rssPart(report: (r: RatioRow) => void): Promise<void> {
  const s = await joinFleets(
    'rss K=50',
    [1, 25, 24],
    (i) => (i === 0 ? 'rooms' : 'light'),
    'memory',
    512,
  );
  try {
    const samples: Array<{ at: number; rss: number; heap: number }> = [];
    const first = await s.server.call<ProcStats>('stats');
    samples.push({ at: 0, rss: first.rss, heap: first.heapUsed });
    let lastStats = first;
    await startPhase(s, 0, 5);
    const sender = s.fleets[0] as BenchChild;
    const boxA = boxReading();
    const snapA = await snapshot(s);
    const t0 = Date.now();
    await sender.call('burst', { window: s.window });
    let ended: 'done' | 'capped' | 'stalled' = 'done';
    let lastMove = { at: Date.now(), count: 0 };
    for (let next = RSS_EVERY; next <= RSS_MESSAGES && ended === 'done'; next += RSS_EVERY) {
      while (s.globalMin() < next) {
        const now = Date.now();
        if (s.globalMin() !== lastMove.count) lastMove = { at: now, count: s.globalMin() };
        if (now - t0 > RSS_CAP_MS) ended = 'capped';
        else if (now - lastMove.at > STALL_MS) ended = 'stalled';
        if (ended !== 'done') break;
        await sleep(20);
      }
      if (ended !== 'done') break;
      const st = await s.server.call<ProcStats>('stats');
      samples.push({ at: next, rss: st.rss, heap: st.heapUsed });
      lastStats = st;
    }
    const stopped = await sender.call<{
      sent: number;
      acked: number;
      failed: number;
      lastError: string;
    }>('stop');
    const delivered = s.globalMin();
    const secs = (Date.now() - t0) / 1000;
    const snapB = await snapshot(s);
    const boxB = boxReading();
    if (heapDir) {
      const file = await s.server.call<string>('heapSnapshot', { dir: heapDir }, 300_000);
      process.stderr.write(`[rooms bench] host heap snapshot: ${file}\n`);
    }
    const wallNs = snapB.server.at - snapA.server.at;
    const cores = (a: ProcStats, b: ProcStats): number => ((b.cpuUs - a.cpuUs) * 1e3) / wallNs;
    const hostCores = cores(snapA.server, snapB.server);
    const fleetCores = snapB.fleets.map((f, i) => cores(snapA.fleets[i] as ProcStats, f));
    const lightCores = fleetCores.slice(1).reduce((a, b) => a + b, 0);
    const othersBusy = others({
      ours: hostCores + fleetCores.reduce((a, b) => a + b, 0),
      box: boxCores(boxA, boxB),
    });
    const hostUsPerMsg = (snapB.server.cpuUs - snapA.server.cpuUs) / Math.max(1, delivered);
    const mb = (b: number): number => b / 2 ** 20;
    const last = samples.at(-1) as { at: number; rss: number; heap: number };
    const warm = samples.find((x) => x.at === 2 * RSS_EVERY);
    const trail = samples.map((x) => mb(x.rss).toFixed(0)).join(' ');
    const rate = delivered / secs;
    const done = last.at >= RSS_MESSAGES;
    const slope = warm && last.at > warm.at ? (last.rss - warm.rss) / (last.at - warm.at) : 0;
    const projected = mb(last.rss + slope * (RSS_MESSAGES - last.at));
    const why =
      ended === 'stalled' ? 'delivery stalled' : ended === 'capped' ? 'time cap reached' : '';
    line(report, {
      metric: `K=50 host RSS after ${done ? '100 k' : `${last.at / 1000} k of 100 k`} messages`,
      ours: `${mb(last.rss).toFixed(0)} MB`,
      base: `${mb(first.rss).toFixed(0)} MB before`,
      ratio: `${((mb(last.rss) / 200) * 100).toFixed(0)} % of 200 MB`,
      target: '≤ 200 MB',
      // Stopped early: already over the ceiling is a miss, under it is unknown.
      met: done || mb(last.rss) > 200 ? mb(last.rss) <= 200 : undefined,
      others: othersBusy,
      row: {
        ours: toRate(rate),
        note: `${rate.toFixed(0)} msg/s; host ${hostCores.toFixed(2)} cores (${hostUsPerMsg.toFixed(0)} µs CPU per message), sender fleet ${(fleetCores[0] ?? 0).toFixed(2)}, light receivers ${lightCores.toFixed(2)}; RSS MB every 10 k: ${trail}; heap ${mb(last.heap).toFixed(0)} MB used of ${mb(lastStats.heapTotal).toFixed(0)}, external ${mb(lastStats.external).toFixed(0)} MB${done ? '' : `; ${why}; at this slope 100 k would be ≈ ${projected.toFixed(0)} MB`}`,
      },
    });
    if (warm) {
      const growth = mb(last.rss - warm.rss);
      line(report, {
        metric: `K=50 host RSS flat after warm-up (20 k→${last.at / 1000} k)`,
        ours: `+${growth.toFixed(0)} MB (${slope.toFixed(0)} B/msg)`,
        base: `${mb(warm.rss).toFixed(0)} MB at 20 k`,
        ratio: `every 10 k: ${trail} MB`,
        target: '≤ +10 % of RSS at 20 k',
        met: done || growth > 0.1 * mb(warm.rss) ? growth <= 0.1 * mb(warm.rss) : undefined,
        others: CPU_NORMALIZED,
        row: { ours: toRate(rate), note: `heap ${mb(last.heap).toFixed(0)} MB at the end` },
      });
    }
    line(report, {
      metric: 'K=50 room keeps delivering up to 100 k messages',
      ours: `${(delivered / 1000).toFixed(1)} k delivered to all`,
      base: `${(stopped.sent / 1000).toFixed(1)} k sent`,
      ratio:
        ended === 'stalled'
          ? `stalled (nothing for ${STALL_MS / 1000} s)`
          : ended === 'capped'
            ? 'time cap'
            : 'complete',
      target: '100 k, no stall',
      met: ended === 'capped' ? undefined : ended === 'done',
      others: othersBusy,
      row: {
        ours: toRate(rate),
        note: `${rate.toFixed(0)} msg/s; sender: ${stopped.sent - stopped.acked - stopped.failed} sends unacknowledged, ${stopped.failed} failed${stopped.failed > 0 ? ` (last: ${stopped.lastError})` : ''}`,
      },
    });
  } finally {
    await s.close();
  }
}

const bench: BenchModule = {
  title: 'rooms: encrypted room fan-out across processes vs raw ws fan-out (T1–T3, T5, T10)',
  async run(report) {
    lines.length = 0;
    if (process.env.ROOMS_BENCH_TSX_HOST !== '1') ensureBuilt();
    const floorUs = measureFloorCpuUs(5, 200, PAYLOAD_BYTES);
    line(report, {
      metric: 'receiver crypto floor (Ed25519 verify + AES-GCM decrypt)',
      ours: `${floorUs.toFixed(1)} µs CPU`,
      base: 'node:crypto, bench process',
      ratio: '—',
      target: '—',
      met: undefined,
      others: CPU_NORMALIZED,
      row: { ours: toRate(1e6 / floorUs) },
    });
    try {
      if (only.includes('k10') || only.includes('log'))
        await kPart(report, 10, only.includes('log'));
      if (only.includes('k50')) await kPart(report, 50, false);
      if (only.includes('rss')) await rssPart(report);
    } finally {
      printTable();
    }
  },
};

export default bench;
