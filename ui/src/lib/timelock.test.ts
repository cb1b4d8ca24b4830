import { describe, expect, it } from 'vitest';
import {
  CONFIRM_AFTER_SECS,
  MAX_AHEAD_SECS,
  checkOpenAt,
  chosenLabel,
  formatWait,
  opensAtLong,
  opensAtShort,
  parseLocalInput,
  quickChoices,
  timelockLabel,
  timelockPending,
  timelockTitle,
  toLocalInput,
} from './timelock';

/** Thu 24 Dec 2026 18:00 UTC. */
const XMAS_EVE = Date.UTC(2026, 11, 24, 18, 0) / 1000;
/** The same day, 09:30 UTC. */
const MORNING = Date.UTC(2026, 11, 24, 9, 30) / 1000;

describe('the quick choices of the picker', () => {
  it('are in a minute, in an hour and tomorrow at 9:00 local time', () => {
    const nowMs = new Date(2026, 11, 24, 22, 15, 30).getTime();
    const now = Math.floor(nowMs / 1000);
    const [minute, hour, tomorrow] = quickChoices(nowMs);
    expect(minute).toEqual({ id: 'minute', label: 'In 1 minute', at: now + 60 });
    expect(hour).toEqual({ id: 'hour', label: 'In 1 hour', at: now + 3600 });
    expect(tomorrow.label).toBe('Tomorrow 9:00');
    const at = new Date(tomorrow.at * 1000);
    expect([at.getFullYear(), at.getMonth(), at.getDate(), at.getHours(), at.getMinutes()]).toEqual([
      2026, 11, 25, 9, 0,
    ]);
  });

  it('roll over the end of a month and a year', () => {
    const [, , tomorrow] = quickChoices(new Date(2026, 11, 31, 23, 59).getTime());
    const at = new Date(tomorrow.at * 1000);
    expect([at.getFullYear(), at.getMonth(), at.getDate(), at.getHours()]).toEqual([2027, 0, 1, 9]);
  });
});

describe('the custom date and time', () => {
  it('reads a datetime-local value in local time and writes it back', () => {
    const at = parseLocalInput('2026-12-24T18:00');
    expect(at).toBe(new Date(2026, 11, 24, 18, 0).getTime() / 1000);
    expect(toLocalInput(at!)).toBe('2026-12-24T18:00');
    expect(parseLocalInput('2026-12-24T18:00:30')).toBe(at! + 30);
    expect(toLocalInput(new Date(2027, 0, 5, 7, 3, 59).getTime() / 1000)).toBe('2027-01-05T07:03');
  });

  it('refuses empty, partial and impossible values', () => {
    expect(parseLocalInput('')).toBeNull();
    expect(parseLocalInput('2026-12-24')).toBeNull();
    expect(parseLocalInput('tomorrow')).toBeNull();
    expect(parseLocalInput('2026-02-30T10:00')).toBeNull();
    expect(parseLocalInput('2026-12-24T25:00')).toBeNull();
  });
});

describe('checking a chosen time', () => {
  const now = 1_800_000_000;

  it('refuses a time that has passed, now included', () => {
    expect(checkOpenAt(now - 60, now)).toEqual({ ok: false, error: 'That time has passed — pick a later one.' });
    expect(checkOpenAt(now, now)).toEqual({ ok: false, error: 'That time has passed — pick a later one.' });
    expect(checkOpenAt(null, now)).toEqual({ ok: false, error: 'Pick a date and a time.' });
  });

  it('takes a time up to a year ahead as it is', () => {
    expect(checkOpenAt(now + 1, now)).toEqual({ ok: true, confirm: false });
    expect(checkOpenAt(now + CONFIRM_AFTER_SECS, now)).toEqual({ ok: true, confirm: false });
  });

  it('asks first beyond a year, and refuses beyond ten years like the node', () => {
    expect(checkOpenAt(now + CONFIRM_AFTER_SECS + 1, now)).toEqual({ ok: true, confirm: true });
    expect(checkOpenAt(now + MAX_AHEAD_SECS, now)).toEqual({ ok: true, confirm: true });
    expect(checkOpenAt(now + MAX_AHEAD_SECS + 1, now)).toEqual({
      ok: false,
      error: 'That is more than 10 years ahead — pick an earlier time.',
    });
  });
});

describe('when a timelocked message opens, in words', () => {
  it('is the time of day today, with the date another day, with the year another year', () => {
    expect(opensAtShort(XMAS_EVE, MORNING, 'en-GB', 'UTC')).toBe('18:00');
    expect(opensAtShort(XMAS_EVE, MORNING - 86_400, 'en-GB', 'UTC')).toBe('24 Dec 18:00');
    expect(opensAtShort(XMAS_EVE + 365 * 86_400, MORNING, 'en-GB', 'UTC')).toBe('24 Dec 2027 18:00');
  });

  it("uses the device's time zone for the day and the time", () => {
    // 18:00 UTC is already the 25th, 03:00, in Tokyo.
    expect(opensAtShort(XMAS_EVE, MORNING, 'en-GB', 'Asia/Tokyo')).toBe('25 Dec 03:00');
    expect(opensAtShort(XMAS_EVE, MORNING, 'en-GB', 'America/New_York')).toBe('13:00');
  });

  it('has the weekday in the composer', () => {
    expect(opensAtLong(XMAS_EVE, MORNING, 'en-GB', 'UTC')).toBe('Thu 24 Dec 18:00');
    expect(chosenLabel(XMAS_EVE, MORNING, 'en-GB', 'UTC')).toBe('Opens at Thu 24 Dec 18:00 (drand timelock)');
    // Another year: with it (in the locale's own words).
    expect(opensAtLong(XMAS_EVE + 365 * 86_400, MORNING, 'en-GB', 'UTC')).toBe('Fri, 24 Dec 2027 18:00');
  });
});

describe('the label of a timelocked message', () => {
  const label = (m: { outgoing: boolean; opens_at: number | null; locked: boolean }, now = MORNING) =>
    timelockLabel(m, 'Alice', now, 'en-GB', 'UTC');

  it('says when a locked message opens', () => {
    expect(label({ outgoing: false, opens_at: XMAS_EVE, locked: true })).toBe('Opens at 18:00 (drand timelock)');
    expect(label({ outgoing: false, opens_at: XMAS_EVE, locked: true }, MORNING - 86_400)).toBe(
      'Opens at 24 Dec 18:00 (drand timelock)',
    );
  });

  it('says when an opened one opened', () => {
    expect(label({ outgoing: false, opens_at: XMAS_EVE, locked: false }, XMAS_EVE + 60)).toBe(
      'opened at 18:00 · drand timelock',
    );
  });

  it('says for whom ours opens, and since when it can be opened', () => {
    expect(label({ outgoing: true, opens_at: XMAS_EVE, locked: false })).toBe(
      'opens for Alice at 18:00 (drand timelock)',
    );
    expect(label({ outgoing: true, opens_at: XMAS_EVE, locked: false }, XMAS_EVE + 60)).toBe(
      'openable by Alice since 18:00 (drand timelock)',
    );
  });

  it('is absent for ordinary messages', () => {
    expect(label({ outgoing: false, opens_at: null, locked: false })).toBeNull();
    expect(label({ outgoing: true, opens_at: null, locked: false })).toBeNull();
  });

  it('explains the layer honestly: its round, not post-quantum, trusting the League of Entropy', () => {
    const title = timelockTitle(1234);
    expect(title).toBe(
      'Timelocked to drand round 1234: nobody, not even the recipient, can open it before that round is published. ' +
        'This layer is pairing-based (not post-quantum) and trusts the League of Entropy not to publish the round ' +
        'early; the outer seal keeps its own protection.',
    );
    expect(timelockTitle(null)).toContain('Timelocked to a drand round:');
    for (const text of [title, label({ outgoing: false, opens_at: XMAS_EVE, locked: true })!]) {
      expect(text).not.toMatch(/perfect secrecy|unbreakable/i);
    }
  });

  it('marks ours as pending until its time', () => {
    expect(timelockPending({ opens_at: XMAS_EVE }, XMAS_EVE - 1)).toBe(true);
    expect(timelockPending({ opens_at: XMAS_EVE }, XMAS_EVE)).toBe(false);
    expect(timelockPending({ opens_at: null }, XMAS_EVE)).toBe(false);
  });
});

describe('the wait until a message opens', () => {
  it('is mm:ss under an hour, h:mm:ss under a day, then days', () => {
    expect(formatWait(3)).toBe('00:03');
    expect(formatWait(-2)).toBe('00:00');
    expect(formatWait(59 * 60 + 59)).toBe('59:59');
    expect(formatWait(3600 + 2 * 60 + 3)).toBe('1:02:03');
    expect(formatWait(2 * 86_400 + 3 * 3600 + 4 * 60 + 5)).toBe('2 d 03:04:05');
  });
});
