// Plain helpers for showing file transfers: grouping, percentages, speed
// from progress events over time, and the words for each state. No IPC here.
import type { Transfer, TransferState } from './ipc';
import { timelockLabel } from './timelock';

/** States in which a transfer can still move (or be cancelled). */
export const OPEN_STATES: readonly TransferState[] = ['offered', 'accepted', 'transferring', 'paused'];

export function isOpen(t: Transfer): boolean {
  return OPEN_STATES.includes(t.state);
}

/** An offer someone made us that waits for our answer. */
export function isIncomingOffer(t: Transfer): boolean {
  return !t.outgoing && t.state === 'offered';
}

export interface TransferGroups {
  /** Incoming offers waiting for Accept or Decline. */
  offers: Transfer[];
  /** Everything else still open: being sent or received, paused, or our offers. */
  active: Transfer[];
  /** Completed, declined, cancelled or failed. */
  finished: Transfer[];
}

/** Splits a list (kept in its order, newest first) into the three sections. */
export function groupTransfers(list: Transfer[]): TransferGroups {
  const groups: TransferGroups = { offers: [], active: [], finished: [] };
  for (const t of list) {
    if (isIncomingOffer(t)) groups.offers.push(t);
    else if (isOpen(t)) groups.active.push(t);
    else groups.finished.push(t);
  }
  return groups;
}

/** Whole percent done, 0–100 (an empty file is done when it completes). */
export function percentDone(t: Pick<Transfer, 'bytes_done' | 'size' | 'state'>): number {
  if (t.size <= 0) return t.state === 'completed' ? 100 : 0;
  return Math.max(0, Math.min(100, Math.floor((t.bytes_done / t.size) * 100)));
}

/** How a timelocked file (drand) shows on its card: the label (the chat
 * bubbles' words: "Opens at 18:00 (drand timelock)", "opened at 18:00 ·
 * drand timelock", ours "opens for Alice at 18:00 (drand timelock)") and
 * whether it is still locked here (a received file with no file yet).
 * Null for an ordinary file, and for one that ended without arriving
 * (declined, cancelled, failed: it will never open). */
export function transferTimelock(
  t: Pick<Transfer, 'outgoing' | 'opens_at' | 'locked' | 'state' | 'contact'>,
  now: number,
  locale?: string,
  timeZone?: string,
): { label: string; locked: boolean } | null {
  if (t.opens_at === null || !(OPEN_STATES.includes(t.state) || t.state === 'completed')) return null;
  const label = timelockLabel(t, t.contact || 'the contact', now, locale, timeZone);
  return label === null ? null : { label, locked: !t.outgoing && t.locked };
}

/** A transfer's state in words, from our side. */
export function stateLabel(t: Transfer): string {
  const who = t.contact || 'the contact';
  switch (t.state) {
    case 'offered':
      return t.outgoing ? `Waiting for ${who} to accept` : `${who} offers this file`;
    case 'accepted':
      return t.outgoing ? 'Accepted' : 'Accepted — starting';
    case 'transferring':
      return t.outgoing ? 'Sending' : 'Receiving';
    case 'paused':
      return 'Paused';
    case 'completed':
      if (t.outgoing) return 'Delivered and verified';
      // A timelocked file that arrived: verified, but no file until its round.
      return t.locked ? 'Received — locked until its time' : 'Received and verified';
    case 'declined':
      return t.outgoing ? `Declined by ${who}` : 'You declined';
    case 'cancelled':
      return 'Cancelled';
    case 'failed':
      return 'Failed';
  }
}

/** Bytes per second in binary units ("1.5 MiB/s"). */
export function formatSpeed(bytesPerSec: number): string {
  const units = ['KiB/s', 'MiB/s', 'GiB/s'];
  if (bytesPerSec < 1024) return `${Math.round(bytesPerSec)} B/s`;
  let value = bytesPerSec / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Time left in words ("12 s", "3 min", "1 h 5 min"). */
export function formatDuration(secs: number): string {
  const s = Math.max(0, Math.round(secs));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

interface Sample {
  at: number;
  bytes: number;
}

/**
 * Speed of each transfer from the progress it reports: bytes moved over the
 * last few seconds of samples. Times are milliseconds (Date.now()).
 */
export class SpeedMeter {
  private samples = new Map<string, Sample[]>();

  constructor(
    /** How far back samples count. */
    private windowMs = 5000,
    /** Without a sample this recent the transfer counts as stalled (speed 0). */
    private staleMs = 3000,
  ) {}

  /** Notes that `id` had `bytes` done at time `at`. */
  record(id: string, bytes: number, at: number): void {
    const list = this.samples.get(id) ?? [];
    const last = list[list.length - 1];
    // Bytes done only grow; a smaller figure means a restart from a new count.
    if (last && bytes < last.bytes) list.length = 0;
    list.push({ at, bytes });
    while (list.length > 2 && list[0].at < at - this.windowMs) list.shift();
    this.samples.set(id, list);
  }

  /** Bytes per second at time `now`; null until two samples span ½ s. */
  speed(id: string, now: number): number | null {
    const list = this.samples.get(id);
    if (!list || list.length < 2) return null;
    const first = list[0];
    const last = list[list.length - 1];
    if (now - last.at > this.staleMs) return 0;
    const span = last.at - first.at;
    if (span < 500) return null;
    return ((last.bytes - first.bytes) * 1000) / span;
  }

  forget(id: string): void {
    this.samples.delete(id);
  }
}
