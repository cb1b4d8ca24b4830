// The locked home against the mocked backend (see mock-backend.ts): the
// Unlock screen for an existing passphrase home and for a new home, and the
// Settings screen's Security section (Lock now, Change passphrase, moving
// the key between a passphrase and the OS keyring). Each
// test leaves screenshots in <artifacts>/e2e/.
import { join } from 'node:path';
import { test, expect, expectNoHorizontalScroll, ARTIFACTS_DIR } from './fixtures';
import { E2E_PASSPHRASE } from './mock-backend';

const SMALL = { width: 800, height: 600 };

test.describe('unlock an existing home', () => {
  test.use({ viewport: SMALL, mock: { vault: 'unlock' } });

  test('a wrong passphrase is refused, the right one opens the app', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 1, name: 'Unlock' })).toBeVisible();
    await expect(page.getByRole('navigation', { name: 'Main' })).toHaveCount(0);
    const field = page.getByLabel('Passphrase', { exact: true });
    await expect(field).toBeFocused();
    await expectNoHorizontalScroll(page);
    await app.screenshot('unlock');

    await field.fill('not the passphrase');
    await page.getByRole('button', { name: 'Unlock' }).click();
    // Busy while the key is derived.
    await expect(page.getByRole('button', { name: 'Unlocking…' })).toBeDisabled();
    const alert = page.getByRole('alert');
    await expect(alert).toHaveText('Wrong passphrase. Nothing was changed; try again.');
    await expect(field).toHaveValue('');
    await app.screenshot('unlock-wrong');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect(page.locator('html')).toHaveCSS('background-color', 'rgb(15, 19, 32)');
    await app.screenshot('unlock-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // Enter submits, as in any form.
    await field.fill(E2E_PASSPHRASE);
    await field.press('Enter');
    const pill = page.getByRole('navigation', { name: 'Main' }).getByRole('status');
    await expect(pill).toContainText('Node running');
    await expect(page.getByRole('heading', { level: 1, name: 'Chat' })).toBeVisible();
    const unlocks = await app.callsOf('vault_unlock');
    expect(unlocks.map((c) => c.args)).toEqual([
      { passphrase: 'not the passphrase' },
      { passphrase: E2E_PASSPHRASE },
    ]);
    await expectNoHorizontalScroll(page);
  });
});

test.describe('create a new home', () => {
  test.use({ viewport: SMALL, mock: { vault: 'create' } });

  test('choose a passphrase: too short and mismatched are refused, then it opens', async ({ app }) => {
    const { page } = app;
    await expect(page.getByRole('heading', { level: 1, name: 'Choose a passphrase' })).toBeVisible();
    await expect(page.getByText('only a backup can restore your identity')).toBeVisible();
    await expectNoHorizontalScroll(page);
    await app.screenshot('unlock-create');
    await page.emulateMedia({ colorScheme: 'dark' });
    await app.screenshot('unlock-create-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    const submit = page.getByRole('button', { name: 'Protect and open' });
    await page.getByLabel('Passphrase', { exact: true }).fill('short');
    await page.getByLabel('Confirm passphrase').fill('short');
    await submit.click();
    await expect(page.getByRole('alert')).toContainText('at least 8 characters');
    await page.getByLabel('Passphrase', { exact: true }).fill('a long new passphrase');
    await page.getByLabel('Confirm passphrase').fill('a long new passphrase!');
    await submit.click();
    await expect(page.getByRole('alert')).toHaveText('The two passphrases differ.');
    expect(await app.callsOf('vault_unlock')).toHaveLength(0);
    await app.screenshot('unlock-create-mismatch');

    await page.getByLabel('Confirm passphrase').fill('a long new passphrase');
    await submit.click();
    await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('status')).toContainText(
      'Node running',
    );
    expect((await app.callsOf('vault_unlock')).map((c) => c.args)).toEqual([
      { passphrase: 'a long new passphrase' },
    ]);
  });
});

test.describe('settings, security', () => {
  test.use({ viewport: { width: 1024, height: 1000 } });

  test('change the passphrase, lock now, unlock with the new one', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const section = page.getByRole('region', { name: 'Security', exact: true });
    await expect(section).toContainText('sealed with your passphrase');

    await section.getByLabel('Current passphrase').fill('not it');
    await section.getByLabel('New passphrase', { exact: true }).fill('second passphrase');
    await section.getByLabel('Confirm new passphrase').fill('second passphrase');
    await section.getByRole('button', { name: 'Change passphrase' }).click();
    await expect(section.getByRole('button', { name: 'Changing…' })).toBeDisabled();
    await expect(section.getByRole('alert')).toHaveText(
      'The current passphrase is wrong; nothing was changed.',
    );
    await section.getByLabel('Current passphrase').fill(E2E_PASSPHRASE);
    await section.getByRole('button', { name: 'Change passphrase' }).click();
    await expect(section.getByTestId('changed')).toContainText('Passphrase changed.');
    // The section itself: the screen scrolls inside its pane.
    await section.screenshot({ path: join(ARTIFACTS_DIR, 'settings-security.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await section.screenshot({ path: join(ARTIFACTS_DIR, 'settings-security-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });

    await section.getByRole('button', { name: 'Lock now' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Unlock' })).toBeVisible();
    await page.getByLabel('Passphrase', { exact: true }).fill(E2E_PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect(page.getByRole('alert')).toHaveText(
      'Wrong passphrase. Nothing was changed; try again.',
    );
    await page.getByLabel('Passphrase', { exact: true }).fill('second passphrase');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Chat' })).toBeVisible();
  });
});

test.describe('settings, keyring home', () => {
  test.use({ mock: { keyring: true } });

  test.use({ viewport: { width: 1024, height: 1100 } });

  test('a keyring home gets a passphrase, then moves its key back', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'Settings', exact: true }).click();
    const section = page.getByRole('region', { name: 'Security', exact: true });
    await expect(section).toContainText('kept in the OS keyring');
    await expect(section.getByRole('button', { name: 'Lock now' })).toHaveCount(0);
    await expect(section.getByLabel('Current passphrase', { exact: true })).toHaveCount(0);
    await section.screenshot({ path: join(ARTIFACTS_DIR, 'settings-security-keyring.png') });

    await section.getByLabel('New passphrase', { exact: true }).fill('second passphrase');
    await section.getByLabel('Confirm new passphrase').fill('second passphras');
    await section.getByRole('button', { name: 'Protect with a passphrase' }).click();
    await expect(section.getByRole('alert')).toHaveText('The two passphrases differ.');
    await section.getByLabel('Confirm new passphrase').fill('second passphrase');
    await section.getByRole('button', { name: 'Protect with a passphrase' }).click();
    await expect(section.getByTestId('changed')).toContainText(
      'now protected with your passphrase',
    );
    await expect(section).toContainText('sealed with your passphrase');
    await expect(section.getByRole('button', { name: 'Lock now' })).toBeVisible();
    await section.screenshot({ path: join(ARTIFACTS_DIR, 'settings-security-to-keyring.png') });

    const current = section.getByLabel('Current passphrase (to move the key)');
    await current.fill('not it');
    await section.getByRole('button', { name: 'Move the key to the keyring' }).click();
    await expect(section.getByRole('alert')).toHaveText(
      'The current passphrase is wrong; nothing was changed.',
    );
    await current.fill('second passphrase');
    await section.getByRole('button', { name: 'Move the key to the keyring' }).click();
    await expect(section.getByTestId('changed')).toContainText('now kept in the OS keyring');
    await expect(section.getByRole('button', { name: 'Lock now' })).toHaveCount(0);
  });
});
