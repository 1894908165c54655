import { describe, expect, it } from 'vitest';
import { bootstrapCi, median, seededRandom } from '../../scripts/bench/lib/stats';

const ratio = (groups: { a: number[]; b: number[] }[]) => median(groups.flatMap((g) => g.a)) / median(groups.flatMap((g) => g.b));

describe('bootstrapCi over rounds', () => {
  it('is reproducible, ordered, and brackets the figure of the whole sample', () => {
    const rand = seededRandom(7);
    const rounds = Array.from({ length: 20 }, () => {
      const speed = 0.8 + 0.4 * rand(); // each round's browsers have their own speed
      return {
        a: Array.from({ length: 9 }, () => speed * (100 + 10 * rand())),
        b: Array.from({ length: 9 }, () => speed * (100 + 10 * rand())),
      };
    });
    const ci = bootstrapCi(rounds, ratio, { resamples: 2000 });
    expect(bootstrapCi(rounds, ratio, { resamples: 2000 })).toEqual(ci);
    expect(ci[0]).toBeLessThan(ci[1]);
    expect(ci[0]).toBeLessThanOrEqual(ratio(rounds));
    expect(ci[1]).toBeGreaterThanOrEqual(ratio(rounds));
    // A/A: both sides drawn alike, so the interval holds 1
    expect(ci[0]).toBeLessThan(1);
    expect(ci[1]).toBeGreaterThan(1);
  });

  it('resamples whole rounds: a round-wide shift widens the interval', () => {
    // Side a is 5% slower in half the rounds and 5% faster in the others: the loads are tight
    // within a round, so only a resampling of whole rounds shows the spread between rounds.
    const rounds = Array.from({ length: 10 }, (_, i) => ({
      a: Array.from({ length: 9 }, (_, j) => (i % 2 ? 105 : 95) + j * 0.01),
      b: Array.from({ length: 9 }, (_, j) => 100 + j * 0.01),
    }));
    const [lo, hi] = bootstrapCi(rounds, ratio, { resamples: 2000 });
    expect(lo).toBeLessThan(0.97);
    expect(hi).toBeGreaterThan(1.03);
  });

  it('keeps a balanced design balanced within each stratum', () => {
    // Whichever browser launched first is 10% slower: rounds alternate, so the two kinds of
    // round cancel exactly and only an unbalanced resample (more of one kind) moves the figure.
    const rounds = Array.from({ length: 16 }, (_, i) => ({
      a: Array.from({ length: 9 }, (_, j) => (i % 2 ? 100 : 110) + j * 0.01),
      b: Array.from({ length: 9 }, (_, j) => (i % 2 ? 110 : 100) + j * 0.01),
    }));
    const wide = bootstrapCi(rounds, ratio, { resamples: 2000 });
    const [lo, hi] = bootstrapCi(rounds, ratio, { resamples: 2000, stratum: (_, i) => String(i % 2) });
    expect(wide[1] - wide[0]).toBeGreaterThan(0.1);
    expect(lo).toBeGreaterThan(0.99);
    expect(hi).toBeLessThan(1.01);
  });

  it('gives no interval without rounds', () => {
    expect(bootstrapCi([], ratio).every(Number.isNaN)).toBe(true);
  });
});
