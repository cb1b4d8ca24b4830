import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import Chat from './Chat.svelte';
import App from '../App.svelte';
import type { Contact, NodeStatus } from '../lib/ipc';

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
    expect(screen.getByText(/Messages over the network arrive in a later build/)).toBeTruthy();
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
});
