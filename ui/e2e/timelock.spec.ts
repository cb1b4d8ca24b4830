// Messages and files that open at a chosen time (drand timelock, issue #21),
// in the built UI against the mocked backend (see mock-backend.ts: chat_send
// and file_send take open_at; receiveLocked() delivers a locked message and
// offerLocked() a locked file, each opening by itself at its time).
import { test, expect, expectNoHorizontalScroll, type App } from './fixtures';

type Page = import('@playwright/test').Page;

interface TimelockControls {
  receive(from: string, text: string): number;
  receiveLocked(from: string, text: string, inSecs: number, autoOpen?: boolean): number;
  openLocked(id: number): void;
  offerLocked(from: string, name: string, size: number, inSecs: number, autoOpen?: boolean): string;
  progress(id: string, bytesDone: number): void;
  finish(id: string, state: string, error?: string | null): void;
  openFile(id: string): void;
  emit(event: string, payload: unknown): number;
  listening(event: string): number;
}

function mock<K extends keyof TimelockControls>(
  page: Page,
  name: K,
  ...args: Parameters<TimelockControls[K]>
): Promise<ReturnType<TimelockControls[K]>> {
  return page.evaluate(
    ([n, a]) => {
      const m = (window as unknown as { __ZKS_MOCK__: Record<string, (...x: unknown[]) => unknown> }).__ZKS_MOCK__;
      return m[n](...a);
    },
    [name, args] as [string, unknown[]],
  ) as Promise<ReturnType<TimelockControls[K]>>;
}

/** The light screenshot, and the same in the dark theme. */
async function bothThemes(app: App, name: string): Promise<void> {
  await app.screenshot(name);
  await app.page.emulateMedia({ colorScheme: 'dark' });
  await app.screenshot(`${name}-dark`);
  await app.page.emulateMedia({ colorScheme: 'light' });
}

test.describe('chat, open at a chosen time', () => {
  // The words of the issue ("Opens at Thu 24 Dec 18:00"): a 24-hour clock.
  test.use({ viewport: { width: 1024, height: 820 }, locale: 'en-GB' });

  test('send a message that opens in an hour, chosen in the picker', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    const box = page.getByRole('textbox', { name: 'Message to Alice' });
    await box.fill('The code for the locker is 4711.');

    const toggle = page.getByRole('button', { name: 'Open at…' });
    await expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await toggle.click();
    await expect(toggle).toHaveAttribute('aria-expanded', 'true');
    const picker = page.getByRole('group', { name: 'Open at a chosen time' });
    await expect(picker).toBeVisible();
    await expect(picker.getByRole('button', { name: 'In 1 minute' })).toBeFocused();
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'chat-timelock-picker');

    const before = Math.floor(Date.now() / 1000);
    await picker.getByRole('button', { name: 'In 1 hour' }).click();
    await expect(picker).toBeHidden();
    const chosen = page.getByTestId('open-at-chosen');
    await expect(chosen).toContainText(/Opens at .+ \(drand timelock\)/);
    await expect(box).toBeFocused();
    await app.screenshot('chat-timelock-chosen');

    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const bubble = page
      .getByRole('list', { name: 'Messages with Alice' })
      .getByRole('listitem')
      .filter({ hasText: 'The code for the locker' });
    await expect(bubble).toContainText(/opens for Alice at .+ \(drand timelock\)/);
    await expect(bubble.locator('.timelock')).toHaveAttribute('title', /not post-quantum/);
    // The outer seal's label stays as it was.
    await expect(bubble).toContainText('Post-quantum encrypted');
    const [send] = await app.callsOf('chat_send');
    expect(send.args).toMatchObject({ contact: 'Alice', text: 'The code for the locker is 4711.', pad: false, reply_to: null });
    expect(send.args.open_at).toBeGreaterThanOrEqual(before + 3600);
    expect(send.args.open_at).toBeLessThanOrEqual(before + 3605);
    // The option resets after sending.
    await expect(chosen).toHaveCount(0);
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'chat-timelock-sent');
  });

  test('an incoming locked message counts down, then opens by itself', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    await mock(page, 'receive', 'Alice', 'I sent you something for midnight.');
    const id = await mock(page, 'receiveLocked', 'Alice', 'Happy new year! The party is at the harbour.', 3);
    const row = page.getByRole('list', { name: 'Messages with Alice' }).locator(`[data-message-id="${id}"]`);
    const locked = row.getByTestId('locked-bubble');
    await expect(locked).toBeVisible();
    await expect(locked).toContainText(/Opens at .+ \(drand timelock\)/);
    await expect(locked.getByRole('timer')).toHaveText(/^00:0[1-6]$/);
    await expect(row).not.toContainText('Happy new year');
    await expect(locked.getByText(/^Opens at/)).toHaveAttribute('title', /Timelocked to drand round \d+: nobody, not even the recipient/);
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'chat-timelock-locked');

    // Its round is published: the node opens it and says so.
    await expect(row).toContainText('Happy new year! The party is at the harbour.', { timeout: 10_000 });
    await expect(locked).toHaveCount(0);
    await expect(row).toContainText(/opened at .+ · drand timelock/);
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'chat-timelock-opened');
  });

  test('a time that has passed is refused in the picker; nothing is sent', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    const box = page.getByRole('textbox', { name: 'Message to Alice' });
    await box.fill('Too late for this one');
    await page.getByRole('button', { name: 'Open at…' }).click();
    const picker = page.getByRole('group', { name: 'Open at a chosen time' });
    const input = picker.getByLabel('Or pick a date and time');
    // Yesterday at this time, in the page's time zone.
    const yesterday = await page.evaluate(() => {
      const d = new Date(Date.now() - 86_400_000);
      const two = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
    });
    await input.fill(yesterday);
    // Enter in the date field sets the time; it does not send the message.
    await input.press('Enter');
    const error = page.getByRole('alert').filter({ hasText: 'That time has passed' });
    await expect(error).toHaveText('That time has passed — pick a later one.');
    await expect(page.getByTestId('open-at-chosen')).toHaveCount(0);
    await expect(picker).toBeVisible();
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'chat-timelock-past');
    expect(await app.callsOf('chat_send')).toEqual([]);
    await expect(box).toHaveValue('Too late for this one');

    // Escape closes the picker and hands the focus back to its button.
    await input.press('Escape');
    await expect(picker).toBeHidden();
    await expect(page.getByRole('button', { name: 'Open at…' })).toBeFocused();
  });
});

/** Drags `paths` over the window and drops them, as Tauri reports it, once
 * the conversation listens for drops. */
async function dropFiles(page: Page, paths: string[], look?: () => Promise<void>): Promise<void> {
  await expect.poll(() => mock(page, 'listening', 'tauri://drag-drop')).toBe(1);
  const at = { x: 400, y: 300 };
  await mock(page, 'emit', 'tauri://drag-enter', { paths, position: at });
  await mock(page, 'emit', 'tauri://drag-over', { position: at });
  await look?.();
  await mock(page, 'emit', 'tauri://drag-drop', { paths, position: at });
}

test.describe('files, open at a chosen time', () => {
  test.use({ viewport: { width: 1024, height: 820 }, locale: 'en-GB' });

  test('files dropped with a time chosen are sent timelocked to it', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    await page.getByRole('button', { name: 'Open at…' }).click();
    const before = Math.floor(Date.now() / 1000);
    await page.getByRole('group', { name: 'Open at a chosen time' }).getByRole('button', { name: 'In 1 hour' }).click();

    await dropFiles(page, ['/home/e2e/Pictures/surprise.png'], async () => {
      // Before the drop, the window says what will happen.
      const target = page.getByTestId('drop-target');
      await expect(target).toContainText('Drop to send to Alice');
      await expect(target).toContainText(/Post-quantum encrypted — Opens at .+ \(drand timelock\)/);
      await app.screenshot('chat-timelock-drop');
    });
    const card = page.getByRole('article', { name: 'surprise.png' });
    await expect(card).toBeVisible();
    const line = card.getByTestId('transfer-timelock');
    await expect(line).toHaveText(/^opens for Alice at .+ \(drand timelock\)$/);
    await expect(line.locator('[title]')).toHaveAttribute('title', /not post-quantum/);
    await expect(card).not.toContainText(/perfect secrecy/i);
    const [send] = await app.callsOf('file_send');
    expect(send.args).toMatchObject({ contact: 'Alice', path: '/home/e2e/Pictures/surprise.png', pad: false });
    expect(send.args.open_at).toBeGreaterThanOrEqual(before + 3600);
    expect(send.args.open_at).toBeLessThanOrEqual(before + 3605);
    // The time stays chosen for the message being written.
    await expect(page.getByTestId('open-at-chosen')).toBeVisible();
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'transfer-timelock-sent');
  });

  test('a timelocked file arrives locked with a countdown, then opens by itself', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    await mock(page, 'receive', 'Alice', 'Do not open this before the party!');
    const id = await mock(page, 'offerLocked', 'Alice', 'party-playlist.zip', 38 * 1024 * 1024, 8);
    const card = page.getByRole('article', { name: 'party-playlist.zip' });
    await expect(card.getByTestId('transfer-timelock')).toHaveText(/^Opens at .+ \(drand timelock\)$/);
    await expect(card.getByTestId('transfer-lock')).toBeVisible();
    await card.getByRole('button', { name: 'Accept' }).click();
    await expect.poll(async () => (await app.callsOf('file_accept')).length).toBe(1);
    await mock(page, 'progress', id, 20 * 1024 * 1024);
    await expect(card.getByRole('progressbar')).toBeVisible();
    await mock(page, 'finish', id, 'completed');

    // Arrived whole, still locked: no file, no folder to show, a countdown.
    await expect(card).toContainText('Received — locked until its time');
    // (The pointer leaves the card, whose message actions it showed.)
    await page.mouse.move(900, 760);
    await expect(card.getByRole('timer')).toHaveText(/^00:0\d$/);
    await expect(card.getByRole('button', { name: 'Show in folder' })).toHaveCount(0);
    await expect(card).not.toContainText('Saved to');
    await expect(card.getByTestId('transfer-timelock').locator('[title]')).toHaveAttribute(
      'title',
      /Timelocked to drand round \d+: nobody, not even the recipient/,
    );
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'transfer-timelock-locked');

    // Its round is published: the node opens it and says so.
    await expect(card.getByTestId('transfer-timelock')).toHaveText(/^opened at .+ · drand timelock$/, {
      timeout: 15_000,
    });
    await expect(card.getByTestId('transfer-lock')).toHaveCount(0);
    await expect(card).toContainText('Received and verified');
    await expect(card).toContainText('/home/e2e/Downloads/party-playlist.zip');
    await expect(card.getByRole('button', { name: 'Show in folder' })).toBeVisible();
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'transfer-timelock-opened');
  });
});

test.describe('chat, open at a chosen time, small window', () => {
  test.use({ viewport: { width: 800, height: 600 }, locale: 'en-GB' });

  test('a message locked for days, and a time more than a year ahead asks first', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 2, name: 'Alice' })).toBeVisible();
    const id = await mock(page, 'receiveLocked', 'Alice', 'For your birthday', 3 * 86_400, false);
    const row = page.getByRole('list', { name: 'Messages with Alice' }).locator(`[data-message-id="${id}"]`);
    // Another day: the date is in the label; the wait counts days.
    await expect(row.getByTestId('locked-bubble')).toContainText(/Opens at \d{1,2} \w{3} \d\d:\d\d \(drand timelock\)/);
    await expect(row.getByRole('timer')).toHaveText(/^[23] d \d\d:\d\d:\d\d$/);

    await page.getByRole('textbox', { name: 'Message to Alice' }).fill('See you in two years.');
    await page.getByRole('button', { name: 'Open at…' }).click();
    const picker = page.getByRole('group', { name: 'Open at a chosen time' });
    const far = await page.evaluate(() => {
      const d = new Date(Date.now() + 2 * 365 * 86_400_000);
      const two = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T09:30`;
    });
    await picker.getByLabel('Or pick a date and time').fill(far);
    await picker.getByRole('button', { name: 'Set' }).click();
    const confirm = page.getByTestId('open-at-confirm');
    await expect(confirm).toContainText('is more than a year away.');
    await expect(page.getByTestId('open-at-chosen')).toHaveCount(0);
    await confirm.scrollIntoViewIfNeeded();
    await expectNoHorizontalScroll(page);
    await bothThemes(app, 'chat-timelock-confirm');

    await confirm.getByRole('button', { name: 'Yes, open it then' }).click();
    await expect(page.getByTestId('open-at-chosen')).toContainText(/Opens at .+ \d{4} 09:30 \(drand timelock\)/);
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await expect(page.getByRole('list', { name: 'Messages with Alice' })).toContainText('See you in two years.');
    const [send] = await app.callsOf('chat_send');
    const expected = await page.evaluate((v) => new Date(v).getTime() / 1000, far);
    expect(send.args.open_at).toBe(expected);
    await expectNoHorizontalScroll(page);
    await app.screenshot('chat-timelock-small');
  });
});
