import { describe, expect, it } from 'vitest';
import { transfer } from './testing';
import {
  formatDuration,
  formatSpeed,
  groupTransfers,
  percentDone,
  SpeedMeter,
  stateLabel,
  transferTimelock,
} from './transfers';
import { baseName } from './transferFeed.svelte';
import { endLine } from './TransferCard.svelte';

describe('transfers', () => {
  it('puts incoming offers first, then open transfers, then finished ones, keeping order', () => {
    const list = [
      transfer({ id: 'a', state: 'completed' }),
      transfer({ id: 'b', state: 'offered', outgoing: true }),
      transfer({ id: 'c', state: 'offered' }),
      transfer({ id: 'd', state: 'transferring' }),
      transfer({ id: 'e', state: 'failed' }),
      transfer({ id: 'f', state: 'paused' }),
      transfer({ id: 'g', state: 'offered' }),
      transfer({ id: 'h', state: 'declined' }),
      transfer({ id: 'i', state: 'cancelled' }),
      transfer({ id: 'j', state: 'accepted' }),
    ];
    const g = groupTransfers(list);
    expect(g.offers.map((t) => t.id)).toEqual(['c', 'g']);
    expect(g.active.map((t) => t.id)).toEqual(['b', 'd', 'f', 'j']);
    expect(g.finished.map((t) => t.id)).toEqual(['a', 'e', 'h', 'i']);
  });

  it('computes whole percentages, clamped', () => {
    expect(percentDone(transfer({ bytes_done: 0, size: 1000 }))).toBe(0);
    expect(percentDone(transfer({ bytes_done: 999, size: 1000 }))).toBe(99);
    expect(percentDone(transfer({ bytes_done: 1000, size: 1000 }))).toBe(100);
    expect(percentDone(transfer({ bytes_done: 5000, size: 1000 }))).toBe(100);
    expect(percentDone(transfer({ bytes_done: 0, size: 0, state: 'transferring' }))).toBe(0);
    expect(percentDone(transfer({ bytes_done: 0, size: 0, state: 'completed' }))).toBe(100);
  });

  it('words each state from our side', () => {
    expect(stateLabel(transfer({ state: 'offered', outgoing: true, contact: 'Bob' }))).toBe(
      'Waiting for Bob to accept',
    );
    expect(stateLabel(transfer({ state: 'offered' }))).toBe('Alice offers this file');
    expect(stateLabel(transfer({ state: 'transferring', outgoing: true }))).toBe('Sending');
    expect(stateLabel(transfer({ state: 'transferring' }))).toBe('Receiving');
    expect(stateLabel(transfer({ state: 'completed' }))).toBe('Received and verified');
    expect(stateLabel(transfer({ state: 'completed', outgoing: true }))).toBe('Delivered and verified');
    expect(stateLabel(transfer({ state: 'declined', outgoing: true, contact: 'Bob' }))).toBe(
      'Declined by Bob',
    );
    expect(stateLabel(transfer({ state: 'declined' }))).toBe('You declined');
    expect(endLine(transfer({ state: 'failed', error: 'chunk 3 arrived damaged 6 times' }))).toBe(
      'Failed: chunk 3 arrived damaged 6 times',
    );
    expect(endLine(transfer({ state: 'cancelled', error: 'cancelled by Alice' }))).toBe(
      'Cancelled by Alice',
    );
    expect(endLine(transfer({ state: 'completed' }))).toBeNull();
  });

  it('formats speeds and durations', () => {
    expect(formatSpeed(512)).toBe('512 B/s');
    expect(formatSpeed(1536)).toBe('1.5 KiB/s');
    expect(formatSpeed(3 * 1024 * 1024)).toBe('3.0 MiB/s');
    expect(formatDuration(12.4)).toBe('12 s');
    expect(formatDuration(150)).toBe('3 min');
    expect(formatDuration(3900)).toBe('1 h 5 min');
  });

  it('measures speed over recent progress samples', () => {
    const m = new SpeedMeter(5000, 3000);
    expect(m.speed('x', 0)).toBeNull();
    m.record('x', 0, 0);
    expect(m.speed('x', 0)).toBeNull();
    m.record('x', 100, 200);
    expect(m.speed('x', 200)).toBeNull(); // under half a second of samples
    m.record('x', 1_000_000, 1000);
    expect(m.speed('x', 1000)).toBe(1_000_000);
    // Old samples fall out of the window.
    m.record('x', 2_000_000, 7000);
    m.record('x', 4_000_000, 8000);
    expect(m.speed('x', 8000)).toBe(2_000_000);
    // Nothing for a while: stalled.
    expect(m.speed('x', 12_000)).toBe(0);
    // A smaller count starts over.
    m.record('x', 10, 13_000);
    expect(m.speed('x', 13_000)).toBeNull();
    m.forget('x');
    expect(m.speed('x', 13_000)).toBeNull();
  });

  it('names a dropped file by the last part of its path', () => {
    expect(baseName('/home/a/report.pdf')).toBe('report.pdf');
    expect(baseName('C:\\Users\\a\\photo.jpg')).toBe('photo.jpg');
    expect(baseName('/home/a/dir/')).toBe('dir');
  });

  it('words a timelocked file like the chat bubbles, and only while it can still open', () => {
    const now = Date.UTC(2026, 11, 24, 12, 0) / 1000;
    const at = Date.UTC(2026, 11, 24, 18, 0) / 1000;
    const lock = { opens_at: at, opens_round: 4242 };
    const words = (over: Parameters<typeof transfer>[0]) =>
      transferTimelock(transfer({ ...lock, ...over }), now, 'en-GB', 'UTC');
    expect(words({ state: 'transferring', locked: true })).toEqual({
      label: 'Opens at 18:00 (drand timelock)',
      locked: true,
    });
    expect(words({ state: 'completed', locked: true })).toEqual({
      label: 'Opens at 18:00 (drand timelock)',
      locked: true,
    });
    expect(words({ state: 'completed', locked: false })).toEqual({
      label: 'opened at 18:00 · drand timelock',
      locked: false,
    });
    expect(words({ state: 'offered', outgoing: true, contact: 'Bob' })).toEqual({
      label: 'opens for Bob at 18:00 (drand timelock)',
      locked: false,
    });
    expect(
      transferTimelock(transfer({ ...lock, state: 'completed', outgoing: true, contact: 'Bob' }), at + 60, 'en-GB', 'UTC'),
    ).toEqual({ label: 'openable by Bob since 18:00 (drand timelock)', locked: false });
    // It will never open: no timelock line (the end line says why).
    for (const state of ['failed', 'cancelled', 'declined'] as const) {
      expect(words({ state, locked: true })).toBeNull();
    }
    // An ordinary file has none.
    expect(transferTimelock(transfer({ state: 'completed' }), now)).toBeNull();
    // Received but still locked: no file to call verified and saved yet.
    expect(stateLabel(transfer({ ...lock, state: 'completed', locked: true }))).toBe(
      'Received — locked until its time',
    );
    expect(stateLabel(transfer({ ...lock, state: 'completed', locked: false }))).toBe('Received and verified');
  });
});
