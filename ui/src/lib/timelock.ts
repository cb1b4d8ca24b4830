// Messages that open at a chosen time (drand timelock, issue #21): the
// composer's time choices and checks, and the words a timelocked bubble
// shows. Pure helpers, tested on their own. The node picks the drand
// quicknet round of the chosen time, timelocks the text to it and seals it
// for the contact as usual; the UI only shows what the node reports.
import type { ChatMessage } from './ipc';

const DAY_SECS = 86_400;

/** Further ahead than this (a year) the picker asks before it sets the time. */
export const CONFIRM_AFTER_SECS = 365 * DAY_SECS;

/** The node refuses times further ahead than this (ten years, `bad_input`);
 * the picker refuses them first. */
export const MAX_AHEAD_SECS = 3650 * DAY_SECS;

/** What the timelock layer is and is not, for the title of its labels. */
export function timelockTitle(round: number | null): string {
  const to = round === null ? 'a drand round' : `drand round ${round}`;
  return (
    `Timelocked to ${to}: nobody, not even the recipient, can open it before that round is published. ` +
    'This layer is pairing-based (not post-quantum) and trusts the League of Entropy not to publish ' +
    'the round early; the outer seal keeps its own protection.'
  );
}

/** One of the picker's quick choices. */
export interface OpenAtChoice {
  id: 'minute' | 'hour' | 'tomorrow';
  label: string;
  /** Unix seconds. */
  at: number;
}

/** The quick choices at `nowMs` (milliseconds): in a minute, in an hour,
 * tomorrow at 9:00 in this device's time zone. */
export function quickChoices(nowMs: number): OpenAtChoice[] {
  const now = Math.floor(nowMs / 1000);
  const tomorrow = new Date(nowMs);
  tomorrow.setDate(tomorrow.getDate() + 1);
  tomorrow.setHours(9, 0, 0, 0);
  return [
    { id: 'minute', label: 'In 1 minute', at: now + 60 },
    { id: 'hour', label: 'In 1 hour', at: now + 3600 },
    { id: 'tomorrow', label: 'Tomorrow 9:00', at: Math.floor(tomorrow.getTime() / 1000) },
  ];
}

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;

/** The value of an `<input type="datetime-local">` ("2026-12-24T18:00", this
 * device's time zone) as Unix seconds; null when empty or not a real time. */
export function parseLocalInput(value: string): number | null {
  const m = LOCAL_INPUT.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0));
  const at = new Date(y, mo - 1, d, h, mi, s);
  // new Date rolls 30 February over into March: refuse what did not round-trip.
  if (
    at.getFullYear() !== y ||
    at.getMonth() !== mo - 1 ||
    at.getDate() !== d ||
    at.getHours() !== h ||
    at.getMinutes() !== mi
  ) {
    return null;
  }
  return Math.floor(at.getTime() / 1000);
}

/** Unix seconds as an `<input type="datetime-local">` value, to the minute. */
export function toLocalInput(unixSecs: number): string {
  const at = new Date(unixSecs * 1000);
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${String(at.getFullYear()).padStart(4, '0')}-${two(at.getMonth() + 1)}-${two(at.getDate())}` +
    `T${two(at.getHours())}:${two(at.getMinutes())}`
  );
}

/** Whether a chosen time can be sent: refused (with why), or fine and
 * whether to ask first (more than a year ahead). */
export type OpenAtCheck = { ok: true; confirm: boolean } | { ok: false; error: string };

/** Checks a chosen time `at` against `now` (both Unix seconds), like the node does. */
export function checkOpenAt(at: number | null, now: number): OpenAtCheck {
  if (at === null || !Number.isFinite(at)) return { ok: false, error: 'Pick a date and a time.' };
  if (at <= now) return { ok: false, error: 'That time has passed — pick a later one.' };
  if (at - now > MAX_AHEAD_SECS) {
    return { ok: false, error: 'That is more than 10 years ahead — pick an earlier time.' };
  }
  return { ok: true, confirm: at - now > CONFIRM_AFTER_SECS };
}

function dayKey(unixSecs: number, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    timeZone,
  }).format(new Date(unixSecs * 1000));
}

function yearOf(unixSecs: number, timeZone?: string): string {
  return new Intl.DateTimeFormat('en-CA', { year: 'numeric', timeZone }).format(new Date(unixSecs * 1000));
}

function clock(unixSecs: number, locale?: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone }).format(
    new Date(unixSecs * 1000),
  );
}

/** When a timelocked message opens, short: "18:00" today, "24 Dec 18:00"
 * another day this year, "24 Dec 2027 18:00" another year. */
export function opensAtShort(at: number, now: number, locale?: string, timeZone?: string): string {
  const time = clock(at, locale, timeZone);
  if (dayKey(at, timeZone) === dayKey(now, timeZone)) return time;
  const sameYear = yearOf(at, timeZone) === yearOf(now, timeZone);
  const date = new Intl.DateTimeFormat(locale, {
    day: 'numeric',
    month: 'short',
    year: sameYear ? undefined : 'numeric',
    timeZone,
  }).format(new Date(at * 1000));
  return `${date} ${time}`;
}

/** When a chosen time opens, with the weekday, for the composer: "Thu 24 Dec
 * 18:00" (with the year another year: "Fri, 24 Dec 2027 18:00" in en-GB). */
export function opensAtLong(at: number, now: number, locale?: string, timeZone?: string): string {
  const sameYear = yearOf(at, timeZone) === yearOf(now, timeZone);
  const date = new Intl.DateTimeFormat(locale, {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: sameYear ? undefined : 'numeric',
    timeZone,
  }).format(new Date(at * 1000));
  return `${date} ${clock(at, locale, timeZone)}`;
}

/** The composer's line for a chosen time: "Opens at Thu 24 Dec 18:00 (drand timelock)". */
export function chosenLabel(at: number, now: number, locale?: string, timeZone?: string): string {
  return `Opens at ${opensAtLong(at, now, locale, timeZone)} (drand timelock)`;
}

type Timelocked = Pick<ChatMessage, 'outgoing' | 'opens_at' | 'locked'>;

/**
 * The label of a timelocked message, null for an ordinary one:
 * - incoming, not opened yet: "Opens at 18:00 (drand timelock)";
 * - incoming, opened: "opened at 18:00 · drand timelock";
 * - ours: "opens for Alice at 18:00 (drand timelock)", and once that time
 *   has passed "openable by Alice since 18:00 (drand timelock)".
 * The date is added when it is not today (see opensAtShort).
 */
export function timelockLabel(
  message: Timelocked,
  contactName: string,
  now: number,
  locale?: string,
  timeZone?: string,
): string | null {
  if (message.opens_at === null) return message.locked ? 'Timelocked (drand)' : null;
  const when = opensAtShort(message.opens_at, now, locale, timeZone);
  if (message.outgoing) {
    return message.opens_at > now
      ? `opens for ${contactName} at ${when} (drand timelock)`
      : `openable by ${contactName} since ${when} (drand timelock)`;
  }
  if (message.locked) return `Opens at ${when} (drand timelock)`;
  return `opened at ${when} · drand timelock`;
}

/** A wait as a clock: "00:03", "1:02:03", "2 d 03:04:05". */
export function formatWait(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  const days = Math.floor(s / DAY_SECS);
  const hours = Math.floor((s % DAY_SECS) / 3600);
  const mins = Math.floor((s % 3600) / 60);
  const secs = s % 60;
  if (days > 0) return `${days} d ${two(hours)}:${two(mins)}:${two(secs)}`;
  if (hours > 0) return `${hours}:${two(mins)}:${two(secs)}`;
  return `${two(mins)}:${two(secs)}`;
}

/** Whether a message's timelock has not passed yet. Editing our own such
 * message is not offered: an edit would travel without the timelock. */
export function timelockPending(message: Pick<ChatMessage, 'opens_at'>, now: number): boolean {
  return message.opens_at !== null && message.opens_at > now;
}
