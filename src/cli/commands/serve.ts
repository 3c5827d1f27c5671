/** `conclave serve`: flags, env, and the process lifecycle around `servePeer`. */
import { Option, type Command } from 'commander';
import { AppError } from '../../errors.js';
import { applyHeapGrowth } from '../heap-growth.js';
import { fail } from '../output.js';
import { servePeer, type RunningPeer } from '../serve.js';
import { DEFAULTS, resolveServeConfig } from '../serve-config.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .summary('run a peer (peer API on the LAN, local API on 127.0.0.1)')
    .description(
      'Run a conclave peer until SIGINT/SIGTERM.\n\n' +
        'The peer API (LAN-facing) listens on --host:--port; the local API, which the CLI and\n' +
        'scripts use, listens on 127.0.0.1:--api-port and needs the token in <data-dir>/api-token.\n' +
        'When ready it writes <data-dir>/runtime.json and prints one line:\n' +
        '  conclave ready {"peerId":…,"name":…,"fingerprint":…,"peerUrl":…,"apiUrl":…,"pid":…,"startedAt":…}',
    )
    .addOption(
      new Option('--name <name>', 'name shown to other peers (default: host name)').env(
        'CONCLAVE_NAME',
      ),
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        'where keys, token and runtime.json live (default ~/.conclave)',
      ).env('CONCLAVE_DATA_DIR'),
    )
    .addOption(
      new Option(
        '--volatile',
        'keep everything in memory: ephemeral identity, memory store; writes nothing unless --data-dir is given',
      ).env('CONCLAVE_VOLATILE'),
    )
    .addOption(
      new Option('--host <addr>', 'peer API bind address')
        .env('CONCLAVE_HOST')
        .default(DEFAULTS.host),
    )
    .addOption(
      new Option('--port <n>', 'peer API port (0 = any free port)')
        .env('CONCLAVE_PORT')
        .default(String(DEFAULTS.port)),
    )
    .addOption(
      new Option('--api-port <n>', 'local API port on 127.0.0.1 (0 = any free port)')
        .env('CONCLAVE_API_PORT')
        .default(String(DEFAULTS.apiPort)),
    )
    .addOption(
      new Option('--store <spec>', 'event log: memory | file:PATH | mongodb://…')
        .env('CONCLAVE_STORE')
        .default(DEFAULTS.store),
    )
    .addOption(
      // No commander default: serve-config must tell "not given" (memory default, durable: fine)
      // from an explicit value (refused with a durable store).
      new Option(
        '--log-retain <MiB>',
        `volatile log: keep the newest N MiB of events in memory (0 = keep all; default ${DEFAULTS.logRetainMiB} with --store memory, fractions allowed)`,
      ).env('CONCLAVE_LOG_RETAIN'),
    )
    .addOption(
      new Option(
        '--room-history <n>',
        'messages kept in memory per room (older ones stay in the log; members further behind skip ahead)',
      )
        .env('CONCLAVE_ROOM_HISTORY')
        .default(DEFAULTS.roomHistory),
    )
    .addOption(
      new Option(
        '--heap-growth <percent>',
        'let the V8 heap grow by at most this much per full GC, so memory stays near the live data (0 = V8 decides; node --heap-growing-percent wins)',
      )
        .env('CONCLAVE_HEAP_GROWTH')
        .default(DEFAULTS.heapGrowthPercent),
    )
    .addOption(
      new Option('--identity <kind>', 'identity key type for a new identity')
        .choices(['ed25519', 'rsa'])
        .env('CONCLAVE_IDENTITY')
        .default(DEFAULTS.identity),
    )
    .addOption(
      new Option('--peer <url>', 'a peer to connect to at start (repeatable)')
        .env('CONCLAVE_PEER')
        .argParser(collect),
    )
    .addOption(
      new Option('--no-discovery', 'do not send or listen for LAN beacons').env(
        'CONCLAVE_NO_DISCOVERY',
      ),
    )
    .addOption(
      new Option(
        '--no-push',
        'do not open WebSocket push links to peers; receive room messages by polling',
      ).env('CONCLAVE_NO_PUSH'),
    )
    .addOption(
      new Option('--multicast <group:port>', 'discovery multicast group and port')
        .env('CONCLAVE_MULTICAST')
        .default(DEFAULTS.multicast),
    )
    .addOption(
      new Option(
        '--interface <name>',
        'network interface for discovery (default: every suitable IPv4 interface)',
      ).env('CONCLAVE_INTERFACE'),
    )
    .addOption(
      new Option(
        '--trust <policy>',
        'tofu: trust on first use; strict: no room keys to unverified peers',
      )
        .choices(['tofu', 'strict'])
        .env('CONCLAVE_TRUST')
        .default(DEFAULTS.trust),
    )
    .addOption(
      new Option('--log-level <level>', 'diagnostic log level on stderr')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .env('CONCLAVE_LOG_LEVEL')
        .default(DEFAULTS.logLevel),
    )
    .addOption(
      new Option(
        '--rekey-after <n>',
        'advanced: re-key each session with fresh ECDH after this many sealed messages (default 1000)',
      ).env('CONCLAVE_REKEY_AFTER'),
    )
    .addOption(
      new Option(
        '--inspect',
        'live inspection: stream sanitized actor events at /api/inspect/* and serve the /inspect/ page (see "conclave inspect")',
      ).env('CONCLAVE_INSPECT'),
    )
    .addHelpText(
      'after',
      `
Precedence: command-line flag > CONCLAVE_<FLAG> environment variable > default.
The keystore passphrase is read only from CONCLAVE_PASSPHRASE (never a flag, so it stays out of
shell history and process lists); without it keys are stored unwrapped (files mode 0600).

The memory store (the default, and --volatile) drops its oldest events beyond --log-retain, so a
long-running peer does not grow without bound; "conclave log" says when a range was dropped.
Durable stores (file:, mongodb:) keep every event and refuse --log-retain.

Examples:
  $ conclave serve --volatile --port 0 --api-port 0
  $ conclave serve --volatile --log-retain 256         # keep the newest 256 MiB of events
  $ conclave serve --data-dir /var/lib/conclave --store file:/var/lib/conclave/log --name ops-laptop
  $ CONCLAVE_PASSPHRASE=… conclave serve --identity rsa`,
    )
    .action(async (opts: Record<string, unknown>) => {
      const config = resolveServeConfig(opts, process.env.CONCLAVE_PASSPHRASE);
      // Signal handlers go in before the ready line is printed, so a signal right after it is
      // never the default (exit without flushing).
      let peer: RunningPeer | undefined;
      let pendingSignal: NodeJS.Signals | undefined;
      let signals = 0;
      const shutdown = (sig: NodeJS.Signals, p: RunningPeer): void => {
        p.shutdown(sig).catch((err: unknown) => {
          fail(
            err instanceof AppError
              ? err
              : new AppError('ERR_INTERNAL', 'shutdown failed', { cause: err }),
          );
        });
      };
      const onSignal = (sig: NodeJS.Signals): void => {
        signals += 1;
        if (signals > 1) {
          process.stderr.write(`conclave: second ${sig}, exiting without waiting\n`);
          process.exit(130);
        }
        if (peer) shutdown(sig, peer);
        else pendingSignal = sig;
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      applyHeapGrowth(config.heapGrowthPercent);
      peer = await servePeer(config, {
        stdout: (l) => process.stdout.write(`${l}\n`),
        stderr: (l) => process.stderr.write(`${l}\n`),
      });
      if (pendingSignal) shutdown(pendingSignal, peer);
      await peer.closed;
      process.exit(0);
    });
}
