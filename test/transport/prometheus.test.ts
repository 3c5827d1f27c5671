import { describe, expect, it } from 'vitest';
import { formatPrometheus } from '../../src/transport/http/prometheus.js';

describe('formatPrometheus', () => {
  it('writes HELP, TYPE and samples with escaped labels', () => {
    const text = formatPrometheus([
      {
        name: 'x_total',
        help: 'X things.',
        type: 'counter',
        samples: [{ labels: { reason: 'a"b\\c\nd' }, value: 3 }],
      },
      { name: 'y', help: 'Y.', type: 'gauge', samples: [{ value: Number.NaN }] },
    ]);
    expect(text).toBe(
      '# HELP x_total X things.\n# TYPE x_total counter\nx_total{reason="a\\"b\\\\c\\nd"} 3\n# HELP y Y.\n# TYPE y gauge\ny 0\n',
    );
  });
});
