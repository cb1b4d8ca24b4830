import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import DevicesSection from './DevicesSection.svelte';
import { NODE_EVENT, type DevicesView, type InviteCode } from './ipc';
import { deviceInfo, devicesView } from './testing';

const QR = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>';
const CODE: InviteCode = {
  text: 'ZKS1:LINK',
  expires_at: Math.floor(Date.now() / 1000) + 600,
  name: 'Desk',
  qr_svg: QR,
  link_text: null,
  link_qr_svg: null,
  link_qr_version: null,
};
const phone = deviceInfo({
  id: '99887766'.padEnd(64, '3'),
  name: 'Phone',
  primary: false,
  this_device: false,
  state: 'pending',
  added_at: 0,
  safety_code: '11111 22222 33333 44444',
});

/** A backend whose `devices` answer the test changes; records every call. */
function backend(start: DevicesView, contacts = 0) {
  const state = { view: start };
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === 'devices') return state.view;
      if (cmd === 'contacts_list') return Array.from({ length: contacts }, () => ({}));
      if (cmd === 'link_device') return CODE;
      if (cmd === 'confirm_device') {
        state.view = {
          ...state.view,
          devices: state.view.devices.map((d) => (d.id === a.id ? { ...d, state: 'linked', added_at: 1_796_500_000 } : d)),
        };
        return state.view;
      }
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  return { state, calls, of: (cmd: string) => calls.filter((c) => c.cmd === cmd) };
}

describe('DevicesSection', () => {
  it('on the primary: the link code goes when a device joins, and confirming needs the tick', async () => {
    const b = backend(devicesView());
    render(DevicesSection);
    await fireEvent.click(await screen.findByRole('button', { name: 'Link a new device' }));
    expect(await screen.findByRole('img', { name: 'QR code of the link code' })).toBeTruthy();
    expect((screen.getByLabelText('Link code as text') as HTMLTextAreaElement).value).toBe('ZKS1:LINK');
    expect(b.of('link_device')[0].args).toEqual({ ttl_secs: 600 });

    // The Phone joins: the node says so, and the list is read again.
    b.state.view = devicesView({ devices: [deviceInfo(), phone] });
    await emit(NODE_EVENT, { kind: 'devices_changed' });
    const card = await screen.findByTestId('device-99887766');
    expect(screen.queryByTestId('link-code')).toBeNull();
    expect(screen.getByTestId('joined-note').textContent).toContain('Phone joined with the code');
    expect(within(card).getByRole('list', { name: 'Safety code with Phone' }).textContent).toContain('44444');

    const confirm = within(card).getByRole('button', { name: 'Confirm Phone' }) as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    await fireEvent.click(confirm);
    expect(b.of('confirm_device')).toHaveLength(0);
    await fireEvent.click(within(card).getByRole('checkbox', { name: 'Phone shows the same safety code' }));
    expect(confirm.disabled).toBe(false);
    await fireEvent.click(confirm);
    await waitFor(() => expect(screen.getByTestId('devices-done').textContent).toContain('Phone is linked'));
    expect(b.of('confirm_device')[0].args).toEqual({ id: phone.id });
    expect(within(screen.getByTestId('device-99887766')).queryByRole('button', { name: /Confirm/ })).toBeNull();
  });

  it('offers joining only on a new home without contacts', async () => {
    backend(devicesView(), 1);
    const { unmount } = render(DevicesSection);
    await screen.findByRole('button', { name: 'Link a new device' });
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Join as a linked device…' })).toBeNull());
    unmount();
    backend(devicesView(), 0);
    render(DevicesSection);
    expect(await screen.findByRole('button', { name: 'Join as a linked device…' })).toBeTruthy();
  });

  it('on a linked device: read only, naming the primary', async () => {
    backend(
      devicesView({
        role: 'linked',
        devices: [deviceInfo({ this_device: false, name: 'Desk' }), deviceInfo({ primary: false, name: 'Laptop', id: 'ab'.repeat(32) })],
      }),
    );
    render(DevicesSection);
    const note = await screen.findByTestId('linked-note');
    expect(note.textContent).toContain('Link and unlink devices on your primary device (Desk).');
    expect(screen.queryAllByRole('button')).toHaveLength(0);
  });
});
