import { describe, expect, it } from 'vitest';
import { formatPrometheus } from '../../src/transport/http/prometheus.js';

describe('formatPrometheus histograms', () => {
  it('writes cumulative buckets with le, a +Inf bucket, _sum and _count', () => {
    const text = formatPrometheus([
      {
        name: 'x_seconds',
        help: 'X latency.',
        type: 'histogram',
        samples: [
          {
            labels: { store: 'file' },
            buckets: [
              { le: 0.005, count: 1 },
              { le: 0.05, count: 3 },
            ],
            sum: 0.07,
            count: 4,
          },
        ],
      },
    ]);
    expect(text).toBe(
      [
        '# HELP x_seconds X latency.',
        '# TYPE x_seconds histogram',
        'x_seconds_bucket{store="file",le="0.005"} 1',
        'x_seconds_bucket{store="file",le="0.05"} 3',
        'x_seconds_bucket{store="file",le="+Inf"} 4',
        'x_seconds_sum{store="file"} 0.07',
        'x_seconds_count{store="file"} 4',
        '',
      ].join('\n'),
    );
  });
});
