// Locking a passphrase home after a while without use. The core is pure
// (when is the window idle, what does the field say); `startAutoLock` wires
// it to the window's activity events and a coarse timer. The shell runs it
// only while the home is unlocked, sealed by a passphrase, and the setting
// (Settings → Security, `auto_lock_minutes`) is above 0.
import type { VaultStatus } from './ipc';

/** The longest setting the node accepts (a day). */
export const MAX_AUTO_LOCK_MINUTES = 1440;
/** How often the idle time is checked. */
export const AUTO_LOCK_CHECK_MS = 15_000;
/** What counts as use of the window. */
export const ACTIVITY_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'focus'] as const;

/** Whether the shell should watch for inactivity at all. */
export function autoLockApplies(status: VaultStatus | null, minutes: number): boolean {
  return status?.state === 'running' && status.protection === 'passphrase' && minutes > 0;
}

/** Whether the window has been idle for `minutes` (never when 0). */
export function idleTooLong(lastActivity: number, now: number, minutes: number): boolean {
  return minutes > 0 && now - lastActivity >= minutes * 60_000;
}

/** The Security section's field as a number of minutes, or why it is not one. */
export function parseAutoLockMinutes(text: string): { minutes: number } | { error: string } {
  const t = text.trim();
  if (!/^\d+$/.test(t)) {
    return {
      error: `auto-lock: enter a whole number of minutes from 0 (never) to ${MAX_AUTO_LOCK_MINUTES}`,
    };
  }
  const minutes = Number(t);
  if (minutes > MAX_AUTO_LOCK_MINUTES) {
    return {
      error: `auto-lock: at most ${MAX_AUTO_LOCK_MINUTES} minutes (a day); 0 for never`,
    };
  }
  return { minutes };
}

export interface AutoLockOptions {
  minutes: number;
  /** Called once, when the window has been idle `minutes`. */
  lock: () => void;
  /** Where activity is heard (the window). */
  target?: EventTarget;
  now?: () => number;
  checkMs?: number;
}

/**
 * Watches `target` for activity and calls `lock` once it has been idle for
 * `minutes`, checking every `checkMs`. Returns the stop function; with
 * `minutes` 0 nothing is watched and no timer runs.
 */
export function startAutoLock(opts: AutoLockOptions): () => void {
  const { minutes, lock } = opts;
  if (!(minutes > 0)) return () => {};
  const target = opts.target ?? window;
  const now = opts.now ?? Date.now;
  let last = now();
  const seen = () => {
    last = now();
  };
  const listen = { capture: true, passive: true } as const;
  for (const kind of ACTIVITY_EVENTS) target.addEventListener(kind, seen, listen);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    for (const kind of ACTIVITY_EVENTS) target.removeEventListener(kind, seen, listen);
  };
  const timer = setInterval(() => {
    if (idleTooLong(last, now(), minutes)) {
      stop();
      lock();
    }
  }, opts.checkMs ?? AUTO_LOCK_CHECK_MS);
  return stop;
}
