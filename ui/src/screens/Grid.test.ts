import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import Grid from './Grid.svelte';
import type { GridStatus } from '../lib/ipc';

const QUICKNET = '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971';
const DEFAULT = '8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce';
const C = 16384;

const full: GridStatus = {
  cache_dir: '/tmp/home/cache',
  cache_bytes: 5 * 1024 * 1024 + 512 * 1024,
  chains: [
    {
      name: 'quicknet',
      hash: QUICKNET,
      head: 10 * C,
      rounds: 4 * C + 5000,
      chunks: [
        [0, C],
        [1, C],
        [2, C],
        [3, C],
        [4, 5000],
      ],
    },
    { name: 'default', hash: DEFAULT, head: 200, rounds: 0, chunks: [] },
  ],
};

const empty: GridStatus = {
  cache_dir: '/tmp/home/cache',
  cache_bytes: 0,
  chains: full.chains.map((c) => ({ ...c, rounds: 0, chunks: [] })),
};

/** Mocks the backend's grid_status with the given answers in turn; counts calls. */
function backend(...answers: (GridStatus | { code: string; message: string })[]) {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd !== 'grid_status') throw { code: 'unexpected', message: `unexpected ${cmd}` };
    const answer = answers[Math.min(calls.length, answers.length) - 1];
    if ('code' in answer) throw answer;
    return answer;
  });
  return calls;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Grid', () => {
  it('shows loading, then one card per chain with its coverage', async () => {
    backend(full);
    render(Grid);
    expect(screen.getByText('Loading the grid…')).toBeTruthy();

    const quicknet = await screen.findByRole('article', { name: /quicknet/ });
    expect(screen.queryByText('Loading the grid…')).toBeNull();
    expect(quicknet.textContent).toMatch(/70,536 of 163,840 rounds held \(43\.0%\)/);
    expect(within(quicknet).getByText('52db9ba7…84e971')).toBeTruthy();
    const strip = within(quicknet).getByRole('img', {
      name: 'Coverage of quicknet, rounds 1 to 163,840: chunks 0–3 complete, chunk 4 partly held (5,000 of 16,384 rounds).',
    });
    // 163,840 rounds in 400 bins: chunks 0–3 fill 160 bins, chunk 4 shades 40 more.
    const bins = strip.querySelectorAll('rect.bin');
    expect(bins).toHaveLength(200);
    expect(bins[0].getAttribute('data-fraction')).toBe('1.0000');
    expect(bins[199].getAttribute('data-fraction')).toBe((5000 / C).toFixed(4));

    const other = screen.getByRole('article', { name: /default/ });
    expect(other.textContent).toMatch(/0 of 200 rounds held \(0%\)/);
    expect(within(other).getByRole('img').querySelectorAll('rect.bin')).toHaveLength(0);
    expect(within(other).getByRole('img', { name: /no rounds held/ })).toBeTruthy();

    expect(screen.getByText('5.5 MiB')).toBeTruthy();
    expect(screen.getByText('/tmp/home/cache')).toBeTruthy();
    expect(screen.queryByText('No rounds held yet.')).toBeNull();
    expect(screen.getByText(/Peers, per-source throughput and the seeding toggle appear/)).toBeTruthy();
  });

  it('explains how to fill an empty cache', async () => {
    backend(empty);
    render(Grid);
    expect(await screen.findByText('No rounds held yet.')).toBeTruthy();
    expect(
      screen.getByText(
        'zks fetch --chain quicknet --rounds 1..20000 --drand-url https://api.drand.sh',
      ),
    ).toBeTruthy();
    expect(screen.getAllByRole('article')).toHaveLength(2);
    expect(screen.getByText('0 B')).toBeTruthy();
  });

  it('shows a backend error as an alert', async () => {
    backend({ code: 'io', message: 'cannot read /tmp/home/cache' });
    render(Grid);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Could not read the beacon cache/);
    expect(alert.textContent).toMatch(/cannot read \/tmp\/home\/cache/);
    expect(alert.textContent).toMatch(/\(io\)/);
    expect(screen.queryByText('Loading the grid…')).toBeNull();
  });

  it('asks again on Refresh and shows the new figures', async () => {
    const calls = backend(empty, full);
    render(Grid);
    await screen.findByText('No rounds held yet.');
    expect(calls).toEqual(['grid_status']);
    await fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    expect(await screen.findByText(/70,536 of 163,840 rounds held/)).toBeTruthy();
    expect(calls).toEqual(['grid_status', 'grid_status']);
    expect(screen.queryByText('No rounds held yet.')).toBeNull();
  });

  it('refreshes every 5 s while shown and stops when closed', async () => {
    vi.useFakeTimers();
    const calls = backend(full);
    const { unmount } = render(Grid);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toHaveLength(3);
    unmount();
    await vi.advanceTimersByTimeAsync(20000);
    expect(calls).toHaveLength(3);
  });
});
