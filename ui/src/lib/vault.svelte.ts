// Whether the home is open (vault_status), shared by the shell (which shows
// the Unlock screen while it is locked) and the Settings screen's Security
// section. Passphrases never pass through here: they go straight from a
// form's field to the command.
import { api, toIpcError, type IpcError, type VaultStatus } from './ipc';

class VaultState {
  status = $state<VaultStatus | null>(null);
  error = $state<IpcError | null>(null);
  /** The `auto_lock_minutes` setting as last read or saved (0: never). */
  autoLockMinutes = $state(0);

  /** True while the backend says the home waits for its passphrase. */
  get locked(): boolean {
    return this.status?.state === 'locked';
  }

  async refresh(): Promise<void> {
    try {
      this.status = await api.vaultStatus();
      this.error = null;
    } catch (e) {
      // An answer the shell cannot use (e.g. an older backend): it shows the
      // screens, and the node's own errors say what is wrong.
      this.error = toIpcError(e);
    }
  }

  /** Reads the auto-lock setting (kept as it was if the node cannot answer). */
  async loadAutoLock(): Promise<void> {
    try {
      const page = await api.settingsGet();
      this.autoLockMinutes = page.settings.auto_lock_minutes ?? 0;
    } catch {
      // Locked or stopped meanwhile: the shell reads it again once unlocked.
    }
  }

  /** Takes the status a vault command answered with. */
  set(status: VaultStatus): void {
    this.status = status;
    this.error = null;
  }

  /** Forgets everything (tests). */
  reset(): void {
    this.status = null;
    this.error = null;
    this.autoLockMinutes = 0;
  }
}

export const vault = new VaultState();

/** What is wrong with a new passphrase and its confirmation, or null. */
export function newPassphraseProblem(
  passphrase: string,
  confirm: string,
  min: number,
): string | null {
  if (passphrase.length === 0) return 'Choose a passphrase.';
  if ([...passphrase].length < min) return `The passphrase must have at least ${min} characters.`;
  if (confirm !== passphrase) return 'The two passphrases differ.';
  return null;
}
