import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import GroupConversation from './GroupConversation.svelte';
import { contact, groupInfo, groupMessage } from './testing';
import type { GroupInfo, GroupMessage } from './ipc';

function backend(group: GroupInfo, messages: GroupMessage[], calls: { cmd: string; args: unknown }[] = []) {
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    if (cmd === 'group_get') return group;
    if (cmd === 'group_messages') return messages;
    if (cmd === 'group_admin') return group;
    throw new Error(`unexpected command ${cmd}`);
  });
}

describe('GroupConversation', () => {
  it('shows authors, the mode of each received copy, and honest wording on ours', async () => {
    backend(groupInfo(), [
      groupMessage({ id: 1, author: 'Carol', mode: 'grid', text: 'grid copy' }),
      groupMessage({ id: 2, author: 'Alice', mode: 'pad', text: 'pad copy' }),
      groupMessage({
        id: 3,
        outgoing: true,
        author: 'me',
        mode: null,
        text: 'ours',
        deliveries: [
          { name: 'Alice', state: 'delivered', mode: 'pad' },
          { name: 'Bob', state: 'queued', mode: 'grid' },
          { name: 'Carol', state: 'not_sent', mode: null },
        ],
      }),
    ]);
    render(GroupConversation, { props: { groupId: 'b00c', contacts: [contact()] } });
    const list = await screen.findByRole('list', { name: 'Messages in Book club' });
    const rows = within(list).getAllByRole('listitem');
    expect(rows[0].textContent).toContain('Carol');
    expect(rows[0].textContent).toContain('post-quantum (grid pad)');
    expect(rows[0].textContent).not.toContain('perfect secrecy');
    expect(rows[1].textContent).toContain('perfect secrecy (one-time pad)');
    expect(rows[2].textContent).toContain('perfect secrecy for 1 of 3 members, post-quantum (grid pad) for 1, 1 not sent');
    const summary = within(rows[2]).getByRole('button', { name: 'delivered to 1 of 3' });
    await fireEvent.click(summary);
    const details = screen.getByRole('dialog', { name: 'Delivery to each member' });
    expect(details.textContent).toContain('not sent (not your contact)');
    // The group as a whole is never called perfectly secret.
    expect(document.body.textContent).not.toMatch(/group (is|has) perfect secrecy/i);
  });

  it('admin actions only for admins; a member who left gets no composer', async () => {
    backend(groupInfo({ admin: false }), []);
    const { unmount } = render(GroupConversation, { props: { groupId: 'b00c', contacts: [] } });
    await fireEvent.click(await screen.findByRole('button', { name: '4 members' }));
    const panel = screen.getByRole('region', { name: 'Members' });
    expect(within(panel).queryByRole('button', { name: /Make admin|Remove|Rename/ })).toBeNull();
    expect(within(panel).getByRole('button', { name: 'Leave…' })).toBeTruthy();
    expect(within(panel).getByTestId('member-Carol').textContent).toContain(
      'not your contact — your messages don’t reach them',
    );
    expect(screen.getByLabelText('Message to Book club')).toBeTruthy();
    unmount();

    const left = groupInfo({ member: false, admin: false });
    left.members = left.members.filter((m) => !m.me);
    backend(left, []);
    render(GroupConversation, { props: { groupId: 'b00c', contacts: [] } });
    expect(await screen.findByText(/You are no longer in this group/)).toBeTruthy();
    expect(screen.queryByLabelText('Message to Book club')).toBeNull();
  });

  it('an admin makes a member admin', async () => {
    const calls: { cmd: string; args: unknown }[] = [];
    backend(groupInfo(), [], calls);
    render(GroupConversation, { props: { groupId: 'b00c', contacts: [] } });
    await fireEvent.click(await screen.findByRole('button', { name: '4 members' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Make Bob an admin' }));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'group_admin')).toBe(true));
    expect(calls.find((c) => c.cmd === 'group_admin')?.args).toEqual({ group: 'b00c0c1b0000000000000000000000aa', member: 'Bob' });
  });

  it('reactions show who reacted; our chip takes ours back; edit and delete only our recent messages', async () => {
    const now = Math.floor(Date.now() / 1000);
    const calls: { cmd: string; args: unknown }[] = [];
    const messages = [
      groupMessage({
        id: 1,
        text: 'from Alice',
        created_at: now - 60,
        reactions: [
          { emoji: '👍', by: 'Bob', mine: false },
          { emoji: '👍', by: 'me', mine: true },
          { emoji: '❤️', by: 'Carol', mine: false },
        ],
      }),
      groupMessage({ id: 2, outgoing: true, author: 'me', mode: null, text: 'ours, recent', created_at: now - 60, edited: true }),
      groupMessage({ id: 3, outgoing: true, author: 'me', mode: null, text: 'ours, old', created_at: now - 25 * 3600 }),
      groupMessage({ id: 4, outgoing: true, author: 'me', mode: null, text: '', deleted: true, created_at: now - 60 }),
    ];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === 'group_get') return groupInfo();
      if (cmd === 'group_messages') return messages;
      if (cmd === 'group_react' || cmd === 'group_edit' || cmd === 'group_delete') return messages[1];
      throw new Error(`unexpected command ${cmd}`);
    });
    render(GroupConversation, { props: { groupId: 'b00c', contacts: [] } });
    const list = await screen.findByRole('list', { name: 'Messages in Book club' });
    const row = (id: number) => list.querySelector(`[data-message-id="${id}"]`) as HTMLElement;

    // Alice's message: one chip per emoji, its tooltip names who reacted.
    const chips = within(row(1)).getByRole('list', { name: 'Reactions' });
    const thumbs = within(chips).getByRole('button', { name: /👍 from you and Bob/ });
    expect(thumbs.getAttribute('title')).toBe('You and Bob reacted 👍 — click to take yours back');
    const heart = within(chips).getByRole('button', { name: /❤️ from Carol/ });
    expect((heart as HTMLButtonElement).disabled).toBe(true);
    expect(heart.getAttribute('title')).toBe('Carol reacted ❤️');
    // Not ours: Reply and React, no Edit or Delete.
    expect(within(row(1)).getByRole('button', { name: 'React' })).toBeTruthy();
    expect(within(row(1)).queryByRole('button', { name: 'Edit' })).toBeNull();
    expect(within(row(1)).queryByRole('button', { name: 'Delete' })).toBeNull();
    await fireEvent.click(thumbs);
    await waitFor(() => expect(calls.find((c) => c.cmd === 'group_react')?.args).toEqual({ message_id: 1, emoji: null }));

    // Ours, recent: edited label; Edit fills the composer and saves an edit.
    expect(row(2).textContent).toContain('edited');
    await fireEvent.click(within(row(2)).getByRole('button', { name: 'Edit' }));
    expect(screen.getByTestId('composer-context').textContent).toContain('Editing your message');
    const box = screen.getByLabelText('Message to Book club') as HTMLTextAreaElement;
    expect(box.value).toBe('ours, recent');
    await fireEvent.input(box, { target: { value: 'ours, changed' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save edit' }));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'group_edit')?.args).toEqual({ message_id: 2, text: 'ours, changed' }),
    );
    expect(calls.some((c) => c.cmd === 'group_send')).toBe(false);

    // Delete: one choice, for everyone.
    await fireEvent.click(within(row(2)).getByRole('button', { name: 'Delete' }));
    const panel = within(row(2)).getByRole('group', { name: 'Delete this message' });
    expect(within(panel).queryByRole('button', { name: 'Delete for me' })).toBeNull();
    await fireEvent.click(within(panel).getByRole('button', { name: 'Delete for everyone' }));
    await waitFor(() => expect(calls.find((c) => c.cmd === 'group_delete')?.args).toEqual({ message_id: 2 }));

    // Ours but older than 24 h: no Edit or Delete. Deleted: said so, no actions.
    expect(within(row(3)).queryByRole('button', { name: 'Edit' })).toBeNull();
    expect(within(row(3)).queryByRole('button', { name: 'Delete' })).toBeNull();
    expect(row(4).textContent).toContain('You deleted this message');
    expect(within(row(4)).queryByRole('toolbar')).toBeNull();
  });
});
