import { describe, expect, it } from 'vitest';
import { safeSvg } from './QrCode.svelte';

describe('QR SVG check', () => {
  it('accepts the documents our backend makes', () => {
    expect(safeSvg('<?xml version="1.0"?><svg viewBox="0 0 1 1"></svg>')).toContain('<svg');
    expect(safeSvg('<svg viewBox="0 0 1 1"></svg>')).toContain('<svg');
  });

  it('refuses anything else', () => {
    expect(safeSvg(null)).toBeNull();
    expect(safeSvg('')).toBeNull();
    expect(safeSvg('<img src=x onerror=alert(1)>')).toBeNull();
    expect(safeSvg('<svg><script>alert(1)</script></svg>')).toBeNull();
    expect(safeSvg('<svg onload="alert(1)"></svg>')).toBeNull();
    expect(safeSvg('hello <svg></svg>')).toBeNull();
  });
});
