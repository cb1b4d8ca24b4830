import { beforeEach, describe, expect, it } from 'vitest';
import { render, screen, fireEvent, waitFor } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import App from './App.svelte';
import { vault } from './lib/vault.svelte';
import { displayName } from './lib/displayName.svelte';
import { nodeStatus } from './lib/nodeStatus.svelte';
import { sampleNodeStatus, settingsPage, vaultStatus } from './lib/testing';

const status = sampleNodeStatus();

describe('app shell', () => {
  beforeEach(() => {
    vault.reset();
    displayName.reset();
  });

  it('shows navigation and the live node status', async () => {
    mockIPC((cmd) => {
      if (cmd === 'node_status') return status;
      throw new Error(`unexpected command ${cmd}`);
    });
    render(App);
    for (const label of ['Chat', 'Pairing', 'Files', 'Grid', 'Settings']) {
      expect(screen.getByRole('button', { name: label })).toBeTruthy();
    }
    expect(await screen.findByText('Node running · v0.1.0')).toBeTruthy();
  });

  it('shows the data folder and schema on the Settings screen', async () => {
    mockIPC((cmd) => {
      if (cmd === 'settings_get') {
        const page = settingsPage();
        return settingsPage({
          settings: { ...page.settings, listen_port: 0 },
          about: { ...page.about, data_dir: '/home/alice/.local/share/zks' },
        });
      }
      return status;
    });
    render(App);
    await fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    expect(await screen.findByText('/home/alice/.local/share/zks')).toBeTruthy();
    expect(screen.getByText('Schema version').nextElementSibling?.textContent).toBe('1');
  });

  it('shows a start-up error as {code, message} from the backend', async () => {
    mockIPC(() => {
      throw { code: 'data_dir', message: 'cannot use data directory /nope: Permission denied' };
    });
    render(App);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('cannot use data directory /nope');
    expect(screen.getByText('Node error')).toBeTruthy();
  });

  it('says it is starting before the first answer', () => {
    mockIPC(() => new Promise(() => {}));
    render(App);
    expect(screen.getByText('Starting…')).toBeTruthy();
  });

  it('shows the Unlock screen while the home is locked, and the app once unlocked', async () => {
    let locked = true;
    const calls: string[] = [];
    mockIPC((cmd, args) => {
      calls.push(cmd);
      if (cmd === 'vault_status') {
        return locked ? vaultStatus({ state: 'locked', needs: 'unlock' }) : vaultStatus({});
      }
      if (cmd === 'vault_unlock') {
        if ((args as { passphrase: string }).passphrase !== 'correct horse') {
          throw { code: 'wrong_passphrase', message: 'wrong passphrase; nothing was changed' };
        }
        locked = false;
        return vaultStatus({});
      }
      if (locked) throw { code: 'locked', message: 'this home is locked; unlock it with its passphrase first' };
      if (cmd === 'node_status') return status;
      if (cmd === 'chat_unread') return {};
      if (cmd === 'contacts_list') return [];
      throw new Error(`unexpected command ${cmd}`);
    });
    render(App);
    expect(await screen.findByRole('heading', { level: 1, name: 'Unlock' })).toBeTruthy();
    expect(screen.queryByRole('navigation', { name: 'Main' })).toBeNull();
    await fireEvent.input(screen.getByLabelText('Passphrase'), { target: { value: 'correct horse' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Unlock' }));
    expect(await screen.findByText('Node running · v0.1.0')).toBeTruthy();
    expect(screen.getByRole('navigation', { name: 'Main' })).toBeTruthy();
    expect(screen.queryByRole('heading', { level: 1, name: 'Unlock' })).toBeNull();
  });

  it('a node command answering `locked` (the home was locked) brings the Unlock screen', async () => {
    let locked = false;
    mockIPC((cmd) => {
      if (cmd === 'vault_status') {
        return locked ? vaultStatus({ state: 'locked', needs: 'unlock' }) : vaultStatus({});
      }
      if (locked) throw { code: 'locked', message: 'this home is locked; unlock it with its passphrase first' };
      if (cmd === 'node_status') return status;
      return {};
    });
    render(App);
    expect(await screen.findByText('Node running · v0.1.0')).toBeTruthy();
    locked = true;
    await nodeStatus.refresh();
    expect(await screen.findByRole('heading', { level: 1, name: 'Unlock' })).toBeTruthy();
  });
});

describe('the name step at first start', () => {
  beforeEach(() => {
    vault.reset();
    displayName.reset();
  });

  it('asks for the name contacts see before the main screens, once', async () => {
    let chosen: string | null = null;
    const sets: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'identity_name_get') return { name: chosen ?? '', chosen: chosen !== null };
      if (cmd === 'identity_name_set') {
        const name = (args as { name: string }).name;
        sets.push(name);
        if (name.length > 64) throw { code: 'bad_input', message: 'the name is too long' };
        chosen = name;
        return { name, chosen: true };
      }
      if (cmd === 'vault_status') return vaultStatus({});
      return status;
    });
    render(App);
    const field = await screen.findByLabelText('Your name');
    expect(
      screen.getByRole('heading', { name: 'What should contacts see as your name?' }),
    ).toBeTruthy();
    expect((field as HTMLInputElement).value).toBe('');
    expect(screen.queryByRole('navigation', { name: 'Main' })).toBeNull();

    // Empty and control characters are refused before the node is asked.
    await fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Type the name/);
    // (A text field drops line breaks itself; a tab stays.)
    await fireEvent.input(field, { target: { value: 'Al\tice' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toMatch(/control character/),
    );
    await fireEvent.input(field, { target: { value: 'x'.repeat(65) } });
    await fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toMatch(/too long/));
    expect(sets).toEqual([]);

    await fireEvent.input(field, { target: { value: '  Alice  ' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    expect(await screen.findByRole('navigation', { name: 'Main' })).toBeTruthy();
    expect(sets).toEqual(['Alice']);
    expect(screen.queryByLabelText('Your name')).toBeNull();
  });

  it('is skipped once a name was chosen', async () => {
    mockIPC((cmd) => {
      if (cmd === 'identity_name_get') return { name: 'Alice', chosen: true };
      if (cmd === 'vault_status') return vaultStatus({});
      return status;
    });
    render(App);
    expect(await screen.findByText('Node running · v0.1.0')).toBeTruthy();
    expect(screen.queryByLabelText('Your name')).toBeNull();
  });
});
