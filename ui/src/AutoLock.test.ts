// The shell locks an idle passphrase home as "Lock now" does.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import App from './App.svelte';
import type { KeyProtection, VaultStatus } from './lib/ipc';
import { vault } from './lib/vault.svelte';
import { sampleNodeStatus, vaultStatus } from './lib/testing';

const MIN = 60_000;
const status = sampleNodeStatus();

function backend(protection: KeyProtection, minutes: number) {
  let locked = false;
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    const now = (): VaultStatus =>
      locked ? vaultStatus({ state: 'locked', needs: 'unlock' }) : vaultStatus({ protection });
    if (cmd === 'vault_status') return now();
    if (cmd === 'vault_lock') {
      locked = true;
      return now();
    }
    if (locked) throw { code: 'locked', message: 'this home is locked' };
    if (cmd === 'node_status') return status;
    if (cmd === 'chat_unread') return {};
    if (cmd === 'contacts_list') return [];
    if (cmd === 'settings_get') return { settings: { auto_lock_minutes: minutes } };
    if (cmd === 'plugin:event|listen') return 1;
    return null;
  });
  return { of: (cmd: string) => calls.filter((c) => c === cmd).length };
}

async function started() {
  render(App);
  await vi.advanceTimersByTimeAsync(0);
  expect(await screen.findByText('Node running · v0.1.0')).toBeTruthy();
  await vi.advanceTimersByTimeAsync(0);
}

describe('auto-lock in the shell', () => {
  beforeEach(() => {
    vault.reset();
    vi.useFakeTimers({ shouldAdvanceTime: true });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('locks a passphrase home after N idle minutes and shows the Unlock screen', async () => {
    const b = backend('passphrase', 2);
    await started();
    expect(vault.autoLockMinutes).toBe(2);
    // Activity keeps it open.
    await vi.advanceTimersByTimeAsync(90_000);
    await fireEvent.keyDown(window, { key: 'a' });
    await vi.advanceTimersByTimeAsync(90_000);
    expect(b.of('vault_lock')).toBe(0);
    await vi.advanceTimersByTimeAsync(MIN);
    expect(b.of('vault_lock')).toBe(1);
    expect(await screen.findByRole('heading', { level: 1, name: 'Unlock' })).toBeTruthy();
    await vi.advanceTimersByTimeAsync(10 * MIN);
    expect(b.of('vault_lock')).toBe(1);
  });

  it('does nothing when the setting is 0', async () => {
    const b = backend('passphrase', 0);
    await started();
    await vi.advanceTimersByTimeAsync(24 * 60 * MIN);
    expect(b.of('vault_lock')).toBe(0);
    expect(screen.queryByRole('heading', { level: 1, name: 'Unlock' })).toBeNull();
  });

  it('never locks a keyring home (it does not even read the setting)', async () => {
    const b = backend('keyring', 1);
    await started();
    await vi.advanceTimersByTimeAsync(30 * MIN);
    expect(b.of('vault_lock')).toBe(0);
    expect(b.of('settings_get')).toBe(0);
  });
});
