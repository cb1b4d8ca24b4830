import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import Unlock from './Unlock.svelte';
import { vault } from '../lib/vault.svelte';
import { vaultStatus } from '../lib/testing';
import type { VaultStatus } from '../lib/ipc';

const RIGHT = 'correct horse battery';
const locked = vaultStatus({ state: 'locked', needs: 'unlock' });
const fresh = vaultStatus({ state: 'locked', needs: 'create', protection: null });

/** A backend whose vault_unlock opens with RIGHT only; records the calls. */
function backend(opts: { hold?: Promise<void> } = {}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(async (cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    if (cmd !== 'vault_unlock') throw { code: 'unexpected', message: `unexpected ${cmd}` };
    await opts.hold;
    if ((args as { passphrase: string }).passphrase !== RIGHT) {
      throw { code: 'wrong_passphrase', message: 'wrong passphrase; nothing was changed' };
    }
    return vaultStatus({});
  });
  return { calls, unlocks: () => calls.filter((c) => c.cmd === 'vault_unlock') };
}

function show(status: VaultStatus) {
  vault.set(status);
  const onunlocked = vi.fn();
  render(Unlock, { status, onunlocked });
  return onunlocked;
}

const typeInto = (label: string, value: string) =>
  fireEvent.input(screen.getByLabelText(label), { target: { value } });

beforeEach(() => vault.reset());

describe('Unlock screen, existing home', () => {
  it('asks for the passphrase and refuses an empty one without asking the backend', async () => {
    const b = backend();
    show(locked);
    expect(screen.getByRole('heading', { level: 1, name: 'Unlock' })).toBeTruthy();
    expect(screen.getByText('/home/alice/.local/share/entropygrid')).toBeTruthy();
    expect((screen.getByLabelText('Passphrase') as HTMLInputElement).type).toBe('password');
    await fireEvent.click(screen.getByRole('button', { name: 'Unlock' }));
    expect(screen.getByRole('alert').textContent).toContain('Enter the passphrase.');
    expect(b.unlocks()).toHaveLength(0);
  });

  it('says a wrong passphrase plainly, clears the field and stays locked', async () => {
    const b = backend();
    const onunlocked = show(locked);
    await typeInto('Passphrase', 'guess number one');
    await fireEvent.click(screen.getByRole('button', { name: 'Unlock' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Wrong passphrase. Nothing was changed; try again.');
    expect(alert.textContent).not.toContain('guess number one');
    expect((screen.getByLabelText('Passphrase') as HTMLInputElement).value).toBe('');
    expect(b.unlocks()[0].args).toEqual({ passphrase: 'guess number one' });
    expect(vault.locked).toBe(true);
    expect(onunlocked).not.toHaveBeenCalled();
  });

  it('is busy while the key is derived, then opens the app', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    backend({ hold });
    const onunlocked = show(locked);
    await typeInto('Passphrase', RIGHT);
    await fireEvent.click(screen.getByRole('button', { name: 'Unlock' }));
    const busy = await screen.findByRole('button', { name: 'Unlocking…' });
    expect((busy as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByLabelText('Passphrase') as HTMLInputElement).disabled).toBe(true);
    expect(screen.getByRole('status').textContent).toContain('Deriving the key');
    release();
    await vi.waitFor(() => expect(onunlocked).toHaveBeenCalledOnce());
    expect(vault.status?.state).toBe('running');
    expect(vault.locked).toBe(false);
  });

  it('shows other backend errors with their code', async () => {
    mockIPC(() => {
      throw { code: 'locked', message: 'the key file /h/key.json is damaged' };
    });
    show(locked);
    await typeInto('Passphrase', RIGHT);
    await fireEvent.click(screen.getByRole('button', { name: 'Unlock' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('the key file /h/key.json is damaged');
    expect(alert.textContent).toContain('(locked)');
  });
});

describe('Unlock screen, new home', () => {
  it('says what the passphrase protects and that forgetting it needs a backup', () => {
    backend();
    show(fresh);
    expect(screen.getByRole('heading', { level: 1, name: 'Choose a passphrase' })).toBeTruthy();
    const text = (document.body.textContent ?? '').replace(/\s+/g, ' ');
    expect(text).toContain('identity, contacts, message history and session keys');
    expect(text).toContain('copies of one-time pads');
    expect(text).toContain('only a backup can restore your identity');
    expect(text).toContain('At least 8 characters.');
  });

  it('refuses empty, short and mismatched passphrases without asking the backend', async () => {
    const b = backend();
    show(fresh);
    const submit = () => fireEvent.click(screen.getByRole('button', { name: 'Protect and open' }));
    await submit();
    expect(screen.getByRole('alert').textContent).toContain('Choose a passphrase.');
    await typeInto('Passphrase', 'short');
    await typeInto('Confirm passphrase', 'short');
    await submit();
    expect(screen.getByRole('alert').textContent).toContain('at least 8 characters');
    await typeInto('Passphrase', 'long enough now');
    await typeInto('Confirm passphrase', 'long enough n0w');
    await submit();
    expect(screen.getByRole('alert').textContent).toContain('The two passphrases differ.');
    expect(b.unlocks()).toHaveLength(0);
  });

  it('protects the new home with the chosen passphrase', async () => {
    const b = backend();
    const onunlocked = show(fresh);
    await typeInto('Passphrase', RIGHT);
    await typeInto('Confirm passphrase', RIGHT);
    await fireEvent.click(screen.getByRole('button', { name: 'Protect and open' }));
    await vi.waitFor(() => expect(onunlocked).toHaveBeenCalledOnce());
    expect(b.unlocks().map((c) => c.args)).toEqual([{ passphrase: RIGHT }]);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('says an older, unencrypted home gets encrypted', () => {
    backend();
    show({ ...fresh, upgrade: true });
    expect(document.body.textContent?.replace(/\s+/g, ' ')).toContain(
      'made by an older release and is not encrypted yet',
    );
  });
});
