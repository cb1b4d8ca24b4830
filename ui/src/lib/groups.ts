// The words the group screens show, as pure functions: how far one of our
// group messages got (per member copy), what protected each copy, and the
// checks of the "New group" form. Honest wording: a group message is as
// many pairwise copies as there are members; only a copy sealed with a
// one-time pad ("pad") has perfect secrecy, a grid-pad copy is post-quantum.
// Nothing here ever calls the group as a whole perfectly secret.
import type { GroupDelivery } from './bindings/GroupDelivery';
import type { GroupInfo } from './bindings/GroupInfo';
import type { GroupMember } from './bindings/GroupMember';
import type { GroupMessage } from './bindings/GroupMessage';
import type { GroupReactionInfo } from './bindings/GroupReactionInfo';
import { EDIT_WINDOW_SECS } from './conversation';
import { formatBytes } from './coverage';

/** Members a group may have besides us (the node's limit is 50, us included). */
export const MAX_GROUP_OTHERS = 49;

/** "delivered to 3 of 4" (every copy counts, not-sent ones too); "" without copies. */
export function deliverySummary(deliveries: readonly GroupDelivery[]): string {
  if (deliveries.length === 0) return '';
  const delivered = deliveries.filter((d) => d.state === 'delivered').length;
  const failed = deliveries.filter((d) => d.state === 'failed').length;
  let text = `delivered to ${delivered} of ${deliveries.length}`;
  if (failed > 0) text += ` · ${failed} failed`;
  return text;
}

/** What protects our message's copies: "perfect secrecy for 2 of 4 members,
 * post-quantum (grid pad) for 2". Counts copies by mode; copies not sealed
 * yet, or never sent (members who are not our contacts), are said so and
 * never counted as protected. */
export function protectionSummary(deliveries: readonly GroupDelivery[]): string {
  const total = deliveries.length;
  if (total === 0) return '';
  const pad = deliveries.filter((d) => d.mode === 'pad').length;
  const grid = deliveries.filter((d) => d.mode === 'grid').length;
  const notSent = deliveries.filter((d) => d.mode !== 'pad' && d.mode !== 'grid' && d.state === 'not_sent').length;
  const unsealed = total - pad - grid - notSent;
  const parts: string[] = [];
  if (pad > 0) parts.push(`perfect secrecy for ${pad} of ${total} ${total === 1 ? 'member' : 'members'}`);
  if (grid > 0) {
    parts.push(
      pad > 0
        ? `post-quantum (grid pad) for ${grid}`
        : `post-quantum (grid pad) for ${grid} of ${total} ${total === 1 ? 'member' : 'members'}`,
    );
  }
  if (unsealed > 0) parts.push(`${unsealed} not sealed yet`);
  if (notSent > 0) parts.push(`${notSent} not sent`);
  return parts.join(', ');
}

/** A copy's protection by its mode. */
export function modeLabel(mode: string | null): string {
  if (mode === 'pad') return 'perfect secrecy (one-time pad)';
  if (mode === 'grid') return 'post-quantum (grid pad)';
  return 'not sealed';
}

/** A received message: what protected the copy that brought it. */
export function receivedProtection(message: Pick<GroupMessage, 'outgoing' | 'mode'>): string | null {
  if (message.outgoing) return null;
  if (message.mode === 'pad') return 'perfect secrecy (one-time pad)';
  if (message.mode === 'grid') return 'post-quantum (grid pad)';
  return null;
}

/** A copy's state in words. */
export function deliveryStateLabel(state: string): string {
  switch (state) {
    case 'sealing':
      return 'sealing';
    case 'queued':
      return 'queued';
    case 'delivered':
      return 'delivered';
    case 'failed':
      return 'failed';
    case 'not_sent':
      return 'not sent (not your contact)';
    default:
      return state;
  }
}

/** The note next to a member in the member list. */
export function memberNotes(member: GroupMember): string[] {
  const notes: string[] = [];
  if (member.me) notes.push('you');
  if (member.admin) notes.push('admin');
  if (!member.me && !member.contact) notes.push('not your contact — your messages don’t reach them');
  return notes;
}

/** "3 members" */
export function memberCount(group: Pick<GroupInfo, 'members'>): string {
  const n = group.members.length;
  return `${n} ${n === 1 ? 'member' : 'members'}`;
}

/** Why the "New group" form cannot be sent, or null when it can. */
export function newGroupError(name: string, chosen: readonly string[]): string | null {
  if (name.trim() === '') return 'Give the group a name.';
  if ([...name.trim()].length > 64) return 'The name is too long: at most 64 characters.';
  if (chosen.length === 0) return 'Tick at least one contact to add.';
  if (chosen.length > MAX_GROUP_OTHERS) {
    return `A group has at most ${MAX_GROUP_OTHERS + 1} members, you included: untick ${chosen.length - MAX_GROUP_OTHERS}.`;
  }
  return null;
}

/** Whether we may still edit or delete (for every member) this group
 * message at `now` (Unix seconds): ours, not deleted, sent less than 24 h
 * ago — the node's rule. */
export function canChangeGroupMessage(
  message: Pick<GroupMessage, 'outgoing' | 'deleted' | 'created_at'>,
  now: number,
): boolean {
  return message.outgoing && !message.deleted && now - message.created_at <= EDIT_WINDOW_SECS;
}

/** One chip under a group message: an emoji, who chose it ("you" first),
 * and whether we did (then the chip takes our reaction back). */
export type ReactionChip = { emoji: string; who: string[]; mine: boolean };

/** The members' reactions as chips, one per emoji, in the order each emoji
 * first appears; our own reaction counts as "you". */
export function reactionChips(reactions: readonly GroupReactionInfo[]): ReactionChip[] {
  const chips: ReactionChip[] = [];
  for (const r of reactions) {
    let chip = chips.find((c) => c.emoji === r.emoji);
    if (!chip) {
      chip = { emoji: r.emoji, who: [], mine: false };
      chips.push(chip);
    }
    if (r.mine) {
      chip.mine = true;
      chip.who.unshift('you');
    } else {
      chip.who.push(r.by);
    }
  }
  return chips;
}

/** "you, Alice and Bob" */
export function namesList(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** A chip's tooltip: who reacted, and that a click takes ours back. */
export function reactionTitle(chip: ReactionChip): string {
  const who = namesList(chip.who);
  const said = `${who.charAt(0).toUpperCase()}${who.slice(1)} reacted ${chip.emoji}`;
  return chip.mine ? `${said} — click to take yours back` : said;
}

/** The line a group message that shares a file shows: its name and size,
 * and where it is — ours went to each member as a transfer; a received one
 * waits in Transfers (accept it there) once its offer arrived. */
export function fileSummary(message: Pick<GroupMessage, 'outgoing' | 'file'>): string | null {
  const file = message.file;
  if (!file) return null;
  const size = formatBytes(file.size);
  if (message.outgoing) return `${file.name} · ${size} · sent to each member as a file transfer`;
  return file.transfer
    ? `${file.name} · ${size} · offered to you: see Transfers`
    : `${file.name} · ${size} · the file offer has not arrived yet`;
}
