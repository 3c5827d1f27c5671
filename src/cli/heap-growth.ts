/**
 * How far the V8 heap may grow past the live data before the next full GC. V8's own heuristic
 * lets a busy peer's old generation reach a few times its live heap (a room host with 70 MB live
 * sat at 350 MB RSS after 100 k messages); a fixed growth factor keeps it near the live data at
 * no measurable CPU cost (`npm run bench -- rooms`, the RSS rows). Set at start, before the heap
 * has grown; `node --heap-growing-percent=N` on the command line wins.
 *
 * @example
 * applyHeapGrowth(config.heapGrowthPercent); // 30 → V8 grows the old space by ≤ 30 % per GC
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';

/** The growth in effect after this call (percent), or undefined when V8 decides. */
export function applyHeapGrowth(
  percent: number,
  execArgv: readonly string[] = process.execArgv,
  setFlags: (flags: string) => void = setFlagsFromString,
): number | undefined {
  // node takes the flag with dashes or underscores.
  const given = execArgv
    .map((a) => a.replace(/^--heap_growing_percent/, FLAG))
    .find((a) => a === FLAG || a.startsWith(`${FLAG}=`));
  if (given !== undefined) {
    const value = Number(given.slice(FLAG.length + 1));
    return Number.isInteger(value) && value > 0 ? value : undefined;
  }
  if (percent <= 0) return undefined;
  setFlags(`${FLAG}=${percent}`);
  return percent;
}
