import { describe, expect, it } from 'vitest';
import { canChange, excerpt, quoteText, timerChoices, timerLabel, timerSetBy } from './conversation';
import type { ChatMessage } from './ipc';
import { chatMessage } from './testing';

const NOW = 1_796_294_400;

function message(over: Partial<ChatMessage>): ChatMessage {
  return chatMessage({ created_at: NOW - 60, ...over });
}

describe('conversation helpers', () => {
  it('names timers in whole units', () => {
    expect(timerLabel(0)).toBe('Off');
    expect(timerLabel(5)).toBe('5 seconds');
    expect(timerLabel(300)).toBe('5 minutes');
    expect(timerLabel(3600)).toBe('1 hour');
    expect(timerLabel(86_400)).toBe('1 day');
    expect(timerLabel(604_800)).toBe('1 week');
    expect(timerLabel(1_209_600)).toBe('2 weeks');
    expect(timerLabel(90)).toBe('90 seconds');
  });

  it('offers the usual timers, plus one set elsewhere', () => {
    expect(timerChoices(3600).map((c) => c.secs)).toEqual([0, 300, 3600, 86_400, 604_800]);
    expect(timerChoices(5).map((c) => c.label)).toEqual(['Off', '5 seconds', '5 minutes', '1 hour', '1 day', '1 week']);
  });

  it('says who set the timer', () => {
    expect(timerSetBy({ name: 'Bob', timer_set_by_me: false, timer_set_at: null })).toBeNull();
    expect(timerSetBy({ name: 'Bob', timer_set_by_me: false, timer_set_at: NOW })).toBe('set by Bob');
    expect(timerSetBy({ name: 'Bob', timer_set_by_me: true, timer_set_at: NOW })).toBe('set by you');
  });

  it('lets me change only my own chat text, for 24 hours, until deleted', () => {
    expect(canChange(message({}), NOW)).toBe(true);
    expect(canChange(message({ created_at: NOW - 24 * 3600 }), NOW)).toBe(true);
    expect(canChange(message({ created_at: NOW - 24 * 3600 - 1 }), NOW)).toBe(false);
    expect(canChange(message({ outgoing: false }), NOW)).toBe(false);
    expect(canChange(message({ kind: 'file' }), NOW)).toBe(false);
    expect(canChange(message({ deleted: true }), NOW)).toBe(false);
  });

  it('quotes who said what, or that it is gone', () => {
    expect(quoteText({ message_id: 3, outgoing: true, excerpt: 'hi', deleted: false }, 'Bob')).toEqual({
      who: 'You',
      text: 'hi',
    });
    expect(quoteText({ message_id: 3, outgoing: false, excerpt: '', deleted: true }, 'Bob')).toEqual({
      who: 'Bob',
      text: 'Deleted message',
    });
    expect(quoteText({ message_id: null, outgoing: false, excerpt: '', deleted: false }, 'Bob').text).toBe(
      'A message that is no longer here',
    );
  });

  it('shortens the first line for the reply bar', () => {
    expect(excerpt('one\ntwo')).toBe('one');
    expect(excerpt('x'.repeat(100), 10)).toBe(`${'x'.repeat(10)}…`);
  });
});
