import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import Chat from './Chat.svelte';
import App from '../App.svelte';
import { NODE_EVENT, type ChatMessage, type Transfer } from '../lib/ipc';
import { chatMessage, contact, sampleLiveGrid, sampleNodeStatus, transfer, watchDrops } from '../lib/testing';
import { parseLocalInput, toLocalInput } from '../lib/timelock';
import { nodeStatus } from '../lib/nodeStatus.svelte';


/** 3 Dec 2026 10:40 UTC: when the rounds of the sample grid-pad messages were due. */
const SEALED_AT = 1_796_294_400;
const status = sampleNodeStatus({ data_dir: '/tmp/home', uptime_secs: 1 });

describe('Chat', () => {
  it('says there are no contacts and offers the Pairing screen', async () => {
    mockIPC((cmd) => {
      if (cmd === 'contacts_list') return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    const onnavigate = vi.fn();
    render(Chat, { props: { onnavigate } });
    expect(await screen.findByText('No contacts yet — pair on the Pairing screen')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Go to Pairing' }));
    expect(onnavigate).toHaveBeenCalledWith('pairing');
    expect(screen.getByText('No conversation open.')).toBeTruthy();
  });

  it('lists contacts with verification badges and the pad left', async () => {
    mockIPC((cmd) => {
      if (cmd === 'contacts_list')
        return [
          contact({ name: 'Alice', verified: true }),
          contact({
            name: 'Bob',
            pad: { pad_id: 'ab', size: 20 << 20, send_left: 10 << 20, receive_left: 10 << 20 },
          }),
        ];
      if (cmd === 'chat_history') return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Chat);
    const list = await screen.findByRole('navigation', { name: 'Contacts' });
    const alice = await within(list).findByRole('button', { name: /Alice/ });
    const bob = within(list).getByRole('button', { name: /Bob/ });
    expect(within(alice).getByText('Verified')).toBeTruthy();
    expect(within(alice).queryByText(/Pad/)).toBeNull();
    expect(within(bob).getByText('Not verified')).toBeTruthy();
    expect(within(bob).getByText('Pad · 10.0 MiB left')).toBeTruthy();

    // The first contact is open; its conversation says what protects it.
    expect(alice.getAttribute('aria-current')).toBe('true');
    const pane = screen.getByRole('region', { name: 'Conversation' });
    expect(within(pane).getByText('Post-quantum encrypted')).toBeTruthy();
    expect(within(pane).queryByText(/not verified/)).toBeNull();
    await fireEvent.click(bob);
    expect(within(pane).getByText(/Perfect secrecy — 10.0 MiB of pad left\. · not verified/)).toBeTruthy();
    // Bob is not verified: his safety code can be compared from here.
    expect(within(pane).getByRole('button', { name: 'Mark as verified' })).toBeTruthy();
  });

  it("labels the open contact's connection: direct, relayed via a short id, or nothing", async () => {
    const relay = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';
    mockIPC((cmd) => {
      if (cmd === 'contacts_list')
        return ['Alice', 'Bob', 'Carol'].map((name) => contact({ name, verified: true }));
      if (cmd === 'chat_history') return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    nodeStatus.status = sampleNodeStatus({
      live: sampleLiveGrid({ Alice: 'direct', Bob: `relayed via ${relay}`, Carol: 'not connected' }),
    });
    try {
      render(Chat);
      const list = await screen.findByRole('navigation', { name: 'Contacts' });
      const pane = screen.getByRole('region', { name: 'Conversation' });
      await within(pane).findByRole('heading', { name: 'Alice' });
      expect(within(pane).getByTestId('contact-path').textContent).toBe('direct');
      await fireEvent.click(within(list).getByRole('button', { name: /Bob/ }));
      expect(within(pane).getByRole('heading', { name: 'Bob' })).toBeTruthy();
      expect(within(pane).getByTestId('contact-path').textContent).toBe('relayed via 12D3KooW…x6nXTN');
      await fireEvent.click(within(list).getByRole('button', { name: /Carol/ }));
      expect(within(pane).getByRole('heading', { name: 'Carol' })).toBeTruthy();
      expect(within(pane).queryByTestId('contact-path')).toBeNull();

      // Offline (no live report): no label either.
      await fireEvent.click(within(list).getByRole('button', { name: /Alice/ }));
      expect(within(pane).getByTestId('contact-path')).toBeTruthy();
      nodeStatus.status = sampleNodeStatus({ live: null });
      await waitFor(() => expect(within(pane).queryByTestId('contact-path')).toBeNull());
    } finally {
      nodeStatus.status = null;
    }
  });

  it('shows a loading error in an alert', async () => {
    mockIPC(() => {
      throw { code: 'store', message: 'database error: locked' };
    });
    render(Chat);
    expect((await screen.findByRole('alert')).textContent).toContain('database error: locked');
  });

  it('goes to the Pairing screen from the empty state in the app', async () => {
    mockIPC((cmd) => {
      if (cmd === 'node_status') return status;
      if (cmd === 'contacts_list') return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    render(App);
    await fireEvent.click(await screen.findByRole('button', { name: 'Go to Pairing' }));
    expect(await screen.findByRole('heading', { name: 'Pairing', level: 1 })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Pairing' }).getAttribute('aria-current')).toBe('page');
  });

  describe('conversation', () => {
    const now = Math.floor(Date.now() / 1000);
    const PAD = { pad_id: 'ab', size: 20 << 20, send_left: 10 << 20, receive_left: 10 << 20 };

    function message(over: Partial<ChatMessage>): ChatMessage {
      return chatMessage({ round: 4242, sealed_after: SEALED_AT, state: 'queued', created_at: now, ...over });
    }

    /** A backend with one contact, a history and a chat_send that appends. */
    function backend(opts: { pad?: boolean; history?: ChatMessage[]; sendError?: unknown } = {}) {
      const history = [...(opts.history ?? [])];
      const calls: { cmd: string; args: Record<string, unknown> }[] = [];
      mockIPC(
        (cmd, args) => {
          const a = (args ?? {}) as Record<string, unknown>;
          calls.push({ cmd, args: a });
          if (cmd === 'contacts_list')
            return [contact({ name: 'Alice', verified: true, pad: opts.pad ? PAD : null })];
          if (cmd === 'chat_history') return history.map((m) => ({ ...m }));
          if (cmd === 'chat_send') {
            if (opts.sendError) throw opts.sendError;
            const id = history.length + 1;
            history.push(
              message({
                id,
                text: String(a.text),
                mode: a.pad ? 'pad' : 'grid',
                round: a.pad ? null : 4243,
                sealed_after: a.pad ? null : SEALED_AT,
                opens_at: typeof a.open_at === 'number' ? a.open_at : null,
                opens_round: typeof a.open_at === 'number' ? 9_000_000 : null,
              }),
            );
            return {
              message_id: id,
              protection: a.pad ? 'Perfect secrecy (one-time pad)' : 'Post-quantum encrypted',
              round: a.pad ? null : 4243,
            };
          }
          throw new Error(`unexpected command ${cmd}`);
        },
        { shouldMockEvents: true },
      );
      return { history, calls, count: (cmd: string) => calls.filter((c) => c.cmd === cmd).length };
    }

    it('shows the history with delivery states and what protects each message', async () => {
      backend({
        history: [
          message({ id: 1, outgoing: false, text: 'hi there', state: null, round: 4000 }),
          message({ id: 2, text: 'queued one', state: 'queued', round: 4001 }),
          message({ id: 3, text: 'delivered one', state: 'delivered', round: 4002 }),
          message({ id: 4, text: 'refused one', state: 'failed', error: 'cannot_open: bad key' }),
          message({ id: 5, text: 'pad one', mode: 'pad', round: null, sealed_after: null, state: 'delivered' }),
        ],
      });
      render(Chat);
      const list = await screen.findByRole('list', { name: 'Messages with Alice' });
      const items = within(list).getAllByRole('listitem');
      expect(items).toHaveLength(5);
      const [incoming, queued, delivered, failed, pad] = items;
      expect(incoming.classList.contains('outgoing')).toBe(false);
      expect(queued.classList.contains('outgoing')).toBe(true);
      expect(within(incoming).getByText('hi there')).toBeTruthy();
      expect(within(incoming).getByText('Post-quantum encrypted')).toBeTruthy();
      // Sent and received grid-pad messages show how old their round is.
      const sealed = `sealed after ${new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric' }).format(new Date(SEALED_AT * 1000))}`;
      expect(within(incoming).getByText((t) => t.startsWith(sealed))).toBeTruthy();
      expect(within(incoming).queryByText(/queued|delivered|failed/)).toBeNull();
      expect(within(queued).getByText('queued')).toBeTruthy();
      expect(within(queued).getByText('Post-quantum encrypted')).toBeTruthy();
      expect(within(queued).getByText((t) => t.startsWith(sealed)).getAttribute('title')).toContain('round 4001');
      expect(within(delivered).getByText('delivered')).toBeTruthy();
      expect(within(failed).getByText('failed: cannot_open: bad key')).toBeTruthy();
      expect(within(pad).getByText('Perfect secrecy (one-time pad)')).toBeTruthy();
      expect(pad.textContent).not.toContain('sealed after');
      // Only the one-time pad is called perfect secrecy.
      for (const item of [incoming, queued, delivered, failed]) {
        expect(item.textContent).not.toContain('Perfect secrecy');
      }
    });

    it('says "in mailbox" for a message held by mailbox hosts', async () => {
      backend({
        history: [message({ id: 7, text: 'while you were away', state: 'mailbox', round: 4003 })],
      });
      render(Chat);
      const list = await screen.findByRole('list', { name: 'Messages with Alice' });
      const [item] = within(list).getAllByRole('listitem');
      expect(within(item).getByText('in mailbox')).toBeTruthy();
    });

    it('sends with the Send button and refreshes the history', async () => {
      const b = backend();
      render(Chat);
      expect(await screen.findByText('No messages yet.')).toBeTruthy();
      const box = screen.getByRole('textbox', { name: 'Message to Alice' });
      const send = screen.getByRole('button', { name: 'Send' }) as HTMLButtonElement;
      expect(send.disabled).toBe(true);
      await fireEvent.input(box, { target: { value: 'hello Alice' } });
      await fireEvent.click(send);
      const list = await screen.findByRole('list', { name: 'Messages with Alice' });
      expect(await within(list).findByText('hello Alice')).toBeTruthy();
      expect(within(list).getByText('queued')).toBeTruthy();
      expect(b.calls.find((c) => c.cmd === 'chat_send')?.args).toEqual({
        contact: 'Alice',
        text: 'hello Alice',
        pad: false,
        reply_to: null,
        open_at: null,
      });
      expect(b.count('chat_history')).toBeGreaterThanOrEqual(2);
      expect((box as HTMLTextAreaElement).value).toBe('');
    });

    it('sends on Enter; Shift+Enter does not send', async () => {
      const b = backend();
      render(Chat);
      await screen.findByText('No messages yet.');
      const box = screen.getByRole('textbox', { name: 'Message to Alice' });
      await fireEvent.input(box, { target: { value: 'line one' } });
      await fireEvent.keyDown(box, { key: 'Enter', shiftKey: true });
      expect(b.count('chat_send')).toBe(0);
      await fireEvent.keyDown(box, { key: 'Enter' });
      expect(await screen.findByText('line one')).toBeTruthy();
      expect(b.count('chat_send')).toBe(1);
    });

    it('shows why nothing was sent, in words without commands', async () => {
      const message = 'the one-time pad shared with Alice is used up; import a new one to keep using it';
      backend({ sendError: { code: 'pad', message } });
      render(Chat);
      await screen.findByText('No messages yet.');
      const box = screen.getByRole('textbox', { name: 'Message to Alice' });
      await fireEvent.input(box, { target: { value: 'hello' } });
      await fireEvent.keyDown(box, { key: 'Enter' });
      const alert = await screen.findByRole('alert');
      expect(alert.textContent).toContain('Not sent.');
      expect(alert.textContent).toContain(message);
      // The draft is kept for another try.
      expect((box as HTMLTextAreaElement).value).toBe('hello');
    });

    it('offers the one-time pad only when one is shared', async () => {
      backend();
      const { unmount } = render(Chat);
      await screen.findByText('No messages yet.');
      expect(screen.queryByRole('checkbox', { name: /Use one-time pad/ })).toBeNull();
      unmount();

      const b = backend({ pad: true });
      render(Chat);
      await screen.findByText('No messages yet.');
      const pad = screen.getByRole('checkbox', { name: 'Use one-time pad (10.0 MiB left)' });
      await fireEvent.click(pad);
      const box = screen.getByRole('textbox', { name: 'Message to Alice' });
      await fireEvent.input(box, { target: { value: 'secret' } });
      await fireEvent.click(screen.getByRole('button', { name: 'Send' }));
      const item = (await screen.findByText('secret')).closest('li')!;
      expect(within(item).getByText('Perfect secrecy (one-time pad)')).toBeTruthy();
      expect(b.calls.find((c) => c.cmd === 'chat_send')?.args).toEqual({
        contact: 'Alice',
        text: 'secret',
        pad: true,
        reply_to: null,
        open_at: null,
      });
    });

    it('refreshes when a message arrives or is delivered', async () => {
      const b = backend({ history: [message({ id: 1, text: 'queued one' })] });
      render(Chat);
      expect(await screen.findByText('queued')).toBeTruthy();
      const before = b.count('chat_history');

      b.history.push(message({ id: 2, outgoing: false, text: 'a reply', state: null }));
      await emit(NODE_EVENT, { kind: 'message_received', from: 'Alice' });
      expect(await screen.findByText('a reply')).toBeTruthy();

      b.history[0].state = 'delivered';
      await emit(NODE_EVENT, { kind: 'message_delivered', message_id: 1 });
      expect(await screen.findByText('delivered')).toBeTruthy();
      expect(b.count('chat_history')).toBe(before + 2);
    });

    it('shows a key or pad reuse alarm in that conversation only', async () => {
      backend();
      render(Chat);
      await screen.findByText('No messages yet.');
      expect(screen.queryByTestId('reuse-alarm')).toBeNull();
      await emit(NODE_EVENT, { kind: 'key_reuse_detected', contact: 'Bob', detail: 'not this one' });
      await emit(NODE_EVENT, {
        kind: 'key_reuse_detected',
        contact: 'Alice',
        detail: 'A message from Alice reuses the key of an earlier one; it was refused',
      });
      const alarm = await screen.findByTestId('reuse-alarm');
      expect(alarm.textContent).toContain('Key or pad reuse detected.');
      expect(alarm.textContent).toContain('A message from Alice reuses the key');
      expect(alarm.textContent).not.toContain('not this one');
    });

    describe('open at a chosen time', () => {
      afterEach(() => vi.restoreAllMocks());

      const sends = (b: ReturnType<typeof backend>) => b.calls.filter((c) => c.cmd === 'chat_send').map((c) => c.args);

      async function openPicker(): Promise<HTMLElement> {
        const toggle = screen.getByRole('button', { name: /Open at…/ });
        expect(toggle.getAttribute('aria-expanded')).toBe('false');
        await fireEvent.click(toggle);
        expect(toggle.getAttribute('aria-expanded')).toBe('true');
        return screen.getByRole('group', { name: 'Open at a chosen time' });
      }

      it('sends with the time picked, says when it opens, then resets', async () => {
        const b = backend();
        render(Chat);
        await screen.findByText('No messages yet.');
        const picker = await openPicker();
        const before = Math.floor(Date.now() / 1000);
        await fireEvent.click(within(picker).getByRole('button', { name: 'In 1 hour' }));
        // The picker closes; the composer says when it opens.
        expect(screen.queryByRole('group', { name: 'Open at a chosen time' })).toBeNull();
        const chosen = screen.getByTestId('open-at-chosen');
        expect(chosen.textContent).toMatch(/Opens at .+ \(drand timelock\)/);
        expect(chosen.textContent).not.toMatch(/perfect secrecy/i);

        const box = screen.getByRole('textbox', { name: 'Message to Alice' });
        await fireEvent.input(box, { target: { value: 'later, Alice' } });
        await fireEvent.click(screen.getByRole('button', { name: 'Send' }));
        const item = (await screen.findByText('later, Alice')).closest('li')!;
        expect(within(item).getByText(/^opens for Alice at .+ \(drand timelock\)$/)).toBeTruthy();
        const [args] = sends(b);
        expect(args).toMatchObject({ contact: 'Alice', text: 'later, Alice', pad: false, reply_to: null });
        expect(args.open_at).toBeGreaterThanOrEqual(before + 3600);
        expect(args.open_at).toBeLessThanOrEqual(before + 3602);

        // The option resets after sending: the next message is ordinary.
        expect(screen.queryByTestId('open-at-chosen')).toBeNull();
        await fireEvent.input(box, { target: { value: 'now' } });
        await fireEvent.keyDown(box, { key: 'Enter' });
        await screen.findByText('now');
        expect(sends(b)[1].open_at).toBeNull();
      });

      it('refuses a custom time that has passed, inline, and sends nothing', async () => {
        const b = backend();
        render(Chat);
        await screen.findByText('No messages yet.');
        const picker = await openPicker();
        const input = within(picker).getByLabelText('Or pick a date and time') as HTMLInputElement;
        await fireEvent.input(input, { target: { value: '2020-01-01T09:00' } });
        await fireEvent.keyDown(input, { key: 'Enter' });
        expect((await screen.findByRole('alert')).textContent).toBe('That time has passed — pick a later one.');
        expect(screen.queryByTestId('open-at-chosen')).toBeNull();
        expect(sends(b)).toEqual([]);

        // A time to come is taken with Set.
        await fireEvent.input(input, { target: { value: toLocalInput(Math.floor(Date.now() / 1000) + 7200) } });
        await fireEvent.click(within(picker).getByRole('button', { name: 'Set' }));
        expect(screen.getByTestId('open-at-chosen')).toBeTruthy();
        expect(screen.queryByRole('alert')).toBeNull();
        expect(sends(b)).toEqual([]);
      });

      it('asks before a time more than a year ahead, refuses more than ten years', async () => {
        const b = backend();
        render(Chat);
        await screen.findByText('No messages yet.');
        const picker = await openPicker();
        const input = within(picker).getByLabelText('Or pick a date and time');
        const now = Math.floor(Date.now() / 1000);
        await fireEvent.input(input, { target: { value: toLocalInput(now + 11 * 365 * 86_400) } });
        await fireEvent.click(within(picker).getByRole('button', { name: 'Set' }));
        expect((await screen.findByRole('alert')).textContent).toBe(
          'That is more than 10 years ahead — pick an earlier time.',
        );

        const far = toLocalInput(now + 2 * 365 * 86_400);
        await fireEvent.input(input, { target: { value: far } });
        await fireEvent.click(within(picker).getByRole('button', { name: 'Set' }));
        const confirm = screen.getByTestId('open-at-confirm');
        expect(confirm.textContent).toContain('is more than a year away.');
        expect(screen.queryByTestId('open-at-chosen')).toBeNull();
        await fireEvent.click(within(confirm).getByRole('button', { name: 'Yes, open it then' }));
        expect(screen.getByTestId('open-at-chosen')).toBeTruthy();

        const box = screen.getByRole('textbox', { name: 'Message to Alice' });
        await fireEvent.input(box, { target: { value: 'for 2028' } });
        await fireEvent.keyDown(box, { key: 'Enter' });
        await screen.findByText('for 2028');
        expect(sends(b).map((a) => a.open_at)).toEqual([parseLocalInput(far)]);
      });

      it('does not send when the chosen time passed before sending', async () => {
        const b = backend();
        render(Chat);
        await screen.findByText('No messages yet.');
        const picker = await openPicker();
        await fireEvent.click(within(picker).getByRole('button', { name: 'In 1 minute' }));
        const box = screen.getByRole('textbox', { name: 'Message to Alice' });
        await fireEvent.input(box, { target: { value: 'too late' } });
        const later = Date.now() + 120_000;
        vi.spyOn(Date, 'now').mockReturnValue(later);
        await fireEvent.keyDown(box, { key: 'Enter' });
        expect((await screen.findByRole('alert')).textContent).toBe('That time has passed — pick a later one.');
        expect(sends(b)).toEqual([]);
        expect((box as HTMLTextAreaElement).value).toBe('too late');
      });

      it('is cleared, and works from the keyboard: Escape closes it', async () => {
        backend();
        render(Chat);
        await screen.findByText('No messages yet.');
        const toggle = screen.getByRole('button', { name: /Open at…/ });
        const picker = await openPicker();
        // The picker takes the focus; Escape gives it back to the button.
        expect(document.activeElement).toBe(within(picker).getByRole('button', { name: 'In 1 minute' }));
        await fireEvent.keyDown(document.activeElement!, { key: 'Escape' });
        expect(screen.queryByRole('group', { name: 'Open at a chosen time' })).toBeNull();
        expect(document.activeElement).toBe(toggle);

        await fireEvent.click(toggle);
        await fireEvent.click(screen.getByRole('button', { name: 'Tomorrow 9:00' }));
        expect(screen.getByTestId('open-at-chosen')).toBeTruthy();
        await fireEvent.click(screen.getByRole('button', { name: 'Clear the opening time' }));
        expect(screen.queryByTestId('open-at-chosen')).toBeNull();
      });

      it('is not offered while editing', async () => {
        backend({ history: [message({ id: 1, text: 'mine', created_at: Math.floor(Date.now() / 1000) })] });
        render(Chat);
        const item = (await screen.findByText('mine')).closest('li')!;
        expect(screen.getByRole('button', { name: /Open at…/ })).toBeTruthy();
        await fireEvent.click(within(item).getByRole('button', { name: 'Edit' }));
        expect(screen.queryByRole('button', { name: /Open at…/ })).toBeNull();
      });

      it('shows a locked message with its countdown, and its text once it opens', async () => {
        const opensAt = Math.floor(Date.now() / 1000) + 30;
        const b = backend({
          history: [
            message({ id: 1, outgoing: false, state: null, text: '', locked: true, opens_at: opensAt, opens_round: 9_000_001 }),
          ],
        });
        render(Chat);
        const locked = await screen.findByTestId('locked-bubble');
        expect(locked.textContent).toMatch(/Opens at .+ \(drand timelock\)/);
        expect(within(locked).getByRole('timer').textContent).toMatch(/^00:(29|30)$/);
        const before = b.count('chat_history');

        Object.assign(b.history[0], { locked: false, text: 'It is time.' });
        await emit(NODE_EVENT, { kind: 'messages_opened', count: 1 });
        const item = (await screen.findByText('It is time.')).closest('li')!;
        expect(within(item).getByText(/^opened at .+ · drand timelock$/)).toBeTruthy();
        expect(screen.queryByTestId('locked-bubble')).toBeNull();
        expect(b.count('chat_history')).toBe(before + 1);
      });
    });
  });
});

describe('Chat files', () => {
  const now = Math.floor(Date.now() / 1000);
  const PAD = { pad_id: 'ab', size: 20 << 20, send_left: 10 << 20, receive_left: 10 << 20 };
  const tid = (n: number) => n.toString(16).padStart(32, '0');

  function backend(opts: { pad?: boolean } = {}) {
    const transfers: Transfer[] = [
      transfer({ id: tid(1), name: 'plans.pdf', size: 3 << 20, created_at: now }),
      transfer({
        id: tid(2),
        name: 'song.ogg',
        state: 'transferring',
        size: 4 << 20,
        bytes_done: 1 << 20,
        created_at: now,
      }),
      transfer({ id: tid(3), name: 'for-bob.txt', contact: 'Bob', outgoing: true, created_at: now }),
      transfer({ id: tid(4), name: 'old.txt', state: 'completed', path: '/dl/old.txt', created_at: now }),
    ];
    const history: ChatMessage[] = [
      {
        id: 1,
        outgoing: false,
        mode: 'grid',
        kind: 'file',
        text: 'plans.pdf',
        round: 4000,
        sealed_after: SEALED_AT,
        state: null,
        error: null,
        created_at: now,
        reply_to: null,
        reactions: [],
        edited_at: null,
        deleted: false,
        expires_at: null,
        opens_at: null,
        opens_round: null,
        locked: false,
      },
      {
        id: 2,
        outgoing: false,
        mode: 'grid',
        kind: 'text',
        text: 'here are the plans',
        round: 4001,
        sealed_after: SEALED_AT,
        state: null,
        error: null,
        created_at: now,
        reply_to: null,
        reactions: [],
        edited_at: null,
        deleted: false,
        expires_at: null,
        opens_at: null,
        opens_round: null,
        locked: false,
      },
    ];
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockWindows('main');
    mockIPC(
      (cmd, args) => {
        const a = (args ?? {}) as Record<string, unknown>;
        calls.push({ cmd, args: a });
        switch (cmd) {
          case 'contacts_list':
            return [
              contact({ name: 'Alice', verified: true, pad: opts.pad ? PAD : null }),
              contact({ name: 'Bob', verified: true }),
            ];
          case 'chat_history':
            return a.contact === 'Alice' ? history.map((m) => ({ ...m })) : [];
          case 'transfers_list':
            return transfers.map((t) => ({ ...t }));
          case 'file_accept':
          case 'file_decline': {
            const t = transfers.find((x) => x.id === a.id)!;
            t.state = cmd === 'file_accept' ? 'accepted' : 'declined';
            return { ...t };
          }
          case 'pad_import':
            if (String(a.path) === '/home/me/used.pad')
              throw { code: 'pad', message: 'this pad was used on this device before' };
            return { pad: { ...PAD, pad_id: 'cd' }, destroyed: a.destroy_source === true };
          case 'file_send': {
            const name = String(a.path).split('/').pop()!;
            const openAt = typeof a.open_at === 'number' ? a.open_at : null;
            const t = transfer({
              id: tid(10 + transfers.length),
              name,
              outgoing: true,
              path: String(a.path),
              created_at: now,
              opens_at: openAt,
              opens_round: openAt === null ? null : 9_000_000,
              protection: a.pad ? 'perfect_secrecy' : 'post_quantum',
              protection_label: a.pad ? 'Perfect secrecy (one-time pad)' : 'Post-quantum encrypted',
            });
            transfers.unshift(t);
            history.push({
              id: history.length + 1,
              outgoing: true,
              mode: a.pad ? 'pad' : 'grid',
              kind: 'file',
              text: name,
              round: a.pad ? null : 4002,
              sealed_after: a.pad ? null : SEALED_AT,
              state: 'queued',
              error: null,
              created_at: now,
              reply_to: null,
              reactions: [],
              edited_at: null,
              deleted: false,
              expires_at: null,
              opens_at: null,
              opens_round: null,
              locked: false,
            });
            return { ...t };
          }
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    const { hearsDrops } = watchDrops();
    return {
      argsOf: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
      hearsDrops,
    };
  }

  it('shows a file offer as a file, and the contact’s transfers as cards with Accept and Decline', async () => {
    const b = backend();
    render(Chat);
    const list = await screen.findByRole('list', { name: 'Messages with Alice' });
    const [offer, text] = within(list).getAllByRole('listitem');
    expect(within(offer).getByText('File offer')).toBeTruthy();
    expect(within(offer).getByText('plans.pdf')).toBeTruthy();
    expect(within(offer).getByText('Post-quantum encrypted')).toBeTruthy();
    expect(within(offer).getByText(/^sealed after /)).toBeTruthy();
    expect(within(text).queryByText('File offer')).toBeNull();

    // Alice's transfers, not Bob's: open ones first.
    const files = await screen.findByRole('region', { name: /Files with Alice/ });
    const cards = within(files).getAllByRole('article');
    expect(cards.map((c) => within(c).getByRole('heading').textContent)).toEqual([
      'plans.pdf',
      'song.ogg',
      'old.txt',
    ]);
    const plans = within(files).getByRole('article', { name: 'plans.pdf' });
    expect(within(plans).getByText('3.0 MiB')).toBeTruthy();
    expect(within(plans).getByText('Alice offers this file')).toBeTruthy();
    // In her own conversation the contact is not repeated.
    expect(within(plans).queryByText('From Alice')).toBeNull();
    const song = within(files).getByRole('article', { name: 'song.ogg' });
    expect(within(song).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('25');

    await fireEvent.click(within(plans).getByRole('button', { name: 'Accept' }));
    await waitFor(() => expect(b.argsOf('file_accept')).toEqual([{ id: tid(1) }]));
    await waitFor(() =>
      expect(within(files).getByRole('article', { name: 'plans.pdf' }).textContent).toContain(
        'Accepted — starting',
      ),
    );
    expect(b.argsOf('file_decline')).toEqual([]);
  });

  it('declines an offer from the conversation', async () => {
    const b = backend();
    render(Chat);
    const files = await screen.findByRole('region', { name: /Files with Alice/ });
    const plans = within(files).getByRole('article', { name: 'plans.pdf' });
    await fireEvent.click(within(plans).getByRole('button', { name: 'Decline' }));
    await waitFor(() => expect(b.argsOf('file_decline')).toEqual([{ id: tid(1) }]));
    await waitFor(() =>
      expect(within(files).getByRole('article', { name: 'plans.pdf' }).textContent).toContain('You declined'),
    );
  });

  it('imports a pad dropped on the open pad form, never sending it, and says to destroy the file', async () => {
    const b = backend();
    render(Chat);
    await screen.findByRole('list', { name: 'Messages with Alice' });
    await b.hearsDrops();
    await fireEvent.click(screen.getByRole('button', { name: 'Import a one-time pad…' }));
    const form = screen.getByRole('region', { name: 'One-time pad with Alice' });
    const importButton = within(form).getByRole('button', { name: 'Import pad' });
    expect((importButton as HTMLButtonElement).disabled).toBe(true);

    await emit('tauri://drag-enter', { paths: ['/home/me/used.pad'], position: { x: 1, y: 1 } });
    expect((await screen.findByTestId('drop-target')).textContent).toContain(
      'Drop the pad file to import it',
    );
    await emit('tauri://drag-drop', { paths: ['/home/me/used.pad'], position: { x: 1, y: 1 } });
    const path = within(form).getByRole('textbox', { name: 'Pad file' }) as HTMLInputElement;
    await waitFor(() => expect(path.value).toBe('/home/me/used.pad'));
    expect(b.argsOf('file_send')).toEqual([]);

    // A refused pad: the message, the form kept.
    await fireEvent.click(importButton);
    expect((await within(form).findByRole('alert')).textContent).toContain('used on this device before');
    expect(path.value).toBe('/home/me/used.pad');

    // Without overwriting, the user is told to destroy the file.
    await fireEvent.input(path, { target: { value: '/home/me/new.pad' } });
    await fireEvent.click(within(form).getByRole('checkbox', { name: /Overwrite and delete the file/ }));
    await fireEvent.click(importButton);
    const done = await within(form).findByTestId('pad-imported');
    expect(done.textContent).toContain('Now destroy');
    expect(done.textContent).toContain('/home/me/new.pad');
    expect(b.argsOf('pad_import')).toContainEqual({
      contact: 'Alice',
      path: '/home/me/new.pad',
      replace: false,
      destroy_source: false,
    });
    expect(b.argsOf('file_send')).toEqual([]);

    // Closed, a dropped file is sent again as before.
    await fireEvent.click(within(form).getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('region', { name: 'One-time pad with Alice' })).toBeNull();
  });

  it('sends files dropped on the open conversation to that contact, with the pad when chosen', async () => {
    const b = backend({ pad: true });
    render(Chat);
    await screen.findByRole('list', { name: 'Messages with Alice' });
    await b.hearsDrops();

    await emit('tauri://drag-enter', { paths: ['/home/me/x.png'], position: { x: 1, y: 1 } });
    const target = await screen.findByTestId('drop-target');
    expect(target.textContent).toContain('Drop to send to Alice');
    expect(target.textContent).toContain('Post-quantum encrypted');
    await emit('tauri://drag-drop', { paths: ['/home/me/x.png'], position: { x: 1, y: 1 } });
    await waitFor(() =>
      expect(b.argsOf('file_send')).toEqual([{ contact: 'Alice', path: '/home/me/x.png', pad: false, open_at: null }]),
    );
    expect(screen.queryByTestId('drop-target')).toBeNull();
    const list = screen.getByRole('list', { name: 'Messages with Alice' });
    expect(await within(list).findByText('x.png')).toBeTruthy();
    expect(within(list).getByText('File offered')).toBeTruthy();

    // With the pad chosen in the composer, dropped files use it too.
    await fireEvent.click(screen.getByRole('checkbox', { name: /Use one-time pad/ }));
    await emit('tauri://drag-enter', { paths: ['/home/me/y.png'], position: { x: 1, y: 1 } });
    expect((await screen.findByTestId('drop-target')).textContent).toContain(
      'Perfect secrecy (one-time pad)',
    );
    await emit('tauri://drag-drop', { paths: ['/home/me/y.png'], position: { x: 1, y: 1 } });
    await waitFor(() =>
      expect(b.argsOf('file_send')).toContainEqual({ contact: 'Alice', path: '/home/me/y.png', pad: true, open_at: null }),
    );
    const files = await screen.findByRole('region', { name: /Files with Alice/ });
    const y = await within(files).findByRole('article', { name: 'y.png' });
    expect(within(y).getByText('Perfect secrecy (one-time pad)')).toBeTruthy();
  });

  it('timelocks dropped files to the time chosen in the composer, and says so before the drop', async () => {
    const b = backend();
    render(Chat);
    await screen.findByRole('list', { name: 'Messages with Alice' });
    await b.hearsDrops();
    await fireEvent.click(screen.getByRole('button', { name: /Open at…/ }));
    const picker = screen.getByRole('group', { name: 'Open at a chosen time' });
    const before = Math.floor(Date.now() / 1000);
    await fireEvent.click(within(picker).getByRole('button', { name: 'In 1 hour' }));

    await emit('tauri://drag-enter', { paths: ['/home/me/gift.zip'], position: { x: 1, y: 1 } });
    const target = await screen.findByTestId('drop-target');
    expect(target.textContent).toMatch(/Post-quantum encrypted — Opens at .+ \(drand timelock\)/);
    expect(target.textContent).not.toContain('not timelocked');
    await emit('tauri://drag-drop', { paths: ['/home/me/gift.zip'], position: { x: 1, y: 1 } });
    await waitFor(() => expect(b.argsOf('file_send')).toHaveLength(1));
    const [args] = b.argsOf('file_send');
    expect(args).toMatchObject({ contact: 'Alice', path: '/home/me/gift.zip', pad: false });
    expect(args.open_at).toBeGreaterThanOrEqual(before + 3600);
    expect(args.open_at).toBeLessThanOrEqual(before + 3602);
    // Our card says when it opens for Alice, with the timelock's honest title.
    const card = await screen.findByRole('article', { name: 'gift.zip' });
    const line = within(card).getByTestId('transfer-timelock');
    expect(line.textContent).toMatch(/^opens for Alice at .+ \(drand timelock\)$/);
    expect(line.querySelector('[title]')?.getAttribute('title')).toMatch(/not post-quantum/);
    expect(card.textContent).not.toMatch(/perfect secrecy/i);
    // The time stays chosen for the message being written.
    expect(screen.getByTestId('open-at-chosen')).toBeTruthy();
    expect(b.argsOf('chat_send')).toEqual([]);
  });

  it('sends no dropped file when the chosen time has passed meanwhile', async () => {
    const b = backend();
    render(Chat);
    await screen.findByRole('list', { name: 'Messages with Alice' });
    await b.hearsDrops();
    await fireEvent.click(screen.getByRole('button', { name: /Open at…/ }));
    const picker = screen.getByRole('group', { name: 'Open at a chosen time' });
    await fireEvent.click(within(picker).getByRole('button', { name: 'In 1 minute' }));
    // Two minutes later, the file is dropped.
    const later = Date.now() + 120_000;
    vi.spyOn(Date, 'now').mockReturnValue(later);
    await emit('tauri://drag-enter', { paths: ['/home/me/late.txt'], position: { x: 1, y: 1 } });
    await emit('tauri://drag-drop', { paths: ['/home/me/late.txt'], position: { x: 1, y: 1 } });
    expect(await screen.findByText('That time has passed — pick a later one.')).toBeTruthy();
    expect(b.argsOf('file_send')).toEqual([]);
    vi.restoreAllMocks();
  });
});

/** The window has the focus (jsdom's document has none until an element is focused). */
function windowFocused(focused = true): void {
  vi.spyOn(document, 'hasFocus').mockReturnValue(focused);
}

describe('Chat unread counts', () => {
  const now = Math.floor(Date.now() / 1000);
  beforeEach(() => windowFocused());
  afterEach(() => vi.restoreAllMocks());
  function msg(id: number, over: Partial<ChatMessage> = {}): ChatMessage {
    return {
      id,
      outgoing: false,
      mode: 'grid',
      kind: 'text',
      text: `message ${id}`,
      round: 4000 + id,
      sealed_after: SEALED_AT,
      state: null,
      error: null,
      created_at: now,
      reply_to: null,
      reactions: [],
      edited_at: null,
      deleted: false,
      expires_at: null,
      opens_at: null,
      opens_round: null,
      locked: false,
      ...over,
    };
  }

  /**
   * A backend that keeps read marks the way the app does (in the home, so
   * they outlive a remount) and counts incoming text and file messages above
   * them; `histories` may be changed by the test.
   */
  function backend(histories: Record<string, ChatMessage[]>) {
    const marks: Record<string, number> = {};
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    const counts = () =>
      Object.fromEntries(
        Object.entries(histories).map(([name, h]) => [
          name,
          h.filter(
            (m) => !m.outgoing && m.id > (marks[name] ?? 0) && (m.kind === 'text' || m.kind === 'file'),
          ).length,
        ]),
      );
    mockIPC(
      (cmd, payload) => {
        const a = (payload ?? {}) as Record<string, unknown>;
        calls.push({ cmd, args: a });
        switch (cmd) {
          case 'node_status':
            return status;
          case 'contacts_list':
            return Object.keys(histories).map((name) => contact({ name, verified: true }));
          case 'chat_history':
            return (histories[String(a.contact)] ?? []).map((m) => ({ ...m }));
          case 'transfers_list':
            return [];
          case 'chat_unread':
            return counts();
          case 'chat_mark_read': {
            const name = String(a.contact);
            marks[name] = Math.max(marks[name] ?? 0, Number(a.up_to));
            return counts();
          }
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    return {
      marks,
      marksAsked: () => calls.filter((c) => c.cmd === 'chat_mark_read').map((c) => c.args),
      count: (cmd: string) => calls.filter((c) => c.cmd === cmd).length,
    };
  }

  /** What a contact's unread badge says to a screen reader (null: no badge). */
  function badge(name: string): string | null {
    return badgeText(screen.queryByTestId(`unread-${name}`));
  }

  function badgeText(el: HTMLElement | null): string | null {
    if (!el) return null;
    const shown = el.querySelector('[aria-hidden="true"]')?.textContent;
    const said = el.querySelector('.visually-hidden')?.textContent ?? '';
    // What is seen is the number that is said.
    expect(said).toBe(`${shown} unread`);
    return said;
  }

  function setVisibility(state: 'visible' | 'hidden'): void {
    Object.defineProperty(document, 'visibilityState', { value: state, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }

  it('shows counts on the other contacts and marks a conversation read when opened', async () => {
    const b = backend({
      Alice: [msg(1), msg(2)],
      Bob: [msg(3), msg(4, { kind: 'file', text: 'plan.pdf' }), msg(5, { outgoing: true, state: 'queued' }), msg(6)],
    });
    render(Chat);
    // Alice's conversation opens first, so hers are read at once.
    await waitFor(() => expect(b.marksAsked()).toEqual([{ contact: 'Alice', up_to: 2 }]));
    await waitFor(() => expect(badge('Bob')).toBe('3 unread'));
    expect(badge('Alice')).toBeNull();
    const bob = screen.getByRole('button', { name: /Bob/ });
    expect(bob.classList.contains('has-unread')).toBe(true);
    expect(bob.textContent).toContain('3 unread');
    expect(within(screen.getByRole('navigation', { name: 'Contacts' })).getByRole('button', { name: /^Bob 3 unread/ })).toBe(bob);

    await fireEvent.click(bob);
    await waitFor(() => expect(b.marksAsked()).toContainEqual({ contact: 'Bob', up_to: 6 }));
    await waitFor(() => expect(badge('Bob')).toBeNull());
    expect(b.marks).toEqual({ Alice: 2, Bob: 6 });
  });

  it('counts a message arriving in another conversation, in the sidebar too; the open one stays read', async () => {
    const histories = { Alice: [msg(1)], Bob: [] as ChatMessage[] };
    const b = backend(histories);
    render(App);
    await waitFor(() => expect(b.marksAsked()).toEqual([{ contact: 'Alice', up_to: 1 }]));
    expect(screen.queryByTestId('unread-total')).toBeNull();

    histories.Bob.push(msg(2, { text: 'hi from Bob' }));
    await emit(NODE_EVENT, { kind: 'message_received', from: 'Bob' });
    await waitFor(() => expect(badge('Bob')).toBe('1 unread'));
    expect(badgeText(screen.getByTestId('unread-total'))).toBe('1 unread');
    expect(screen.getByRole('button', { name: 'Chat 1 unread' })).toBeTruthy();

    // A message in the open conversation is read as it arrives.
    histories.Alice.push(msg(3, { text: 'and from Alice' }));
    await emit(NODE_EVENT, { kind: 'message_received', from: 'Alice' });
    expect(await screen.findByText('and from Alice')).toBeTruthy();
    await waitFor(() => expect(b.marksAsked()).toContainEqual({ contact: 'Alice', up_to: 3 }));
    expect(badge('Alice')).toBeNull();
    expect(badgeText(screen.getByTestId('unread-total'))).toBe('1 unread');

    // Elsewhere in the app the sidebar still counts.
    await fireEvent.click(screen.getByRole('button', { name: 'Chat 1 unread' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Files' }));
    histories.Bob.push(msg(4));
    await emit(NODE_EVENT, { kind: 'message_received', from: 'Bob' });
    await waitFor(() => expect(badgeText(screen.getByTestId('unread-total'))).toBe('2 unread'));

    // Opening Bob's conversation clears both.
    await fireEvent.click(screen.getByRole('button', { name: 'Chat 2 unread' }));
    await fireEvent.click(await screen.findByRole('button', { name: /Bob/ }));
    await waitFor(() => expect(screen.queryByTestId('unread-total')).toBeNull());
    expect(badge('Bob')).toBeNull();
    await waitFor(() => expect(b.marks.Bob).toBe(4));
    // Stored, not only hidden while Bob's conversation is open.
    await fireEvent.click(screen.getByRole('button', { name: /Alice/ }));
    expect(screen.queryByTestId('unread-total')).toBeNull();
    expect(badge('Bob')).toBeNull();
  });

  it('keeps the counts across a restart: they come from the marks the backend stored', async () => {
    const b = backend({ Alice: [msg(1)], Bob: [msg(2), msg(3)], Carol: [msg(4)] });
    const first = render(Chat);
    await waitFor(() => expect(b.marksAsked()).toEqual([{ contact: 'Alice', up_to: 1 }]));
    await waitFor(() => expect(badge('Bob')).toBe('2 unread'));
    await fireEvent.click(screen.getByRole('button', { name: /Bob/ }));
    await waitFor(() => expect(badge('Bob')).toBeNull());
    first.unmount();
    const reads = b.count('chat_unread');

    render(Chat);
    await waitFor(() => expect(b.count('chat_unread')).toBeGreaterThan(reads));
    await waitFor(() => expect(badge('Carol')).toBe('1 unread'));
    expect(badge('Bob')).toBeNull();
    expect(badge('Alice')).toBeNull();
    expect(b.marks).toEqual({ Alice: 1, Bob: 3 });
  });

  it('lists a contact paired over the network, with the messages that follow', async () => {
    const histories: Record<string, ChatMessage[]> = { Alice: [msg(1)] };
    const b = backend(histories);
    render(Chat);
    await waitFor(() => expect(b.marksAsked()).toEqual([{ contact: 'Alice', up_to: 1 }]));
    const list = screen.getByRole('navigation', { name: 'Contacts' });
    expect(within(list).queryByRole('button', { name: /Bob/ })).toBeNull();

    histories.Bob = [];
    await emit(NODE_EVENT, { kind: 'pairing_finished', contact: 'Bob' });
    expect(await within(list).findByRole('button', { name: /Bob/ })).toBeTruthy();
    histories.Bob.push(msg(2, { text: 'hello, new contact here' }));
    await emit(NODE_EVENT, { kind: 'message_received', from: 'Bob' });
    await waitFor(() => expect(badge('Bob')).toBe('1 unread'));
    // Alice's conversation stays open.
    expect(screen.getByRole('heading', { level: 2, name: 'Alice' })).toBeTruthy();
  });

  it('does not mark anything read while the window is hidden', async () => {
    const b = backend({ Alice: [msg(1), msg(2)] });
    setVisibility('hidden');
    try {
      render(Chat);
      await waitFor(() => expect(badge('Alice')).toBe('2 unread'));
      expect(await screen.findByText('message 2')).toBeTruthy();
      expect(b.marksAsked()).toEqual([]);

      setVisibility('visible');
      await waitFor(() => expect(b.marksAsked()).toEqual([{ contact: 'Alice', up_to: 2 }]));
      await waitFor(() => expect(badge('Alice')).toBeNull());
    } finally {
      setVisibility('visible');
    }
  });

  it('counts what arrives in the open conversation while another window has the focus', async () => {
    const histories = { Alice: [msg(1)] };
    const b = backend(histories);
    render(Chat);
    await waitFor(() => expect(b.marksAsked()).toEqual([{ contact: 'Alice', up_to: 1 }]));

    windowFocused(false);
    window.dispatchEvent(new Event('blur'));
    histories.Alice.push(msg(2, { text: 'while you were away' }));
    await emit(NODE_EVENT, { kind: 'message_received', from: 'Alice' });
    expect(await screen.findByText('while you were away')).toBeTruthy();
    await waitFor(() => expect(badge('Alice')).toBe('1 unread'));
    expect(b.marksAsked()).toHaveLength(1);

    // Back to the window: read.
    windowFocused(true);
    window.dispatchEvent(new Event('focus'));
    await waitFor(() => expect(b.marksAsked()).toContainEqual({ contact: 'Alice', up_to: 2 }));
    await waitFor(() => expect(badge('Alice')).toBeNull());
  });
});

describe('Chat file messages', () => {
  const now = Math.floor(Date.now() / 1000);
  beforeEach(() => windowFocused());
  afterEach(() => vi.restoreAllMocks());
  const tid = (n: number) => n.toString(16).padStart(32, '0');

  function fileMessage(id: number, text: string, outgoing: boolean): ChatMessage {
    return {
      id,
      outgoing,
      mode: 'grid',
      kind: 'file',
      text,
      round: 4000 + id,
      sealed_after: SEALED_AT,
      state: outgoing ? 'delivered' : null,
      error: null,
      created_at: now,
      reply_to: null,
      reactions: [],
      edited_at: null,
      deleted: false,
      expires_at: null,
      opens_at: null,
      opens_round: null,
      locked: false,
    };
  }

  function backend() {
    const transfers: Transfer[] = [
      transfer({ id: tid(1), name: 'plans.pdf', size: 3 << 20, created_at: now, message_id: 1 }),
      transfer({
        id: tid(3),
        name: 'notes.txt',
        outgoing: true,
        state: 'transferring',
        size: 4 << 20,
        bytes_done: 2 << 20,
        path: '/home/me/notes.txt',
        created_at: now,
        message_id: 3,
      }),
      // Offered before offers were linked to their messages.
      transfer({ id: tid(9), name: 'old-offer.zip', created_at: now - 60, message_id: null }),
    ];
    const history: ChatMessage[] = [
      fileMessage(1, 'plans.pdf', false),
      {
        id: 2,
        outgoing: false,
        mode: 'grid',
        kind: 'text',
        text: 'see the plans',
        round: 4002,
        sealed_after: SEALED_AT,
        state: null,
        error: null,
        created_at: now,
        reply_to: null,
        reactions: [],
        edited_at: null,
        deleted: false,
        expires_at: null,
        opens_at: null,
        opens_round: null,
        locked: false,
      },
      fileMessage(3, 'notes.txt', true),
      // Its transfer is not listed (yet): a plain file bubble.
      fileMessage(4, 'unknown.bin', false),
    ];
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC(
      (cmd, payload) => {
        const a = (payload ?? {}) as Record<string, unknown>;
        calls.push({ cmd, args: a });
        switch (cmd) {
          case 'contacts_list':
            return [contact({ name: 'Alice', verified: true })];
          case 'chat_history':
            return history.map((m) => ({ ...m }));
          case 'transfers_list':
            return transfers.map((t) => ({ ...t }));
          case 'chat_unread':
            return { Alice: 0 };
          case 'chat_mark_read':
            return { Alice: 0 };
          case 'file_accept':
          case 'file_decline': {
            const t = transfers.find((x) => x.id === a.id)!;
            t.state = cmd === 'file_accept' ? 'accepted' : 'declined';
            return { ...t };
          }
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    return { argsOf: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args) };
  }

  it('draws each file message as its own transfer, found by message id', async () => {
    const b = backend();
    render(Chat);
    const list = await screen.findByRole('list', { name: 'Messages with Alice' });
    const offer = await within(list).findByRole('article', { name: 'plans.pdf' });
    const [first, second, third, fourth] = within(list).getAllByRole('listitem');

    // The incoming offer, in its message's place, with Accept and Decline.
    expect(first.contains(offer)).toBe(true);
    expect(within(offer).getByText('Alice offers this file')).toBeTruthy();
    expect(within(offer).getByText('3.0 MiB')).toBeTruthy();
    // The message's own line says when and what protects it; the card does not repeat it.
    expect(within(first).getAllByText('Post-quantum encrypted')).toHaveLength(1);
    expect(within(first).getAllByText(/^sealed after /)).toHaveLength(1);
    expect(within(offer).queryByText('Post-quantum encrypted')).toBeNull();
    expect(within(first).queryByText('File offer')).toBeNull();
    expect(within(second).getByText('see the plans')).toBeTruthy();

    // Our own file, moving: its progress in the conversation.
    const sending = within(third).getByRole('article', { name: 'notes.txt' });
    expect(within(sending).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('50');
    expect(within(sending).getByText('Sending')).toBeTruthy();
    await emit(NODE_EVENT, {
      kind: 'transfer_progress',
      transfer_id: tid(3),
      bytes_done: 3 << 20,
      size: 4 << 20,
    });
    await waitFor(() =>
      expect(within(sending).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('75'),
    );

    // A file message whose transfer is not listed stays a plain file bubble.
    expect(within(fourth).getByText('File offer')).toBeTruthy();
    expect(within(fourth).queryByRole('article')).toBeNull();

    // Only the transfer not linked to a message is listed under the conversation.
    const files = screen.getByRole('region', { name: /Files with Alice/ });
    expect(
      within(files)
        .getAllByRole('article')
        .map((c) => within(c).getByRole('heading').textContent),
    ).toEqual(['old-offer.zip']);

    // Accepting from the message.
    await fireEvent.click(within(offer).getByRole('button', { name: 'Accept' }));
    await waitFor(() => expect(b.argsOf('file_accept')).toEqual([{ id: tid(1) }]));
    await waitFor(() =>
      expect(within(list).getByRole('article', { name: 'plans.pdf' }).textContent).toContain(
        'Accepted — starting',
      ),
    );
  });

  it('shows how a linked transfer ended, e.g. declined', async () => {
    const b = backend();
    render(Chat);
    const list = await screen.findByRole('list', { name: 'Messages with Alice' });
    const offer = await within(list).findByRole('article', { name: 'plans.pdf' });
    await fireEvent.click(within(offer).getByRole('button', { name: 'Decline' }));
    await waitFor(() => expect(b.argsOf('file_decline')).toEqual([{ id: tid(1) }]));
    await waitFor(() =>
      expect(within(list).getByRole('article', { name: 'plans.pdf' }).textContent).toContain(
        'You declined',
      ),
    );
    expect(within(list).getByRole('article', { name: 'plans.pdf' }).querySelector('button')).toBeNull();
  });
});

describe('Chat search', () => {
  const now = Math.floor(Date.now() / 1000);
  afterEach(() => vi.restoreAllMocks());
  function msg(id: number, text: string, outgoing = false): ChatMessage {
    return {
      id,
      outgoing,
      mode: 'grid',
      kind: 'text',
      text,
      round: 4000 + id,
      sealed_after: SEALED_AT,
      state: outgoing ? 'delivered' : null,
      error: null,
      created_at: now,
      reply_to: null,
      reactions: [],
      edited_at: null,
      deleted: false,
      expires_at: null,
      opens_at: null,
      opens_round: null,
      locked: false,
    };
  }
  const histories: Record<string, ChatMessage[]> = {
    Alice: [msg(1, 'hello Alice')],
    Bob: [msg(2, 'Dinner at the harbour?', true), msg(3, 'unrelated'), msg(4, 'Harbour at eight')],
  };

  /** A backend whose `chat_search` answers from `histories` as the node
   * would (words, newest first, `«…»` marks) and refuses text with no word. */
  function backend() {
    const searches: Record<string, unknown>[] = [];
    mockIPC((cmd, payload) => {
      const a = (payload ?? {}) as Record<string, unknown>;
      switch (cmd) {
        case 'contacts_list':
          return Object.keys(histories).map((name) => contact({ name, verified: true }));
        case 'chat_history':
          return (histories[String(a.contact)] ?? []).map((m) => ({ ...m }));
        case 'chat_search': {
          searches.push(a);
          const text = String(a.text).trim().toLowerCase();
          if (!/[\p{L}\p{N}]/u.test(text)) {
            throw { code: 'bad_input', message: `"${String(a.text)}" has no letter or digit to search for` };
          }
          return Object.entries(histories)
            .flatMap(([name, h]) => h.map((m) => ({ name, m })))
            .filter(({ m }) => m.text.toLowerCase().includes(text))
            .sort((x, y) => y.m.id - x.m.id)
            .map(({ name, m }) => ({
              message_id: m.id,
              contact: name,
              outgoing: m.outgoing,
              kind: m.kind,
              created_at: m.created_at,
              snippet: m.text.replace(new RegExp(`(${text}\\w*)`, 'i'), '«$1»'),
            }));
        }
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    return searches;
  }

  it('finds messages in every conversation and opens one at the message', async () => {
    const searches = backend();
    const scrolled: Element[] = [];
    Element.prototype.scrollIntoView = vi.fn(function (this: Element) {
      scrolled.push(this);
    });
    render(Chat);
    const pane = screen.getByRole('region', { name: 'Conversation' });
    await within(pane).findByRole('heading', { name: 'Alice' });

    const box = screen.getByRole('searchbox', { name: 'Search messages' });
    await fireEvent.input(box, { target: { value: 'harb' } });
    const results = await screen.findByRole('region', { name: 'Search results' });
    const found = within(results).getAllByRole('button');
    expect(found.map((b) => b.textContent)).toEqual([
      'Bob Harbour at eight',
      'You to Bob Dinner at the harbour?',
    ]);
    // The matching words are marked, as text (never as HTML).
    expect([...results.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['Harbour', 'harbour']);
    expect(searches).toEqual([{ text: 'harb', contact: null }]);

    // A hit opens its conversation, scrolled to the message, which is marked.
    await fireEvent.click(found[1]);
    await within(pane).findByRole('heading', { name: 'Bob' });
    await waitFor(() => expect(scrolled.length).toBe(1));
    expect(scrolled[0].getAttribute('data-message-id')).toBe('2');
    expect(scrolled[0].classList.contains('found')).toBe(true);
    expect(pane.querySelector('[data-message-id="4"]')?.classList.contains('found')).toBe(false);

    // Another hit in the same conversation moves the mark.
    await fireEvent.click(found[0]);
    await waitFor(() => expect(scrolled.length).toBe(2));
    expect(scrolled[1].getAttribute('data-message-id')).toBe('4');
    expect(pane.querySelector('[data-message-id="2"]')?.classList.contains('found')).toBe(false);

    // No match says so; clearing the box ends the search without asking the node.
    await fireEvent.input(box, { target: { value: 'zebra' } });
    expect(await within(results).findByText('No message matches.')).toBeTruthy();
    await fireEvent.input(box, { target: { value: '   ' } });
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Search results' })).toBeNull());
    expect(searches.map((s) => s.text)).toEqual(['harb', 'zebra']);
  });

  it("shows the node's error for text with no word, and recovers", async () => {
    backend();
    render(Chat);
    const box = await screen.findByRole('searchbox', { name: 'Search messages' });
    await fireEvent.input(box, { target: { value: '* ( )' } });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('"* ( )" has no letter or digit to search for');
    expect(screen.queryByRole('region', { name: 'Search results' })).toBeNull();
    await fireEvent.input(box, { target: { value: 'hello' } });
    const results = await screen.findByRole('region', { name: 'Search results' });
    expect(within(results).getByRole('button').textContent).toBe('Alice hello Alice');
    expect(screen.queryByRole('alert')).toBeNull();
    // Escape clears the box and the results.
    await fireEvent.keyDown(box, { key: 'Escape' });
    expect((box as HTMLInputElement).value).toBe('');
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Search results' })).toBeNull());
  });
});

describe('Chat replies, reactions, edits, deletes and the timer', () => {
  const now = Math.floor(Date.now() / 1000);

  function msg(id: number, text: string, over: Partial<ChatMessage> = {}): ChatMessage {
    const incoming = { outgoing: false, round: 4242, sealed_after: SEALED_AT, state: null };
    return chatMessage({ id, text, ...incoming, created_at: now, ...over });
  }


  /** A backend with Alice, a conversation that the commands change as the node would. */
  function backend(history: ChatMessage[], fail: Record<string, { code: string; message: string }> = {}) {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    const alice = contact({ name: 'Alice', verified: true });
    mockIPC(
      (cmd, args) => {
        const a = (args ?? {}) as Record<string, unknown>;
        calls.push({ cmd, args: a });
        if (fail[cmd]) throw fail[cmd];
        const sent = { message_id: 99, protection: 'Post-quantum encrypted', round: 4243, pad_used: null, pad_left: null };
        const find = (id: unknown) => history.find((m) => m.id === id)!;
        switch (cmd) {
          case 'contacts_list':
            return [{ ...alice }];
          case 'chat_history':
            return history.map((m) => ({ ...m }));
          case 'chat_send': {
            const quoted = a.reply_to == null ? null : find(a.reply_to);
            history.push(
              msg(history.length + 1, String(a.text), {
                outgoing: true,
                state: 'queued',
                reply_to: quoted
                  ? { message_id: quoted.id, outgoing: quoted.outgoing, excerpt: quoted.text, deleted: false }
                  : null,
              }),
            );
            return sent;
          }
          case 'chat_react': {
            const m = find(a.message_id);
            const others = m.reactions.filter((r) => !r.mine);
            m.reactions = a.emoji == null ? others : [...others, { emoji: String(a.emoji), mine: true }];
            return sent;
          }
          case 'chat_edit':
            Object.assign(find(a.message_id), { text: String(a.text), edited_at: now });
            return sent;
          case 'chat_delete': {
            const m = find(a.message_id);
            if (a.for_everyone) Object.assign(m, { text: '', deleted: true, reactions: [] });
            else history.splice(history.indexOf(m), 1);
            return a.for_everyone ? sent : null;
          }
          case 'chat_set_timer':
            Object.assign(alice, { timer_secs: a.secs, timer_set_by_me: true, timer_set_at: now });
            return sent;
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    return { calls, args: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args) };
  }

  async function bubble(text: string): Promise<HTMLElement> {
    return (await screen.findByText(text)).closest('li') as HTMLElement;
  }

  it('replies to a message with its quote, and a click on the quote shows it', async () => {
    const b = backend([msg(1, 'dinner at eight?')]);
    render(Chat);
    const asked = await bubble('dinner at eight?');
    await fireEvent.click(within(asked).getByRole('button', { name: 'Reply' }));
    const context = screen.getByTestId('composer-context');
    expect(context.textContent).toContain('Replying to Alice');
    expect(context.textContent).toContain('dinner at eight?');
    const box = screen.getByRole('textbox', { name: 'Message to Alice' });
    expect(document.activeElement).toBe(box);
    await fireEvent.input(box, { target: { value: 'yes!' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Send' }));
    await waitFor(() => expect(b.args('chat_send')).toEqual([{ contact: 'Alice', text: 'yes!', pad: false, reply_to: 1, open_at: null }]));
    const reply = await bubble('yes!');
    const quote = within(reply).getByRole('button', { name: 'Replying to Alice: dinner at eight?' });
    expect(screen.queryByTestId('composer-context')).toBeNull();
    await fireEvent.click(quote);
    await waitFor(() => expect(asked.classList.contains('found')).toBe(true));
  });

  it('Escape drops a reply being written', async () => {
    backend([msg(1, 'question')]);
    render(Chat);
    await fireEvent.click(within(await bubble('question')).getByRole('button', { name: 'Reply' }));
    const box = screen.getByRole('textbox', { name: 'Message to Alice' });
    await fireEvent.keyDown(box, { key: 'Escape' });
    expect(screen.queryByTestId('composer-context')).toBeNull();
  });

  it('reacts with one emoji, changes it and takes it back', async () => {
    const b = backend([msg(1, 'we won', { reactions: [{ emoji: '🎉', mine: false }] })]);
    render(Chat);
    let row = await bubble('we won');
    expect(within(row).getByText('🎉 from Alice')).toBeTruthy();
    await fireEvent.click(within(row).getByRole('button', { name: 'React' }));
    await fireEvent.click(within(row).getByRole('button', { name: 'React 👍' }));
    await waitFor(() => expect(within(row).getByText('👍 from you')).toBeTruthy());
    await fireEvent.click(within(row).getByRole('button', { name: 'React' }));
    expect(within(row).getByRole('button', { name: 'React 👍' }).getAttribute('aria-pressed')).toBe('true');
    await fireEvent.click(within(row).getByRole('button', { name: 'React ❤️' }));
    row = await bubble('we won');
    await waitFor(() => expect(within(row).getByText('❤️ from you')).toBeTruthy());
    // A click on my own reaction takes it back; the contact's stays.
    await fireEvent.click(within(row).getByText('❤️ from you').closest('button')!);
    await waitFor(() => expect(within(row).queryByText('❤️ from you')).toBeNull());
    expect(within(row).getByText('🎉 from Alice')).toBeTruthy();
    expect(b.args('chat_react')).toEqual([
      { message_id: 1, emoji: '👍' },
      { message_id: 1, emoji: '❤️' },
      { message_id: 1, emoji: null },
    ]);
  });

  it('edits and deletes only my own recent messages', async () => {
    const b = backend([
      msg(1, 'theirs'),
      msg(2, 'mine, with a tpyo', { outgoing: true, state: 'delivered' }),
      msg(3, 'mine, old', { outgoing: true, state: 'delivered', created_at: now - 25 * 3600 }),
    ]);
    render(Chat);
    const theirs = await bubble('theirs');
    expect(within(theirs).queryByRole('button', { name: 'Edit' })).toBeNull();
    const old = await bubble('mine, old');
    expect(within(old).queryByRole('button', { name: 'Edit' })).toBeNull();
    await fireEvent.click(within(old).getByRole('button', { name: 'Delete' }));
    expect(within(old).queryByRole('button', { name: 'Delete for everyone' })).toBeNull();
    expect(within(old).getByRole('button', { name: 'Delete for me' })).toBeTruthy();

    const mine = await bubble('mine, with a tpyo');
    await fireEvent.click(within(mine).getByRole('button', { name: 'Edit' }));
    expect(screen.getByTestId('composer-context').textContent).toContain('Editing your message');
    const box = screen.getByRole('textbox', { name: 'Message to Alice' }) as HTMLTextAreaElement;
    expect(box.value).toBe('mine, with a tpyo');
    await fireEvent.input(box, { target: { value: 'mine, with a typo' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save edit' }));
    const edited = await bubble('mine, with a typo');
    expect(within(edited).getByText('edited')).toBeTruthy();
    expect(b.args('chat_edit')).toEqual([{ message_id: 2, text: 'mine, with a typo' }]);
    expect(b.args('chat_send')).toEqual([]);

    await fireEvent.click(within(edited).getByRole('button', { name: 'Delete' }));
    await fireEvent.click(within(edited).getByRole('button', { name: 'Delete for everyone' }));
    expect(await screen.findByText('You deleted this message')).toBeTruthy();
    await fireEvent.click(within(theirs).getByRole('button', { name: 'Delete' }));
    await fireEvent.click(within(theirs).getByRole('button', { name: 'Delete for me' }));
    await waitFor(() => expect(screen.queryByText('theirs')).toBeNull());
    expect(b.args('chat_delete')).toEqual([
      { message_id: 2, for_everyone: true },
      { message_id: 1, for_everyone: false },
    ]);
  });

  it('shows a refused action as an error and keeps the conversation', async () => {
    backend([msg(1, 'hello')], {
      chat_react: { code: 'pad', message: 'the one-time pad is used up' },
    });
    render(Chat);
    const row = await bubble('hello');
    await fireEvent.click(within(row).getByRole('button', { name: 'React' }));
    await fireEvent.click(within(row).getByRole('button', { name: 'React 👍' }));
    expect((await screen.findByRole('alert')).textContent).toContain('the one-time pad is used up');
    expect(screen.getByText('hello')).toBeTruthy();
  });

  it('sets the disappearing-messages timer and says who set it', async () => {
    const b = backend([msg(1, 'short-lived', { expires_at: now + 300 })]);
    render(Chat);
    const row = await bubble('short-lived');
    expect(within(row).getByText(/^disappears /)).toBeTruthy();
    const select = screen.getByRole('combobox', { name: 'Disappearing messages' }) as HTMLSelectElement;
    expect(select.value).toBe('0');
    expect(screen.queryByTestId('timer-set-by')).toBeNull();
    await fireEvent.change(select, { target: { value: '3600' } });
    await waitFor(() =>
      expect(screen.getByTestId('timer-set-by').textContent).toBe('Messages disappear after 1 hour, set by you'),
    );
    expect(b.args('chat_set_timer')).toEqual([{ contact: 'Alice', secs: 3600 }]);
  });
});

describe('Chat: an unverified contact', () => {
  it('says "not verified" next to the protection, in the header and under each bubble', async () => {
    const message = chatMessage({
      outgoing: false,
      text: 'hi there',
      round: 4242,
      sealed_after: SEALED_AT,
      state: null,
      created_at: SEALED_AT + 60,
    });
    mockIPC(
      (cmd) => {
        if (cmd === 'contacts_list') return [contact({ name: 'Alice', verified: false })];
        if (cmd === 'chat_history') return [message];
        if (cmd === 'chat_unread') return {};
        if (cmd === 'chat_mark_read') return {};
        if (cmd === 'transfers_list') return [];
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    render(Chat);
    const pane = await screen.findByRole('region', { name: 'Conversation' });
    const list = await within(pane).findByRole('list', { name: 'Messages with Alice' });
    expect(within(list).getByText('Post-quantum encrypted · not verified')).toBeTruthy();
    expect(within(pane).getAllByText('Post-quantum encrypted · not verified')).toHaveLength(2);
  });
});
