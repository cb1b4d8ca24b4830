import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import Chat from './Chat.svelte';
import App from '../App.svelte';
import { NODE_EVENT, type ChatMessage, type Contact, type NodeStatus, type Transfer } from '../lib/ipc';
import { transfer } from '../lib/testing';

type Invoke = (cmd: string, args: unknown, options: unknown) => Promise<unknown>;

const CODE = '12345 67890 11111 22222 33333 44444 55555 66666';

function contact(over: Partial<Contact>): Contact {
  return {
    name: 'Alice',
    peer_id: '12D3KooWAlice',
    safety_code: CODE,
    verified: false,
    addresses: [],
    role: 'responder',
    pad: null,
    ...over,
  };
}

const status: NodeStatus = {
  version: '0.1.0',
  data_dir: '/tmp/home',
  uptime_secs: 1,
  database: { path: '/tmp/home/zks.sqlite3', schema_version: 1, sqlite_version: '3.50.0' },
};

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
    await fireEvent.click(bob);
    expect(within(pane).getByText(/Perfect secrecy — 10.0 MiB of pad left/)).toBeTruthy();
    // Bob is not verified: his safety code can be compared from here.
    expect(within(pane).getByRole('button', { name: 'Mark as verified' })).toBeTruthy();
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
      return {
        id: 1,
        outgoing: true,
        mode: 'grid',
        kind: 'text',
        text: 'hello',
        round: 4242,
        state: 'queued',
        error: null,
        created_at: now,
        ...over,
      };
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
          message({ id: 5, text: 'pad one', mode: 'pad', round: null, state: 'delivered' }),
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
      expect(within(incoming).getByText('Post-quantum encrypted · round 4000')).toBeTruthy();
      expect(within(incoming).queryByText(/queued|delivered|failed/)).toBeNull();
      expect(within(queued).getByText('queued')).toBeTruthy();
      expect(within(queued).getByText('Post-quantum encrypted · round 4001')).toBeTruthy();
      expect(within(delivered).getByText('delivered')).toBeTruthy();
      expect(within(failed).getByText('failed: cannot_open: bad key')).toBeTruthy();
      expect(within(pad).getByText('Perfect secrecy (one-time pad)')).toBeTruthy();
      // Only the one-time pad is called perfect secrecy.
      for (const item of [incoming, queued, delivered, failed]) {
        expect(item.textContent).not.toContain('Perfect secrecy');
      }
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

    it('shows why nothing was sent when there is no beacon yet', async () => {
      const message =
        'no verified round of quicknet is known on this device yet; import beacons with `zks beacon import --chain quicknet` (or let the grid fetch them)';
      backend({ sendError: { code: 'no_beacon', message } });
      render(Chat);
      await screen.findByText('No messages yet.');
      const box = screen.getByRole('textbox', { name: 'Message to Alice' });
      await fireEvent.input(box, { target: { value: 'hello' } });
      await fireEvent.keyDown(box, { key: 'Enter' });
      const alert = await screen.findByRole('alert');
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
        state: null,
        error: null,
        created_at: now,
      },
      {
        id: 2,
        outgoing: false,
        mode: 'grid',
        kind: 'text',
        text: 'here are the plans',
        round: 4001,
        state: null,
        error: null,
        created_at: now,
      },
    ];
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    const listening: string[] = [];
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
          case 'file_send': {
            const name = String(a.path).split('/').pop()!;
            const t = transfer({
              id: tid(10 + transfers.length),
              name,
              outgoing: true,
              path: String(a.path),
              created_at: now,
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
              state: 'queued',
              error: null,
              created_at: now,
            });
            return { ...t };
          }
          default:
            throw new Error(`unexpected command ${cmd}`);
        }
      },
      { shouldMockEvents: true },
    );
    const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: Invoke } }).__TAURI_INTERNALS__;
    const invoke = internals.invoke;
    internals.invoke = async (cmd, args, options) => {
      const result = await invoke(cmd, args, options);
      if (cmd === 'plugin:event|listen') listening.push(String((args as { event: string }).event));
      return result;
    };
    return {
      argsOf: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
      hearsDrops: () => waitFor(() => expect(listening).toContain('tauri://drag-leave')),
    };
  }

  it('shows a file offer as a file, and the contact’s transfers as cards with Accept and Decline', async () => {
    const b = backend();
    render(Chat);
    const list = await screen.findByRole('list', { name: 'Messages with Alice' });
    const [offer, text] = within(list).getAllByRole('listitem');
    expect(within(offer).getByText('File offer')).toBeTruthy();
    expect(within(offer).getByText('plans.pdf')).toBeTruthy();
    expect(within(offer).getByText('Post-quantum encrypted · round 4000')).toBeTruthy();
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
      expect(b.argsOf('file_send')).toEqual([{ contact: 'Alice', path: '/home/me/x.png', pad: false }]),
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
      expect(b.argsOf('file_send')).toContainEqual({ contact: 'Alice', path: '/home/me/y.png', pad: true }),
    );
    const files = await screen.findByRole('region', { name: /Files with Alice/ });
    const y = await within(files).findByRole('article', { name: 'y.png' });
    expect(within(y).getByText('Perfect secrecy (one-time pad)')).toBeTruthy();
  });
});
