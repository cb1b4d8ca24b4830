import { describe, expect, it } from 'vitest';
import {
  CHUNK_ROUNDS,
  coverageBins,
  describeChunks,
  formatBytes,
  formatPercent,
} from './coverage';

const C = CHUNK_ROUNDS;

describe('coverageBins', () => {
  it('has no bins for a chain with no published rounds', () => {
    expect(coverageBins(0, [[0, 5]])).toEqual([]);
  });

  it('draws one bin per round when the history is shorter than the bin count', () => {
    expect(coverageBins(10, [[0, 10]], 400)).toEqual(new Array(10).fill(1));
  });

  it('maps whole chunks onto their share of the bins', () => {
    // 4 chunks of history in 4 bins: chunk k is bin k.
    expect(coverageBins(4 * C, [[0, C], [2, C / 2]], 4)).toEqual([1, 0, 0.5, 0]);
  });

  it('averages several chunks into one bin', () => {
    // 4 chunks in 2 bins: bin 0 = chunks 0+1, bin 1 = chunks 2+3.
    expect(coverageBins(4 * C, [[0, C], [1, C / 2], [3, C]], 2)).toEqual([0.75, 0.5]);
  });

  it('splits a chunk over the bins it spans', () => {
    // 1 chunk in 4 bins, half held: every bin half shaded.
    expect(coverageBins(C, [[0, C / 2]], 4)).toEqual([0.5, 0.5, 0.5, 0.5]);
    // 3 chunks in 2 bins: chunk 1 straddles the boundary in the middle.
    const bins = coverageBins(3 * C, [[1, C]], 2);
    expect(bins[0]).toBeCloseTo(1 / 3);
    expect(bins[1]).toBeCloseTo(1 / 3);
  });

  it('measures the head chunk against its published rounds and ignores chunks past the head', () => {
    // Head in the middle of chunk 1: its 1000 held rounds are all it has published.
    const head = C + 1000;
    const bins = coverageBins(head, [[1, 1000], [5, C]], 400);
    expect(bins).toHaveLength(400);
    expect(bins[399]).toBe(1);
    expect(bins[0]).toBe(0);
    const sum = bins.reduce((a, b) => a + b, 0) * (head / 400);
    expect(sum).toBeCloseTo(1000);
  });

  it('never exceeds 1 and keeps tiny holdings above 0', () => {
    const head = 27_000_000;
    const bins = coverageBins(head, [[0, 1], [1, C]]);
    expect(bins).toHaveLength(400);
    expect(Math.max(...bins)).toBeLessThanOrEqual(1);
    expect(bins[0]).toBeGreaterThan(0);
    expect(bins.slice(1).every((f) => f === 0)).toBe(true);
  });
});

describe('formatting', () => {
  it('says percentages without rounding to 0% or 100% untruthfully', () => {
    expect(formatPercent(0, 100)).toBe('0%');
    expect(formatPercent(5, 0)).toBe('0%');
    expect(formatPercent(100, 100)).toBe('100%');
    expect(formatPercent(9999, 10000)).toBe('99.9%');
    expect(formatPercent(20000, 27_000_000)).toBe('0.07%');
    expect(formatPercent(1, 27_000_000)).toBe('<0.01%');
    expect(formatPercent(1, 4)).toBe('25.0%');
  });

  it('gives sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20.0 MiB');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4.0 GiB');
  });
});

describe('describeChunks', () => {
  it('says when nothing is held', () => {
    expect(describeChunks([])).toBe('no rounds held');
  });

  it('groups consecutive complete chunks and names partial ones with their count', () => {
    expect(describeChunks([[0, C], [1, C], [2, C], [3, C], [4, 5000]])).toBe(
      'chunks 0–3 complete, chunk 4 partly held (5,000 of 16,384 rounds)',
    );
    expect(describeChunks([[7, C], [2, 10], [3, 20]])).toBe(
      'chunks 2–3 partly held (30 of 32,768 rounds), chunk 7 complete',
    );
  });

  it('stops after a few runs', () => {
    const chunks: [number, number][] = [0, 2, 4, 6, 8].map((k) => [k, C]);
    expect(describeChunks(chunks, 3)).toBe(
      'chunk 0 complete, chunk 2 complete, chunk 4 complete, and 2 more runs of chunks',
    );
  });
});
