// Pure arithmetic behind the Grid screen's coverage picture: the node reports,
// per chain, how many rounds each chunk holds; this turns that into shaded
// bins over the chain's history and into words for screen readers.

/** Rounds per chunk: chunk k holds rounds k·16384+1 ..= (k+1)·16384. */
export const CHUNK_ROUNDS = 16384;

/** Most bins drawn for one chain. */
export const MAX_BINS = 400;

/** One chunk as the node reports it: [chunk index, rounds held of 16384]. */
export type ChunkHeld = [number, number];

/**
 * The fraction (0..1) of rounds held in each of up to `maxBins` equal slices
 * of rounds 1..=head. The node reports a count per chunk, not which rounds, so
 * a chunk's held rounds are spread evenly over its published part; a bin
 * spanning several chunks averages them. Rounds past the head are left out.
 */
export function coverageBins(head: number, chunks: ChunkHeld[], maxBins = MAX_BINS): number[] {
  if (!(head > 0) || !(maxBins > 0)) return [];
  const n = Math.min(Math.floor(maxBins), Math.floor(head));
  const width = head / n; // rounds per bin, >= 1
  const bins = new Array<number>(n).fill(0);
  for (const [index, held] of chunks) {
    if (!(held > 0) || index < 0) continue;
    // Positions: round r occupies [r-1, r).
    const start = index * CHUNK_ROUNDS;
    const end = Math.min((index + 1) * CHUNK_ROUNDS, head);
    if (start >= end) continue;
    const density = Math.min(1, held / (end - start));
    const first = Math.floor(start / width);
    const last = Math.min(n - 1, Math.ceil(end / width) - 1);
    for (let i = first; i <= last; i++) {
      const overlap = Math.min(end, (i + 1) * width) - Math.max(start, i * width);
      if (overlap > 0) bins[i] += (density * overlap) / width;
    }
  }
  return bins.map((f) => (f >= 1 - 1e-9 ? 1 : f <= 1e-12 ? 0 : f));
}

const NUMBER = new Intl.NumberFormat('en-US');

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return NUMBER.format(n);
}

/**
 * Share of the chain held, for "(Z%)". Never rounds up to 100% or down to 0%
 * when that would be untrue.
 */
export function formatPercent(held: number, head: number): string {
  if (!(head > 0) || held <= 0) return '0%';
  if (held >= head) return '100%';
  const pct = (held / head) * 100;
  if (pct < 0.01) return '<0.01%';
  const decimals = pct < 1 ? 2 : 1;
  const factor = 10 ** decimals;
  const floored = Math.floor(pct * factor) / factor;
  return `${floored.toFixed(decimals)}%`;
}

/** Bytes in binary units: "512 B", "1.5 KiB", "20.0 MiB", "4.0 GiB". */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Most runs of chunks named in a summary before "and N more". */
export const MAX_SUMMARY_RUNS = 6;

/**
 * Words for the chunk list: "chunks 0–3 complete, chunk 4 partly held
 * (5,000 of 16,384 rounds)". Consecutive chunks of the same kind are one run.
 */
export function describeChunks(chunks: ChunkHeld[], maxRuns = MAX_SUMMARY_RUNS): string {
  const held = chunks.filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  if (held.length === 0) return 'no rounds held';
  type Run = { first: number; last: number; complete: boolean; rounds: number };
  const runs: Run[] = [];
  for (const [index, n] of held) {
    const complete = n >= CHUNK_ROUNDS;
    const prev = runs[runs.length - 1];
    if (prev && prev.complete === complete && prev.last === index - 1) {
      prev.last = index;
      prev.rounds += n;
    } else {
      runs.push({ first: index, last: index, complete, rounds: n });
    }
  }
  const words = runs.slice(0, maxRuns).map((run) => {
    const which =
      run.first === run.last ? `chunk ${run.first}` : `chunks ${run.first}–${run.last}`;
    if (run.complete) return `${which} complete`;
    const of = (run.last - run.first + 1) * CHUNK_ROUNDS;
    return `${which} partly held (${formatCount(run.rounds)} of ${formatCount(of)} rounds)`;
  });
  const more = runs.length - maxRuns;
  if (more > 0) words.push(`and ${more} more run${more === 1 ? '' : 's'} of chunks`);
  return words.join(', ');
}
