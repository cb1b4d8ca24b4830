// Pure logic behind the Grid screen's "Fetch history" form: turning what the
// person typed (a round range, or "the last N hours/days") into the rounds to
// ask the node for, checked the way the node checks them so a mistake is
// explained before anything is sent; and the words for progress and rates.

import { CHUNK_ROUNDS, formatCount } from './coverage';

/** Most rounds one request may name (zks_node::MAX_HISTORY_ROUNDS). */
export const MAX_HISTORY_ROUNDS = 50_000_000;

/** The chain facts the form needs (from the node's grid status). */
export interface ChainFacts {
  name: string;
  /** Newest published round. */
  head: number;
  /** Seconds between rounds. */
  period: number;
}

export type SpanUnit = 'hours' | 'days';

/** The form as typed: a range, or the last `amount` hours or days. */
export type HistoryInput =
  | { kind: 'range'; from: string; to: string }
  | { kind: 'recent'; amount: string; unit: SpanUnit };

export type Checked = { ok: true; from: number; to: number } | { ok: false; error: string };

function wholeNumber(text: string): number | null {
  const t = text.trim().replace(/[,_\s]/g, '');
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

/** The rounds of the last `amount` `unit` of a chain, ending at its head
 * (clamped to round 1: there is nothing before the genesis). */
export function recentRounds(chain: ChainFacts, amount: number, unit: SpanUnit): [number, number] {
  const secs = amount * (unit === 'days' ? 86_400 : 3_600);
  const rounds = Math.max(1, Math.ceil(secs / Math.max(1, chain.period)));
  return [Math.max(1, chain.head - rounds + 1), chain.head];
}

/** Checks the form against the chain (the node checks again, and the cache
 * budget, when it gets the request). */
export function checkHistory(input: HistoryInput, chain: ChainFacts | null): Checked {
  if (!chain) return { ok: false, error: 'Choose a chain.' };
  if (chain.head < 1) return { ok: false, error: `${chain.name} has not published a round yet.` };
  let from: number;
  let to: number;
  if (input.kind === 'recent') {
    const amount = wholeNumber(input.amount);
    if (amount === null || amount < 1) {
      return { ok: false, error: `Enter how many ${input.unit}, a whole number from 1.` };
    }
    [from, to] = recentRounds(chain, amount, input.unit);
  } else {
    const a = wholeNumber(input.from);
    const b = wholeNumber(input.to);
    if (a === null || b === null) {
      return { ok: false, error: 'Enter the first and last round as whole numbers.' };
    }
    if (a < 1) return { ok: false, error: 'Rounds start at 1 (the genesis); there is no round 0.' };
    if (a > b) {
      return {
        ok: false,
        error: `The first round (${formatCount(a)}) is after the last (${formatCount(b)}).`,
      };
    }
    if (b > chain.head) {
      return {
        ok: false,
        error: `Round ${formatCount(b)} of ${chain.name} is not published yet; the newest is ${formatCount(chain.head)}.`,
      };
    }
    [from, to] = [a, b];
  }
  if (to - from + 1 > MAX_HISTORY_ROUNDS) {
    return {
      ok: false,
      error: `That is ${formatCount(to - from + 1)} rounds; one fetch takes at most ${formatCount(MAX_HISTORY_ROUNDS)}.`,
    };
  }
  return { ok: true, from, to };
}

/** Bytes of cache a range takes once held (whole chunk files of
 * `sigBytes`-byte signatures: 48 for quicknet, 96 for the default chain). */
export function rangeBytes(from: number, to: number, sigBytes: number): number {
  const chunks = Math.floor((to - 1) / CHUNK_ROUNDS) - Math.floor((from - 1) / CHUNK_ROUNDS) + 1;
  return chunks * (64 + CHUNK_ROUNDS / 8 + sigBytes * (CHUNK_ROUNDS + 1));
}

/** "1,234 rounds/s", or "—" before anything came. */
export function formatRate(roundsPerSec: number): string {
  if (!(roundsPerSec > 0)) return '—';
  if (roundsPerSec < 10) return `${roundsPerSec.toFixed(1)} rounds/s`;
  return `${formatCount(Math.round(roundsPerSec))} rounds/s`;
}

/** Time left at `rate` for `left` rounds: "about 3 min", or '' if unknown. */
export function formatEta(left: number, roundsPerSec: number): string {
  if (!(roundsPerSec > 0) || left <= 0) return '';
  const secs = Math.ceil(left / roundsPerSec);
  if (secs < 60) return `about ${secs} s left`;
  if (secs < 3600) return `about ${Math.ceil(secs / 60)} min left`;
  return `about ${(secs / 3600).toFixed(1)} h left`;
}

/** Milliseconds as "0.4 s", "12 s", "3 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  const secs = Math.round(ms / 1000);
  if (secs < 60) return `${secs} s`;
  return `${Math.floor(secs / 60)} min ${secs % 60} s`;
}

/** "rounds 1–250" */
export function formatRange(from: number, to: number): string {
  return from === to ? `round ${formatCount(from)}` : `rounds ${formatCount(from)}–${formatCount(to)}`;
}
