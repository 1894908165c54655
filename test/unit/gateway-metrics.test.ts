/** The gateway's Prometheus text: histograms render cumulative buckets, a sum and a count per label set. */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/gateway/metrics';

describe('Metrics.histogram', () => {
  it('renders cumulative buckets, +Inf, sum and count for each label set', () => {
    const m = new Metrics();
    const write = m.histogram('kontor_test_seconds', 'test durations', [0.001, 0.01]);
    write(0.0005, { op: 'hub' });
    write(0.005, { op: 'hub' });
    write(0.5, { op: 'hub' });
    write(0.002, { op: 'peer' });
    const lines = m.render().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        '# TYPE kontor_test_seconds histogram',
        'kontor_test_seconds_bucket{op="hub",le="0.001"} 1',
        'kontor_test_seconds_bucket{op="hub",le="0.01"} 2',
        'kontor_test_seconds_bucket{op="hub",le="+Inf"} 3',
        'kontor_test_seconds_sum{op="hub"} 0.5055',
        'kontor_test_seconds_count{op="hub"} 3',
        'kontor_test_seconds_bucket{op="peer",le="0.001"} 0',
        'kontor_test_seconds_bucket{op="peer",le="0.01"} 1',
        'kontor_test_seconds_count{op="peer"} 1',
      ]),
    );
  });

  it('renders a histogram without labels', () => {
    const m = new Metrics();
    m.histogram('kontor_plain_seconds', 'plain', [1])(2);
    expect(m.render()).toContain(
      'kontor_plain_seconds_bucket{le="1"} 0\nkontor_plain_seconds_bucket{le="+Inf"} 1\nkontor_plain_seconds_sum 2\nkontor_plain_seconds_count 1\n',
    );
  });
});
