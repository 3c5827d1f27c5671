/**
 * The per-message crypto floor of a room receiver (perf-ceilings §5 T2): one Ed25519 verify over
 * the signed header and ciphertext of a 256 B message plus one AES-256-GCM decrypt of it, with
 * node:crypto and a cached KeyObject. Timed in CPU time of this process (`process.cpuUsage`), so
 * it compares directly with receivers' messages per CPU-second, even on a busy box.
 */
import {
  createCipheriv,
  createDecipheriv,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from 'node:crypto';
import { median } from '../lib.js';

/** Median CPU µs of one verify + decrypt over `windows` windows of about `windowMs` each. */
export function measureFloorCpuUs(windows = 5, windowMs = 200, payloadBytes = 256): number {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const signed = randomBytes(payloadBytes + 256); // header fields + ciphertext
  const sig = sign(null, signed, privateKey);
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const aad = randomBytes(200);
  const plain = Buffer.from(JSON.stringify({ text: 'x'.repeat(payloadBytes) }));
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  const tag = c.getAuthTag();
  const once = (): void => {
    if (!verify(null, signed, publicKey, sig)) throw new Error('verify failed');
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(aad);
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  };
  const results: number[] = [];
  for (let w = -1; w < windows; w++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < windowMs) {
      for (let i = 0; i < 16; i++) once();
      n += 16;
    }
    const cpu = process.cpuUsage(cpu0);
    if (w >= 0) results.push((cpu.user + cpu.system) / n);
  }
  return median(results);
}
