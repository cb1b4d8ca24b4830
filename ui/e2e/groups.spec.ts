// Groups in the built UI against the mocked backend: the "New group"
// dialog, a group conversation with its member panel, the per-member
// delivery details of our message, and admin actions. Screenshots in light
// and dark go to <artifacts>/e2e/.
import { test, expect, expectNoHorizontalScroll } from './fixtures';
import { BOOK_CLUB_ID } from './mock-backend';

type Mock = {
  __ZKS_MOCK__: {
    deliverGroup(id: number, names?: string[] | null): void;
    receiveGroup(group: string, author: string, text: string, mode?: 'pad' | 'grid'): number;
    removeMe(group: string): void;
  };
};

test.describe('groups', () => {
  test.use({ viewport: { width: 1100, height: 900 } });

  test('create a group in the dialog, then send to it; the delivery details show each member', async ({ app }) => {
    const { page } = app;
    await page.getByRole('button', { name: 'New group' }).click();
    const dialog = page.getByRole('dialog', { name: 'New group' });
    await expect(dialog).toBeVisible();
    // Nothing filled in: clear errors, nothing sent.
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await expect(dialog.getByRole('alert')).toHaveText('Give the group a name.');
    await dialog.getByLabel('Group name').fill('Weekend trip');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await expect(dialog.getByRole('alert')).toHaveText('Tick at least one contact to add.');
    expect(await app.callsOf('group_create')).toHaveLength(0);
    await dialog.getByRole('checkbox', { name: /Alice/ }).check();
    await dialog.getByRole('checkbox', { name: /Bob/ }).check();
    await expect(dialog.getByRole('alert')).toHaveCount(0);
    await expect(dialog).toContainText('2 of at most 49');
    await app.screenshot('group-new');
    await page.emulateMedia({ colorScheme: 'dark' });
    await app.screenshot('group-new-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await expect(dialog).toHaveCount(0);
    expect((await app.callsOf('group_create'))[0].args).toEqual({
      name: 'Weekend trip',
      members: ['Alice', 'Bob'],
    });

    // The group is open and listed.
    const conversation = page.getByRole('region', { name: 'Conversation' });
    await expect(conversation.getByRole('heading', { name: 'Weekend trip' })).toBeVisible();
    await expect(conversation.getByRole('button', { name: '3 members' })).toBeVisible();
    await expect(page.getByRole('list', { name: 'Groups' })).toContainText('Weekend trip');

    await conversation.getByLabel('Message to Weekend trip').fill('Train at 9?');
    await conversation.getByRole('button', { name: 'Send' }).click();
    const list = conversation.getByRole('list', { name: 'Messages in Weekend trip' });
    await expect(list).toContainText('Train at 9?');
    // Alice has a pad with us, Bob not: honest per-copy wording.
    await expect(list).toContainText('perfect secrecy for 1 of 2 members, post-quantum (grid pad) for 1');
    await expect(list.getByRole('button', { name: 'delivered to 0 of 2' })).toBeVisible();
    const id = (await app.callsOf('group_send')).length;
    expect(id).toBe(1);
    await page.evaluate(() => {
      const w = window as unknown as Mock;
      w.__ZKS_MOCK__.deliverGroup(1, ['Alice']);
    });
    const summary = list.getByRole('button', { name: 'delivered to 1 of 2' });
    await expect(summary).toBeVisible();
    await summary.click();
    const details = page.getByRole('dialog', { name: 'Delivery to each member' });
    await expect(details).toBeVisible();
    await expect(details.getByRole('row', { name: /Alice/ })).toContainText('delivered');
    await expect(details.getByRole('row', { name: /Alice/ })).toContainText('perfect secrecy (one-time pad)');
    await expect(details.getByRole('row', { name: /Bob/ })).toContainText('queued');
    await expect(details.getByRole('row', { name: /Bob/ })).toContainText('post-quantum (grid pad)');
    await expectNoHorizontalScroll(page);
    await app.screenshot('group-delivery');
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect(page.locator('html')).toHaveCSS('background-color', 'rgb(15, 19, 32)');
    await app.screenshot('group-delivery-dark');
  });

  test.describe('an existing group', () => {
    test.use({ mock: { groups: true } });

    test('member panel, authors and modes of received messages, a reply, and admin actions', async ({ app }) => {
      const { page } = app;
      await page.getByRole('list', { name: 'Groups' }).getByRole('button', { name: /Book club/ }).click();
      const conversation = page.getByRole('region', { name: 'Conversation' });
      await expect(conversation.getByRole('heading', { name: 'Book club' })).toBeVisible();
      const list = conversation.getByRole('list', { name: 'Messages in Book club' });
      const carol = list.locator('li').filter({ hasText: 'Next book' }).first();
      await expect(carol).toContainText('Carol');
      await expect(carol).toContainText('post-quantum (grid pad)');
      await expect(carol).not.toContainText('perfect secrecy');
      const alice = list.locator('li').filter({ hasText: 'I have a copy' });
      await expect(alice).toContainText('Alice');
      await expect(alice).toContainText('perfect secrecy (one-time pad)');

      // Reply to Carol.
      await carol.hover();
      await carol.getByRole('button', { name: 'Reply' }).click();
      await expect(conversation.getByTestId('composer-context')).toContainText('Replying to Carol');
      await conversation.getByLabel('Message to Book club').fill('Agreed, let us start Monday.');
      await conversation.getByLabel('Message to Book club').press('Enter');
      const mine = list.locator('li').filter({ hasText: 'Agreed, let us start' });
      await expect(mine.locator('.quote')).toContainText('Next book');
      expect((await app.callsOf('group_send'))[0].args).toMatchObject({ group: BOOK_CLUB_ID, reply_to: 1 });
      // Carol is no contact: her copy is not sent, and that is said.
      await expect(mine).toContainText('perfect secrecy for 1 of 3 members, post-quantum (grid pad) for 1, 1 not sent');
      await expect(mine).toContainText('delivered to 0 of 3');

      // A new message from a member arrives while the group is open.
      await page.evaluate((g) => (window as unknown as Mock).__ZKS_MOCK__.receiveGroup(g, 'Bob', 'Count me in.'), BOOK_CLUB_ID);
      await expect(list).toContainText('Count me in.');

      // The member panel.
      await conversation.getByRole('button', { name: '4 members' }).click();
      const panel = conversation.getByRole('region', { name: 'Members' });
      await expect(panel.getByTestId('member-e2e-host')).toContainText('you');
      await expect(panel.getByTestId('member-e2e-host')).toContainText('admin');
      await expect(panel.getByTestId('member-Carol')).toContainText(
        'not your contact — your messages don’t reach them',
      );
      await app.screenshot('group-members');
      await page.emulateMedia({ colorScheme: 'dark' });
      await app.screenshot('group-members-dark');
      await page.emulateMedia({ colorScheme: 'light' });

      // Admin actions: make Bob an admin, remove Carol, rename.
      await panel.getByRole('button', { name: 'Make Bob an admin' }).click();
      await expect(panel.getByTestId('member-Bob')).toContainText('admin');
      expect((await app.callsOf('group_admin'))[0].args).toEqual({ group: BOOK_CLUB_ID, member: 'Bob' });
      await panel.getByRole('button', { name: 'Remove Carol' }).click();
      await expect(panel.getByTestId('member-Carol')).toHaveCount(0);
      await expect(conversation.getByRole('button', { name: '3 members' })).toBeVisible();
      await panel.getByRole('button', { name: 'Rename the group' }).click();
      await panel.getByLabel('New name').fill('Reading circle');
      await panel.getByRole('button', { name: 'Save name' }).click();
      await expect(conversation.getByRole('heading', { name: 'Reading circle' })).toBeVisible();
      await expect(page.getByRole('list', { name: 'Groups' })).toContainText('Reading circle');
      // Nobody left to add.
      await expect(panel.getByLabel('Add a contact')).toBeDisabled();

      // Leave: the composer gives way to the notice; admin actions go.
      await panel.getByRole('button', { name: 'Leave…' }).click();
      await panel.getByRole('button', { name: 'Leave the group' }).click();
      await expect(conversation.getByText('You are no longer in this group')).toBeVisible();
      await expect(conversation.getByLabel('Message to Reading circle')).toHaveCount(0);
      await expect(panel.getByRole('button', { name: /Remove/ })).toHaveCount(0);
      await expect(page.getByRole('list', { name: 'Groups' })).toContainText('you left');
      await expectNoHorizontalScroll(page);
      await app.screenshot('group-left');
      await page.emulateMedia({ colorScheme: 'dark' });
      await app.screenshot('group-left-dark');
    });

    test('react, edit and delete for everyone in a group, as in 1:1', async ({ app }) => {
      const { page } = app;
      await page.getByRole('list', { name: 'Groups' }).getByRole('button', { name: /Book club/ }).click();
      const conversation = page.getByRole('region', { name: 'Conversation' });
      const list = conversation.getByRole('list', { name: 'Messages in Book club' });
      const alice = list.locator('[data-message-id="2"]');
      // Carol and Bob reacted 👍 already: one chip, its tooltip names them.
      const thumbs = alice.getByRole('button', { name: /👍 from Carol and Bob/ });
      await expect(thumbs).toHaveAttribute('title', 'Carol and Bob reacted 👍');
      await expect(thumbs).toBeDisabled();

      // I react 👍 too: the chip counts me first; then ❤️ replaces it.
      await alice.hover();
      await alice.getByRole('button', { name: 'React' }).click();
      await alice.getByRole('button', { name: 'React 👍' }).click();
      const mine = alice.getByRole('button', { name: /👍 from you, Carol and Bob/ });
      await expect(mine).toHaveAttribute('title', 'You, Carol and Bob reacted 👍 — click to take yours back');
      expect((await app.callsOf('group_react'))[0].args).toEqual({ message_id: 2, emoji: '👍' });
      // Our own message, sent, then edited.
      const box = conversation.getByLabel('Message to Book club');
      await box.fill('Monday at seven, at mine?');
      await box.press('Enter');
      // The mock numbers group messages 1, 2, … across groups; the seeded
      // group holds three (the third shares a file): ours is the fourth.
      const ours = list.locator('[data-message-id="4"]');
      await expect(ours).toContainText('Monday at seven');
      // Not ours: no Edit or Delete.
      await alice.hover();
      await expect(alice.getByRole('button', { name: 'Edit' })).toHaveCount(0);
      await expect(alice.getByRole('button', { name: 'Delete' })).toHaveCount(0);
      await ours.hover();
      await ours.getByRole('button', { name: 'Edit' }).click();
      await expect(conversation.getByTestId('composer-context')).toContainText('Editing your message');
      await expect(box).toHaveValue('Monday at seven, at mine?');
      await box.fill('Monday at eight, at mine?');
      await conversation.getByRole('button', { name: 'Save edit' }).click();
      await expect(ours).toContainText('Monday at eight');
      await expect(ours.locator('.edited')).toHaveText('edited');
      await expect(conversation.getByTestId('composer-context')).toHaveCount(0);
      const edit = (await app.callsOf('group_edit'))[0].args as { message_id: number; text: string };
      expect(edit.text).toBe('Monday at eight, at mine?');
      await ours.hover();
      await ours.getByRole('button', { name: 'React' }).click();
      await ours.getByRole('button', { name: 'React 😂' }).click();
      await expect(ours.getByRole('button', { name: /😂 from you/ })).toBeVisible();
      await alice.hover();
      await expectNoHorizontalScroll(page);
      await app.screenshot('group-reactions');
      await page.emulateMedia({ colorScheme: 'dark' });
      await app.screenshot('group-reactions-dark');
      await page.emulateMedia({ colorScheme: 'light' });

      // Clicking my own chip takes my reaction back.
      await mine.click();
      await expect(alice.getByRole('button', { name: /👍 from Carol and Bob/ })).toBeVisible();
      expect((await app.callsOf('group_react'))[2].args).toEqual({ message_id: 2, emoji: null });

      // Delete: one clear choice, for everyone.
      await ours.hover();
      await ours.getByRole('button', { name: 'Delete' }).click();
      const panel = ours.getByRole('group', { name: 'Delete this message' });
      await expect(panel).toContainText('Every member’s copy is deleted.');
      await expect(panel.getByRole('button', { name: 'Delete for me' })).toHaveCount(0);
      await app.screenshot('group-delete');
      await page.emulateMedia({ colorScheme: 'dark' });
      await app.screenshot('group-delete-dark');
      await page.emulateMedia({ colorScheme: 'light' });
      await panel.getByRole('button', { name: 'Delete for everyone' }).click();
      const gone = list.locator(`[data-message-id="${edit.message_id}"]`);
      await expect(gone).toContainText('You deleted this message');
      await expect(gone).not.toContainText('Monday');
      await expect(gone.getByRole('list', { name: 'Reactions' })).toHaveCount(0);
      await expect(gone.getByRole('toolbar')).toHaveCount(0);
      expect((await app.callsOf('group_delete'))[0].args).toEqual({ message_id: edit.message_id });
      await page.mouse.move(0, 0);
      await app.screenshot('group-deleted');
      await page.emulateMedia({ colorScheme: 'dark' });
      await app.screenshot('group-deleted-dark');
    });

    test.describe('on a touch screen', () => {
      test.use({ hasTouch: true, isMobile: true, viewport: { width: 900, height: 900 } });

      test('the actions show without hovering, as in 1:1', async ({ app }) => {
        const { page } = app;
        expect(await page.evaluate(() => matchMedia('(hover: none)').matches)).toBe(true);
        await page.getByRole('list', { name: 'Groups' }).getByRole('button', { name: /Book club/ }).click();
        const list = page.getByRole('region', { name: 'Conversation' }).getByRole('list', { name: 'Messages in Book club' });
        const alice = list.locator('[data-message-id="2"]');
        await expect(alice.getByRole('button', { name: 'React' })).toBeVisible();
        await alice.getByRole('button', { name: 'React' }).tap();
        await alice.getByRole('button', { name: 'React ❤️' }).tap();
        await expect(alice.getByRole('button', { name: /❤️ from you/ })).toBeVisible();
        await expectNoHorizontalScroll(page);
        await app.screenshot('group-touch');
        await page.emulateMedia({ colorScheme: 'dark' });
        await app.screenshot('group-touch-dark');
      });
    });

    test('removed by an admin: the composer and the admin actions go', async ({ app }) => {
      const { page } = app;
      await page.getByRole('list', { name: 'Groups' }).getByRole('button', { name: /Book club/ }).click();
      const conversation = page.getByRole('region', { name: 'Conversation' });
      await expect(conversation.getByLabel('Message to Book club')).toBeVisible();
      await page.evaluate((g) => (window as unknown as Mock).__ZKS_MOCK__.removeMe(g), BOOK_CLUB_ID);
      await expect(conversation.getByText('You are no longer in this group')).toBeVisible();
      await expect(conversation.getByLabel('Message to Book club')).toHaveCount(0);
      await conversation.getByRole('button', { name: '3 members' }).click();
      const panel = conversation.getByRole('region', { name: 'Members' });
      await expect(panel.getByRole('button', { name: /Make admin|Remove|Rename|Leave/ })).toHaveCount(0);
    });
  });
});
