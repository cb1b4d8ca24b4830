// Pure arithmetic behind the Grid screen's throughput plot. The node reports
// cumulative counters per source (rounds delivered since it started); the
// window samples them every few seconds and plots the differences between
// successive samples as rounds per second.
import type { LiveGrid, SourceStats } from './ipc';

/** How much history the plot shows at most, in seconds. */
export const WINDOW_SECS = 300;

/** The shortest time span the plot's axis covers, in seconds. */
export const MIN_SPAN_SECS = 60;

/** One reading of the node's counters, at the node's own time (seconds). */
export interface Sample {
  at: number;
  sources: Record<string, SourceStats>;
}

/** One plotted point: the rate between the previous sample and this one. */
export interface RatePoint {
  at: number;
  rate: number;
}

/** Sources in plotting order, with the names the window shows. */
export const SOURCE_LABELS: Record<string, string> = {
  cache: 'Cache',
  swarm: 'Swarm',
  gateway: 'IPFS gateways',
  drand: 'drand API',
};

/** The node's sources in a stable order: the known four first, then any other. */
export function sourceOrder(keys: Iterable<string>): string[] {
  const known = Object.keys(SOURCE_LABELS);
  const all = [...new Set(keys)];
  return [
    ...known.filter((k) => all.includes(k)),
    ...all.filter((k) => !known.includes(k)).sort(),
  ];
}

export function sourceLabel(key: string): string {
  return SOURCE_LABELS[key] ?? key;
}

/**
 * The samples with `live` added. A report no newer than the last one (the
 * daemon publishes every 5 s, the window may ask more often) adds nothing;
 * a counter that went down means the node restarted, and the history starts
 * again. Samples older than the window (but the one just before it, which
 * the first rate needs) are dropped.
 */
export function addSample(samples: Sample[], live: LiveGrid, windowSecs = WINDOW_SECS): Sample[] {
  const next: Sample = { at: live.at, sources: live.sources };
  const last = samples[samples.length - 1];
  if (last && next.at <= last.at) return samples;
  const restarted =
    last !== undefined &&
    Object.entries(last.sources).some(([key, before]) => {
      const now = next.sources[key];
      return now === undefined || now.rounds < before.rounds;
    });
  const kept = restarted ? [next] : [...samples, next];
  const from = next.at - windowSecs;
  let first = 0;
  while (first + 1 < kept.length && kept[first + 1].at <= from) first++;
  return kept.slice(first);
}

/** Rounds per second of each source between successive samples. */
export function rateSeries(samples: Sample[]): Record<string, RatePoint[]> {
  const series: Record<string, RatePoint[]> = {};
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1];
    const now = samples[i];
    const secs = now.at - before.at;
    if (!(secs > 0)) continue;
    for (const [key, stats] of Object.entries(now.sources)) {
      const prev = before.sources[key]?.rounds ?? 0;
      const rate = Math.max(0, stats.rounds - prev) / secs;
      (series[key] ??= []).push({ at: now.at, rate });
    }
  }
  return series;
}

/** A round top for the y axis: 1, 2 or 5 times a power of ten, at least 1. */
export function niceMax(value: number): number {
  if (!(value > 1)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    if (value <= step * power + 1e-9) return step * power;
  }
  return 10 * power;
}

/**
 * SVG `points` for one series in a `width` × `height` box: time from
 * `from` to `to` left to right, 0 … `max` bottom to top.
 */
export function polylinePoints(
  points: RatePoint[],
  from: number,
  to: number,
  max: number,
  width: number,
  height: number,
): string {
  const span = to - from > 0 ? to - from : 1;
  const top = max > 0 ? max : 1;
  return points
    .map((p) => {
      const x = ((p.at - from) / span) * width;
      const y = height - (Math.min(p.rate, top) / top) * height;
      return `${round2(x)},${round2(y)}`;
    })
    .join(' ');
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A rate for the legend: "0", "0.4", "12", "1,234". */
export function formatRate(rate: number): string {
  if (!(rate > 0)) return '0';
  if (rate < 10) return String(Math.round(rate * 10) / 10);
  return NUMBER.format(rate);
}
