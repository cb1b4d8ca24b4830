import { describe, expect, it } from 'vitest';
import type { GroupDelivery } from './ipc';
import {
  MAX_GROUP_OTHERS,
  canChangeGroupMessage,
  namesList,
  reactionChips,
  reactionTitle,
  deliveryStateLabel,
  deliverySummary,
  fileSummary,
  memberCount,
  memberNotes,
  modeLabel,
  newGroupError,
  protectionSummary,
  receivedProtection,
} from './groups';
import { groupMessage } from './testing';

const d = (name: string, state: string, mode: string | null): GroupDelivery => ({ name, state, mode });

describe('deliverySummary', () => {
  it('counts delivered copies out of every copy', () => {
    expect(
      deliverySummary([
        d('Alice', 'delivered', 'pad'),
        d('Bob', 'delivered', 'grid'),
        d('Carol', 'delivered', 'grid'),
        d('Dave', 'queued', 'grid'),
      ]),
    ).toBe('delivered to 3 of 4');
  });
  it('says how many failed, and nothing without copies', () => {
    expect(deliverySummary([d('Alice', 'failed', 'pad'), d('Bob', 'not_sent', null)])).toBe(
      'delivered to 0 of 2 · 1 failed',
    );
    expect(deliverySummary([])).toBe('');
  });
});

describe('protectionSummary', () => {
  it('counts pad copies only as perfect secrecy, the rest as grid pad', () => {
    expect(
      protectionSummary([
        d('Alice', 'delivered', 'pad'),
        d('Bob', 'delivered', 'pad'),
        d('Carol', 'queued', 'grid'),
        d('Dave', 'queued', 'grid'),
      ]),
    ).toBe('perfect secrecy for 2 of 4 members, post-quantum (grid pad) for 2');
  });
  it('never says perfect secrecy when no copy used a pad', () => {
    const text = protectionSummary([d('Bob', 'delivered', 'grid'), d('Carol', 'queued', 'grid')]);
    expect(text).toBe('post-quantum (grid pad) for 2 of 2 members');
    expect(text).not.toMatch(/perfect secrecy/);
  });
  it('counts copies not sealed yet as such', () => {
    expect(protectionSummary([d('Alice', 'delivered', 'pad'), d('Eve', 'not_sent', null)])).toBe(
      'perfect secrecy for 1 of 2 members, 1 not sent',
    );
    expect(protectionSummary([d('Alice', 'sealing', null)])).toBe('1 not sealed yet');
    expect(protectionSummary([])).toBe('');
  });
});

describe('per-copy and received wording', () => {
  it('names each mode honestly', () => {
    expect(modeLabel('pad')).toBe('perfect secrecy (one-time pad)');
    expect(modeLabel('grid')).toBe('post-quantum (grid pad)');
    expect(modeLabel(null)).toBe('not sealed');
  });
  it('a received message shows the mode of the copy that brought it', () => {
    expect(receivedProtection({ outgoing: false, mode: 'pad' })).toBe('perfect secrecy (one-time pad)');
    expect(receivedProtection({ outgoing: false, mode: 'grid' })).toBe('post-quantum (grid pad)');
    expect(receivedProtection({ outgoing: false, mode: null })).toBeNull();
    expect(receivedProtection({ outgoing: true, mode: null })).toBeNull();
  });
  it('labels copy states', () => {
    expect(deliveryStateLabel('not_sent')).toBe('not sent (not your contact)');
    expect(deliveryStateLabel('delivered')).toBe('delivered');
  });
});

describe('members', () => {
  const m = { name: 'Carol', peer_id: 'p', admin: false, me: false, contact: true };
  it('marks you, admins and members who are not your contacts', () => {
    expect(memberNotes({ ...m, me: true, admin: true })).toEqual(['you', 'admin']);
    expect(memberNotes(m)).toEqual([]);
    expect(memberNotes({ ...m, contact: false })).toEqual([
      'not your contact — your messages don’t reach them',
    ]);
  });
  it('counts members', () => {
    expect(memberCount({ members: [m] })).toBe('1 member');
    expect(memberCount({ members: [m, m, m] })).toBe('3 members');
  });
});

describe('newGroupError', () => {
  it('asks for a name and at least one contact', () => {
    expect(newGroupError('  ', ['Alice'])).toBe('Give the group a name.');
    expect(newGroupError('Family', [])).toBe('Tick at least one contact to add.');
    expect(newGroupError('x'.repeat(65), ['Alice'])).toMatch(/too long/);
    expect(newGroupError('Family', ['Alice'])).toBeNull();
  });
  it('allows at most 49 others', () => {
    const names = Array.from({ length: MAX_GROUP_OTHERS + 2 }, (_, i) => `c${i}`);
    expect(newGroupError('Big', names.slice(0, MAX_GROUP_OTHERS))).toBeNull();
    expect(newGroupError('Big', names)).toBe('A group has at most 50 members, you included: untick 2.');
  });
});

describe('canChangeGroupMessage', () => {
  const at = 1_784_792_370;
  it('allows our own message for 24 hours', () => {
    expect(canChangeGroupMessage({ outgoing: true, deleted: false, created_at: at }, at + 60)).toBe(true);
    expect(canChangeGroupMessage({ outgoing: true, deleted: false, created_at: at }, at + 24 * 3600)).toBe(true);
    expect(canChangeGroupMessage({ outgoing: true, deleted: false, created_at: at }, at + 24 * 3600 + 1)).toBe(false);
  });
  it("refuses other members' messages and deleted ones", () => {
    expect(canChangeGroupMessage({ outgoing: false, deleted: false, created_at: at }, at)).toBe(false);
    expect(canChangeGroupMessage({ outgoing: true, deleted: true, created_at: at }, at)).toBe(false);
  });
});

describe('reactionChips', () => {
  const r = (emoji: string, by: string, mine = false) => ({ emoji, by, mine });
  it('makes one chip per emoji, in order, with us first as "you"', () => {
    expect(reactionChips([r('👍', 'Alice'), r('❤️', 'Bob'), r('👍', 'me', true), r('👍', 'Carol')])).toEqual([
      { emoji: '👍', who: ['you', 'Alice', 'Carol'], mine: true },
      { emoji: '❤️', who: ['Bob'], mine: false },
    ]);
  });
  it('is empty without reactions', () => {
    expect(reactionChips([])).toEqual([]);
  });
});

describe('reactionTitle', () => {
  it('names who reacted, and offers to take ours back', () => {
    expect(reactionTitle({ emoji: '👍', who: ['you', 'Alice', 'Carol'], mine: true })).toBe(
      'You, Alice and Carol reacted 👍 — click to take yours back',
    );
    expect(reactionTitle({ emoji: '❤️', who: ['Bob'], mine: false })).toBe('Bob reacted ❤️');
  });
  it('lists names in words', () => {
    expect(namesList([])).toBe('');
    expect(namesList(['Alice'])).toBe('Alice');
    expect(namesList(['you', 'Alice'])).toBe('you and Alice');
  });
});

describe('fileSummary', () => {
  const file = { name: 'notes.pdf', size: 3 * 1024 * 1024, blake3: 'ab'.repeat(32), transfer: null };
  it('is null for a text', () => {
    expect(fileSummary(groupMessage())).toBeNull();
  });
  it('says where a shared file is', () => {
    expect(fileSummary(groupMessage({ outgoing: true, file }))).toBe(
      'notes.pdf · 3.0 MiB · sent to each member as a file transfer',
    );
    expect(fileSummary(groupMessage({ file }))).toBe('notes.pdf · 3.0 MiB · the file offer has not arrived yet');
    expect(fileSummary(groupMessage({ file: { ...file, transfer: 'abcd' } }))).toBe(
      'notes.pdf · 3.0 MiB · offered to you: see Transfers',
    );
  });
});
