import { describe, expect, it } from 'vitest';
import { NOT_VERIFIED, withVerification } from './verification';

describe('the protection label of an unverified contact', () => {
  it('says "not verified" until the safety code was compared', () => {
    expect(withVerification('Post-quantum encrypted', false)).toBe(
      'Post-quantum encrypted · not verified',
    );
    expect(withVerification('Post-quantum encrypted', true)).toBe('Post-quantum encrypted');
    // Pad mode keeps its wording and gets the same suffix.
    expect(withVerification('Perfect secrecy (one-time pad)', false)).toBe(
      'Perfect secrecy (one-time pad) · not verified',
    );
    expect(NOT_VERIFIED).toBe(' · not verified');
  });
});
