// The built UI in Chromium against a mocked backend (see mock-backend.ts).
// Each test leaves a full-page screenshot in <artifacts>/e2e/.
import { test, expect, expectNoHorizontalScroll } from './fixtures';

const SMALL = { width: 800, height: 600 };

test.describe('shell', () => {
  test.use({ viewport: SMALL });

  test('loads and shows the node running, at 800×600 without horizontal scroll', async ({ app }) => {
    const { page } = app;
    const pill = page.getByRole('navigation', { name: 'Main' }).getByRole('status');
    await expect(pill).toContainText('Node running');
    await expect(pill).toContainText('v0.1.0');
    await expect(page.getByRole('heading', { level: 1, name: 'Chat' })).toBeVisible();
    for (const label of ['Chat', 'Pairing', 'Files', 'Grid', 'Settings']) {
      await expect(page.getByRole('button', { name: label, exact: true })).toBeVisible();
    }
    expect((await app.callsOf('node_status')).length).toBeGreaterThanOrEqual(1);
    // The shell subscribed to node events through the event plugin.
    const listens = await app.callsOf('plugin:event|listen');
    expect(listens.map((c) => c.args.event)).toContain('node-event');

    // A node event makes the shell ask for the status again.
    const before = (await app.callsOf('node_status')).length;
    const delivered = await page.evaluate(() =>
      (window as unknown as { __ZKS_MOCK__: { emit(e: string, p: unknown): number } }).__ZKS_MOCK__.emit(
        'node-event',
        { kind: 'started' },
      ),
    );
    expect(delivered).toBe(1);
    await expect.poll(async () => (await app.callsOf('node_status')).length).toBeGreaterThan(before);

    await expectNoHorizontalScroll(page);
    await app.screenshot('shell');
  });
});

test.describe('pairing', () => {
  // Tall enough that the whole Pairing screen fits in one screenshot.
  test.use({ viewport: { width: 1024, height: 1900 } });

  test('make an invite, accept their code, compare and verify the safety code', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Pairing', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Pairing' })).toBeVisible();

    // 1. Show my code
    await page.getByLabel('My name in the code').fill('Erin');
    await page.getByRole('button', { name: 'Make my code' }).click();
    const qr = page.getByRole('img', { name: 'QR code of my invite' });
    await expect(qr.locator('svg')).toBeVisible();
    await expect(page.getByLabel('My code as text')).toHaveValue(/^ZKS1:/);
    await expect(page.getByText('Invite from')).toContainText('Erin');
    await expect(page.getByRole('timer')).toHaveText(/^(60:00|59:[0-5]\d)$/);
    await expect(page.getByRole('button', { name: 'Make a new code' })).toBeVisible();
    expect((await app.callsOf('pairing_create_invite')).map((c) => c.args)).toEqual([{ name: 'Erin' }]);

    // 2. Their code
    const theirCode = 'ZKS1:FAKE-INVITE-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    await page.getByLabel('Paste their code').fill(theirCode);
    await page.getByRole('button', { name: 'Accept', exact: true }).click();
    await expect(page.getByText('Paired with')).toContainText('Carol');
    await expect(page.getByLabel('My reply as text')).toHaveValue(/^ZKS1:/);
    await expect(page.getByRole('img', { name: 'QR code of my reply' }).locator('svg')).toBeVisible();
    expect((await app.callsOf('pairing_accept')).map((c) => c.args)).toEqual([{ text: theirCode }]);

    const groups = page.getByRole('list', { name: 'Safety code' }).getByRole('listitem');
    await expect(groups).toHaveText(['16180', '33988', '74989', '48482', '04586', '83436', '56381', '17720']);
    await expect(page.getByRole('heading', { name: 'Safety code with Carol' })).toBeVisible();

    // Compare, then mark as verified.
    await page.getByRole('button', { name: 'Mark as verified' }).click();
    const step2 = page.getByRole('region', { name: '2 Their code' });
    await expect(step2.getByText('Verified', { exact: true })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Mark as verified' })).toHaveCount(0);
    expect((await app.callsOf('contacts_verify')).map((c) => c.args)).toEqual([{ name: 'Carol' }]);

    await page.getByText('Paired with').scrollIntoViewIfNeeded();
    await app.screenshot('pairing');
  });
});

test.describe('backend errors', () => {
  test.use({
    viewport: SMALL,
    mock: {
      fail: {
        pairing_accept: {
          code: 'bad_code',
          message: 'this pairing code is damaged: its checksum does not match. Ask them to show it again.',
        },
      },
    },
  });

  test('a refused code shows the backend’s message and keeps the form', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Pairing', exact: true }).click();
    const code = 'ZKS1:DAMAGED-CODE';
    await page.getByLabel('Paste their code').fill(code);
    await page.getByRole('button', { name: 'Accept', exact: true }).click();

    const alert = page.getByRole('region', { name: '2 Their code' }).getByRole('alert');
    await expect(alert).toHaveText(
      'this pairing code is damaged: its checksum does not match. Ask them to show it again.',
    );
    // Still on the form, the code kept so it can be corrected, nothing paired.
    await expect(page.getByLabel('Paste their code')).toHaveValue(code);
    await expect(page.getByRole('button', { name: 'Accept', exact: true })).toBeEnabled();
    await expect(page.getByText('Paired with')).toHaveCount(0);
    expect((await app.callsOf('pairing_accept')).length).toBe(1);

    await expectNoHorizontalScroll(page);
    await alert.scrollIntoViewIfNeeded();
    await app.screenshot('pairing-error');
  });
});

test.describe('chat and grid', () => {
  test.use({ viewport: SMALL });

  test('Chat lists the contacts with their badges', async ({ app }) => {
    const { page } = app;
    const contacts = page.getByRole('navigation', { name: 'Contacts' });
    const alice = contacts.getByRole('button', { name: /Alice/ });
    const bob = contacts.getByRole('button', { name: /Bob/ });
    await expect(alice).toContainText('Verified');
    await expect(alice).toContainText('Pad · 8.3 MiB left');
    await expect(bob).toContainText('Not verified');
    await expect(bob).not.toContainText('Pad');
    // The first contact is open.
    await expect(alice).toHaveAttribute('aria-current', 'true');
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    await expect(page.getByText('Perfect secrecy')).toBeVisible();

    // Opening an unverified contact offers its safety code.
    await bob.click();
    await expect(page.getByRole('heading', { name: 'Safety code with Bob' })).toBeVisible();

    await expectNoHorizontalScroll(page);
    await app.screenshot('chat');
  });

  test('Grid shows a chain card with rounds held and a coverage strip', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    const card = page.getByRole('article', { name: /quicknet/ });
    await expect(card).toBeVisible();
    // 16384·3 + 9000 of 16384·40 + 5000 rounds.
    await expect(card.locator('.held-line')).toHaveText('58,152 of 660,360 rounds held (8.8%)');
    const strip = card.getByRole('img', { name: /Coverage of quicknet/ });
    await expect(strip).toBeVisible();
    expect(await strip.locator('rect.bin').count()).toBeGreaterThan(0);
    await expect(page.getByText('Cache size')).toBeVisible();
    await expect(page.getByText('/home/e2e/.local/share/entropygrid/beacons')).toBeVisible();

    await expectNoHorizontalScroll(page);
    await app.screenshot('grid');
  });
});
