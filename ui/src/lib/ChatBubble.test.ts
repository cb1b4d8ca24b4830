import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen, within } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import ChatBubble from './ChatBubble.svelte';
import { formatTime, protectionLabel, sealedAfterLabel } from './ChatBubble.svelte';
import { opensAtShort } from './timelock';
import type { ChatMessage } from './ipc';
import { chatMessage } from './testing';

/** Round 30663002 of quicknet (the round shipped with the release). */
const SHIPPED_AT = 1_784_792_370;

function message(over: Partial<ChatMessage>): ChatMessage {
  return chatMessage(over);
}

describe('the "sealed after" label of a grid-pad message', () => {
  it("gives its round's time as a date and a time of day", () => {
    // 3 Dec 2026 10:40 UTC.
    const at = message({ sealed_after: 1_796_294_400 });
    expect(sealedAfterLabel(at, 'en-GB', 'UTC')).toBe('sealed after 3 Dec 2026 10:40');
    expect(sealedAfterLabel(message({}), 'en-GB', 'UTC')).toBe('sealed after 23 Jul 2026 07:39');
  });

  it("uses the device's time zone", () => {
    const at = message({ sealed_after: 1_796_294_400 });
    expect(sealedAfterLabel(at, 'en-GB', 'Asia/Tokyo')).toBe('sealed after 3 Dec 2026 19:40');
    expect(sealedAfterLabel(at, 'en-GB', 'America/New_York')).toBe('sealed after 3 Dec 2026 05:40');
  });

  it('is the same for sent and received messages', () => {
    expect(sealedAfterLabel(message({ outgoing: false }), 'en-GB', 'UTC')).toBe(
      sealedAfterLabel(message({ outgoing: true }), 'en-GB', 'UTC'),
    );
  });

  it('is absent for one-time-pad messages and unknown rounds', () => {
    expect(sealedAfterLabel(message({ mode: 'pad', round: null, sealed_after: null }))).toBeNull();
    expect(sealedAfterLabel(message({ sealed_after: null }))).toBeNull();
  });

  it('keeps "Post-quantum encrypted" and never says perfect secrecy for the grid pad', () => {
    expect(protectionLabel(message({}))).toBe('Post-quantum encrypted');
    expect(protectionLabel(message({ mode: 'pad', round: null, sealed_after: null }))).toBe(
      'Perfect secrecy (one-time pad)',
    );
  });
});

describe('the protection label under a bubble', () => {
  it('says "not verified" for an unverified contact, in both modes', () => {
    const { unmount } = render(ChatBubble, { props: { message: message({}), verified: false } });
    expect(screen.getByText('Post-quantum encrypted · not verified')).toBeTruthy();
    unmount();
    render(ChatBubble, {
      props: {
        message: message({ id: 2, mode: 'pad', round: null, sealed_after: null }),
        verified: false,
      },
    });
    expect(screen.getByText('Perfect secrecy (one-time pad) · not verified')).toBeTruthy();
  });

  it('says nothing more for a verified contact (the default)', () => {
    render(ChatBubble, { props: { message: message({}) } });
    expect(screen.getByText('Post-quantum encrypted')).toBeTruthy();
    expect(screen.queryByText(/not verified/)).toBeNull();
  });
});

describe('a timelocked message', () => {
  const ROUND = 30_700_000;

  afterEach(() => vi.useRealTimers());

  it('shows a lock, when it opens and a live countdown while locked — never its text', () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-12-24T17:59:57Z'));
    const opensAt = Math.floor(Date.now() / 1000) + 3;
    render(ChatBubble, {
      props: {
        message: message({ outgoing: false, state: null, text: '', locked: true, opens_at: opensAt, opens_round: ROUND }),
        contactName: 'Alice',
        onreply: () => {},
        onreact: () => {},
      },
    });
    const bubble = screen.getByTestId('locked-bubble');
    expect(bubble.querySelector('svg')).toBeTruthy();
    const when = within(bubble).getByText(/^Opens at .+ \(drand timelock\)$/);
    expect(when.textContent).toBe(`Opens at ${formatTime(opensAt)} (drand timelock)`);
    expect(when.getAttribute('title')).toContain(`drand round ${ROUND}`);
    expect(when.getAttribute('title')).toContain('not post-quantum');
    expect(within(bubble).getByRole('timer').textContent).toBe('00:03');
    expect(bubble.textContent).toContain('Opens in');
    // Nothing to quote yet: no Reply; a reaction is fine.
    expect(screen.queryByRole('button', { name: 'Reply' })).toBeNull();
    expect(screen.getByRole('button', { name: 'React' })).toBeTruthy();

    vi.advanceTimersByTime(3000);
    flushSync();
    expect(within(bubble).queryByRole('timer')).toBeNull();
    expect(bubble.textContent).toContain(`Opening — waiting for drand round ${ROUND}`);
    expect(bubble.textContent).not.toMatch(/perfect secrecy/i);
  });

  it('shows the date with the time when it opens another day', () => {
    const opensAt = Math.floor(Date.now() / 1000) + 3 * 86_400;
    render(ChatBubble, {
      props: { message: message({ outgoing: false, state: null, text: '', locked: true, opens_at: opensAt, opens_round: ROUND }) },
    });
    const when = screen.getByText(/^Opens at /);
    expect(when.textContent).toBe(`Opens at ${opensAtShort(opensAt, Math.floor(Date.now() / 1000))} (drand timelock)`);
    expect(when.textContent).toMatch(/\d{1,2}:\d{2}/);
    expect(when.textContent!.length).toBeGreaterThan('Opens at 18:00 (drand timelock)'.length);
    expect(screen.getByRole('timer').textContent).toMatch(/^[23] d \d\d:\d\d:\d\d$/);
  });

  it('once opened, shows its text and when it opened', () => {
    const opensAt = Math.floor(Date.now() / 1000) - 60;
    render(ChatBubble, {
      props: {
        message: message({ outgoing: false, state: null, text: 'Happy birthday!', opens_at: opensAt, opens_round: ROUND }),
        contactName: 'Alice',
        onreply: () => {},
      },
    });
    expect(screen.getByText('Happy birthday!')).toBeTruthy();
    expect(screen.queryByTestId('locked-bubble')).toBeNull();
    expect(screen.queryByRole('timer')).toBeNull();
    const label = screen.getByText(/^opened at .+ · drand timelock$/);
    expect(label.getAttribute('title')).toContain(`Timelocked to drand round ${ROUND}`);
    expect(screen.getByRole('button', { name: 'Reply' })).toBeTruthy();
    // The mode label stays.
    expect(screen.getByText('Post-quantum encrypted')).toBeTruthy();
  });

  it('ours shows its text, for whom and when it opens, and offers no edit until then', () => {
    const now = Math.floor(Date.now() / 1000);
    const opensAt = now + 3600;
    const { unmount } = render(ChatBubble, {
      props: {
        message: message({ text: 'Surprise', created_at: now, mode: 'pad', round: null, sealed_after: null, opens_at: opensAt, opens_round: ROUND }),
        contactName: 'Alice',
        now,
        onedit: () => {},
        ondelete: () => {},
      },
    });
    expect(screen.getByText('Surprise')).toBeTruthy();
    expect(screen.queryByTestId('locked-bubble')).toBeNull();
    const label = screen.getByText(/^opens for Alice at .+ \(drand timelock\)$/);
    expect(label.getAttribute('title')).toContain('the outer seal keeps its own protection');
    // The one-time pad's label stays for the outer seal.
    expect(screen.getByText('Perfect secrecy (one-time pad)')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Edit' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Delete' })).toBeTruthy();
    unmount();

    // Once its time has passed it may be edited like any other.
    render(ChatBubble, {
      props: {
        message: message({ text: 'Surprise', created_at: now, opens_at: now - 5, opens_round: ROUND }),
        contactName: 'Alice',
        now,
        onedit: () => {},
      },
    });
    expect(screen.getByText(/^openable by Alice since /)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Edit' })).toBeTruthy();
  });

  it('an ordinary message has no timelock label', () => {
    render(ChatBubble, { props: { message: message({}) } });
    expect(screen.queryByText(/drand timelock/)).toBeNull();
  });
});
