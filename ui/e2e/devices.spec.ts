// Linked devices (decision 0072) in the built UI against the mocked
// backend: Settings → Devices on the primary (the list, a link code as QR
// and text, confirming a device that joined after ticking that the codes
// match, refusing one, unlinking one after its dialog), joining from a new
// home (a bad code's error first), the read-only list of a linked device,
// the banner of an unlinked one, and a contact's other devices and a
// conversation synced from another of our devices on the Chat screen.
// Screenshots in light and dark go to <artifacts>/e2e/.
import type { Locator, Page } from '@playwright/test';
import { test, expect, expectNoHorizontalScroll, type App } from './fixtures';
import { E2E_DEVICE_CODE, E2E_LINK_CODE } from './mock-backend';

type Mock = {
  __ZKS_MOCK__: {
    emit(event: string, payload: unknown): number;
    deviceJoins(name: string): string;
    confirmedByPrimary(): void;
    unlinkedByPrimary(): void;
    syncFromDevice(contact: string, text: string): number;
  };
};

async function openDevices(page: Page): Promise<Locator> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Settings' }).click();
  const section = page.getByRole('region', { name: 'Devices' });
  await expect(section.getByRole('list', { name: 'Your devices' })).toBeVisible();
  return section;
}

/** Scrolls the section to the top of the window, then screenshots in light and dark. */
async function shoot(app: App, section: Locator, name: string): Promise<void> {
  await section.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await app.screenshot(name);
  await app.page.emulateMedia({ colorScheme: 'dark' });
  await app.screenshot(`${name}-dark`);
  await app.page.emulateMedia({ colorScheme: 'light' });
}

test.describe('devices on the primary', () => {
  test.use({ viewport: { width: 1024, height: 900 }, mock: { devices: { others: true } } });

  test('lists the devices, links a new one with a QR code and text, and confirms it after the tick', async ({ app }) => {
    const { page } = app;
    const section = await openDevices(page);
    const rows = section.getByRole('list', { name: 'Your devices' }).locator(':scope > li');
    await expect(rows).toHaveCount(3);
    const me = section.getByTestId('device-e2e5e1f0');
    await expect(me).toContainText('e2e-host');
    await expect(me).toContainText('Primary');
    await expect(me).toContainText('This device');
    // The date in the browser's locale (en-US here).
    await expect(me).toContainText(/linked (4 Dec|Dec 4,) 2026/);
    const laptop = section.getByTestId('device-abcdef12');
    await expect(laptop).toContainText('Laptop');
    await expect(laptop).toContainText(/linked (5 Dec|Dec 5,) 2026 · seen 5 min ago/);
    await expect(laptop.getByRole('button', { name: 'Unlink…' })).toBeVisible();
    const phone = section.getByTestId('device-99887766');
    await expect(phone).toContainText('Waiting for confirmation');
    await expect(phone).toContainText('never seen');
    await expect(phone.getByRole('list', { name: 'Safety code with Phone' })).toContainText(
      E2E_DEVICE_CODE.split(' ')[0],
    );
    // The honest rules are said.
    await expect(section).toContainText('Messages with perfect secrecy are never copied');
    await expect(section).toContainText('neither are files');
    await expect(section).toContainText('until you unlink it');
    // Not a new home: no joining offered.
    await expect(section.getByRole('button', { name: 'Join as a linked device…' })).toHaveCount(0);

    // Link a new device: the code as QR and text, with its expiry and steps.
    await section.getByRole('button', { name: 'Link a new device' }).click();
    const code = section.getByTestId('link-code');
    await expect(code.getByRole('img', { name: 'QR code of the link code' })).toBeVisible();
    await expect(code.getByLabel('Link code as text')).toHaveValue(E2E_LINK_CODE);
    await expect(code.getByRole('timer')).toHaveText(/^(10:00|09:5\d)$/);
    await expect(code).toContainText('Join as a linked device');
    expect((await app.callsOf('link_device'))[0].args).toEqual({ ttl_secs: 600 });
    await expectNoHorizontalScroll(page);
    await shoot(app, section, 'devices-link-code');

    // The new device joins with it: the code goes, the device waits.
    await page.evaluate(() => (window as unknown as Mock).__ZKS_MOCK__.deviceJoins('Tablet'));
    await expect(section.getByTestId('link-code')).toHaveCount(0);
    await expect(section.getByTestId('joined-note')).toContainText('Tablet joined with the code');
    const tablet = rows.filter({ hasText: 'Tablet' });
    await expect(tablet).toContainText('Waiting for confirmation');

    // Confirming needs the explicit tick.
    const confirm = tablet.getByRole('button', { name: 'Confirm Tablet' });
    await expect(confirm).toBeDisabled();
    await expect(tablet).toContainText('Tick the box once you compared the codes.');
    await tablet.scrollIntoViewIfNeeded();
    await shoot(app, tablet, 'devices-pending');
    await tablet.getByRole('checkbox', { name: 'Tablet shows the same safety code' }).check();
    await expect(confirm).toBeEnabled();
    await confirm.click();
    await expect(section.getByTestId('devices-done')).toContainText('Tablet is linked');
    await expect(tablet).not.toContainText('Waiting for confirmation');
    await expect(tablet.getByRole('button', { name: 'Unlink…' })).toBeVisible();
    const [confirmed] = await app.callsOf('confirm_device');
    expect(confirmed.args).toEqual({ id: expect.stringMatching(/^7e57/) });
    // The Phone still waits.
    await expect(phone).toContainText('Waiting for confirmation');
    await shoot(app, section, 'devices-primary');
  });

  test('refuses a device that joined, and unlinks one after its dialog', async ({ app }) => {
    const { page } = app;
    const section = await openDevices(page);
    const phone = section.getByTestId('device-99887766');
    await phone.getByRole('button', { name: 'Refuse' }).click();
    await expect(section.getByTestId('device-99887766')).toHaveCount(0);
    await expect(section.getByTestId('devices-done')).toContainText('Phone was refused');
    expect((await app.callsOf('remove_device'))[0].args).toEqual({ id: '99887766'.padEnd(64, '3') });

    // Unlink: a dialog says what it does; Cancel changes nothing.
    const laptop = section.getByTestId('device-abcdef12');
    await laptop.getByRole('button', { name: 'Unlink…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Unlink Laptop?' });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText('Laptop will no longer get your messages');
    await expect(dialog).toContainText('does not erase Laptop');
    await expect(dialog).toContainText('If it was lost or stolen, unlink it now');
    await app.screenshot('devices-unlink');
    await page.emulateMedia({ colorScheme: 'dark' });
    await app.screenshot('devices-unlink-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);
    expect(await app.callsOf('remove_device')).toHaveLength(1);
    await expect(laptop).toBeVisible();

    await laptop.getByRole('button', { name: 'Unlink…' }).click();
    await dialog.getByRole('button', { name: 'Unlink Laptop' }).click();
    await expect(dialog).toHaveCount(0);
    await expect(section.getByTestId('device-abcdef12')).toHaveCount(0);
    await expect(section.getByTestId('devices-done')).toContainText('Laptop is unlinked');
    expect((await app.callsOf('remove_device'))[1].args).toEqual({ id: 'abcdef12'.padEnd(64, '2') });
    await expect(section.getByRole('list', { name: 'Your devices' }).locator(':scope > li')).toHaveCount(1);
  });
});

test.describe('a refused confirmation', () => {
  test.use({
    viewport: { width: 1024, height: 900 },
    mock: {
      devices: { others: true },
      fail: { confirm_device: { code: 'busy', message: 'the database is busy; try again in a moment' } },
    },
  });

  test('shows the node’s error as {code, message} and keeps the device waiting', async ({ app }) => {
    const section = await openDevices(app.page);
    const phone = section.getByTestId('device-99887766');
    await phone.getByRole('checkbox', { name: 'Phone shows the same safety code' }).check();
    await phone.getByRole('button', { name: 'Confirm Phone' }).click();
    await expect(section.getByTestId('devices-error')).toHaveText(
      'the database is busy; try again in a moment (busy)',
    );
    await expect(phone).toContainText('Waiting for confirmation');
    // The tick stays, so trying again is one click.
    await expect(phone.getByRole('button', { name: 'Confirm Phone' })).toBeEnabled();
  });
});

test.describe('linking when offline', () => {
  test.use({ viewport: { width: 1024, height: 900 }, mock: { offlineGrid: true } });

  test('says why no code can be made', async ({ app }) => {
    const section = await openDevices(app.page);
    await section.getByRole('button', { name: 'Link a new device' }).click();
    await expect(section.getByTestId('link-error')).toContainText('this device is not online');
    await expect(section.getByTestId('link-error')).toContainText('(bad_input)');
    await expect(section.getByTestId('link-code')).toHaveCount(0);
  });
});

test.describe('joining from a new home', () => {
  test.use({ viewport: { width: 1024, height: 900 }, mock: { noName: true, noContacts: true } });

  test('at the first start: a bad code is refused, the link code joins and shows the safety code', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { name: 'What should contacts see as your name?' })).toBeVisible();
    await page.getByRole('button', { name: 'Join as a linked device…' }).click();
    await expect(page.getByRole('heading', { name: 'Join your primary device' })).toBeVisible();
    const form = page.getByRole('form', { name: 'Join as a linked device' });

    // Nothing filled in: the form says so and sends nothing.
    await form.getByRole('button', { name: 'Join' }).click();
    await expect(form.getByTestId('join-error')).toContainText('Paste the link code');
    await form.getByLabel('Link code from your primary device').fill('ZKS1:NOT-A-REAL-CODE');
    await form.getByRole('button', { name: 'Join' }).click();
    await expect(form.getByTestId('join-error')).toContainText('Give this device a name');
    expect(await app.callsOf('join_device')).toHaveLength(0);

    // A damaged code: the node's error, with its code.
    await form.getByLabel('Name of this device').fill('Laptop');
    await form.getByRole('button', { name: 'Join' }).click();
    await expect(form.getByTestId('join-error')).toContainText(
      'this ZKS code is damaged: it has stray characters or is cut short (bad_qr)',
    );
    expect((await app.callsOf('join_device'))[0].args).toEqual({ code: 'ZKS1:NOT-A-REAL-CODE', name: 'Laptop' });
    await expectNoHorizontalScroll(page);
    await app.screenshot('devices-join-error');
    await page.emulateMedia({ colorScheme: 'dark' });
    await app.screenshot('devices-join-error-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // The primary's link code joins: the window opens Settings → Devices,
    // which shows the safety code to compare on the primary.
    await form.getByLabel('Link code from your primary device').fill(E2E_LINK_CODE);
    await form.getByRole('button', { name: 'Join' }).click();
    const section = page.getByRole('region', { name: 'Devices' });
    const banner = section.getByTestId('joining-banner');
    await expect(banner).toContainText('Waiting for Desk to confirm this device');
    await expect(banner.getByRole('list', { name: 'Safety code with your primary device' })).toContainText(
      E2E_DEVICE_CODE.split(' ')[7],
    );
    await expect(section.getByTestId('device-e2e5e1f0')).toContainText('Laptop');
    await expect(section.getByTestId('device-e2e5e1f0')).toContainText('Waiting for confirmation');
    await expect(section.getByRole('button', { name: 'Link a new device' })).toHaveCount(0);
    await shoot(app, section, 'devices-joining');

    // The primary confirms: read-only, with who links and unlinks.
    await page.evaluate(() => (window as unknown as Mock).__ZKS_MOCK__.confirmedByPrimary());
    await expect(section.getByTestId('linked-note')).toContainText(
      'Link and unlink devices on your primary device (Desk).',
    );
    await expect(section.getByTestId('joining-banner')).toHaveCount(0);
    await expect(section.getByTestId('device-e2e5e1f0')).not.toContainText('Waiting for confirmation');
  });

  test('in Settings → Devices of a new home', async ({ app }) => {
    const { page } = app;
    await page.getByRole('textbox', { name: 'Your name' }).fill('Laptop');
    await page.getByRole('button', { name: 'Continue' }).click();
    const section = await openDevices(page);
    await section.getByRole('button', { name: 'Join as a linked device…' }).click();
    const form = section.getByRole('form', { name: 'Join as a linked device' });
    await form.getByLabel('Link code from your primary device').fill('hello');
    await form.getByLabel('Name of this device').fill('Laptop');
    await form.getByRole('button', { name: 'Join' }).click();
    await expect(form.getByTestId('join-error')).toContainText('this is not a ZKS code');
    await expect(form.getByTestId('join-error')).toContainText('(bad_qr)');
    await shoot(app, section, 'devices-join-settings');
    await form.getByLabel('Link code from your primary device').fill(E2E_LINK_CODE);
    await form.getByRole('button', { name: 'Join' }).click();
    await expect(section.getByTestId('joining-banner')).toBeVisible();
    await expect(form).toHaveCount(0);
  });
});

test.describe('a linked device', () => {
  test.use({ viewport: { width: 1024, height: 900 }, mock: { devices: { role: 'linked', others: true } } });

  test('shows the list read only, and a banner once unlinked', async ({ app }) => {
    const { page } = app;
    const section = await openDevices(page);
    await expect(section.getByTestId('linked-note')).toContainText(
      'Link and unlink devices on your primary device (Desk).',
    );
    const desk = section.getByTestId('device-de5c7a11');
    await expect(desk).toContainText('Primary');
    await expect(desk).toContainText('seen 2 min ago');
    await expect(section.getByTestId('device-e2e5e1f0')).toContainText('This device');
    await expect(section.getByRole('button', { name: /Unlink|Link a new device|Confirm|Refuse/ })).toHaveCount(0);
    await expect(section.getByRole('button', { name: 'Join as a linked device…' })).toHaveCount(0);
    await shoot(app, section, 'devices-linked');

    await page.evaluate(() => (window as unknown as Mock).__ZKS_MOCK__.unlinkedByPrimary());
    const banner = section.getByTestId('unlinked-banner');
    await expect(banner).toContainText('This device was unlinked by your primary device.');
    await expect(section.getByTestId('device-e2e5e1f0')).toHaveCount(0);
    await expect(section.getByRole('button', { name: /Link a new device/ })).toHaveCount(0);
    await shoot(app, section, 'devices-unlinked');
  });

  test('pairs with nobody and makes no group: that happens on the primary', async ({ app }) => {
    const { page } = app;
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('button', { name: 'Pairing' }).click();
    await expect(page.getByTestId('pairing-on-primary')).toContainText(
      'This device is linked to your primary device (Desk). Pair with new people there',
    );
    await expect(page.getByRole('button', { name: 'Make my code' })).toHaveCount(0);
    await app.screenshot('devices-linked-pairing');
    await nav.getByRole('button', { name: 'Chat' }).click();
    const newGroup = page.getByRole('button', { name: 'New group' });
    await expect(newGroup).toBeDisabled();
    await expect(newGroup).toHaveAttribute('title', /primary device/);
  });
});

test.describe('the Chat screen', () => {
  test.use({ viewport: { width: 1024, height: 768 }, mock: { contactDevices: { Alice: ['Laptop', 'Phone'] } } });

  test('says which other devices a contact is on, and shows a conversation synced from our other device', async ({ app }) => {
    const { page } = app;
    const conversation = page.getByRole('region', { name: 'Conversation' });
    await expect(conversation.getByRole('heading', { name: 'Alice' })).toBeVisible();
    await expect(conversation.getByTestId('contact-devices')).toHaveText('also on Laptop and Phone');
    await page.evaluate(() => (window as unknown as Mock).__ZKS_MOCK__.syncFromDevice('Alice', 'Sent from my laptop'));
    const list = conversation.getByRole('list', { name: 'Messages with Alice' });
    await expect(list).toContainText('Sent from my laptop');
    // No unread count for our own message.
    await expect(page.getByTestId('unread-Alice')).toHaveCount(0);
    await app.screenshot('devices-chat-synced');
    await page.emulateMedia({ colorScheme: 'dark' });
    await app.screenshot('devices-chat-synced-dark');
  });
});
