import { describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import SendStatus from './SendStatus.svelte';

describe('SendStatus', () => {
  it('shows nothing while nothing is sent or failed', () => {
    const { container } = render(SendStatus, { sending: [], failures: [], ondismiss: () => {} });
    expect(container.textContent?.trim()).toBe('');
  });

  it('names the files being hashed and those not sent, until dismissed', async () => {
    const ondismiss = vi.fn();
    render(SendStatus, {
      sending: ['a.txt', 'b.pdf'],
      failures: [{ path: '/tmp/c.bin', name: 'c.bin', error: { code: 'io', message: 'cannot read it' } }],
      ondismiss,
    });
    expect(screen.getByRole('status').textContent).toBe('Preparing a.txt, b.pdf (hashing the file)…');
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Not sent:');
    expect(alert.textContent).toContain('c.bin — cannot read it');
    await fireEvent.click(screen.getByRole('button', { name: 'Dismiss' }));
    expect(ondismiss).toHaveBeenCalledOnce();
  });
});
