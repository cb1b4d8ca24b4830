import { describe, expect, it } from 'vitest';
import {
  MAX_HISTORY_ROUNDS,
  checkHistory,
  formatDuration,
  formatEta,
  formatRange,
  formatRate,
  rangeBytes,
  recentRounds,
  type ChainFacts,
} from './historyForm';

const quicknet: ChainFacts = { name: 'quicknet', head: 1_000_000, period: 3 };

describe('checkHistory', () => {
  it('accepts a range within the published rounds', () => {
    expect(checkHistory({ kind: 'range', from: '1', to: '20,000' }, quicknet)).toEqual({
      ok: true,
      from: 1,
      to: 20_000,
    });
    expect(checkHistory({ kind: 'range', from: ' 7 ', to: '7' }, quicknet)).toEqual({
      ok: true,
      from: 7,
      to: 7,
    });
  });

  it('explains every kind of bad range', () => {
    const bad = (from: string, to: string) => {
      const r = checkHistory({ kind: 'range', from, to }, quicknet);
      expect(r.ok).toBe(false);
      return r.ok ? '' : r.error;
    };
    expect(bad('', '10')).toMatch(/whole numbers/);
    expect(bad('1.5', '10')).toMatch(/whole numbers/);
    expect(bad('-1', '10')).toMatch(/whole numbers/);
    expect(bad('abc', '10')).toMatch(/whole numbers/);
    expect(bad('0', '10')).toMatch(/start at 1/);
    expect(bad('20', '10')).toBe('The first round (20) is after the last (10).');
    expect(bad('1', '1000001')).toMatch(/not published yet; the newest is 1,000,000/);
    const huge = { ...quicknet, head: 80_000_000 };
    const r = checkHistory({ kind: 'range', from: '1', to: String(MAX_HISTORY_ROUNDS + 1) }, huge);
    expect(r.ok ? '' : r.error).toMatch(/at most 50,000,000/);
  });

  it('needs a chain that has started', () => {
    expect(checkHistory({ kind: 'range', from: '1', to: '2' }, null)).toEqual({
      ok: false,
      error: 'Choose a chain.',
    });
    const r = checkHistory({ kind: 'range', from: '1', to: '2' }, { ...quicknet, head: 0 });
    expect(r.ok).toBe(false);
  });

  it('turns the last hours or days into rounds ending at the head', () => {
    expect(checkHistory({ kind: 'recent', amount: '1', unit: 'hours' }, quicknet)).toEqual({
      ok: true,
      from: 1_000_000 - 1200 + 1,
      to: 1_000_000,
    });
    expect(recentRounds({ ...quicknet, period: 30 }, 2, 'days')).toEqual([
      1_000_000 - 5760 + 1,
      1_000_000,
    ]);
    // Before the genesis there is nothing: clamped to round 1.
    expect(recentRounds({ ...quicknet, head: 100 }, 1, 'days')).toEqual([1, 100]);
    for (const amount of ['0', '', 'x', '2.5']) {
      const r = checkHistory({ kind: 'recent', amount, unit: 'days' }, quicknet);
      expect(r.ok ? '' : r.error).toMatch(/how many days/);
    }
  });
});

describe('formatting', () => {
  it('sizes ranges in whole chunk files', () => {
    const chunk = 64 + 2048 + 48 * 16385;
    expect(rangeBytes(1, 1, 48)).toBe(chunk);
    expect(rangeBytes(1, 16384, 48)).toBe(chunk);
    expect(rangeBytes(16384, 16385, 48)).toBe(2 * chunk);
  });

  it('words rates, times left, durations and ranges', () => {
    expect(formatRate(0)).toBe('—');
    expect(formatRate(2.345)).toBe('2.3 rounds/s');
    expect(formatRate(12_345.6)).toBe('12,346 rounds/s');
    expect(formatEta(100, 0)).toBe('');
    expect(formatEta(0, 10)).toBe('');
    expect(formatEta(100, 10)).toBe('about 10 s left');
    expect(formatEta(6000, 10)).toBe('about 10 min left');
    expect(formatEta(72_000, 10)).toBe('about 2.0 h left');
    expect(formatDuration(420)).toBe('0.4 s');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatRange(1, 250)).toBe('rounds 1–250');
    expect(formatRange(5, 5)).toBe('round 5');
  });
});
