import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import Pairing from './Pairing.svelte';
import { NODE_EVENT, type AcceptedInvite, type Contact, type InviteCode } from '../lib/ipc';
import { contact } from '../lib/testing';
import { pairingInvite } from '../lib/pairingInvite.svelte';

// The code shown in step 1 outlives the screen (module state): start clean.
beforeEach(() => pairingInvite.clear());

const SVG =
  '<?xml version="1.0" standalone="yes"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><path d="M0 0h4v4H0z"/></svg>';
const CODE = '12345 67890 11111 22222 33333 44444 55555 66666';

type Handler = (args: Record<string, unknown>) => unknown;

/** Mocks the backend: each command answers with its handler; records calls
 * (events are Tauri's own, mocked apart and not recorded; so is the screen's
 * look at this device's role, `devices`, a primary unless a handler says). */
function backend(handlers: Record<string, Handler>) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      if (cmd === 'devices') {
        return handlers.devices ? handlers.devices(args) : { role: 'primary', devices: [] };
      }
      calls.push({ cmd, args });
      const handler = handlers[cmd];
      if (!handler) throw { code: 'unexpected', message: `unexpected command ${cmd}` };
      return handler(args);
    },
    { shouldMockEvents: true },
  );
  return calls;
}

function safetyGroups(): string[] {
  const list = screen.getByRole('list', { name: 'Safety code' });
  return within(list)
    .getAllByRole('listitem')
    .map((li) => li.textContent ?? '');
}

describe('Pairing: show my code', () => {
  it('makes an invite and shows its QR code, text and countdown', async () => {
    const invite: InviteCode = {
      text: 'ZKS1:INVITE TEXT',
      expires_at: Math.floor(Date.now() / 1000) + 90,
      name: 'Alice',
      qr_svg: SVG,
      link_text: null,
      link_qr_svg: null,
      link_qr_version: null,
    };
    const calls = backend({
      pairing_create_invite: () => invite,
      identity_name_get: () => ({ name: 'Alice', chosen: true }),
    });
    render(Pairing);

    await fireEvent.input(screen.getByLabelText('My name in the code'), {
      target: { value: ' Alice ' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));

    const qr = await screen.findByRole('img', { name: 'QR code of my invite' });
    expect(qr.querySelector('svg')).toBeTruthy();
    // A name typed here becomes the chosen name: it is read again.
    expect(calls).toEqual([
      { cmd: 'pairing_create_invite', args: { name: 'Alice' } },
      { cmd: 'identity_name_get', args: {} },
    ]);
    const text = screen.getByLabelText('My code as text') as HTMLTextAreaElement;
    expect(text.value).toBe('ZKS1:INVITE TEXT');
    expect(text.readOnly).toBe(true);
    expect(screen.getByRole('timer').textContent).toMatch(/^01:(29|30)$/);
    expect(screen.getByRole('button', { name: 'Copy' })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Make a new code' })).toBeTruthy();
  });

  it('copies the code to the clipboard', async () => {
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    backend({
      pairing_create_invite: () => ({
        text: 'ZKS1:COPY ME',
        expires_at: Math.floor(Date.now() / 1000) + 600,
        name: 'A',
        qr_svg: SVG,
        link_text: null,
        link_qr_svg: null,
        link_qr_version: null,
      }),
    });
    render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('ZKS1:COPY ME');
    expect(await screen.findByText('Copied.')).toBeTruthy();
  });

  it('refuses to draw something that is not an SVG document', async () => {
    backend({
      pairing_create_invite: () => ({
        text: 'ZKS1:X',
        expires_at: Math.floor(Date.now() / 1000) + 600,
        name: 'A',
        qr_svg: '<img src=x onerror="alert(1)">',
      }),
    });
    const { container } = render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    expect(await screen.findByText(/QR code cannot be shown/)).toBeTruthy();
    expect(container.querySelector('img')).toBeNull();
    expect((screen.getByLabelText('My code as text') as HTMLTextAreaElement).value).toBe('ZKS1:X');
  });

  it('shows a backend error in an alert', async () => {
    backend({
      pairing_create_invite: () => {
        throw { code: 'store', message: 'database error: disk full' };
      },
    });
    render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    expect((await screen.findByRole('alert')).textContent).toContain('database error: disk full');
    expect(screen.queryByRole('img')).toBeNull();
  });
});

describe('Pairing: their code', () => {
  it('accepts pasted text and shows the reply and the safety code', async () => {
    const accepted: AcceptedInvite = {
      reply_text: 'ZKS1:REPLY',
      reply_qr_svg: SVG,
      contact: contact(),
    };
    const calls = backend({ pairing_accept: () => accepted });
    render(Pairing);

    await fireEvent.input(screen.getByLabelText('Paste their code'), {
      target: { value: '  ZKS1:THEIR INVITE \n' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Accept' }));

    expect(await screen.findByText(/Now show them this reply/)).toBeTruthy();
    expect(calls).toEqual([{ cmd: 'pairing_accept', args: { text: 'ZKS1:THEIR INVITE' } }]);
    expect(screen.getByRole('img', { name: 'QR code of my reply' })).toBeTruthy();
    expect((screen.getByLabelText('My reply as text') as HTMLTextAreaElement).value).toBe(
      'ZKS1:REPLY',
    );
    expect(screen.getByRole('heading', { name: 'Safety code with Alice' })).toBeTruthy();
    expect(safetyGroups()).toEqual(CODE.split(' '));
    expect(screen.getByRole('button', { name: 'Mark as verified' })).toBeTruthy();
  });

  it('sends an opened image as base64 with the chosen name', async () => {
    const calls = backend({
      pairing_accept: () => ({
        reply_text: 'ZKS1:R',
        reply_qr_svg: null,
        contact: contact({ name: 'Al' }),
      }),
    });
    render(Pairing);
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const file = new File([png], 'invite.png', { type: 'image/png' });
    await fireEvent.change(screen.getByLabelText('Image of their code'), {
      target: { files: [file] },
    });
    expect(await screen.findByText('invite.png')).toBeTruthy();
    await fireEvent.input(screen.getByLabelText('Save them as (optional)', { selector: '#pair-their-as' }), {
      target: { value: 'Al' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Accept' }));
    expect(await screen.findByText(/Now show them this reply/)).toBeTruthy();
    expect(calls[0]).toEqual({
      cmd: 'pairing_accept',
      args: { image_base64: 'iVBORw0KGgoBAgM=', as_name: 'Al' },
    });
    // No reply QR could be drawn: the text still is there.
    expect(screen.getByText(/QR code cannot be shown/)).toBeTruthy();
  });

  it('shows the backend error in an alert and keeps what was pasted', async () => {
    backend({
      pairing_accept: () => {
        throw { code: 'bad_qr', message: 'this ZKS code is damaged: it has stray characters or is cut short' };
      },
    });
    render(Pairing);
    await fireEvent.input(screen.getByLabelText('Paste their code'), { target: { value: 'ZKS1:BROKEN' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Accept' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('this ZKS code is damaged');
    expect((screen.getByLabelText('Paste their code') as HTMLTextAreaElement).value).toBe('ZKS1:BROKEN');
    expect(screen.queryByRole('list', { name: 'Safety code' })).toBeNull();
  });

  it('asks for a code before calling the backend', async () => {
    const calls = backend({});
    render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Accept' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Paste their ZKS1: code');
    expect(calls).toEqual([]);
  });

  it('offers the camera for their code and their reply, and never says perfect secrecy', () => {
    backend({});
    render(Pairing);
    expect(screen.getAllByRole('button', { name: 'Scan with camera' }).length).toBe(2);
    expect(screen.getAllByText(/Post-quantum encrypted/).length).toBeGreaterThan(0);
    expect(document.body.textContent).not.toMatch(/perfect secrecy/i);
  });
});

describe('Pairing: finish with their reply', () => {
  it('finishes, shows the safety code and marks the contact verified', async () => {
    const bob = contact({ name: 'Bob', role: 'initiator' });
    const calls = backend({
      pairing_finish: () => bob,
      contacts_verify: () => ({ ...bob, verified: true }),
    });
    render(Pairing);

    await fireEvent.input(screen.getByLabelText('Paste their reply'), { target: { value: 'ZKS1:REPLY' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Finish' }));

    expect(await screen.findByText('Safety code with Bob')).toBeTruthy();
    expect(safetyGroups()).toHaveLength(8);
    const mark = screen.getByRole('button', { name: 'Mark as verified' }) as HTMLButtonElement;
    expect(mark.disabled).toBe(true);
    await fireEvent.input(screen.getByLabelText('Type the code their device shows'), {
      target: { value: CODE },
    });
    expect(screen.getByText('Their code matches yours.')).toBeTruthy();
    expect(mark.disabled).toBe(false);
    await fireEvent.click(mark);

    expect(await screen.findByText('Verified')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Mark as verified' })).toBeNull();
    expect(calls.map((c) => c.cmd)).toEqual(['pairing_finish', 'contacts_verify']);
    expect(calls[0].args).toEqual({ text: 'ZKS1:REPLY' });
    expect(calls[1].args).toEqual({ name: 'Bob', code: CODE });
  });

  it('refuses a mismatching code, even with the box ticked, and stays unverified', async () => {
    const bob = contact({ name: 'Bob', role: 'initiator' });
    const calls = backend({ pairing_finish: () => bob });
    render(Pairing);
    await fireEvent.input(screen.getByLabelText('Paste their reply'), { target: { value: 'ZKS1:REPLY' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Finish' }));
    await fireEvent.input(await screen.findByLabelText('Type the code their device shows'), {
      target: { value: '99999 99999 99999 99999 99999 99999 99999 99999' },
    });
    expect(screen.getByText(/This does not match the code above/)).toBeTruthy();
    await fireEvent.click(
      screen.getByLabelText('Or: I compared all 40 digits with theirs and they match'),
    );
    const mark = screen.getByRole('button', { name: 'Mark as verified' }) as HTMLButtonElement;
    expect(mark.disabled).toBe(true);
    await fireEvent.click(mark);
    expect(calls.map((c) => c.cmd)).toEqual(['pairing_finish']);
    expect(screen.queryByText('Verified')).toBeNull();
  });

  it('shows the backend refusing to verify in an alert', async () => {
    const bob = contact({ name: 'Bob', role: 'initiator' });
    backend({
      pairing_finish: () => bob,
      contacts_verify: () => {
        throw { code: 'bad_input', message: 'no contact named "Bob"' };
      },
    });
    render(Pairing);
    await fireEvent.input(screen.getByLabelText('Paste their reply'), { target: { value: 'ZKS1:REPLY' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Finish' }));
    await fireEvent.input(await screen.findByLabelText('Type the code their device shows'), {
      target: { value: CODE },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Mark as verified' }));
    expect((await screen.findByRole('alert')).textContent).toContain('no contact named');
    expect(screen.queryByText('Verified')).toBeNull();
  });

  it('shows a finish error in an alert', async () => {
    backend({
      pairing_finish: () => {
        throw { code: 'bad_input', message: 'this reply answers an invite that was not made on this device' };
      },
    });
    render(Pairing);
    await fireEvent.input(screen.getByLabelText('Paste their reply'), { target: { value: 'ZKS1:OTHER' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Finish' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toContain('not made on this device'),
    );
  });
});

describe('Pairing: their reply over the network', () => {
  const invite = (): InviteCode => ({
    text: 'ZKS1:MY INVITE',
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    name: 'Alice',
    qr_svg: SVG,
    link_text: null,
    link_qr_svg: null,
    link_qr_version: null,
  });

  it('goes straight to the safety code when the pairing finishes over the network', async () => {
    const bob = contact({ name: 'Bob', role: 'initiator' });
    const calls = backend({
      pairing_create_invite: invite,
      contacts_list: () => [contact({ name: 'Carol' }), bob],
      contacts_verify: () => ({ ...bob, verified: true }),
    });
    render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    await screen.findByRole('img', { name: 'QR code of my invite' });
    expect(screen.getByText(/Waiting for their reply/)).toBeTruthy();
    // Something half pasted in step 3 is not needed any more.
    await fireEvent.input(screen.getByLabelText('Paste their reply'), { target: { value: 'ZKS1:HALF' } });

    await emit(NODE_EVENT, { kind: 'pairing_finished', contact: 'Bob' });

    expect(await screen.findByRole('heading', { name: 'Safety code with Bob' })).toBeTruthy();
    const step3 = screen.getByRole('region', { name: '3 Finish with their reply' });
    expect(step3.textContent).toContain('Paired with Bob.');
    expect(step3.textContent).toContain('Their reply arrived over the network.');
    expect(safetyGroups()).toEqual(CODE.split(' '));
    const step1 = screen.getByRole('region', { name: '1 Show my code' });
    expect(within(step1).getByText(/Their reply arrived: paired with/).textContent).toContain('Bob');
    expect(within(step1).queryByText(/Waiting for their reply/)).toBeNull();
    // Nothing was pasted or finished by hand.
    expect(calls.map((c) => c.cmd)).toEqual(['pairing_create_invite', 'contacts_list']);

    // Verifying works as after a pasted reply; here by ticking the box.
    await fireEvent.click(
      within(step3).getByLabelText('Or: I compared all 40 digits with theirs and they match'),
    );
    await fireEvent.click(screen.getByRole('button', { name: 'Mark as verified' }));
    expect(await within(step3).findByText('Verified')).toBeTruthy();
    expect(calls[2]).toEqual({ cmd: 'contacts_verify', args: { name: 'Bob', compared: true } });

    // Back to the form: the paste path is still there.
    await fireEvent.click(screen.getByRole('button', { name: 'Finish another pairing' }));
    expect((screen.getByLabelText('Paste their reply') as HTMLTextAreaElement).value).toBe('');
  });

  it('listens only while my code is shown', async () => {
    const calls = backend({
      pairing_create_invite: invite,
      contacts_list: () => [contact({ name: 'Bob' })],
    });
    render(Pairing);
    await emit(NODE_EVENT, { kind: 'pairing_finished', contact: 'Bob' });
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual([]);
    expect(screen.queryByText('Safety code with Bob')).toBeNull();
  });

  it('keeps the paste path when nothing arrives, and says when the contact cannot be read', async () => {
    const bob = contact({ name: 'Bob', role: 'initiator' });
    backend({
      pairing_create_invite: invite,
      pairing_finish: () => bob,
      contacts_list: () => {
        throw { code: 'store', message: 'database error: locked' };
      },
    });
    render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    await screen.findByRole('img', { name: 'QR code of my invite' });

    await emit(NODE_EVENT, { kind: 'pairing_finished', contact: 'Dave' });
    const step3 = screen.getByRole('region', { name: '3 Finish with their reply' });
    const alert = await within(step3).findByRole('alert');
    expect(alert.textContent).toContain('Paired with Dave');
    expect(alert.textContent).toContain('database error: locked');

    await fireEvent.input(screen.getByLabelText('Paste their reply'), { target: { value: 'ZKS1:REPLY' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Finish' }));
    expect(await screen.findByText('Safety code with Bob')).toBeTruthy();
    expect(step3.textContent).not.toContain('over the network');
  });
});

describe('Pairing: the code outlives the screen', () => {
  const invite = (secondsLeft = 3600): InviteCode => ({
    text: 'ZKS1:KEPT',
    expires_at: Math.floor(Date.now() / 1000) + secondsLeft,
    name: 'Alice',
    qr_svg: SVG,
    link_text: null,
    link_qr_svg: null,
    link_qr_version: null,
  });

  it('shows the small code of an online app first, and the full code on request', async () => {
    backend({
      pairing_create_invite: () => ({
        ...invite(),
        link_text: 'ZKS1:SMALL',
        link_qr_svg: SVG,
        link_qr_version: 7,
      }),
    });
    render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    expect(await screen.findByRole('img', { name: 'Small QR code of my invite' })).toBeTruthy();
    const text = screen.getByLabelText('My code as text') as HTMLTextAreaElement;
    expect(text.value).toBe('ZKS1:SMALL');
    expect(screen.getByTestId('small-code').textContent).toContain('QR version 7');
    await fireEvent.click(screen.getByRole('button', { name: /Show the full code/ }));
    expect(screen.getByRole('img', { name: 'QR code of my invite' })).toBeTruthy();
    expect(text.value).toBe('ZKS1:KEPT');
    await fireEvent.click(screen.getByRole('button', { name: 'Show the small code for a camera' }));
    expect(text.value).toBe('ZKS1:SMALL');
  });

  it('is still shown after going to another screen and back', async () => {
    const calls = backend({ pairing_create_invite: () => invite() });
    const first = render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    await screen.findByRole('img', { name: 'QR code of my invite' });
    first.unmount();

    render(Pairing);
    expect(screen.getByRole('img', { name: 'QR code of my invite' })).toBeTruthy();
    expect((screen.getByLabelText('My code as text') as HTMLTextAreaElement).value).toBe(
      'ZKS1:KEPT',
    );
    expect(screen.getByRole('button', { name: 'Make a new code' })).toBeTruthy();
    expect(calls.map((c) => c.cmd)).toEqual(['pairing_create_invite']);
  });

  it('is gone when the screen opens after it expired', () => {
    backend({});
    pairingInvite.show(invite(-5));
    render(Pairing);
    expect(screen.queryByRole('img', { name: 'QR code of my invite' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Make my code' })).toBeTruthy();
    expect(pairingInvite.invite).toBeNull();
  });

  it('is gone when the screen opens after a pairing used it, even on another screen', async () => {
    backend({ pairing_create_invite: () => invite() });
    const first = render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    await screen.findByRole('img', { name: 'QR code of my invite' });
    first.unmount();

    // Their reply arrives while another screen is shown.
    await emit(NODE_EVENT, { kind: 'pairing_finished', contact: 'Bob' });
    await waitFor(() => expect(pairingInvite.used).toBe(true));
    expect(pairingInvite.pairedWith).toBe('Bob');

    render(Pairing);
    expect(screen.queryByRole('img', { name: 'QR code of my invite' })).toBeNull();
    expect(pairingInvite.invite).toBeNull();
  });

  it('is used up by a pairing finished by hand in step 3', async () => {
    const bob = contact({ name: 'Bob', role: 'initiator' });
    backend({ pairing_create_invite: () => invite(), pairing_finish: () => bob });
    const first = render(Pairing);
    await fireEvent.click(screen.getByRole('button', { name: 'Make my code' }));
    await screen.findByRole('img', { name: 'QR code of my invite' });
    await fireEvent.input(screen.getByLabelText('Paste their reply'), {
      target: { value: 'ZKS1:REPLY' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Finish' }));
    await screen.findByText('Safety code with Bob');
    // Still shown while the screen is open…
    expect(screen.getByRole('img', { name: 'QR code of my invite' })).toBeTruthy();
    first.unmount();
    // …and gone the next time.
    render(Pairing);
    expect(screen.queryByRole('img', { name: 'QR code of my invite' })).toBeNull();
  });
});

describe('Pairing on a linked device', () => {
  it('pairs with nobody and names the primary where pairing happens', async () => {
    const calls = backend({
      identity_name_get: () => ({ name: 'Laptop', chosen: true }),
      devices: () => ({
        role: 'linked',
        devices: [
          {
            id: 'de5c7a11',
            name: 'Desk',
            primary: true,
            this_device: false,
            state: 'linked',
            added_at: 1,
            last_seen: null,
            safety_code: '',
          },
        ],
      }),
    });
    render(Pairing);
    await waitFor(() =>
      expect(screen.getByTestId('pairing-on-primary').textContent).toContain(
        'linked to your primary device (Desk)',
      ),
    );
    expect(screen.queryByRole('button', { name: 'Make my code' })).toBeNull();
    expect(calls.map((c) => c.cmd)).not.toContain('pairing_create_invite');
  });
});
