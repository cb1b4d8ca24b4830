// What the conversation shows about replies, reactions, edits, deletes and
// the disappearing-messages timer: pure helpers, tested on their own.
import type { ChatMessage, Contact, Quote } from './ipc';

/** The reactions offered under a message (any single emoji is accepted). */
export const REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

/** How long after sending a message its sender may edit or delete it for everyone. */
export const EDIT_WINDOW_SECS = 24 * 3600;

/** The timer choices the conversation header offers. */
export const TIMER_CHOICES: readonly { secs: number; label: string }[] = [
  { secs: 0, label: 'Off' },
  { secs: 300, label: '5 minutes' },
  { secs: 3600, label: '1 hour' },
  { secs: 86_400, label: '1 day' },
  { secs: 604_800, label: '1 week' },
];

/** A timer in words: "Off", "1 hour", "90 seconds". */
export function timerLabel(secs: number): string {
  if (secs <= 0) return 'Off';
  const units: [number, string][] = [
    [604_800, 'week'],
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) {
    if (secs % size === 0) {
      const n = secs / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${secs} seconds`;
}

/** The choices for a contact's timer: the usual ones, plus the one set now
 * if it is another (e.g. 5 seconds from `zks contacts timer`). */
export function timerChoices(current: number): { secs: number; label: string }[] {
  if (TIMER_CHOICES.some((c) => c.secs === current)) return [...TIMER_CHOICES];
  return [...TIMER_CHOICES, { secs: current, label: timerLabel(current) }].sort(
    (a, b) => a.secs - b.secs,
  );
}

/** Who set the timer, for the header: "set by you", "set by Bob"; null if never set. */
export function timerSetBy(contact: Pick<Contact, 'name' | 'timer_set_by_me' | 'timer_set_at'>): string | null {
  if (contact.timer_set_at === null) return null;
  return contact.timer_set_by_me ? 'set by you' : `set by ${contact.name}`;
}

/** Whether we may still edit or delete this message for everyone at `now`
 * (Unix seconds): our own chat text, not deleted, sent less than 24 h ago. */
export function canChange(message: ChatMessage, now: number): boolean {
  return (
    message.outgoing &&
    message.kind === 'text' &&
    !message.deleted &&
    now - message.created_at <= EDIT_WINDOW_SECS
  );
}

/** Who wrote a quoted message and what it said, as the reply shows it. */
export function quoteText(quote: Quote, contactName: string): { who: string; text: string } {
  if (quote.message_id === null) return { who: '', text: 'A message that is no longer here' };
  const who = quote.outgoing ? 'You' : contactName;
  if (quote.deleted) return { who, text: 'Deleted message' };
  return { who, text: quote.excerpt };
}

/** The first line of a message, shortened, for the "Replying to" bar. */
export function excerpt(text: string, max = 80): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** When a disappearing message goes, for its bubble: "disappears 18:05". */
export function disappearsLabel(expiresAt: number | null, now: Date = new Date()): string | null {
  if (expiresAt === null) return null;
  const at = new Date(expiresAt * 1000);
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (at.toDateString() === now.toDateString()) return `disappears ${time}`;
  return `disappears ${at.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${time}`;
}
