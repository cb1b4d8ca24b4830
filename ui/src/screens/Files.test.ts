import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import Files from './Files.svelte';
import { NODE_EVENT, type Contact, type Transfer } from '../lib/ipc';
import { contact, transfer, watchDrops } from '../lib/testing';

const MiB = 1024 * 1024;
const PAD = { pad_id: 'ab', size: 20 * MiB, send_left: 10 * MiB, receive_left: 10 * MiB };
const id = (n: number) => n.toString(16).padStart(32, '0');

/** One transfer in each state, newest first as the node lists them. */
function everyState(): Transfer[] {
  return [
    transfer({ id: id(1), name: 'offer.pdf', state: 'offered', size: 2 * MiB }),
    transfer({
      id: id(2),
      name: 'movie.mkv',
      state: 'transferring',
      size: 100 * MiB,
      bytes_done: 25 * MiB,
    }),
    transfer({
      id: id(3),
      name: 'paused.iso',
      state: 'paused',
      size: 10 * MiB,
      bytes_done: 5 * MiB,
    }),
    transfer({
      id: id(4),
      name: 'mine.txt',
      outgoing: true,
      contact: 'Bob',
      state: 'offered',
      path: '/home/me/mine.txt',
    }),
    transfer({
      id: id(5),
      name: 'secret.bin',
      outgoing: true,
      state: 'transferring',
      protection: 'perfect_secrecy',
      protection_label: 'Perfect secrecy (one-time pad)',
      bytes_done: 300,
      path: '/home/me/secret.bin',
    }),
    transfer({
      id: id(6),
      name: 'done.zip',
      state: 'completed',
      bytes_done: 1000,
      path: '/home/me/Downloads/done.zip',
    }),
    transfer({ id: id(7), name: 'no.exe', state: 'declined' }),
    transfer({ id: id(8), name: 'bad.tar', state: 'failed', error: 'chunk 3 arrived damaged 6 times' }),
    transfer({
      id: id(9),
      name: 'gone.doc',
      outgoing: true,
      state: 'cancelled',
      error: 'cancelled by Alice',
    }),
  ];
}

interface Opts {
  transfers?: Transfer[];
  contacts?: Contact[];
  fail?: Record<string, { code: string; message: string }>;
  pending?: string[];
}

function backend(opts: Opts = {}) {
  const transfers = [...(opts.transfers ?? [])];
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockWindows('main');
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (opts.pending?.includes(cmd)) return new Promise(() => {});
      if (opts.fail?.[cmd]) throw opts.fail[cmd];
      switch (cmd) {
        case 'transfers_list':
          return transfers.map((t) => ({ ...t }));
        case 'contacts_list':
          return opts.contacts ?? [contact({ name: 'Alice' }), contact({ name: 'Bob', pad: PAD })];
        case 'downloads_dir':
          return '/home/me/Downloads';
        case 'open_folder':
          return null;
        case 'file_accept':
        case 'file_decline':
        case 'file_pause':
        case 'file_cancel': {
          const t = transfers.find((x) => x.id === a.id)!;
          t.state = (
            { file_accept: 'accepted', file_decline: 'declined', file_pause: 'paused', file_cancel: 'cancelled' } as const
          )[cmd];
          return { ...t };
        }
        case 'file_send': {
          const name = String(a.path).split('/').pop()!;
          const t = transfer({
            id: id(100 + transfers.length),
            name,
            outgoing: true,
            contact: String(a.contact),
            path: String(a.path),
            protection: a.pad ? 'perfect_secrecy' : 'post_quantum',
            protection_label: a.pad ? 'Perfect secrecy (one-time pad)' : 'Post-quantum encrypted',
          });
          transfers.unshift(t);
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
    /** Resolves once the screen hears dropped files (it subscribes on mount). */
    hearsDrops,
    transfers,
    calls,
    argsOf: (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
  };
}

function card(name: string): HTMLElement {
  return screen.getByRole('article', { name });
}

async function drop(paths: string[]): Promise<void> {
  await emit('tauri://drag-enter', { paths, position: { x: 10, y: 10 } });
  await emit('tauri://drag-drop', { paths, position: { x: 10, y: 10 } });
}

describe('Files', () => {
  it('says it is loading before the first answer', () => {
    backend({ pending: ['transfers_list'] });
    render(Files);
    expect(screen.getByText('Loading transfers…')).toBeTruthy();
  });

  it('shows the empty state and where files are saved', async () => {
    const b = backend();
    render(Files);
    expect(await screen.findByText('No transfers yet.')).toBeTruthy();
    expect(await screen.findByText('/home/me/Downloads')).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Open folder' }));
    expect(b.argsOf('open_folder')).toEqual([{ path: '/home/me/Downloads' }]);
  });

  it('shows a loading error with a way to try again', async () => {
    const b = backend({ fail: { transfers_list: { code: 'store', message: 'database error: locked' } } });
    render(Files);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('database error: locked');
    expect(screen.queryByText('No transfers yet.')).toBeNull();
    await fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
    await waitFor(() => expect(b.argsOf('transfers_list').length).toBe(2));
  });

  it('lists offers first, then what is moving, then what is finished', async () => {
    backend({ transfers: everyState() });
    render(Files);
    const offers = await screen.findByRole('region', { name: /Incoming offers/ });
    const active = screen.getByRole('region', { name: /In progress/ });
    const finished = screen.getByRole('region', { name: /Finished/ });
    const names = (r: HTMLElement) =>
      within(r)
        .getAllByRole('article')
        .map((a) => within(a).getByRole('heading').textContent);
    expect(names(offers)).toEqual(['offer.pdf']);
    expect(names(active)).toEqual(['movie.mkv', 'paused.iso', 'mine.txt', 'secret.bin']);
    expect(names(finished)).toEqual(['done.zip', 'no.exe', 'bad.tar', 'gone.doc']);

    // An incoming offer: who, what, size, protection, Accept and Decline.
    const offer = card('offer.pdf');
    expect(within(offer).getByText('From Alice')).toBeTruthy();
    expect(within(offer).getByText('2.0 MiB')).toBeTruthy();
    expect(within(offer).getByText('Alice offers this file')).toBeTruthy();
    expect(within(offer).getByRole('button', { name: 'Accept' })).toBeTruthy();
    expect(within(offer).getByRole('button', { name: 'Decline' })).toBeTruthy();
    expect(within(offer).queryByRole('progressbar')).toBeNull();

    // Receiving: a bar, the percentage, Pause and Cancel.
    const movie = card('movie.mkv');
    expect(within(movie).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('25');
    expect(within(movie).getByText(/^25% · 25.0 MiB of 100.0 MiB/)).toBeTruthy();
    expect(within(movie).getByRole('button', { name: 'Pause' })).toBeTruthy();
    expect(within(movie).getByRole('button', { name: 'Cancel' })).toBeTruthy();

    const paused = card('paused.iso');
    expect(within(paused).getByText('Paused')).toBeTruthy();
    expect(within(paused).getByRole('button', { name: 'Resume' })).toBeTruthy();
    expect(within(paused).queryByRole('button', { name: 'Pause' })).toBeNull();

    // Our own offer waits for the contact; only Cancel.
    const mine = card('mine.txt');
    expect(within(mine).getByText('To Bob')).toBeTruthy();
    expect(within(mine).getByText('Waiting for Bob to accept')).toBeTruthy();
    expect(within(mine).getAllByRole('button').map((b) => b.textContent?.trim())).toEqual(['Cancel']);

    // Only the one-time pad is called perfect secrecy.
    expect(within(card('secret.bin')).getByText('Perfect secrecy (one-time pad)')).toBeTruthy();
    for (const name of ['offer.pdf', 'movie.mkv', 'mine.txt', 'done.zip']) {
      expect(within(card(name)).getByText('Post-quantum encrypted')).toBeTruthy();
      expect(card(name).textContent).not.toContain('Perfect secrecy');
    }

    // Finished: how each ended, the saved file, no actions but Show in folder.
    const done = card('done.zip');
    expect(within(done).getByText('Received and verified')).toBeTruthy();
    expect(within(done).getByText('/home/me/Downloads/done.zip')).toBeTruthy();
    expect(within(done).getAllByRole('button').map((b) => b.textContent?.trim())).toEqual([
      'Show in folder',
    ]);
    expect(within(card('no.exe')).getByText('You declined')).toBeTruthy();
    expect(within(card('bad.tar')).getByText('Failed: chunk 3 arrived damaged 6 times')).toBeTruthy();
    expect(within(card('gone.doc')).getByText('Cancelled by Alice')).toBeTruthy();
    for (const name of ['no.exe', 'bad.tar', 'gone.doc']) {
      expect(within(card(name)).queryByRole('button')).toBeNull();
      expect(within(card(name)).queryByRole('progressbar')).toBeNull();
    }
  });

  it('calls the node for Accept, Decline, Pause, Resume, Cancel and Show in folder', async () => {
    const b = backend({ transfers: everyState() });
    render(Files);
    await screen.findByRole('region', { name: /Incoming offers/ });

    await fireEvent.click(within(card('offer.pdf')).getByRole('button', { name: 'Accept' }));
    await waitFor(() => expect(b.argsOf('file_accept')).toEqual([{ id: id(1) }]));
    // Accepted, it moves out of the offers.
    await waitFor(() => expect(screen.queryByRole('region', { name: /Incoming offers/ })).toBeNull());

    await fireEvent.click(within(card('movie.mkv')).getByRole('button', { name: 'Pause' }));
    await waitFor(() => expect(b.argsOf('file_pause')).toEqual([{ id: id(2) }]));

    await fireEvent.click(within(card('paused.iso')).getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(b.argsOf('file_accept')).toContainEqual({ id: id(3) }));

    await fireEvent.click(within(card('mine.txt')).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(b.argsOf('file_cancel')).toEqual([{ id: id(4) }]));
    await waitFor(() =>
      expect(within(screen.getByRole('region', { name: /Finished/ })).getByText('mine.txt')).toBeTruthy(),
    );

    await fireEvent.click(within(card('done.zip')).getByRole('button', { name: 'Show in folder' }));
    expect(b.argsOf('open_folder')).toContainEqual({ path: '/home/me/Downloads/done.zip' });
  });

  it('declines an offer, and shows a refused action on its card', async () => {
    const b = backend({
      transfers: [transfer({ id: id(1), name: 'offer.pdf' }), transfer({ id: id(2), name: 'other.pdf' })],
      fail: { file_accept: { code: 'bad_input', message: 'transfer is declined and cannot be accepted' } },
    });
    render(Files);
    await screen.findByRole('region', { name: /Incoming offers/ });
    await fireEvent.click(within(card('offer.pdf')).getByRole('button', { name: 'Decline' }));
    await waitFor(() => expect(b.argsOf('file_decline')).toEqual([{ id: id(1) }]));
    expect(await within(card('offer.pdf')).findByText('You declined')).toBeTruthy();

    await fireEvent.click(within(card('other.pdf')).getByRole('button', { name: 'Accept' }));
    const alert = await within(card('other.pdf')).findByRole('alert');
    expect(alert.textContent).toBe('transfer is declined and cannot be accepted');
  });

  it('moves the bar and shows the speed as progress events arrive', async () => {
    const b = backend({
      transfers: [
        transfer({ id: id(2), name: 'movie.mkv', state: 'transferring', size: 100 * MiB, bytes_done: 0 }),
      ],
    });
    render(Files);
    const bar = await screen.findByRole('progressbar', { name: 'Progress of movie.mkv' });
    expect(bar.getAttribute('aria-valuenow')).toBe('0');
    const reads = b.argsOf('transfers_list').length;

    await emit(NODE_EVENT, { kind: 'transfer_progress', transfer_id: id(2), bytes_done: 10 * MiB, size: 100 * MiB });
    await waitFor(() => expect(bar.getAttribute('aria-valuenow')).toBe('10'));
    // One report gives no speed yet.
    expect(within(card('movie.mkv')).getByText('10% · 10.0 MiB of 100.0 MiB')).toBeTruthy();

    // A second later, 20 MiB more: about 20 MiB/s.
    await new Promise((r) => setTimeout(r, 1000));
    await emit(NODE_EVENT, { kind: 'transfer_progress', transfer_id: id(2), bytes_done: 30 * MiB, size: 100 * MiB });
    await waitFor(() => expect(bar.getAttribute('aria-valuenow')).toBe('30'));
    const line = within(card('movie.mkv')).getByText(/^30% · 30.0 MiB of 100.0 MiB · /).textContent!;
    const speed = Number(/· ([\d.]+) MiB\/s ·/.exec(line)?.[1]);
    // At most 20 MiB/s (a second passed at least); how much more time passed depends on the machine.
    expect(speed).toBeGreaterThan(5);
    expect(speed).toBeLessThanOrEqual(20.1);
    expect(line).toMatch(/ left$/);
    // Progress of a transfer already shown as moving needs no new read.
    expect(b.argsOf('transfers_list').length).toBe(reads);

    // When it ends, the list is read again.
    b.transfers[0].state = 'completed';
    b.transfers[0].bytes_done = 100 * MiB;
    b.transfers[0].path = '/home/me/Downloads/movie.mkv';
    await emit(NODE_EVENT, { kind: 'transfer_finished', transfer_id: id(2), state: 'completed', error: null });
    // It moves to the Finished section (a new card).
    await waitFor(() => expect(within(card('movie.mkv')).getByText('Received and verified')).toBeTruthy());
    expect(screen.queryByRole('progressbar')).toBeNull();
  });

  it('shows a timelocked file locked until the node says it opened, then where it is', async () => {
    const opensAt = Math.floor(Date.now() / 1000) + 3600;
    const b = backend({
      transfers: [
        transfer({
          id: id(1),
          name: 'surprise.png',
          state: 'completed',
          bytes_done: 1000,
          opens_at: opensAt,
          opens_round: 9_000_000,
          locked: true,
        }),
      ],
    });
    render(Files);
    const locked = await screen.findByRole('article', { name: 'surprise.png' });
    expect(within(locked).getByTestId('transfer-lock')).toBeTruthy();
    expect(within(locked).getByText(/^Opens at .+ \(drand timelock\)$/)).toBeTruthy();
    expect(within(locked).getByRole('timer').textContent).toMatch(/^(59:\d\d|1:00:00)$/);
    expect(within(locked).queryByRole('button', { name: 'Show in folder' })).toBeNull();

    // The round came: the node opened it and says so.
    const reads = b.argsOf('transfers_list').length;
    b.transfers[0].locked = false;
    b.transfers[0].path = '/home/me/Downloads/surprise.png';
    await emit(NODE_EVENT, { kind: 'transfer_opened', transfer_id: id(1) });
    await waitFor(() => expect(b.argsOf('transfers_list').length).toBeGreaterThan(reads));
    const opened = await screen.findByRole('article', { name: 'surprise.png' });
    await waitFor(() => expect(within(opened).getByText(/^opened at .+ · drand timelock$/)).toBeTruthy());
    expect(within(opened).queryByTestId('transfer-lock')).toBeNull();
    expect(within(opened).getByText('/home/me/Downloads/surprise.png')).toBeTruthy();
    expect(within(opened).getByRole('button', { name: 'Show in folder' })).toBeTruthy();
  });

  it('shows a new offer when one arrives', async () => {
    const b = backend();
    render(Files);
    await screen.findByText('No transfers yet.');
    b.transfers.push(transfer({ id: id(1), name: 'new.pdf' }));
    await emit(NODE_EVENT, { kind: 'transfer_offered', transfer_id: id(1), from: 'Alice', name: 'new.pdf', size: 1000 });
    const offers = await screen.findByRole('region', { name: /Incoming offers/ });
    expect(within(offers).getByText('new.pdf')).toBeTruthy();
  });

  it('shows a drop target while files are dragged, and sends dropped files to the chosen contact', async () => {
    const b = backend();
    render(Files);
    await b.hearsDrops();
    const picker = (await screen.findByRole('combobox', { name: 'Send to' })) as HTMLSelectElement;
    await fireEvent.change(picker, { target: { value: 'Alice' } });

    await emit('tauri://drag-enter', { paths: ['/home/me/a.txt', '/home/me/b.txt'], position: { x: 5, y: 5 } });
    const target = await screen.findByTestId('drop-target');
    expect(target.textContent).toContain('Drop to send to Alice (2 files)');
    expect(target.textContent).toContain('Post-quantum encrypted');
    await emit('tauri://drag-leave', null);
    await waitFor(() => expect(screen.queryByTestId('drop-target')).toBeNull());

    await drop(['/home/me/a.txt', '/home/me/b.txt']);
    await waitFor(() =>
      expect(b.argsOf('file_send')).toEqual([
        { contact: 'Alice', path: '/home/me/a.txt', pad: false, open_at: null },
        { contact: 'Alice', path: '/home/me/b.txt', pad: false, open_at: null },
      ]),
    );
    expect(screen.queryByTestId('drop-target')).toBeNull();
    await waitFor(() => {
      const active = screen.getByRole('region', { name: /In progress/ });
      expect(within(active).getByText('a.txt')).toBeTruthy();
      expect(within(active).getByText('b.txt')).toBeTruthy();
    });
  });

  it('holds files dropped before a contact is chosen, and sends them with the pad if asked', async () => {
    const b = backend();
    render(Files);
    await screen.findByRole('combobox', { name: 'Send to' });
    await b.hearsDrops();
    await drop(['/home/me/secret.txt']);
    const waiting = await screen.findByRole('region', { name: 'Files waiting for a contact' });
    expect(waiting.textContent).toContain('secret.txt');
    const send = within(waiting).getByRole('button', { name: 'Send' }) as HTMLButtonElement;
    expect(send.disabled).toBe(true);
    expect(b.argsOf('file_send')).toEqual([]);

    // Bob shares a pad: the toggle appears.
    await fireEvent.change(screen.getByRole('combobox', { name: 'Send to' }), { target: { value: 'Bob' } });
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Use one-time pad (10.0 MiB left)' }));
    await fireEvent.click(within(waiting).getByRole('button', { name: 'Send to Bob' }));
    await waitFor(() =>
      expect(b.argsOf('file_send')).toEqual([{ contact: 'Bob', path: '/home/me/secret.txt', pad: true, open_at: null }]),
    );
    expect(screen.queryByRole('region', { name: 'Files waiting for a contact' })).toBeNull();
    const sent = await screen.findByRole('article', { name: 'secret.txt' });
    expect(within(sent).getByText('Perfect secrecy (one-time pad)')).toBeTruthy();
  });

  it('says which dropped files the node refused', async () => {
    const b = backend({
      contacts: [contact({ name: 'Alice' })],
      fail: { file_send: { code: 'bad_input', message: '/home/me/dir is not a regular file' } },
    });
    render(Files);
    await b.hearsDrops();
    // The only contact is chosen already.
    await waitFor(() =>
      expect((screen.getByRole('combobox', { name: 'Send to' }) as HTMLSelectElement).value).toBe('Alice'),
    );
    await drop(['/home/me/dir']);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('dir — /home/me/dir is not a regular file');
  });

  it('asks to pair first when there is nobody to send to', async () => {
    const b = backend({ contacts: [] });
    render(Files);
    expect(await screen.findByText(/Pair with someone on the Pairing screen first/)).toBeTruthy();
    await b.hearsDrops();
    await drop(['/home/me/a.txt']);
    expect(screen.queryByRole('region', { name: 'Files waiting for a contact' })).toBeNull();
    expect(b.argsOf('file_send')).toEqual([]);
  });
});
