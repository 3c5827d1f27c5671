/**
 * A machine's statechart as plain boxes and arrows for the inspector page: the state tree (with
 * each state's path, so `snapshot.value` maps onto it) and every transition with a readable label.
 * Built once per machine from xstate's state nodes; bounded in size.
 *
 * @example
 * const chart = chartOf(peerMachine);
 * chart.root.children.map((n) => n.name); // ['starting', 'running', 'stopping', 'stopped']
 */
import type { Chart, ChartEdge, ChartNode } from '../protocol/inspection.types.js';

const MAX_NODES = 300;
const MAX_EDGES = 600;

/** The parts of an xstate StateNode the chart reads (kept structural: internals may move). */
interface StateNodeLike {
  readonly id: string;
  readonly key: string;
  readonly path: readonly string[];
  readonly type: string;
  readonly states?: Readonly<Record<string, StateNodeLike>>;
  readonly initial?: { readonly target?: readonly StateNodeLike[] } | undefined;
  readonly transitions?: ReadonlyMap<string, readonly TransitionLike[]>;
  readonly always?: readonly TransitionLike[] | undefined;
}

interface TransitionLike {
  readonly eventType: string;
  readonly target?: readonly StateNodeLike[] | undefined;
  readonly guard?: unknown;
}

const NODE_TYPES = new Set(['atomic', 'compound', 'parallel', 'final', 'history']);

function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const named = guard as { type?: unknown; name?: string };
    return typeof named.type === 'string' ? named.type : named.name || 'guard';
  }
  if (typeof guard === 'object' && typeof (guard as { type?: unknown }).type === 'string') {
    return (guard as { type: string }).type;
  }
  return 'guard';
}

/**
 * `xstate.after.1000.peer.x` → `after 1000 ms` (a named delay: `after idleTimeout`),
 * `xstate.done.actor.y` → `done: y`, `` (eventless) → `always`.
 */
export function eventLabel(eventType: string): string {
  if (eventType === '') return 'always';
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after)
    return /^\d+$/.test(after[1] ?? '') ? `after ${after[1] ?? ''} ms` : `after ${after[1] ?? ''}`;
  const done = /^xstate\.done\.(?:actor|state)\.(.+)$/.exec(eventType);
  if (done) return `done: ${done[1] ?? ''}`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `error: ${error[1] ?? ''}`;
  return eventType;
}

function isStateNode(v: unknown): v is StateNodeLike {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { id?: unknown }).id === 'string' &&
    typeof (v as { key?: unknown }).key === 'string' &&
    Array.isArray((v as { path?: unknown }).path)
  );
}

/** The chart of a state machine, or undefined for logic without state nodes. */
export function chartOf(logic: unknown): Chart | undefined {
  const root = (logic as { root?: unknown } | null)?.root;
  if (!isStateNode(root)) return undefined;
  let nodeCount = 0;
  let isTruncated = false;
  const edges: ChartEdge[] = [];

  const addEdges = (node: StateNodeLike, list: readonly TransitionLike[]): void => {
    for (const t of list) {
      if (edges.length >= MAX_EDGES) {
        isTruncated = true;
        return;
      }
      const guard = guardName(t.guard);
      edges.push({
        source: node.id,
        targets: (t.target ?? []).map((s) => s.id),
        event: t.eventType,
        label: eventLabel(t.eventType),
        ...(guard !== undefined ? { guard } : {}),
      });
    }
  };

  const walk = (node: StateNodeLike): ChartNode => {
    nodeCount += 1;
    const children: ChartNode[] = [];
    for (const child of Object.values(node.states ?? {})) {
      if (nodeCount >= MAX_NODES) {
        isTruncated = true;
        break;
      }
      children.push(walk(child));
    }
    for (const list of node.transitions?.values() ?? []) addEdges(node, list);
    addEdges(node, node.always ?? []);
    const initial = node.initial?.target?.[0]?.id;
    return {
      id: node.id,
      name: node.key,
      path: [...node.path],
      type: (NODE_TYPES.has(node.type) ? node.type : 'atomic') as ChartNode['type'],
      ...(initial !== undefined && children.length > 0 ? { initial } : {}),
      children,
    };
  };

  return { root: walk(root), edges, isTruncated };
}
