import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AUTO_LOCK_CHECK_MS,
  autoLockApplies,
  idleTooLong,
  parseAutoLockMinutes,
  startAutoLock,
} from './autoLock';
import { vaultStatus } from './testing';

const MIN = 60_000;

describe('auto-lock core', () => {
  it('is idle once the minutes have passed, never when 0', () => {
    expect(idleTooLong(0, 5 * MIN - 1, 5)).toBe(false);
    expect(idleTooLong(0, 5 * MIN, 5)).toBe(true);
    expect(idleTooLong(0, 10_000 * MIN, 0)).toBe(false);
  });

  it('applies only to an open passphrase home with a setting above 0', () => {
    expect(autoLockApplies(vaultStatus({}), 5)).toBe(true);
    expect(autoLockApplies(vaultStatus({}), 0)).toBe(false);
    expect(autoLockApplies(vaultStatus({ protection: 'keyring' }), 5)).toBe(false);
    expect(autoLockApplies(vaultStatus({ state: 'locked', needs: 'unlock' }), 5)).toBe(false);
    expect(autoLockApplies(null, 5)).toBe(false);
  });

  it('reads the field as whole minutes from 0 to 1440', () => {
    expect(parseAutoLockMinutes(' 15 ')).toEqual({ minutes: 15 });
    expect(parseAutoLockMinutes('0')).toEqual({ minutes: 0 });
    expect(parseAutoLockMinutes('1440')).toEqual({ minutes: 1440 });
    for (const bad of ['-5', 'soon', '', '1.5', '1e3']) {
      const r = parseAutoLockMinutes(bad);
      expect('error' in r && r.error).toContain('whole number of minutes from 0 (never) to 1440');
    }
    const long = parseAutoLockMinutes('1441');
    expect('error' in long && long.error).toContain('at most 1440 minutes');
  });
});

describe('startAutoLock', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('locks once after N minutes without activity, checking every 15 s', () => {
    const lock = vi.fn();
    const target = new EventTarget();
    const stop = startAutoLock({ minutes: 2, lock, target });
    vi.advanceTimersByTime(2 * MIN - AUTO_LOCK_CHECK_MS);
    expect(lock).not.toHaveBeenCalled();
    vi.advanceTimersByTime(AUTO_LOCK_CHECK_MS);
    expect(lock).toHaveBeenCalledTimes(1);
    // Stopped itself: no second lock, however long it stays idle.
    vi.advanceTimersByTime(60 * MIN);
    expect(lock).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
    stop();
  });

  it('activity (pointer, key, wheel, focus) resets the idle time', () => {
    const lock = vi.fn();
    const target = new EventTarget();
    const stop = startAutoLock({ minutes: 1, lock, target });
    for (const kind of ['pointermove', 'keydown', 'wheel', 'focus', 'pointerdown']) {
      vi.advanceTimersByTime(45_000);
      target.dispatchEvent(new Event(kind));
    }
    expect(lock).not.toHaveBeenCalled();
    vi.advanceTimersByTime(MIN);
    expect(lock).toHaveBeenCalledTimes(1);
    stop();
  });

  it('is off at 0 (no timer), and stop removes the timer and the listeners', () => {
    const lock = vi.fn();
    const target = new EventTarget();
    const add = vi.spyOn(target, 'addEventListener');
    startAutoLock({ minutes: 0, lock, target });
    expect(vi.getTimerCount()).toBe(0);
    expect(add).not.toHaveBeenCalled();
    vi.advanceTimersByTime(24 * 60 * MIN);
    expect(lock).not.toHaveBeenCalled();

    const remove = vi.spyOn(target, 'removeEventListener');
    const stop = startAutoLock({ minutes: 1, lock, target });
    expect(vi.getTimerCount()).toBe(1);
    stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(remove).toHaveBeenCalledTimes(add.mock.calls.length);
    vi.advanceTimersByTime(10 * MIN);
    expect(lock).not.toHaveBeenCalled();
  });
});
