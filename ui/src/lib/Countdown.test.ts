import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import Countdown, { formatRemaining, secondsLeft } from './Countdown.svelte';

describe('countdown', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('formats seconds as mm:ss', () => {
    expect(formatRemaining(0)).toBe('00:00');
    expect(formatRemaining(59)).toBe('00:59');
    expect(formatRemaining(61)).toBe('01:01');
    expect(formatRemaining(3600)).toBe('60:00');
    expect(formatRemaining(-5)).toBe('00:00');
    expect(secondsLeft(100, 99_500)).toBe(1);
    expect(secondsLeft(100, 100_000)).toBe(0);
  });

  it('counts down every second and says when the code expired', () => {
    const expiresAt = Date.now() / 1000 + 2;
    render(Countdown, { props: { expiresAt } });
    expect(screen.getByRole('timer').textContent).toBe('00:02');
    vi.advanceTimersByTime(1000);
    flushSync();
    expect(screen.getByRole('timer').textContent).toBe('00:01');
    vi.advanceTimersByTime(1000);
    flushSync();
    expect(screen.queryByRole('timer')).toBeNull();
    expect(screen.getByText('expired — make a new code')).toBeTruthy();
  });
});
