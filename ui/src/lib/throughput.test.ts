import { describe, expect, it } from 'vitest';
import {
  addSample,
  formatRate,
  niceMax,
  polylinePoints,
  rateSeries,
  sourceLabel,
  sourceOrder,
  type Sample,
} from './throughput';
import type { LiveGrid } from './ipc';
import { sampleLiveGrid } from './testing';

function live(at: number, counters: Record<string, number>): LiveGrid {
  return {
    ...sampleLiveGrid(),
    peers: 0,
    sources: Object.fromEntries(
      Object.entries(counters).map(([k, rounds]) => [k, { rounds, failures: 0, millis: 0 }]),
    ),
    at,
  };
}

describe('addSample', () => {
  it('adds newer reports and ignores one no newer than the last', () => {
    let s: Sample[] = [];
    s = addSample(s, live(100, { cache: 1 }));
    s = addSample(s, live(103, { cache: 5 }));
    const same = addSample(s, live(103, { cache: 9 }));
    expect(same).toBe(s);
    expect(addSample(s, live(90, { cache: 9 }))).toBe(s);
    expect(s.map((x) => x.at)).toEqual([100, 103]);
  });

  it('starts again when a counter goes down (the node restarted)', () => {
    let s: Sample[] = [];
    s = addSample(s, live(100, { cache: 50, drand: 3 }));
    s = addSample(s, live(103, { cache: 60, drand: 3 }));
    s = addSample(s, live(106, { cache: 2, drand: 0 }));
    expect(s.map((x) => x.at)).toEqual([106]);
  });

  it('keeps the window and the one sample before it', () => {
    let s: Sample[] = [];
    for (let at = 0; at <= 30; at += 3) s = addSample(s, live(at, { cache: at }), 10);
    // 30 - 10 = 20: the samples from 18 on (18 reaches into the window).
    expect(s.map((x) => x.at)).toEqual([18, 21, 24, 27, 30]);
  });
});

describe('rateSeries', () => {
  it('turns cumulative counters into rounds per second between samples', () => {
    const samples: Sample[] = [
      { at: 100, sources: live(100, { cache: 100, swarm: 0 }).sources },
      { at: 103, sources: live(103, { cache: 130, swarm: 6 }).sources },
      { at: 108, sources: live(108, { cache: 130, swarm: 16 }).sources },
    ];
    expect(rateSeries(samples)).toEqual({
      cache: [
        { at: 103, rate: 10 },
        { at: 108, rate: 0 },
      ],
      swarm: [
        { at: 103, rate: 2 },
        { at: 108, rate: 2 },
      ],
    });
    expect(rateSeries(samples.slice(0, 1))).toEqual({});
  });

  it('counts a source that appears from zero', () => {
    const samples: Sample[] = [
      { at: 0, sources: live(0, { cache: 0 }).sources },
      { at: 2, sources: live(2, { cache: 0, gateway: 8 }).sources },
    ];
    expect(rateSeries(samples).gateway).toEqual([{ at: 2, rate: 4 }]);
  });
});

describe('axis and drawing', () => {
  it('rounds the axis top up to 1, 2 or 5 times a power of ten', () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(0.3)).toBe(1);
    expect(niceMax(1.5)).toBe(2);
    expect(niceMax(3)).toBe(5);
    expect(niceMax(20)).toBe(20);
    expect(niceMax(21)).toBe(50);
    expect(niceMax(999)).toBe(1000);
    expect(niceMax(5000)).toBe(5000);
  });

  it('places points by time and rate, clamped to the box', () => {
    const pts = [
      { at: 0, rate: 0 },
      { at: 50, rate: 5 },
      { at: 100, rate: 50 },
    ];
    expect(polylinePoints(pts, 0, 100, 10, 200, 100)).toBe('0,100 100,50 200,0');
    expect(polylinePoints([], 0, 100, 10, 200, 100)).toBe('');
  });

  it('formats rates and names sources', () => {
    expect(formatRate(0)).toBe('0');
    expect(formatRate(0.333)).toBe('0.3');
    expect(formatRate(9.96)).toBe('10');
    expect(formatRate(12.4)).toBe('12');
    expect(formatRate(1234.5)).toBe('1,235');
    expect(sourceOrder(['drand', 'zeta', 'cache', 'gateway', 'swarm'])).toEqual([
      'cache',
      'swarm',
      'gateway',
      'drand',
      'zeta',
    ]);
    expect(sourceLabel('gateway')).toBe('IPFS gateways');
    expect(sourceLabel('drand')).toBe('drand API');
    expect(sourceLabel('zeta')).toBe('zeta');
  });
});
