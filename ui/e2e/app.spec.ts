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
    // An online app shows the small code a camera reads first.
    const small = page.getByRole('img', { name: 'Small QR code of my invite' });
    await expect(small.locator('svg')).toBeVisible();
    await expect(page.getByTestId('small-code')).toContainText('QR version 7');
    await expect(page.getByLabel('My code as text')).toHaveValue(/^ZKS1:LINK/);
    await page.getByRole('button', { name: /Show the full code/ }).click();
    const qr = page.getByRole('img', { name: 'QR code of my invite', exact: true });
    await expect(qr.locator('svg')).toBeVisible();
    await expect(page.getByLabel('My code as text')).toHaveValue(/^ZKS1:6BFOXN/);
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

    // Compare: the button waits for their code (typed) or the checkbox.
    const mark = page.getByRole('button', { name: 'Mark as verified' });
    await expect(mark).toBeDisabled();
    await page.getByLabel('Type the code their device shows').fill('16180 33988 74989 48482');
    await expect(mark).toBeDisabled();
    await page
      .getByLabel('Type the code their device shows')
      .fill('16180 33988 74989 48482 04586 83436 56381 17720');
    await expect(page.getByText('Their code matches yours.')).toBeVisible();
    await expect(mark).toBeEnabled();
    await page.getByRole('heading', { name: 'Safety code with Carol' }).scrollIntoViewIfNeeded();
    await app.screenshot('pairing-verify');
    await mark.click();
    const step2 = page.getByRole('region', { name: '2 Their code' });
    await expect(step2.getByText('Verified', { exact: true })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Mark as verified' })).toHaveCount(0);
    expect((await app.callsOf('contacts_verify')).map((c) => c.args)).toEqual([
      { name: 'Carol', code: '16180 33988 74989 48482 04586 83436 56381 17720' },
    ]);

    await page.getByText('Paired with').scrollIntoViewIfNeeded();
    await app.screenshot('pairing');

    // My code is still there after a visit to another screen.
    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Chat' })).toBeVisible();
    await page.getByRole('button', { name: 'Pairing', exact: true }).click();
    await expect(page.getByRole('img', { name: /QR code of my invite/ }).locator('svg')).toBeVisible();
    await expect(page.getByText('Invite from')).toContainText('Erin');
    await expect(page.getByRole('button', { name: 'Make a new code' })).toBeVisible();
    expect((await app.callsOf('pairing_create_invite')).length).toBe(1);
    await app.screenshot('pairing-code-kept');
  });
});

test.describe('first start', () => {
  test.use({ viewport: SMALL, mock: { noName: true } });

  test('asks for the name contacts see, then uses it in the invite', async ({ app }) => {
    const { page } = app;
    const heading = page.getByRole('heading', { name: 'What should contacts see as your name?' });
    await expect(heading).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main' })).toHaveCount(0);
    const field = page.getByLabel('Your name', { exact: true });
    await expect(field).toHaveValue('');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('alert')).toContainText('Type the name your contacts should see');
    await field.fill('x'.repeat(70));
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('alert')).toContainText('too long');
    expect(await app.callsOf('identity_name_set')).toEqual([]);
    await expectNoHorizontalScroll(page);
    await app.screenshot('first-start-name');

    await field.fill('  Erin  ');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Chat' })).toBeVisible();
    expect((await app.callsOf('identity_name_set')).map((c) => c.args)).toEqual([{ name: 'Erin' }]);

    // The invite introduces me by it without typing it again.
    await page.getByRole('button', { name: 'Pairing', exact: true }).click();
    await expect(page.getByLabel('My name in the code')).toHaveAttribute('placeholder', 'Erin');
    await page.getByRole('button', { name: 'Make my code' }).click();
    await expect(page.getByText('Invite from')).toContainText('Erin');
    expect((await app.callsOf('pairing_create_invite')).map((c) => c.args)).toEqual([{}]);
  });
});

test.describe('an unverified contact', () => {
  // Tall enough for the header, a bubble and the safety code in one picture.
  test.use({ viewport: { width: 900, height: 1100 } });

  test('is labelled so in the header and the bubbles until the code is compared', async ({ app }) => {
    const { page } = app;
    await mock(page, 'receive', 'Bob', 'Is this really you?');
    await page.getByRole('navigation', { name: 'Contacts' }).getByRole('button', { name: /Bob/ }).click();
    const pane = page.getByRole('region', { name: 'Conversation' });
    await expect(pane.locator('header')).toContainText('Post-quantum encrypted · not verified');
    const bubbles = pane.getByRole('list', { name: 'Messages with Bob' });
    await expect(bubbles.getByText('Post-quantum encrypted · not verified')).toBeVisible();
    const mark = pane.getByRole('button', { name: 'Mark as verified' });
    await expect(mark).toBeDisabled();
    await pane.getByLabel('Type the code their device shows').fill('27182 81828 00000');
    await expect(pane.getByText(/This does not match the code above/)).toBeVisible();
    await expect(mark).toBeDisabled();
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-unverified');

    await pane.getByLabel('Type the code their device shows').fill('');
    await pane.getByLabel('Or: I compared all 40 digits with theirs and they match').check();
    await expect(mark).toBeEnabled();
    await mark.click();
    // Verified: the safety code form goes, the contact list says so.
    await expect(pane.getByRole('button', { name: 'Mark as verified' })).toHaveCount(0);
    await expect(
      page.getByRole('navigation', { name: 'Contacts' }).getByRole('button', { name: /Bob/ }),
    ).toContainText('Verified');
    expect((await app.callsOf('contacts_verify')).map((c) => c.args)).toEqual([
      { name: 'Bob', compared: true },
    ]);
    await expect(pane.locator('header')).not.toContainText('not verified');
    await expect(bubbles.getByText('Post-quantum encrypted', { exact: true })).toBeVisible();
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

  test('a key or pad reuse alarm shows in that conversation', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    await mock(page, 'emit', 'node-event', {
      kind: 'key_reuse_detected',
      contact: 'Alice',
      detail:
        'A message from Alice reuses the key or pad bytes of an earlier, different message; it was refused. Their device may have been restored or copied; check it with them and pair again',
    });
    const alarm = page.getByTestId('reuse-alarm');
    await expect(alarm).toContainText('Key or pad reuse detected.');
    await expect(alarm).toHaveAttribute('role', 'alert');
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-reuse-alarm');
    // Another conversation does not show it.
    await page.getByRole('navigation', { name: 'Contacts' }).getByRole('button', { name: /Bob/ }).click();
    await expect(page.getByTestId('reuse-alarm')).toHaveCount(0);
  });

  test('a message for an absent contact shows it waits in a mailbox, then delivered', async ({ app }) => {
    const { page } = app;
    await page.getByRole('navigation', { name: 'Contacts' }).getByRole('button', { name: /Bob/ }).click();
    const box = page.getByRole('textbox', { name: 'Message to Bob' });
    await box.fill('See you tomorrow');
    await box.press('Enter');
    const bubble = page
      .getByRole('list', { name: 'Messages with Bob' })
      .getByRole('listitem')
      .filter({ hasText: 'See you tomorrow' });
    await expect(bubble).toContainText('queued');
    await expect(bubble).toContainText(/sealed after/);
    // The first message of this conversation (the mock starts with none).
    await mock(page, 'settle', 1, 'mailbox');
    await expect(bubble).toContainText('in mailbox');
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-mailbox');
    await mock(page, 'settle', 1, 'delivered');
    await expect(bubble).toContainText('delivered');
    await expect(bubble).not.toContainText('in mailbox');
  });

  test('replies, reactions, edits, deletes and the timer show in the conversation', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    const asked = await mock(page, 'receive', 'Alice', 'Dinner at the harbour on Friday?');
    const messages = page.getByRole('list', { name: 'Messages with Alice' });
    const question = messages.locator(`[data-message-id="${asked}"]`);
    await expect(question).toBeVisible();

    // Hovering a message shows its actions; reply quotes it.
    await question.hover();
    await question.getByRole('button', { name: 'Reply' }).click();
    await expect(page.getByTestId('composer-context')).toContainText('Replying to Alice');
    const box = page.getByRole('textbox', { name: 'Message to Alice' });
    await box.fill('Yes! Eight o\'clock?');
    await box.press('Enter');
    const reply = messages.locator(`[data-message-id="${asked + 1}"]`);
    await expect(reply).toContainText('Eight o');
    await expect(reply.getByRole('button', { name: /Replying to Alice/ })).toBeVisible();

    // I react to her question; she reacts to my reply.
    await question.hover();
    await question.getByRole('button', { name: 'React' }).click();
    await question.getByRole('button', { name: 'React ❤️' }).click();
    await expect(question.getByText('❤️ from you')).toHaveCount(1);
    await mock(page, 'reactFrom', 'Alice', asked + 1, '👍');
    await expect(reply.getByText('👍 from Alice')).toHaveCount(1);

    // I fix my reply; she takes back an earlier message.
    const early = await mock(page, 'receive', 'Alice', 'Ignore my last message');
    await reply.hover();
    await reply.getByRole('button', { name: 'Edit' }).click();
    await expect(box).toHaveValue('Yes! Eight o\'clock?');
    await box.fill('Yes! Half past eight?');
    await page.getByRole('button', { name: 'Save edit' }).click();
    const edited = reply;
    await expect(edited).toContainText('Half past eight');
    await expect(edited).toContainText('edited');
    await mock(page, 'changeFrom', 'Alice', early, null);
    await expect(messages.getByText('This message was deleted')).toBeVisible();

    // Alice turns on disappearing messages; the header says she did.
    await mock(page, 'timerFrom', 'Alice', 3600);
    await expect(page.getByTestId('timer-set-by')).toHaveText('Messages disappear after 1 hour, set by Alice');
    await expect(page.getByRole('combobox', { name: 'Disappearing messages' })).toHaveValue('3600');
    await edited.hover();
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-conversation');

    // The delete panel of my own message offers both deletes.
    await edited.getByRole('button', { name: 'Delete' }).click();
    await expect(edited.getByRole('button', { name: 'Delete for everyone' })).toBeVisible();
    await app.screenshot('chat-delete');
    await edited.getByRole('button', { name: 'Delete for everyone' }).click();
    await expect(messages.getByText('You deleted this message')).toBeVisible();
    await page.getByRole('combobox', { name: 'Disappearing messages' }).selectOption('300');
    await expect(page.getByTestId('timer-set-by')).toHaveText('Messages disappear after 5 minutes, set by you');
  });

  test('search finds a message in another conversation and opens it there', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    await mock(page, 'receive', 'Bob', 'The harbour photos are in the shared folder');
    await mock(page, 'receive', 'Alice', 'Lunch at the harbour on Friday?');
    await mock(page, 'receive', 'Bob', 'Unrelated news');
    await page.getByRole('searchbox', { name: 'Search messages' }).fill('harbour');
    const results = page.getByRole('region', { name: 'Search results' });
    await expect(results.getByRole('button')).toHaveCount(2);
    await expect(results.locator('mark').first()).toHaveText(/harbour/i);
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-search');
    await results.getByRole('button', { name: /photos/ }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Bob' })).toBeVisible();
    await expect(
      page.getByRole('list', { name: 'Messages with Bob' }).getByText('The harbour photos are in the shared folder'),
    ).toBeVisible();
  });

  test('import a one-time pad for a contact; the file is overwritten', async ({ app }) => {
    const { page } = app;
    await page.getByRole('navigation', { name: 'Contacts' }).getByRole('button', { name: /Bob/ }).click();
    await page.getByRole('button', { name: 'Import a one-time pad…' }).click();
    const form = page.getByRole('region', { name: 'One-time pad with Bob' });
    await form.getByRole('textbox', { name: 'Pad file' }).fill('/media/usb/pad-for-bob.bin');
    await expect(form.getByRole('checkbox', { name: /Overwrite and delete the file/ })).toBeChecked();
    await form.getByRole('button', { name: 'Import pad' }).click();
    await expect(form.getByTestId('pad-imported')).toContainText('The file was overwritten and deleted');
    await expect(
      page.getByRole('navigation', { name: 'Contacts' }).getByRole('button', { name: /Bob/ }),
    ).toContainText('Pad ·');
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-pad-import');
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

test.describe('settings', () => {
  test.use({ viewport: SMALL });

  test('change the upload cap and save by keyboard; a bad bootstrap address is refused and kept', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
    const cap = page.getByLabel('Upload cap');
    await expect(cap).toHaveValue('');
    await expect(page.getByLabel('Cache budget', { exact: true })).toHaveValue('4');
    const save = page.getByRole('button', { name: 'Save', exact: true });
    await expect(save).toBeDisabled();

    await cap.fill('5000');
    await expect(save).toBeEnabled();
    // Enter in a field submits the form.
    await cap.press('Enter');
    await expect(page.getByTestId('saved')).toHaveText(
      'Saved — the node uses the new upload cap when it next goes online (the next time the app or the zks daemon serving this home starts).',
    );
    const saves = await app.callsOf('settings_save');
    expect(saves).toHaveLength(1);
    expect(saves[0].args.settings).toMatchObject({ upload_rounds_per_sec: 5000, mdns: true });
    expect(saves[0].args.settings).not.toHaveProperty('seeding');
    await expect(save).toBeDisabled();
    await expectNoHorizontalScroll(page);
    await app.screenshot('settings-saved');

    // The node refuses a bootstrap address without /p2p/: its message shows
    // next to the form and the typed text stays.
    const bootstrap = page.getByLabel('Bootstrap peers');
    const typed = '/ip4/203.0.113.9/tcp/4001';
    await bootstrap.fill(typed);
    await save.click();
    const error = page.getByTestId('save-error');
    await expect(error).toHaveText(
      'Not saved: bootstrap: "/ip4/203.0.113.9/tcp/4001" must end with /p2p/<peer id> (bad_input)',
    );
    await expect(bootstrap).toHaveValue(typed);
    await expect(save).toBeEnabled();
    await expectNoHorizontalScroll(page);
    await app.screenshot('settings-error');
  });

  test('reset the drand URLs to the public defaults; start seeding at login', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const urls = page.getByLabel('drand HTTP API URLs');
    await urls.fill('http://127.0.0.1:8080');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByTestId('saved')).toContainText('drand URLs');
    await page.getByRole('button', { name: 'Reset to public defaults' }).click();
    await expect(urls).toHaveValue(
      'https://api.drand.sh\nhttps://api2.drand.sh\nhttps://api3.drand.sh\nhttps://drand.cloudflare.com',
    );
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByTestId('saved')).toContainText('drand URLs');

    const login = page.getByRole('switch', { name: 'Start seeding at login' });
    await expect(login).not.toBeChecked();
    await login.focus();
    await page.keyboard.press('Space');
    await expect(login).toBeChecked();
    expect((await app.callsOf('autostart_set')).map((c) => c.args)).toEqual([{ on: true }]);
  });
});

test.describe('settings, whole screen', () => {
  test.use({ viewport: { width: 1024, height: 2000 } });

  test('every section in light and dark', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    for (const name of ['Network', 'Beacon sources', 'Grid', 'Notifications', 'At login', 'Security', 'About']) {
      await expect(page.getByRole('region', { name, exact: true })).toBeVisible();
    }
    await expect(page.getByText('12D3KooWE2eSelfQm1o2r4Tq8yJbVw6kLp5sHd3eUiRgC7aB1x9Z')).toBeVisible();
    await app.screenshot('settings');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect(page.locator('html')).toHaveCSS('background-color', 'rgb(15, 19, 32)');
    await app.screenshot('settings-dark');
  });
});

test.describe('grid, live', () => {
  test.use({ viewport: SMALL });

  test('toggle seeding on the Grid screen; the plot draws the sources', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    const toggle = page.getByRole('switch', { name: 'Seeding' });
    await expect(toggle).not.toBeChecked();
    await expect(page.getByTestId('peers')).toHaveText('7');
    await expect(page.getByTestId('seeding-state')).toHaveText('Off');

    await toggle.click();
    await expect
      .poll(async () => (await app.callsOf('seeding_set')).map((c) => c.args))
      .toEqual([{ on: true }]);
    await expect(toggle).toBeChecked();
    await expect(page.getByTestId('seeding-state')).toHaveText(/^On — \d+ pass/);

    // Each reading moves the mock's clock 3 s: a few refreshes fill the plot.
    const refresh = page.getByRole('button', { name: 'Refresh' });
    const plot = page.getByRole('region', { name: 'Rounds fetched per source' });
    await expect
      .poll(
        async () => {
          await refresh.click();
          return plot.locator('polyline.series').count();
        },
        { intervals: [50], timeout: 10_000 },
      )
      .toBe(4);
    await expect(plot.getByRole('img')).toHaveAttribute('aria-label', /^Rounds per second per source/);
    await expect(plot.getByRole('listitem')).toHaveCount(4);
    await expect(page.getByRole('meter', { name: 'Cache size of its budget' })).toHaveAttribute(
      'aria-valuetext',
      '3.1 MiB of 4.0 GiB',
    );
    await expect(page.getByRole('region', { name: 'Listening on' })).toContainText('/ip4/192.168.1.23/tcp/40123/p2p/');
    await expectNoHorizontalScroll(page);
    // Only <main> scrolls: nothing far down the screen lengthens the page.
    expect(
      await page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight),
    ).toBeLessThanOrEqual(0);
    await app.screenshot('grid-small');

    // Off again by keyboard.
    await toggle.focus();
    await page.keyboard.press('Space');
    await expect(toggle).not.toBeChecked();
    await expect
      .poll(async () => (await app.callsOf('seeding_set')).map((c) => c.args))
      .toEqual([{ on: true }, { on: false }]);
  });
});

test.describe('grid, whole screen', () => {
  test.use({ viewport: { width: 1024, height: 1700 } });

  test('live figures, plot, coverage and cache in light and dark', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    await page.getByRole('switch', { name: 'Seeding' }).click();
    // Each reading moves the mock's clock 3 s; refresh until a dozen points.
    const refresh = page.getByRole('button', { name: 'Refresh' });
    const cache = page
      .getByRole('region', { name: 'Rounds fetched per source' })
      .locator('polyline.series-cache');
    await expect
      .poll(
        async () => {
          await refresh.click();
          return Number((await cache.getAttribute('data-count', { timeout: 500 }).catch(() => null)) ?? 0);
        },
        { intervals: [50], timeout: 10_000 },
      )
      .toBeGreaterThanOrEqual(12);
    await app.screenshot('grid-live');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect(page.locator('html')).toHaveCSS('background-color', 'rgb(15, 19, 32)');
    await app.screenshot('grid-dark');
  });
});

test.describe('grid, offline', () => {
  test.use({ viewport: SMALL, mock: { offlineGrid: true } });

  test('says the node is not online and still stores the switch', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    await expect(page.getByText(/Not online: no process serves this home/)).toBeVisible();
    await expect(page.getByTestId('peers')).toHaveText('—');
    await expect(page.getByRole('region', { name: 'Rounds fetched per source' })).toHaveCount(0);
    await page.getByRole('switch', { name: 'Seeding' }).click();
    await expect(page.getByTestId('seeding-state')).toHaveText('On — starts when the node goes online');
    await expectNoHorizontalScroll(page);
    await app.screenshot('grid-offline');
  });
});

/** The mocked backend's controls in the page (see mock-backend.ts). */
interface MockControls {
  emit(event: string, payload: unknown): number;
  receive(from: string, text: string, replyTo?: number | null): number;
  reactFrom(from: string, id: number, emoji: string | null): void;
  changeFrom(from: string, id: number, text: string | null): void;
  timerFrom(from: string, secs: number): void;
  listening(event: string): number;
  transferId(name: string): string;
  offer(from: string, name: string, size: number): string;
  progress(id: string, bytesDone: number): void;
  finish(id: string, state: string, error?: string | null): void;
  settle(id: number, state: 'mailbox' | 'delivered'): void;
}

type Page = import('@playwright/test').Page;

/** Calls one of the mocked backend's controls in the page. */
function mock<K extends keyof MockControls>(
  page: Page,
  name: K,
  ...args: Parameters<MockControls[K]>
): Promise<ReturnType<MockControls[K]>> {
  return page.evaluate(
    ([n, a]) => {
      const m = (window as unknown as { __ZKS_MOCK__: Record<string, (...x: unknown[]) => unknown> }).__ZKS_MOCK__;
      return m[n](...a);
    },
    [name, args] as [string, unknown[]],
  ) as Promise<ReturnType<MockControls[K]>>;
}

/** Waits until exactly one screen listens for dropped files (the one shown). */
async function hearsDrops(page: Page): Promise<void> {
  await expect
    .poll(() => mock(page, 'listening', 'tauri://drag-drop'))
    .toBe(1);
  await expect
    .poll(() => mock(page, 'listening', 'tauri://drag-leave'))
    .toBe(1);
}

/** Drags `paths` over the window and drops them, as Tauri reports it. */
async function dropFiles(page: Page, paths: string[]): Promise<void> {
  const at = { x: 400, y: 300 };
  await mock(page, 'emit', 'tauri://drag-enter', { paths, position: at });
  await mock(page, 'emit', 'tauri://drag-over', { position: at });
  await mock(page, 'emit', 'tauri://drag-drop', { paths, position: at });
}

test.describe('files', () => {
  test.describe('with transfers in every state', () => {
    // Tall enough that the whole Files screen fits in one screenshot.
    test.use({ viewport: { width: 1024, height: 1900 }, mock: { demoTransfers: true } });

    test('Files lists offers, active and finished transfers; progress moves a bar with a speed', async ({ app }) => {
      const { page } = app;
      await page.getByRole('button', { name: 'Files', exact: true }).click();
      await expect(page.getByRole('heading', { level: 1, name: 'Files' })).toBeVisible();

      const offers = page.getByRole('region', { name: /Incoming offers/ });
      const active = page.getByRole('region', { name: /In progress/ });
      const finished = page.getByRole('region', { name: /Finished/ });
      await expect(offers.getByRole('article')).toHaveCount(1);
      await expect(active.getByRole('article')).toHaveCount(4);
      await expect(finished.getByRole('article')).toHaveCount(4);

      const report = offers.getByRole('article', { name: 'Quarterly report.pdf' });
      await expect(report).toContainText('From Alice');
      await expect(report).toContainText('2.4 MiB');
      await expect(report.getByRole('button', { name: 'Accept' })).toBeVisible();
      await expect(report.getByRole('button', { name: 'Decline' })).toBeVisible();

      // Only the one-time pad transfer is called perfect secrecy.
      await expect(page.getByText('Perfect secrecy (one-time pad)')).toHaveCount(1);
      await expect(active.getByRole('article', { name: 'design-v2.fig' })).toContainText(
        'Perfect secrecy (one-time pad)',
      );

      // Progress events move the bar; two a second apart give a speed.
      const photos = active.getByRole('article', { name: 'holiday-photos.zip' });
      const bar = photos.getByRole('progressbar');
      await expect(bar).toHaveAttribute('aria-valuenow', '38');
      const id = await mock(page, 'transferId', 'holiday-photos.zip');
      const MiB = 1024 * 1024;
      await mock(page, 'progress', id, 80 * MiB);
      await expect(bar).toHaveAttribute('aria-valuenow', '43');
      await page.waitForTimeout(1000);
      await mock(page, 'progress', id, 92 * MiB);
      await expect(bar).toHaveAttribute('aria-valuenow', '50');
      // 12 MiB in a little over a second (how much over depends on the machine).
      const line = photos.getByText(/^50% · 92\.0 MiB of 184\.0 MiB · /);
      await expect(line).toHaveText(/ MiB\/s · \d+ (s|min) left$/);
      const speed = Number(/· ([\d.]+) MiB\/s/.exec((await line.textContent()) ?? '')?.[1]);
      expect(speed).toBeGreaterThan(2);
      expect(speed).toBeLessThanOrEqual(12.1);

      await expect(finished.getByRole('article', { name: 'contract-signed.pdf' })).toContainText(
        'Saved to /home/e2e/Downloads/contract-signed.pdf',
      );
      await expect(finished.getByRole('article', { name: 'video.mp4' })).toContainText(
        'Failed: chunk 12 arrived damaged 6 times',
      );
      await app.screenshot('files');
      await page.emulateMedia({ colorScheme: 'dark' });
      await expect(page.locator('html')).toHaveCSS('background-color', 'rgb(15, 19, 32)');
      await app.screenshot('files-dark');
      await page.emulateMedia({ colorScheme: 'light' });

      // The same screen at the smallest window size: nothing spills sideways.
      await page.setViewportSize(SMALL);
      await expectNoHorizontalScroll(page);
      await app.screenshot('files-small');
    });
  });

  test.describe('drag and drop', () => {
    test.use({ viewport: SMALL });

    test('dropping a file on a conversation sends it; it appears in Files', async ({ app }) => {
      const { page } = app;
      await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
      await hearsDrops(page);

      // While dragging, the window shows where the files will go.
      await mock(page, 'emit', 'tauri://drag-enter', {
        paths: ['/home/e2e/Pictures/sunset.jpg'],
        position: { x: 400, y: 300 },
      });
      const target = page.getByTestId('drop-target');
      await expect(target).toBeVisible();
      await expect(target).toContainText('Drop to send to Alice');
      await expect(target).toContainText('Post-quantum encrypted');
      await app.screenshot('files-drop-target');
      await mock(page, 'emit', 'tauri://drag-leave', null);
      await expect(target).toBeHidden();

      await dropFiles(page, ['/home/e2e/Pictures/sunset.jpg']);
      await expect(target).toBeHidden();
      await expect
        .poll(async () => (await app.callsOf('file_send')).map((c) => c.args))
        .toEqual([{ contact: 'Alice', path: '/home/e2e/Pictures/sunset.jpg', pad: false, open_at: null }]);
      // The offer shows in the conversation as its own transfer (found by
      // its message id), not in a list apart.
      const messages = page.getByRole('list', { name: 'Messages with Alice' });
      const offer = messages.getByRole('article', { name: 'sunset.jpg' });
      await expect(offer).toContainText('Waiting for Alice to accept');
      await expect(offer.getByRole('button', { name: 'Cancel' })).toBeVisible();
      await expect(messages.getByText('Post-quantum encrypted', { exact: true })).toBeVisible();
      await expect(messages.getByText(/^sealed after /)).toBeVisible();
      await expect(page.getByRole('region', { name: /Files with Alice/ })).toHaveCount(0);
      await expectNoHorizontalScroll(page);
      await app.screenshot('chat-file-sent');

      await page.getByRole('button', { name: 'Files', exact: true }).click();
      const card = page.getByRole('region', { name: /In progress/ }).getByRole('article', { name: 'sunset.jpg' });
      await expect(card).toContainText('To Alice');
      await expect(card).toContainText('Waiting for Alice to accept');
      await expect(card).toContainText('Post-quantum encrypted');
      await expect(card.getByRole('button', { name: 'Cancel' })).toBeVisible();
    });

    test('files dropped on Files wait for a contact, then go with the pad if chosen', async ({ app }) => {
      const { page } = app;
      await page.getByRole('button', { name: 'Files', exact: true }).click();
      await expect(page.getByText('No transfers yet.')).toBeVisible();
      await hearsDrops(page);

      await dropFiles(page, ['/home/e2e/a.txt', '/home/e2e/b.txt']);
      const waiting = page.getByRole('region', { name: 'Files waiting for a contact' });
      await expect(waiting).toContainText('2 files to send: a.txt, b.txt');
      await expect(waiting.getByRole('button', { name: 'Send', exact: true })).toBeDisabled();
      expect(await app.callsOf('file_send')).toEqual([]);

      await page.getByLabel('Send to').selectOption('Alice');
      await page.getByRole('checkbox', { name: /Use one-time pad/ }).check();
      await waiting.getByRole('button', { name: 'Send to Alice' }).click();
      await expect(waiting).toBeHidden();
      await expect
        .poll(async () => (await app.callsOf('file_send')).map((c) => c.args))
        .toEqual([
          { contact: 'Alice', path: '/home/e2e/a.txt', pad: true, open_at: null },
          { contact: 'Alice', path: '/home/e2e/b.txt', pad: true, open_at: null },
        ]);
      const active = page.getByRole('region', { name: /In progress/ });
      for (const name of ['a.txt', 'b.txt']) {
        await expect(active.getByRole('article', { name })).toContainText('Perfect secrecy (one-time pad)');
      }
      await expectNoHorizontalScroll(page);
    });
  });

  test.describe('incoming offers', () => {
    test.use({ viewport: SMALL });

    test('accepting an incoming offer receives it; its folder can be shown', async ({ app }) => {
      const { page } = app;
      await page.getByRole('button', { name: 'Files', exact: true }).click();
      await expect(page.getByText('No transfers yet.')).toBeVisible();
      await expect
        .poll(() => mock(page, 'listening', 'node-event'))
        .toBeGreaterThan(0);

      const id = await mock(page, 'offer', 'Bob', 'minutes.pdf', 4 * 1024 * 1024);
      const offers = page.getByRole('region', { name: /Incoming offers/ });
      const offer = offers.getByRole('article', { name: 'minutes.pdf' });
      await expect(offer).toContainText('Bob offers this file');
      await expect(offer).toContainText('4.0 MiB');
      // By keyboard: focus Accept and press Enter.
      await offer.getByRole('button', { name: 'Accept' }).focus();
      await page.keyboard.press('Enter');
      await expect
        .poll(async () => (await app.callsOf('file_accept')).map((c) => c.args))
        .toEqual([{ id }]);
      await expect(offers).toBeHidden();

      const active = page.getByRole('region', { name: /In progress/ }).getByRole('article', { name: 'minutes.pdf' });
      await expect(active).toContainText('Accepted — starting');
      await mock(page, 'progress', id, 1024 * 1024);
      await expect(active.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '25');
      await expect(active.getByRole('button', { name: 'Pause' })).toBeVisible();

      await mock(page, 'finish', id, 'completed');
      const done = page.getByRole('region', { name: /Finished/ }).getByRole('article', { name: 'minutes.pdf' });
      await expect(done).toContainText('Received and verified');
      await expect(done).toContainText('Saved to /home/e2e/Downloads/minutes.pdf');
      await done.getByRole('button', { name: 'Show in folder' }).click();
      await expect
        .poll(async () => (await app.callsOf('open_folder')).map((c) => c.args))
        .toEqual([{ path: '/home/e2e/Downloads/minutes.pdf' }]);
      await expectNoHorizontalScroll(page);
      await app.screenshot('files-received');
    });
  });
});

test.describe('unread', () => {
  test.use({ viewport: SMALL });

  test('a message in another conversation shows an unread badge, which clears when opened', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    await expect.poll(() => mock(page, 'listening', 'node-event')).toBeGreaterThan(0);
    const contacts = page.getByRole('navigation', { name: 'Contacts' });
    const nav = page.getByRole('navigation', { name: 'Main' });
    const bob = contacts.getByRole('button', { name: /Bob/ });
    await expect(contacts.getByTestId('unread-Bob')).toHaveCount(0);

    await mock(page, 'receive', 'Bob', 'Are you there?');
    await mock(page, 'receive', 'Bob', 'Call me when you can.');
    // A file offer counts too.
    await mock(page, 'offer', 'Bob', 'minutes.pdf', 1_300_000);
    const last = Number(
      await page.evaluate(
        () => (window as unknown as { __ZKS_MOCK__: { transfers: { message_id: number }[] } }).__ZKS_MOCK__.transfers[0].message_id,
      ),
    );
    await expect(contacts.getByTestId('unread-Bob')).toBeVisible();
    await expect(bob).toHaveAccessibleName(/^Bob 3 unread/);
    await expect(nav.getByRole('button', { name: 'Chat 3 unread' })).toBeVisible();

    // A message in the open conversation is read as it arrives.
    await mock(page, 'receive', 'Alice', 'Lunch at noon?');
    await expect(page.getByRole('list', { name: 'Messages with Alice' })).toContainText('Lunch at noon?');
    await expect(contacts.getByTestId('unread-Alice')).toHaveCount(0);
    await expect(nav.getByRole('button', { name: 'Chat 3 unread' })).toBeVisible();
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-unread');

    await bob.click();
    const messages = page.getByRole('list', { name: 'Messages with Bob' });
    await expect(messages).toContainText('Call me when you can.');
    // The offer is drawn in its message's place, with its own Accept and Decline.
    const offer = messages.getByRole('article', { name: 'minutes.pdf' });
    await expect(offer).toContainText('Bob offers this file');
    await expect(offer.getByRole('button', { name: 'Accept' })).toBeVisible();
    await expect(offer.getByRole('button', { name: 'Decline' })).toBeVisible();
    await expect(contacts.getByTestId('unread-Bob')).toHaveCount(0);
    await expect(nav.getByRole('button', { name: 'Chat', exact: true })).toBeVisible();
    await expect
      .poll(async () => (await app.callsOf('chat_mark_read')).map((c) => c.args))
      .toContainEqual({ contact: 'Bob', up_to: last });
    // The mark is stored: back on Alice, Bob stays read.
    await contacts.getByRole('button', { name: /Alice/ }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    await expect(contacts.getByTestId('unread-Bob')).toHaveCount(0);
    await bob.click();
    await expect(offer).toBeVisible();
    await app.screenshot('chat-unread-cleared');
  });
});

test.describe('grid, fetch history', () => {
  test.use({ viewport: SMALL });

  test('fill the form, see progress and the result, then the pinned range; unpin it', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    const form = page.getByRole('region', { name: 'Fetch history' });
    await expect(form).toBeVisible();
    // No command for the person to run anywhere on the screen.
    await expect(page.locator('main')).not.toContainText('zks fetch');
    await expect(form.getByTestId('no-pins')).toBeVisible();

    // A range past the head is explained before anything is sent.
    await form.getByLabel(/From round/).check();
    await form.getByLabel('First round').fill('1');
    await form.getByLabel('Last round').fill('999999999');
    await form.getByRole('button', { name: 'Fetch' }).click();
    await expect(form.getByTestId('history-form-error')).toContainText('is not published yet');
    expect(await app.callsOf('history_fetch')).toHaveLength(0);

    await form.getByLabel('Last round').fill('20000');
    await form.getByLabel(/Pin/).check();
    await form.getByRole('button', { name: 'Fetch' }).click();
    const progress = form.getByTestId('history-progress');
    await expect(progress).toBeVisible();
    await expect(form.getByRole('button', { name: 'Cancel' })).toBeVisible();
    await expect(progress).toContainText(/of 20,000 rounds verified/);
    await expect(progress).toContainText('rounds/s');
    await app.screenshot('grid-history-progress');

    const result = form.getByTestId('history-result');
    await expect(result).toContainText('20,000 of 20,000 rounds of quicknet held');
    await expect(result).toContainText('Pinned');
    const calls = await app.callsOf('history_fetch');
    expect(calls.map((c) => c.args)).toEqual([
      { chain: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971', from: 1, to: 20000, pin: true },
    ]);
    const pins = form.getByTestId('pins');
    await expect(pins).toContainText('rounds 1–20,000');
    await expect(pins).toContainText('20,000 of 20,000 held');
    await expectNoHorizontalScroll(page);
    await app.screenshot('grid-history-pinned');

    await pins.getByRole('button', { name: /Unpin quicknet rounds 1–20,000/ }).click();
    await expect(form.getByTestId('no-pins')).toBeVisible();
  });

  test('a running fetch can be cancelled; the pin goes with it', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    const form = page.getByRole('region', { name: 'Fetch history' });
    await form.getByLabel('How many').fill('2');
    await form.getByLabel('Of').selectOption('days');
    await expect(form.getByTestId('history-preview')).toContainText('57,600 rounds');
    await form.getByLabel(/Pin/).check();
    await form.getByRole('button', { name: 'Fetch' }).click();
    await form.getByRole('button', { name: 'Cancel' }).click();
    await expect(form.getByTestId('history-result')).toContainText('Cancelled.');
    await expect(form.getByTestId('no-pins')).toBeVisible();
  });
});

test.describe('settings, private grid', () => {
  test.use({ viewport: SMALL });

  test('an empty bootstrap list says private grid; Use the public network restores the defaults', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const peers = page.getByLabel('Bootstrap peers');
    await peers.fill('');
    const notice = page.getByTestId('private-grid');
    await expect(notice).toContainText('Private grid.');
    await expect(notice).toContainText('your contacts');
    await app.screenshot('settings-private-grid');
    await notice.getByRole('button', { name: 'Use the public network' }).click();
    await expect(notice).toBeHidden();
    await expect(peers).toHaveValue(/bootstrap\.example\.net/);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(async () => (await app.callsOf('settings_save')).length).toBe(1);
    const last = (await app.callsOf('settings_save'))[0];
    expect((last.args.settings as { bootstrap: string[] }).bootstrap).toHaveLength(2);
  });
});

test.describe('network, public', () => {
  test.use({ viewport: SMALL });

  test('the Grid screen shows the DHT, grid peers and reachability; Alice is direct; Settings says the same', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    const panel = page.getByTestId('network-panel');
    await expect(panel.getByRole('heading', { name: 'Network' })).toBeVisible();
    await expect(page.getByTestId('dht-line')).toHaveText('Public network (Amino DHT): client, 23 peers');
    await expect(page.getByTestId('grid-peers')).toHaveText('2');
    await expect(page.getByTestId('reachability')).toHaveText('public');
    await expect(page.getByTestId('relays')).toHaveText('none');
    await expect(page.getByTestId('grid-member')).toHaveCount(0);
    // Seeding on: the node announces itself on the DHT.
    await page.getByRole('switch', { name: 'Seeding' }).click();
    await expect(page.getByTestId('grid-member')).toHaveText('announced on the DHT');
    await panel.scrollIntoViewIfNeeded();
    await expectNoHorizontalScroll(page);
    await app.screenshot('grid-network-public');

    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Alice', exact: true })).toBeVisible();
    await expect(page.getByTestId('contact-path')).toHaveText('direct');
    // Bob is not connected: no label at all.
    await page.getByRole('navigation', { name: 'Contacts' }).getByRole('button', { name: /Bob/ }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Bob', exact: true })).toBeVisible();
    await expect(page.getByTestId('contact-path')).toHaveCount(0);

    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await expect(page.getByTestId('dht-state')).toHaveText(
      'Now: Public network (Amino DHT): client, 23 peers · reachability: public',
    );
  });
});

test.describe('network, private grid', () => {
  test.use({ viewport: SMALL, mock: { privateGrid: true } });

  test('with no bootstrap peers the Grid screen and Settings say private grid', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    await expect(page.getByTestId('dht-line')).toHaveText('Private grid — no bootstrap peers');
    await expect(page.getByTestId('grid-peers')).toHaveText('2');
    await expect(page.getByTestId('network-panel')).toContainText('local network');
    await page.getByTestId('network-panel').scrollIntoViewIfNeeded();
    await app.screenshot('grid-network-private');

    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await expect(page.getByTestId('dht-state')).toHaveText('Now: Private grid — no bootstrap peers');
    await expect(page.getByTestId('private-grid')).toBeVisible();
  });
});

test.describe('network, behind NAT', () => {
  const RELAY = '12D3KooWRelayQm1o2r4Tq8yJbVw6kLp5sHd3eUiRgC7aB1x9Zc';
  test.use({
    viewport: SMALL,
    mock: {
      network: {
        dht_peers: 1,
        nat: 'private',
        relays: [RELAY],
        contacts: { Alice: 'not connected', Bob: `relayed via ${RELAY}` },
      },
    },
  });

  test('reachability behind NAT, the relay slot by short id, and Bob relayed', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Grid', exact: true }).click();
    await expect(page.getByTestId('dht-line')).toHaveText('Public network (Amino DHT): client, 1 peer');
    await expect(page.getByTestId('reachability')).toHaveText('behind NAT');
    await expect(page.getByTestId('relays')).toHaveText('on 12D3KooW…B1x9Zc');
    await expect(page.getByTestId('relays')).toHaveAttribute('title', RELAY);
    await page.getByTestId('network-panel').scrollIntoViewIfNeeded();
    await app.screenshot('grid-network-nat');

    await page.getByRole('button', { name: 'Chat', exact: true }).click();
    await expect(page.getByRole('heading', { level: 2, name: 'Alice', exact: true })).toBeVisible();
    await expect(page.getByTestId('contact-path')).toHaveCount(0);
    await page.getByRole('navigation', { name: 'Contacts' }).getByRole('button', { name: /Bob/ }).click();
    await expect(page.getByTestId('contact-path')).toHaveText('relayed via 12D3KooW…B1x9Zc');
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-relayed');

    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    await expect(page.getByTestId('dht-state')).toHaveText(
      'Now: Public network (Amino DHT): client, 1 peer · reachability: behind NAT',
    );
  });
});
