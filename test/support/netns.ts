/**
 * A throw-away LAN made of Linux network namespaces, for multicast and mDNS integration tests.
 *
 * Layout: one "hub" namespace holding a bridge, and N node namespaces, each with `lo` up and a
 * veth whose other end is enslaved to the hub's bridge, an address in a run-specific private
 * subnet (10.77.X.0/24) and a multicast route on that veth. Nothing is created in the host's own
 * namespace, so the host's interfaces, routes and firewall never see the test traffic, and the
 * addresses exist only inside namespaces this run created.
 *
 * Every name carries the run's pid and a random tag, so parallel runs never collide, and a later
 * run can remove what a crashed run (dead pid) left behind. `destroy()` kills whatever still runs
 * inside the namespaces, then deletes them (which destroys the veths and the bridge with them).
 *
 * Needs root and a working `ip netns`; `probeNetns()` tells a suite whether it can run, and why not.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { repoRoot } from './paths.js';

const PREFIX = 'conclave-t';
const CMD_TIMEOUT_MS = 5_000;

export interface CmdResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command to completion with a deadline; never throws (a spawn failure is code null). */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CmdResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? CMD_TIMEOUT_MS, env: opts.env ?? process.env, cwd: repoRoot },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout, stderr: stderr || (err && code === null ? err.message : '') });
      },
    );
  });
}

async function must(cmd: string, args: readonly string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

export interface Probe {
  readonly ok: boolean;
  readonly reason: string;
}

let probed: Promise<Probe> | undefined;

/** Can this process create network namespaces? Checked once, by making and deleting one. */
export function probeNetns(): Promise<Probe> {
  probed ??= (async () => {
    if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
    if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
    const name = `${PREFIX}${process.pid}-probe-${randomBytes(3).toString('hex')}`;
    const add = await run('ip', ['netns', 'add', name]);
    if (add.code !== 0)
      return { ok: false, reason: `\`ip netns add\` failed: ${add.stderr.trim() || add.code}` };
    const del = await run('ip', ['netns', 'del', name]);
    if (del.code !== 0) return { ok: false, reason: `\`ip netns del\` failed: ${del.stderr}` };
    return { ok: true, reason: 'root with a working `ip netns`' };
  })();
  return probed;
}

export interface LabNode {
  /** Namespace name, for `ip netns exec`. */
  readonly ns: string;
  /** The veth inside `ns` (pass it as `--interface`). */
  readonly iface: string;
  /** Its IPv4 address, on the lab subnet. */
  readonly address: string;
}

export interface NetnsLab {
  readonly nodes: readonly LabNode[];
  /** e.g. `10.77.123.0/24` */
  readonly subnet: string;
  /** Whether `setLoss` works here, and how (netem, or a random BPF classifier), or why not. */
  readonly loss: Probe;
  /** Whether `dropUdpTo` works here (`tc` with htb and u32), or why not. */
  readonly filters: Probe;
  /** Spawn `cmd args` inside `ns`; the child is killed by `destroy()` if still running. */
  exec(ns: string, cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Run a command inside `ns` to completion, with a deadline. */
  run(ns: string, cmd: string, args: readonly string[], timeoutMs?: number): Promise<CmdResult>;
  /** Drop `percent` % of the packets leaving `ns` on its veth (0 removes the rule). */
  setLoss(ns: string, percent: number): Promise<void>;
  /** Drop every IPv4 UDP datagram leaving `ns` for `port` (a firewall eating one protocol). */
  dropUdpTo(ns: string, port: number): Promise<void>;
  /** Packets dropped so far on the veth of `ns` (by loss or filters). */
  droppedPackets(ns: string): Promise<number>;
  /** Kill what runs inside, delete every namespace (and with them the veths and bridge). */
  destroy(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function listNamespaces(): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

/** Kill every process inside `ns` (all of them were started by this harness) and wait a little. */
async function emptyNamespace(ns: string): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pids = (await run('ip', ['netns', 'pids', ns])).stdout
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((p) => Number.isInteger(p) && p > 0 && p !== process.pid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  await emptyNamespace(ns);
  await run('ip', ['netns', 'del', ns]);
}

/** Namespaces left by earlier runs of this harness whose process is gone. */
export async function reapCrashedRuns(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((n) => {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(n);
    return m !== null && Number(m[1]) !== process.pid && !isAlive(Number(m[1]));
  });
  for (const ns of stale) await deleteNamespace(ns);
  return stale;
}

/** Namespaces of this process still present (for asserting a clean teardown). */
export async function namespacesOfThisRun(): Promise<string[]> {
  return (await listNamespaces()).filter((n) => n.startsWith(`${PREFIX}${process.pid}-`));
}

// --- traffic shaping -------------------------------------------------------------------------
// Each node veth gets an htb root whose default class 1:1 passes traffic and whose class 1:2 ends
// in `pfifo limit 0`, a black hole. Loss is netem on 1:1 when the kernel has it; otherwise a
// classic-BPF classifier sends a random share of packets (`ld rand`) to the black hole, so
// kernels built without netem (this CI's, for one) still get real random loss.

/** `tc` inside `ns`; a string is split on spaces. Throws with tc's message on failure. */
async function tcIn(ns: string, args: string | readonly string[]): Promise<CmdResult> {
  const argv = typeof args === 'string' ? args.split(' ') : args;
  const r = await run('ip', ['netns', 'exec', ns, 'tc', ...argv]);
  if (r.code !== 0) throw new Error(`tc ${argv.join(' ')} in ${ns}: ${r.stderr.trim()}`);
  return r;
}

/** cBPF: A = random u32; match (→ black hole) when A < share · 2³². */
function randomDropBytecode(percent: number): string {
  const threshold = Math.min(0xffffffff, Math.floor((percent / 100) * 2 ** 32));
  const SKF_AD_RANDOM = 0xfffff000 + 56;
  return `4,32 0 0 ${SKF_AD_RANDOM},53 1 0 ${threshold},6 0 0 4294967295,6 0 0 0`;
}

interface Shaping {
  readonly loss: Probe;
  readonly filters: Probe;
  setLoss(ns: string, dev: string, percent: number): Promise<void>;
}

async function setUpShaping(nodes: readonly LabNode[]): Promise<Shaping> {
  const none = (reason: string): Shaping => ({
    loss: { ok: false, reason },
    filters: { ok: false, reason },
    setLoss: () => Promise.reject(new Error(reason)),
  });
  if ((await run('tc', ['-V'])).code === null)
    return none('`tc` not found (apt-get install iproute2 provides it)');
  try {
    for (const { ns, iface } of nodes) {
      await tcIn(ns, `qdisc replace dev ${iface} root handle 1: htb default 1 r2q 10000`);
      await tcIn(ns, `class add dev ${iface} parent 1: classid 1:1 htb rate 10gbit`);
      await tcIn(ns, `class add dev ${iface} parent 1: classid 1:2 htb rate 10gbit`);
      await tcIn(ns, `qdisc add dev ${iface} parent 1:2 handle 2: pfifo limit 0`);
    }
  } catch (e) {
    return none(`tc htb/pfifo unavailable: ${(e as Error).message}`);
  }
  const netem = (ns: string, dev: string, percent: number): Promise<unknown> =>
    tcIn(ns, `qdisc replace dev ${dev} parent 1:1 handle 10: netem loss ${Math.max(0, percent)}%`);
  const bpf = (ns: string, dev: string, percent: number): Promise<unknown> =>
    percent <= 0
      ? tcIn(ns, `filter del dev ${dev} parent 1: prio 1`).catch(() => undefined) // none is fine
      : tcIn(ns, [
          ...`filter replace dev ${dev} parent 1: protocol all prio 1 handle 1 bpf`.split(' '),
          ...['bytecode', randomDropBytecode(percent), 'classid', '1:2'],
        ]);
  const { ns, iface } = nodes[0]!;
  let method: typeof netem | undefined;
  let why = '';
  try {
    await netem(ns, iface, 0);
    method = netem;
  } catch (e) {
    why = (e as Error).message;
    try {
      await bpf(ns, iface, 1);
      await bpf(ns, iface, 0);
      method = bpf;
    } catch (e2) {
      why += `; ${(e2 as Error).message}`;
    }
  }
  const u32 = `dev ${iface} parent 1: protocol ip prio 3`;
  const filters: Probe = await tcIn(ns, `filter add ${u32} u32 match ip dport 9 0xffff classid 1:2`)
    .then(() => tcIn(ns, `filter del ${u32}`))
    .then(
      () => ({ ok: true, reason: 'tc htb + u32' }),
      (e: Error) => ({ ok: false, reason: `tc u32 unavailable: ${e.message}` }),
    );
  const use = method;
  return {
    filters,
    loss:
      use === netem
        ? { ok: true, reason: 'tc netem' }
        : use === bpf
          ? { ok: true, reason: `no netem (${why}): a random cBPF classifier drops instead` }
          : { ok: false, reason: `neither netem nor cls_bpf: ${why}` },
    setLoss: async (n, dev, percent) => {
      if (!use) throw new Error('no packet loss here');
      await use(n, dev, percent);
    },
  };
}

/**
 * Build the lab. Throws (after removing whatever it had made) when a step fails.
 *
 * @example
 * const lab = await createNetnsLab(3);
 * try { lab.exec(lab.nodes[0].ns, 'node', ['-v']); } finally { await lab.destroy(); }
 */
export async function createNetnsLab(count: number): Promise<NetnsLab> {
  if (count < 1 || count > 20) throw new Error('1..20 nodes');
  await reapCrashedRuns();
  const tag = randomBytes(2).toString('hex');
  const base = `${PREFIX}${process.pid}-${tag}`;
  const hub = `${base}-hub`;
  const octet = 1 + ((process.pid + randomBytes(1)[0]!) % 250);
  const subnet = `10.77.${octet}.0/24`;
  const runTag = `${(process.pid % 46656).toString(36)}${tag}`; // ≤ 7 chars: names stay ≤ 15
  const bridge = `br${runTag}`;
  const nodes: LabNode[] = Array.from({ length: count }, (_, i) => ({
    ns: `${base}-p${i + 1}`,
    iface: `v${runTag}n${i + 1}`,
    address: `10.77.${octet}.${i + 1}`,
  }));
  const created: string[] = [];
  const children = new Set<ChildProcess>();

  async function destroy(): Promise<void> {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.clear();
    for (const ns of created.splice(0).reverse()) await deleteNamespace(ns);
  }

  try {
    await must('ip', ['netns', 'add', hub]);
    created.push(hub);
    await must('ip', ['-n', hub, 'link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0']);
    await must('ip', ['-n', hub, 'link', 'set', bridge, 'up']);
    for (const [i, n] of nodes.entries()) {
      const hubEnd = `h${runTag}n${i + 1}`;
      await must('ip', ['netns', 'add', n.ns]);
      created.push(n.ns);
      await must(
        'ip',
        `-n ${hub} link add ${hubEnd} type veth peer name ${n.iface} netns ${n.ns}`.split(' '),
      );
      await must('ip', ['-n', hub, 'link', 'set', hubEnd, 'master', bridge, 'up']);
      await must('ip', ['-n', n.ns, 'link', 'set', 'lo', 'up']);
      await must('ip', ['-n', n.ns, 'addr', 'add', `${n.address}/24`, 'dev', n.iface]);
      await must('ip', ['-n', n.ns, 'link', 'set', n.iface, 'up']);
      await must('ip', ['-n', n.ns, 'route', 'add', '224.0.0.0/4', 'dev', n.iface]);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  const shaping = await setUpShaping(nodes);
  const ifaceOf = (ns: string): string => {
    const n = nodes.find((x) => x.ns === ns);
    if (!n) throw new Error(`${ns} is not a namespace of this lab`);
    return n.iface;
  };

  return {
    nodes,
    subnet,
    loss: shaping.loss,
    filters: shaping.filters,
    exec(ns, cmd, args, env = process.env) {
      ifaceOf(ns);
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    run(ns, cmd, args, timeoutMs = CMD_TIMEOUT_MS) {
      ifaceOf(ns);
      return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs });
    },
    async setLoss(ns, percent) {
      if (!shaping.loss.ok) throw new Error(`packet loss not available: ${shaping.loss.reason}`);
      await shaping.setLoss(ns, ifaceOf(ns), percent);
    },
    async droppedPackets(ns) {
      const r = await tcIn(ns, `-s qdisc show dev ${ifaceOf(ns)}`);
      // The htb root comes first and counts the drops of everything below it.
      return Number(/dropped (\d+)/.exec(r.stdout)?.[1] ?? 0);
    },
    async dropUdpTo(ns, port) {
      if (!shaping.filters.ok) throw new Error(`filters not available: ${shaping.filters.reason}`);
      const match = `match ip protocol 17 0xff match ip dport ${port} 0xffff`;
      await tcIn(
        ns,
        `filter add dev ${ifaceOf(ns)} parent 1: protocol ip prio 2 u32 ${match} classid 1:2`,
      );
    },
    destroy,
  };
}
