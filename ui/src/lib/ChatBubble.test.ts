import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/svelte';
import ChatBubble from './ChatBubble.svelte';
import { protectionLabel, sealedAfterLabel } from './ChatBubble.svelte';
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
