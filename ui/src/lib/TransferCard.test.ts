import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import TransferCard from './TransferCard.svelte';
import { transfer } from './testing';

// A file that opens at a chosen time (drand timelock): the card of a
// received one is locked with a countdown, then shows the file; ours says
// when it opens for the contact. The words are the chat bubbles'.
describe('TransferCard, timelocked files', () => {
  const now = Date.UTC(2026, 11, 24, 17, 59, 50);
  const opensAt = Date.UTC(2026, 11, 24, 18, 0) / 1000;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(now);
  });
  afterEach(() => vi.useRealTimers());

  const onaction = vi.fn();

  it('shows a received file locked, counting down, with no file to show yet', () => {
    const t = transfer({
      name: 'plans.tar',
      state: 'completed',
      bytes_done: 1000,
      opens_at: opensAt,
      opens_round: 4242,
      locked: true,
      path: null,
    });
    render(TransferCard, { props: { transfer: t, onaction, onopen: vi.fn() } });
    const card = screen.getByRole('article', { name: 'plans.tar' });
    expect(within(card).getByTestId('transfer-lock').getAttribute('title')).toBe('Locked until its drand round');
    expect(within(card).getByText('Received — locked until its time')).toBeTruthy();
    const line = within(card).getByTestId('transfer-timelock');
    expect(line.textContent).toMatch(/^Opens at .+ \(drand timelock\)$/);
    const title = line.querySelector('[title]')?.getAttribute('title') ?? '';
    expect(title).toContain('Timelocked to drand round 4242');
    expect(title).toContain('not post-quantum');
    expect(title).not.toMatch(/perfect secrecy/i);
    expect(within(card).getByRole('timer').textContent).toBe('00:10');
    // No path and no "Show in folder" until it opened.
    expect(within(card).queryByText(/Saved to/)).toBeNull();
    expect(within(card).queryByRole('button', { name: 'Show in folder' })).toBeNull();

    // Its time comes: it waits for the round, without pretending it opened.
    vi.advanceTimersByTime(11_000);
    flushSync();
    expect(within(card).getByText('Opening — waiting for drand round 4242')).toBeTruthy();
  });

  it('shows an opened file with its time, its path and the folder button', () => {
    const t = transfer({
      name: 'plans.tar',
      state: 'completed',
      bytes_done: 1000,
      opens_at: opensAt,
      opens_round: 4242,
      locked: false,
      path: '/home/me/Downloads/plans.tar',
    });
    const onopen = vi.fn();
    render(TransferCard, { props: { transfer: t, onaction, onopen } });
    const card = screen.getByRole('article', { name: 'plans.tar' });
    expect(within(card).queryByTestId('transfer-lock')).toBeNull();
    expect(within(card).getByText('Received and verified')).toBeTruthy();
    expect(within(card).getByTestId('transfer-timelock').textContent).toMatch(/^opened at .+ · drand timelock$/);
    expect(within(card).queryByRole('timer')).toBeNull();
    within(card).getByRole('button', { name: 'Show in folder' }).click();
    expect(onopen).toHaveBeenCalledWith('/home/me/Downloads/plans.tar');
  });

  it('says when ours opens for the contact, and a failed one shows only why', () => {
    const ours = transfer({
      name: 'gift.zip',
      contact: 'Bob',
      outgoing: true,
      state: 'transferring',
      opens_at: opensAt,
      opens_round: 4242,
      path: '/home/me/gift.zip',
    });
    const { unmount } = render(TransferCard, { props: { transfer: ours, onaction } });
    const card = screen.getByRole('article', { name: 'gift.zip' });
    expect(within(card).getByTestId('transfer-timelock').textContent).toMatch(
      /^opens for Bob at .+ \(drand timelock\)$/,
    );
    expect(within(card).queryByRole('timer')).toBeNull();
    unmount();

    const failed = transfer({
      name: 'draft.odt',
      state: 'failed',
      error: 'the timelocked file cannot be opened: the timelocked file is damaged (it does not authenticate)',
      opens_at: opensAt,
      opens_round: 4242,
      locked: true,
    });
    render(TransferCard, { props: { transfer: failed, onaction } });
    const bad = screen.getByRole('article', { name: 'draft.odt' });
    expect(within(bad).getByText(/^Failed: the timelocked file cannot be opened/)).toBeTruthy();
    expect(within(bad).queryByTestId('transfer-timelock')).toBeNull();
    expect(within(bad).queryByRole('timer')).toBeNull();
  });
});
