// Two real desktop apps (separate homes) driven over WebDriver through
// tauri-driver + WebKitWebDriver: Alice shows her code, Bob pastes it and
// accepts, Alice's app finishes the pairing when Bob's reply arrives over
// the network, then they exchange a message each way, a reaction and a
// reply, a timelocked message, and a group message; then Alice links her
// laptop (a CLI home with its daemon, HOME_L) from Settings → Devices, and
// Bob's window shows her "also on Laptop". A screenshot of each
// window is saved. Plain WebDriver over HTTP (fetch), no client library.
// Bob's app starts without ZKS_PASSPHRASE (see two-windows.sh), so its window
// shows the Unlock screen first: a wrong passphrase is refused, then the
// right one (ZKS_PASSPHRASE of this process) opens it.
//
//   node two-windows.mjs APP_BINARY HOME_A HOME_B PORT_A PORT_B OUT_DIR HOME_L
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const [app, homeA, homeB, portA, portB, out, homeL] = process.argv.slice(2);
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';
const STEP_TIMEOUT_MS = 60_000;

async function call(base, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json.value ?? json)}`);
  }
  return json.value;
}

class Window {
  constructor(name, port) {
    this.name = name;
    this.base = `http://127.0.0.1:${port}`;
  }
  async open(home) {
    const value = await call(this.base, 'POST', '/session', {
      capabilities: {
        alwaysMatch: { 'tauri:options': { application: app, args: ['--home', home] } },
      },
    });
    this.session = `/session/${value.sessionId}`;
  }
  async find(xpath) {
    const value = await call(this.base, 'POST', `${this.session}/element`, {
      using: 'xpath',
      value: xpath,
    });
    // The W3C key, or the legacy one some drivers still use.
    const id = value?.[ELEMENT] ?? value?.ELEMENT;
    if (!id) throw new Error(`no element for ${xpath}: ${JSON.stringify(value)}`);
    return id;
  }
  /** Waits until `xpath` matches (and `check` holds for the element). */
  async waitFor(xpath, what, check = async () => true) {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const id = await this.find(xpath);
        if (await check(id)) return id;
      } catch (e) {
        last = String(e);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await this.shot('failed');
    throw new Error(`${this.name}: ${what} did not appear (${last})`);
  }
  async click(xpath, what) {
    const id = await this.waitFor(xpath, what);
    await call(this.base, 'POST', `${this.session}/element/${id}/click`, {});
  }
  async type(xpath, what, text) {
    const id = await this.waitFor(xpath, what);
    await call(this.base, 'POST', `${this.session}/element/${id}/value`, { text });
  }
  /** Moves the pointer over the element (shows a message's actions). */
  async hover(xpath, what) {
    const id = await this.waitFor(xpath, what);
    await call(this.base, 'POST', `${this.session}/actions`, {
      actions: [
        {
          type: 'pointer',
          id: 'mouse',
          parameters: { pointerType: 'mouse' },
          actions: [{ type: 'pointerMove', duration: 0, origin: { [ELEMENT]: id }, x: 0, y: 0 }],
        },
      ],
    });
  }
  /** Clicks a message action (shown while the pointer is over its
   * message): scrolls the message into view, moves the pointer over it and
   * clicks the action once it is shown, trying again until it is. */
  async clickAction(row, action, what) {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const id = await this.find(row);
        await call(this.base, 'POST', `${this.session}/execute/sync`, {
          script: "arguments[0].scrollIntoView({ block: 'center' });",
          args: [{ [ELEMENT]: id }],
        });
        await this.hover(row, what);
        const button = await this.find(`${row}${action}`);
        if (await call(this.base, 'GET', `${this.session}/element/${button}/displayed`)) {
          await call(this.base, 'POST', `${this.session}/element/${button}/click`, {});
          return;
        }
        last = 'not shown yet';
      } catch (e) {
        last = String(e);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await this.shot('failed');
    throw new Error(`${this.name}: ${what} could not be clicked (${last})`);
  }
  async value(id) {
    return call(this.base, 'GET', `${this.session}/element/${id}/property/value`);
  }
  async text(id) {
    return call(this.base, 'GET', `${this.session}/element/${id}/text`);
  }
  async nav(label) {
    await this.click(`//nav[@aria-label='Main']//button[contains(., '${label}')]`, `${label} in the sidebar`);
  }
  async shot(tag) {
    const png = await call(this.base, 'GET', `${this.session}/screenshot`);
    const file = join(out, `two-windows-${this.name}-${tag}.png`);
    writeFileSync(file, Buffer.from(png, 'base64'));
    console.log(`saved ${file}`);
  }
  async close() {
    if (this.session) await call(this.base, 'DELETE', this.session).catch(() => {});
  }
}

const alice = new Window('alice', portA);
const bob = new Window('bob', portB);
try {
  await alice.open(homeA);
  await bob.open(homeB);

  // 0. Bob's home is locked: unlock it through the window.
  const passphrase = process.env.ZKS_PASSPHRASE;
  if (!passphrase) throw new Error('ZKS_PASSPHRASE is not set');
  await bob.waitFor("//h1[normalize-space(.)='Unlock']", "Bob's Unlock screen");
  await bob.shot('locked');
  await bob.type("//input[@id='passphrase']", "Bob's passphrase field", 'not the passphrase\uE007');
  await bob.waitFor(
    "//p[@data-testid='unlock-error'][contains(., 'Wrong passphrase')]",
    "Bob's wrong-passphrase message",
  );
  await bob.type("//input[@id='passphrase']", "Bob's passphrase field", `${passphrase}\uE007`);

  // At first start each window asks for the name contacts will see.
  await bob.waitFor("//input[@id='display-name']", "Bob's name step");
  await bob.shot('name');
  await bob.type("//input[@id='display-name']", "Bob's name field", 'Bob\uE007');
  await bob.waitFor("//nav[@aria-label='Main']//*[contains(., 'Node running')]", "Bob's unlocked app");
  console.log("bob's window was unlocked through its Unlock screen and named");
  await alice.type("//input[@id='display-name']", "Alice's name field", 'Alice\uE007');
  await alice.waitFor("//nav[@aria-label='Main']//*[contains(., 'Node running')]", "Alice's app");

  // 1. Alice makes her code.
  await alice.nav('Pairing');
  await alice.type("//input[@id='pair-my-name']", 'the name field', 'Alice');
  await alice.click("//button[contains(., 'Make my code')]", 'Make my code');
  const inviteBox = await alice.waitFor(
    "//textarea[@id='pair-invite-text']",
    'the invite text',
    async (id) => (await alice.value(id)).startsWith('ZKS1:'),
  );
  const invite = await alice.value(inviteBox);
  console.log(`alice's code: ${invite.length} characters`);

  // 2. Bob pastes it and accepts.
  await bob.nav('Pairing');
  await bob.type(
    "//section[@aria-labelledby='pair-accept']//textarea",
    "Bob's code field",
    invite,
  );
  await bob.type("//input[@id='pair-their-as']", "Bob's name for Alice", 'Alice');
  await bob.click(
    "//section[@aria-labelledby='pair-accept']//button[normalize-space(.)='Accept']",
    'Accept',
  );
  await bob.waitFor("//textarea[@id='pair-reply-out']", "Bob's reply");

  // 3. Alice's app gets the reply over the network by itself.
  await alice.waitFor(
    "//p[contains(@class, 'reply-wait') and contains(@class, 'done')]",
    'the pairing finished over the network',
  );
  await alice.shot('paired');
  await bob.shot('paired');

  // 4. A message each way.
  // `peer`: the receiver's name at the sender; `sender`: the sender's name
  // at the receiver.
  const send = async (from, to, peer, sender, text) => {
    await from.nav('Chat');
    await from.click(`//nav[@aria-label='Contacts']//button[contains(., '${peer}')]`, `${peer} in the contacts`);
    await from.type("//textarea[starts-with(@aria-label, 'Message to')]", 'the composer', `${text}\uE007`);
    await to.nav('Chat');
    await to.click(`//nav[@aria-label='Contacts']//button[contains(., '${sender}')]`, `${sender} in the contacts`);
    await to.waitFor(`//ol[starts-with(@aria-label, 'Messages with')]//*[contains(., '${text}')]`, `"${text}" at ${to.name}`);
  };
  const bobAtAlice = await alice.text(
    await alice.waitFor("//p[contains(@class, 'reply-wait') and contains(@class, 'done')]//strong", 'the contact name'),
  );
  await send(alice, bob, bobAtAlice, 'Alice', 'Hello Bob, from a real window');
  await send(bob, alice, 'Alice', bobAtAlice, 'Hello Alice, received');
  await alice.shot('chat');
  await bob.shot('chat');
  console.log('two windows paired over the network and exchanged a message each way');

  // 5. Bob reacts to Alice's message and replies to it, quoting it.
  const aliceMessage = "//ol[starts-with(@aria-label, 'Messages with')]/li[contains(., 'Hello Bob, from a real window')]";
  await bob.clickAction(aliceMessage, "//button[normalize-space(.)='React']", 'React');
  await bob.click(`${aliceMessage}//button[@aria-label='React 👍']`, 'the 👍 reaction');
  await bob.clickAction(aliceMessage, "//button[normalize-space(.)='Reply']", 'Reply');
  await bob.type("//textarea[starts-with(@aria-label, 'Message to')]", 'the composer', 'Quoting you\uE007');
  await alice.waitFor(
    "//ol[starts-with(@aria-label, 'Messages with')]/li[contains(., 'Hello Bob, from a real window')]//*[contains(., 'from " + bobAtAlice + "')]",
    "Bob's reaction at Alice",
  );
  await alice.waitFor(
    "//ol[starts-with(@aria-label, 'Messages with')]/li[contains(., 'Quoting you')]//button[contains(@aria-label, 'Replying to You')]",
    "Bob's reply quoting Alice's message",
  );
  await alice.shot('conversation');
  await bob.shot('conversation');
  console.log('a reaction and a quoting reply reached the other window');

  // 6. Alice sends a message that opens in a minute (drand timelock on the
  // devnet both homes are bound to): Bob's window shows it locked with a
  // countdown, then it opens by itself once the round is published.
  await alice.click("//button[contains(@class, 'open-at-toggle')]", 'Open at…');
  await alice.click("//div[contains(@class, 'open-at-quick')]//button[contains(., 'In 1 minute')]", 'In 1 minute');
  await alice.waitFor("//*[@data-testid='open-at-chosen']", 'the chosen opening time');
  await alice.type("//textarea[starts-with(@aria-label, 'Message to')]", 'the composer', 'Open me in a minute\uE007');
  await alice.waitFor(
    "//ol[starts-with(@aria-label, 'Messages with')]/li[contains(., 'Open me in a minute') and contains(., 'drand timelock')]",
    "Alice's timelocked message with its opening time",
  );
  const locked = "//ol[starts-with(@aria-label, 'Messages with')]/li[.//*[@data-testid='locked-bubble']]";
  await bob.waitFor(locked, 'the locked bubble at Bob');
  const early = await bob.text(await bob.find("//ol[starts-with(@aria-label, 'Messages with')]"));
  if (early.includes('Open me in a minute')) throw new Error('bob: the timelocked text showed before its round');
  await alice.shot('timelock-sent');
  await bob.shot('timelock-locked');
  const openDeadline = Date.now() + 120_000;
  for (;;) {
    const list = await bob.text(await bob.find("//ol[starts-with(@aria-label, 'Messages with')]"));
    if (list.includes('Open me in a minute')) break;
    if (Date.now() > openDeadline) {
      await bob.shot('failed');
      throw new Error('bob: the timelocked message did not open within two minutes');
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  await bob.shot('timelock-opened');
  console.log('a timelocked message arrived locked and opened at its round');

  // 7. Alice makes a group with Bob from the New group dialog and writes to
  // it; Bob's window lists the group and shows the message from Alice.
  await alice.click("//button[normalize-space(.)='New group']", 'New group');
  await alice.type("//label[contains(., 'Group name')]//input", 'the group name', 'Real windows');
  await alice.click(`//fieldset[contains(@class, 'member-picks')]//label[contains(., '${bobAtAlice}')]//input`, `${bobAtAlice} in the member list`);
  await alice.click("//button[normalize-space(.)='Create group']", 'Create group');
  await alice.type("//textarea[@aria-label='Message to Real windows']", 'the group composer', 'Hello group, from a real window\uE007');
  await alice.waitFor("//ol[@aria-label='Messages in Real windows']/li[contains(., 'Hello group, from a real window')]", "Alice's group message");
  await bob.click("//ul[@aria-label='Groups']//button[contains(., 'Real windows')]", 'the group at Bob');
  await bob.waitFor(
    "//ol[@aria-label='Messages in Real windows']/li[contains(., 'Hello group, from a real window') and contains(., 'Alice')]",
    "Alice's group message at Bob",
  );
  await alice.waitFor("//ol[@aria-label='Messages in Real windows']/li[contains(., 'delivered to 1 of 1')]", 'the delivery at Alice');
  await alice.shot('group');
  await bob.shot('group');
  console.log('a group made in one window delivered its first message to the other');

  // 8. Alice links her laptop from Settings → Devices: the laptop (a CLI
  // home whose daemon runs) joins with the code her window shows, she
  // confirms it after the safety code, the laptop gets the history, and
  // Bob's window says Alice is "also on Laptop"; Bob's next message reaches
  // the laptop too.
  const laptop = (...args) =>
    execFileSync(join(dirname(app), 'zks'), ['--home', homeL, ...args], { encoding: 'utf8' });
  await alice.nav('Settings');
  await alice.click("//button[normalize-space(.)='Link a new device']", 'Link a new device');
  const linkCode = await alice.value(await alice.waitFor("//textarea[@id='link-code-text']", 'the link code'));
  const codeFile = join(dirname(homeL), 'link-code.txt');
  writeFileSync(codeFile, linkCode);
  laptop('device', 'join', codeFile, '--name', 'Laptop');
  const laptopCode = JSON.parse(laptop('devices', '--json')).devices.find((d) => d.primary).safety_code;
  await alice.waitFor(
    `//ul[@aria-label='Your devices']/li[contains(., 'Laptop') and contains(., '${laptopCode.split(' ')[0]}')]`,
    'the joining laptop with its safety code',
  );
  await alice.click("//label[contains(., 'Laptop shows the same safety code')]//input", 'the comparison tick');
  await alice.click("//button[normalize-space(.)='Confirm Laptop']", 'Confirm Laptop');
  await alice.waitFor(
    "//ul[@aria-label='Your devices']/li[contains(., 'Laptop') and not(contains(., 'Waiting'))]",
    'the laptop linked',
  );
  await alice.shot('devices');
  const laptopHas = async (text, what) => {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (!laptop('inbox').includes(text)) {
      if (Date.now() > deadline) throw new Error(`laptop: ${what} did not arrive`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  await laptopHas('Hello Bob, from a real window', 'the handed-over history');
  await bob.nav('Chat');
  await bob.click("//nav[@aria-label='Contacts']//button[contains(., 'Alice')]", 'Alice in the contacts');
  await bob.waitFor("//*[@data-testid='contact-devices' and contains(., 'Laptop')]", 'Alice "also on Laptop" at Bob');
  await bob.type("//textarea[starts-with(@aria-label, 'Message to')]", 'the composer', 'Hello to both of your devices\uE007');
  await laptopHas('Hello to both of your devices', "Bob's message on the laptop");
  await bob.shot('devices');
  console.log('a laptop linked from a real window got the history and meets Bob');
} finally {
  await alice.close();
  await bob.close();
}
