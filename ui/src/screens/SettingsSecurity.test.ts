import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import Settings from './Settings.svelte';
import { vault } from '../lib/vault.svelte';
import { settingsPage, vaultStatus } from '../lib/testing';
import type { IpcError, SettingsEdit, VaultStatus } from '../lib/ipc';

const CURRENT = 'first passphrase';

const page = settingsPage();

/** Settings plus the vault commands; `change` answers vault_change. */
function backend(opts: {
  status?: VaultStatus;
  change?: (current: string | null, next: string | null) => VaultStatus | IpcError;
}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    const answer = (x: unknown) => {
      if (typeof x === 'object' && x !== null && 'code' in x) throw x;
      return x;
    };
    if (cmd === 'settings_get') return page;
    if (cmd === 'vault_status') return opts.status ?? vaultStatus({});
    if (cmd === 'vault_lock') return vaultStatus({ state: 'locked', needs: 'unlock' });
    if (cmd === 'settings_save') {
      const edit = a.settings as SettingsEdit;
      if ((edit.auto_lock_minutes ?? 0) > 1440) {
        throw { code: 'bad_input', message: 'auto-lock: too long' };
      }
      return { settings: { ...page.settings, ...edit }, applies_later: [] };
    }
    if (cmd === 'vault_change' && opts.change) {
      return answer(opts.change(a.current as string | null, a.new_passphrase as string | null));
    }
    throw { code: 'unexpected', message: `unexpected ${cmd}` };
  });
  return { of: (cmd: string) => calls.filter((c) => c.cmd === cmd) };
}

const typeInto = (label: string, value: string) =>
  fireEvent.input(screen.getByLabelText(label), { target: { value } });
const value = (label: string) => (screen.getByLabelText(label) as HTMLInputElement).value;

/** Submits empty, short and mismatched new passphrases: each is refused
 * with its reason, locally. */
async function refusesWeakNewPassphrases(section: HTMLElement, submit: () => Promise<unknown>) {
  const alert = () => within(section).getByRole('alert').textContent;
  await typeInto('New passphrase', '');
  await typeInto('Confirm new passphrase', '');
  await submit();
  expect(alert()).toContain('Choose a passphrase.');
  await typeInto('New passphrase', 'short');
  await typeInto('Confirm new passphrase', 'short');
  await submit();
  expect(alert()).toContain('at least 8 characters');
  await typeInto('New passphrase', 'second passphrase');
  await typeInto('Confirm new passphrase', 'second passphrase!');
  await submit();
  expect(alert()).toContain('The two passphrases differ.');
}

async function security() {
  render(Settings);
  return screen.findByRole('region', { name: 'Security' });
}

beforeEach(() => vault.reset());

describe('Settings, Security section', () => {
  it('says the key is sealed with the passphrase and offers Lock now and a change', async () => {
    backend({});
    const section = await security();
    expect(within(section).getByTestId('protection').textContent).toContain(
      'sealed with your passphrase',
    );
    expect(section.textContent).toContain('rotates the home key');
    expect(section.textContent).toContain('must be closed first');
    expect(section.textContent).not.toMatch(/zks /);
    expect(within(section).getByRole('button', { name: 'Lock now' })).toBeTruthy();
    expect(within(section).getByRole('button', { name: 'Change passphrase' })).toBeTruthy();
  });

  it('has neither Lock now nor a passphrase change for a key in the OS keyring', async () => {
    backend({ status: vaultStatus({ protection: 'keyring' }) });
    const section = await security();
    expect(within(section).getByTestId('protection').textContent).toContain('OS keyring');
    expect(within(section).queryByRole('button', { name: 'Lock now' })).toBeNull();
    expect(within(section).queryByLabelText('Current passphrase')).toBeNull();
    expect(within(section).queryByRole('button', { name: 'Change passphrase' })).toBeNull();
    expect(section.textContent).not.toContain('zks key change');
  });

  describe('moving the key between a passphrase and the OS keyring', () => {
    const keyringStatus = vaultStatus({ protection: 'keyring', keyring_available: true });
    const passphraseStatus = vaultStatus({ keyring_available: true });

    it('a keyring home gets a passphrase: checked locally, sent once, then lockable', async () => {
      const b = backend({ status: keyringStatus, change: () => passphraseStatus });
      const section = await security();
      const submit = () =>
        fireEvent.click(
          within(section).getByRole('button', { name: 'Protect with a passphrase' }),
        );
      await refusesWeakNewPassphrases(section, submit);
      expect(b.of('vault_change')).toHaveLength(0);
      await typeInto('New passphrase', 'second passphrase');
      await typeInto('Confirm new passphrase', 'second passphrase');
      await submit();
      expect((await within(section).findByTestId('changed')).textContent).toContain(
        'now protected with your passphrase',
      );
      expect(b.of('vault_change').map((c) => c.args)).toEqual([
        { current: null, new_passphrase: 'second passphrase' },
      ]);
      expect(within(section).getByTestId('protection').textContent).toContain(
        'sealed with your passphrase',
      );
      expect(within(section).getByRole('button', { name: 'Lock now' })).toBeTruthy();
      expect(value('New passphrase')).toBe('');
    });

    it('a passphrase home moves its key to the keyring with its current passphrase', async () => {
      const b = backend({ status: passphraseStatus, change: () => keyringStatus });
      const section = await security();
      const move = within(section).getByRole('button', { name: 'Move the key to the keyring' });
      expect(section.textContent).toContain('anyone who can log in as you can open this home');
      await fireEvent.click(move);
      expect(within(section).getByRole('alert').textContent).toContain(
        'Enter the current passphrase.',
      );
      expect(b.of('vault_change')).toHaveLength(0);
      await typeInto('Current passphrase (to move the key)', CURRENT);
      await fireEvent.click(move);
      expect((await within(section).findByTestId('changed')).textContent).toContain(
        'now kept in the OS keyring',
      );
      expect(b.of('vault_change').map((c) => c.args)).toEqual([
        { current: CURRENT, new_passphrase: null },
      ]);
      expect(within(section).getByTestId('protection').textContent).toContain('OS keyring');
      expect(within(section).queryByRole('button', { name: 'Lock now' })).toBeNull();
    });

    it('a wrong passphrase leaves the key where it was and clears only that field', async () => {
      backend({
        status: passphraseStatus,
        change: () => ({ code: 'wrong_passphrase', message: 'wrong passphrase' }),
      });
      const section = await security();
      await typeInto('Current passphrase (to move the key)', 'not the current one');
      await fireEvent.click(
        within(section).getByRole('button', { name: 'Move the key to the keyring' }),
      );
      const alert = await within(section).findByRole('alert');
      expect(alert.textContent).toContain('The current passphrase is wrong; nothing was changed.');
      expect(value('Current passphrase (to move the key)')).toBe('');
      expect(within(section).getByTestId('protection').textContent).toContain(
        'sealed with your passphrase',
      );
    });

    it('is not offered where there is no OS keyring', async () => {
      backend({ status: vaultStatus({ keyring_available: false }) });
      const section = await security();
      expect(within(section).getByRole('button', { name: 'Change passphrase' })).toBeTruthy();
      expect(
        within(section).queryByRole('button', { name: 'Move the key to the keyring' }),
      ).toBeNull();
    });
  });

  it('Lock now locks the home (the shell then shows the Unlock screen)', async () => {
    const b = backend({});
    const section = await security();
    await fireEvent.click(within(section).getByRole('button', { name: 'Lock now' }));
    await vi.waitFor(() => expect(vault.locked).toBe(true));
    expect(b.of('vault_lock')).toHaveLength(1);
    expect(vault.status?.needs).toBe('unlock');
  });

  it('refuses an empty current, a short new and a mismatched confirmation locally', async () => {
    const b = backend({ change: () => vaultStatus({}) });
    const section = await security();
    const submit = () =>
      fireEvent.click(within(section).getByRole('button', { name: 'Change passphrase' }));
    await submit();
    expect(within(section).getByRole('alert').textContent).toContain(
      'Enter the current passphrase.',
    );
    await typeInto('Current passphrase', CURRENT);
    await refusesWeakNewPassphrases(section, submit);
    expect(b.of('vault_change')).toHaveLength(0);
  });

  it('a wrong current passphrase is refused, named plainly and cleared', async () => {
    backend({
      change: () => ({ code: 'wrong_passphrase', message: 'wrong passphrase; nothing was changed' }),
    });
    const section = await security();
    await typeInto('Current passphrase', 'not the current one');
    await typeInto('New passphrase', 'second passphrase');
    await typeInto('Confirm new passphrase', 'second passphrase');
    await fireEvent.click(within(section).getByRole('button', { name: 'Change passphrase' }));
    const alert = await within(section).findByRole('alert');
    expect(alert.textContent).toContain('The current passphrase is wrong; nothing was changed.');
    expect(alert.textContent).not.toContain('not the current one');
    expect(value('Current passphrase')).toBe('');
    expect(value('New passphrase')).toBe('second passphrase');
  });

  it('busy (the daemon has the home open) shows the backend’s reason', async () => {
    backend({
      change: () => ({
        code: 'busy',
        message: 'another program has this home open (the app, `zks daemon` or another zks command); close it and try again',
      }),
    });
    const section = await security();
    await typeInto('Current passphrase', CURRENT);
    await typeInto('New passphrase', 'second passphrase');
    await typeInto('Confirm new passphrase', 'second passphrase');
    await fireEvent.click(within(section).getByRole('button', { name: 'Change passphrase' }));
    const alert = await within(section).findByRole('alert');
    expect(alert.textContent).toContain('another program has this home open');
    expect(alert.textContent).toContain('(busy)');
  });

  it('a change goes to the backend once, then the fields are cleared', async () => {
    const b = backend({ change: () => vaultStatus({}) });
    const section = await security();
    await typeInto('Current passphrase', CURRENT);
    await typeInto('New passphrase', 'second passphrase');
    await typeInto('Confirm new passphrase', 'second passphrase');
    await fireEvent.click(within(section).getByRole('button', { name: 'Change passphrase' }));
    expect((await within(section).findByTestId('changed')).textContent).toContain(
      'Passphrase changed.',
    );
    expect(b.of('vault_change').map((c) => c.args)).toEqual([
      { current: CURRENT, new_passphrase: 'second passphrase' },
    ]);
    for (const label of ['Current passphrase', 'New passphrase', 'Confirm new passphrase']) {
      expect(value(label)).toBe('');
    }
    expect(within(section).queryByRole('alert')).toBeNull();
  });

  describe('Lock after N minutes without use', () => {
    const FIELD = 'Lock after';
    const saveAutoLock = (section: HTMLElement) =>
      fireEvent.click(within(section).getByRole('button', { name: 'Save auto-lock' }));

    it('shows the stored minutes (0: never) for a passphrase home', async () => {
      backend({});
      const section = await security();
      expect(value(FIELD)).toBe('0');
      expect(section.textContent).toContain('minutes without use (0: never)');
    });

    it('is not offered for a key in the OS keyring', async () => {
      backend({ status: vaultStatus({ protection: 'keyring' }) });
      const section = await security();
      expect(within(section).queryByLabelText(FIELD)).toBeNull();
      expect(within(section).queryByRole('button', { name: 'Save auto-lock' })).toBeNull();
    });

    it('refuses negative, too long and non-numbers with a clear message, saving nothing', async () => {
      const b = backend({});
      const section = await security();
      for (const [typed, message] of [
        ['-5', 'whole number of minutes from 0 (never) to 1440'],
        ['1441', 'at most 1440 minutes (a day); 0 for never'],
        ['soon', 'whole number of minutes from 0 (never) to 1440'],
        ['', 'whole number of minutes from 0 (never) to 1440'],
      ]) {
        await typeInto(FIELD, typed);
        await saveAutoLock(section);
        const alert = within(section).getByTestId('auto-lock-error');
        expect(alert.textContent).toContain('Not saved: auto-lock:');
        expect(alert.textContent).toContain(message);
        // Kept as typed, to be corrected.
        expect(value(FIELD)).toBe(typed);
      }
      expect(b.of('settings_save')).toHaveLength(0);
      expect(vault.autoLockMinutes).toBe(0);
    });

    it('saves through settings_save, keeping the other settings as stored', async () => {
      const b = backend({});
      const section = await security();
      await typeInto(FIELD, ' 15 ');
      await saveAutoLock(section);
      expect((await within(section).findByTestId('auto-lock-saved')).textContent).toContain(
        'locks after 15 minutes without use',
      );
      const { seeding: _s, listen_port: _p, ...stored } = page.settings;
      expect(b.of('settings_save').map((c) => c.args.settings)).toEqual([
        { ...stored, auto_lock_minutes: 15 },
      ]);
      expect(vault.autoLockMinutes).toBe(15);
      expect(value(FIELD)).toBe('15');
      expect(within(section).queryByTestId('auto-lock-error')).toBeNull();
    });
  });
});
