// A fake Tauri backend for the built UI. `installMockBackend` runs in the page
// (via page.addInitScript) before the app's own scripts, and provides what
// @tauri-apps/api 2.x calls into:
//   window.__TAURI_INTERNALS__.invoke(cmd, args, options)       (core.js)
//   window.__TAURI_INTERNALS__.transformCallback(cb, once)      (core.js, event.js)
//   window.__TAURI_INTERNALS__.unregisterCallback(id)           (core.js Channel)
//   window.__TAURI_EVENT_PLUGIN_INTERNALS__.unregisterListener  (event.js _unlisten)
// Answers follow the shapes in src/lib/ipc.ts (generated from the Rust types into src/lib/bindings/).
// Every call is recorded in window.__ZKS_MOCK__.calls for the tests to read.
// Tests drive the backend's side through window.__ZKS_MOCK__: emit() delivers
// an event (node events, or Tauri's drag-drop events with file paths, as the
// real window sends them), receive() delivers a chat message,
// receiveLocked()/openLocked() a timelocked one that opens later, and
// offer()/progress()/finish() move file transfers (offerLocked()/openFile()
// a timelocked file: file_send takes open_at too). The settings are checked
// like the node checks them (a bad field refuses the whole save), and the
// live grid's counters grow with a clock that moves 3 s per grid_live call,
// so the throughput plot fills without waiting.
//
// The home's key is mocked too: with `vault` set the app starts locked and
// every node command answers `locked` until vault_unlock gets the passphrase
// (or, for a new home, one of at least 8 characters); unlocking and changing
// take 300 ms, like Argon2id in a release build.
//
// The function is serialised into the page, so it must not close over
// anything outside its own body.

export interface IpcErrorShape {
  code: string;
  message: string;
}

export interface MockOptions {
  /** Commands that reject with this error instead of answering. */
  fail?: Record<string, IpcErrorShape>;
  /** Start with no contacts (the Chat empty state). */
  noContacts?: boolean;
  /** Start with a transfer in every state (for the Files screen). */
  demoTransfers?: boolean;
  /** No process serves the home: grid_live reports no live grid. */
  offlineGrid?: boolean;
  /** The node's place in the networks as the live grid reports it
   * (default: an Amino DHT client with 23 peers, reachable, Alice direct). */
  network?: {
    dht_peers?: number;
    nat?: 'public' | 'private' | 'unknown';
    relays?: string[];
    grid_member?: boolean;
    /** How each contact is connected (`direct`, `relayed via <id>`). */
    contacts?: Record<string, string>;
  };
  /** Start with no bootstrap peers (a private grid). */
  privateGrid?: boolean;
  /** No login entry (as on platforms other than Linux). */
  noAutostart?: boolean;
  /** Start locked: `unlock` a passphrase home (its passphrase is
   * E2E_PASSPHRASE), or `create` a new one. Default: running, passphrase home. */
  vault?: 'unlock' | 'create';
  /** No display name chosen yet: the app asks for one before its screens
   * (default: chosen, "e2e-host"). */
  noName?: boolean;
  /** The home's key is in the OS keyring (no Lock now; it can get a
   * passphrase and go back), and the machine has a keyring. */
  keyring?: boolean;
  /** Start with a group, "Book club" (hex id BOOK_CLUB_ID): us (admin),
   * Alice, Bob and Carol (not our contact), with a few messages. */
  groups?: boolean;
  /** Our devices (decision 0072). `primary` (the default): this device,
   * alone or, with `others`, with a linked "Laptop" (seen 5 minutes ago)
   * and a "Phone" waiting for confirmation. `linked`: this device ("e2e-host")
   * is linked to the primary "Desk", with `others` a "Laptop" too.
   * `joining`: it joined "Desk" and waits for its confirmation.
   * `unlinked`: "Desk" unlinked it. */
  devices?: { role?: 'primary' | 'linked' | 'joining' | 'unlinked'; others?: boolean };
  /** The linked devices of contacts, by name (Contact.devices). */
  contactDevices?: Record<string, string[]>;
}

/** The id of the mocked "Book club" group. */
export const BOOK_CLUB_ID = 'b00c0c1b0000000000000000000000aa';

/** The link code the mocked primary "Desk" made: join_device takes it (and
 * an image of a QR code), and refuses other text as the node does. */
export const E2E_LINK_CODE = `ZKS1:${'L1NK-6BFOXN%TS3DH 2Z-8*G3V9%1F0NK:FDA'.repeat(6)}`;

/** The safety code the mocked devices show for a link. */
export const E2E_DEVICE_CODE = '57721 56649 01532 86060 65120 90082 40243 10421';

/** The passphrase of the mocked home. */
export const E2E_PASSPHRASE = 'correct horse battery';

export interface RecordedCall {
  cmd: string;
  args: Record<string, unknown>;
}

export function installMockBackend(options: MockOptions): void {
  const fail = options.fail ?? {};
  const now = () => Math.floor(Date.now() / 1000);
  const started = now();

  const QR_SVG = (() => {
    // A 21×21 module pattern with finder squares: looks like a QR, is not one.
    let d = '';
    const finder = (x: number, y: number) => {
      d += `M${x} ${y}h7v7h-7zM${x + 1} ${y + 1}v5h5v-5zM${x + 2} ${y + 2}h3v3h-3z`;
    };
    finder(0, 0);
    finder(14, 0);
    finder(0, 14);
    for (let y = 0; y < 21; y++) {
      for (let x = 0; x < 21; x++) {
        const inFinder = (x < 8 && y < 8) || (x > 12 && y < 8) || (x < 8 && y > 12);
        if (!inFinder && (x * 7 + y * 13 + x * y) % 3 === 0) d += `M${x} ${y}h1v1h-1z`;
      }
    }
    return (
      '<?xml version="1.0" standalone="yes"?>' +
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-2 -2 25 25" shape-rendering="crispEdges">' +
      '<rect x="-2" y="-2" width="25" height="25" fill="#fff"/>' +
      `<path fill="#000" fill-rule="evenodd" d="${d}"/></svg>`
    );
  })();

  type Contact = {
    name: string;
    peer_id: string;
    safety_code: string;
    verified: boolean;
    addresses: string[];
    role: string;
    pad: { pad_id: string; size: number; send_left: number; receive_left: number } | null;
    timer_secs?: number;
    timer_set_by_me?: boolean;
    timer_set_at?: number | null;
    devices?: string[];
  };

  const contacts: Contact[] = options.noContacts
    ? []
    : [
        {
          name: 'Alice',
          peer_id: '12D3KooWAx9ZcN7f3Qm1o2r4Tq8yJbVw6kLp5sHd3eUiRgC7aB1',
          safety_code: '31415 92653 58979 32384 62643 38327 95028 84197',
          verified: true,
          addresses: ['/ip4/192.0.2.10/udp/4001/quic-v1'],
          role: 'initiator',
          pad: {
            pad_id: 'b1e5a0c2d3f4',
            size: 16 * 1024 * 1024,
            send_left: 8 * 1024 * 1024 + 300 * 1024,
            receive_left: 7 * 1024 * 1024,
          },
        },
        {
          name: 'Bob',
          peer_id: '12D3KooWBobQm1o2r4Tq8yJbVw6kLp5sHd3eUiRgC7aB1x9ZcN7f3',
          safety_code: '27182 81828 45904 52353 60287 47135 26624 97757',
          verified: false,
          addresses: [],
          role: 'responder',
          pad: null,
        },
      ];

  /** A contact as the node answers it (every field of the Contact DTO). */
  function contactOut(c: Contact) {
    return {
      timer_secs: 0,
      timer_set_by_me: false,
      timer_set_at: null,
      needs_pairing: false,
      devices: [...(options.contactDevices?.[c.name] ?? [])],
      ...c,
    };
  }

  /** The quicknet round sent messages bind to, and when a round was due. */
  const BOUND_ROUND = 16_384 * 40 + 5_000;
  const quicknetTime = (round: number) => 1_692_803_367 + 3 * (round - 1);
  const history: {
    contact: string;
    id: number;
    outgoing: boolean;
    mode: string;
    kind: string;
    text: string;
    round: number | null;
    sealed_after: number | null;
    state: string | null;
    error: string | null;
    created_at: number;
    /** The id of the message it replies to. */
    reply_to?: number | null;
    reactions?: { emoji: string; mine: boolean }[];
    edited_at?: number | null;
    deleted?: boolean;
    expires_at?: number | null;
    /** A timelocked message: when it opens, its round, whether it is still shut here. */
    opens_at?: number | null;
    opens_round?: number | null;
    locked?: boolean;
  }[] = [];
  /** The text of locked incoming messages, until their round is out. */
  const lockedText = new Map<number, string>();
  /** The first quicknet round published at or after Unix time `t`. */
  const quicknetRoundAt = (t: number) => Math.max(1, Math.ceil((t - 1_692_803_367) / 3) + 1);
  /** `open_at` of chat_send and file_send: timelocked to the first quicknet
   * round at or after it, as the node does (null without it). */
  function openRound(openAt: unknown): number | null {
    if (openAt == null) return null;
    const at = Number(openAt);
    if (!Number.isInteger(at)) throw { code: 'bad_input', message: 'open_at is not a Unix time' };
    if (at <= now()) throw { code: 'bad_input', message: 'that time has passed: choose a time in the future' };
    if (at - now() > 3650 * 86_400) {
      throw { code: 'bad_input', message: 'that is more than 10 years ahead' };
    }
    return quicknetRoundAt(at);
  }
  /** A locked message's round is published: its text shows, `messages_opened` goes out. */
  function openLocked(id: number): void {
    const m = history.find((x) => x.id === id);
    if (!m || !m.locked) return;
    m.text = lockedText.get(id) ?? '';
    m.locked = false;
    lockedText.delete(id);
    emit('node-event', { kind: 'messages_opened', count: 1 });
  }
  /** A history row as chat_history answers it (the node's ChatMessage). */
  function chatMessage(m: (typeof history)[number]) {
    const { contact: _contact, reply_to, ...rest } = m;
    const quoted = reply_to == null ? undefined : history.find((x) => x.id === reply_to);
    return {
      ...rest,
      reply_to:
        reply_to == null
          ? null
          : quoted
            ? {
                message_id: quoted.id,
                outgoing: quoted.outgoing,
                excerpt: quoted.deleted ? '' : quoted.text.slice(0, 120),
                deleted: quoted.deleted === true,
              }
            : { message_id: null, outgoing: false, excerpt: '', deleted: false },
      reactions: (m.reactions ?? []).map((r) => ({ ...r })),
      edited_at: m.edited_at ?? null,
      deleted: m.deleted === true,
      expires_at: m.expires_at ?? null,
      opens_at: m.opens_at ?? null,
      opens_round: m.opens_round ?? null,
      locked: m.locked === true,
    };
  }
  function messageById(id: unknown) {
    const m = history.find((x) => x.id === id);
    if (!m) throw { code: 'bad_input', message: `there is no message ${String(id)}` };
    return m;
  }
  function sent(m: { id: number; mode: string; round: number | null }) {
    const pad = m.mode === 'pad';
    return {
      message_id: m.id,
      protection: pad ? 'Perfect secrecy (one-time pad)' : 'Post-quantum encrypted',
      round: m.round,
      pad_used: pad ? 64 : null,
      pad_left: pad ? 8 * 1024 * 1024 : null,
    };
  }
  /** A control message (reaction, edit, delete, timer) the conversation does not show. */
  function control(contact: string, mode: string) {
    const m = {
      contact,
      id: history.length + 1,
      outgoing: true,
      mode,
      kind: 'control',
      text: '',
      round: mode === 'pad' ? null : BOUND_ROUND,
      sealed_after: mode === 'pad' ? null : quicknetTime(BOUND_ROUND),
      state: 'queued',
      error: null,
      created_at: now(),
    };
    history.push(m);
    return sent(m);
  }

  type Transfer = {
    id: string;
    contact: string;
    outgoing: boolean;
    name: string;
    size: number;
    blake3: string;
    protection: 'post_quantum' | 'perfect_secrecy';
    protection_label: string;
    state: string;
    error: string | null;
    bytes_done: number;
    bytes_sent: number;
    path: string | null;
    created_at: number;
    message_id: number | null;
    /** A timelocked file: when it opens, its round, whether it is still locked here. */
    opens_at: number | null;
    opens_round: number | null;
    locked: boolean;
  };
  const MiB = 1024 * 1024;
  const DOWNLOADS = '/home/e2e/Downloads';
  let nextTransfer = 1;
  function newTransfer(t: Partial<Transfer> & { name: string; contact: string }): Transfer {
    const pad = t.protection === 'perfect_secrecy';
    const hex = (nextTransfer++).toString(16).padStart(4, '0');
    const whole = (n: number | undefined) => Math.round(n ?? 0);
    return {
      id: `9f3c${hex}`.padEnd(32, 'a'),
      outgoing: false,
      blake3: 'c0ffee'.repeat(10) + 'abcd',
      protection: 'post_quantum',
      protection_label: pad ? 'Perfect secrecy (one-time pad)' : 'Post-quantum encrypted',
      state: 'offered',
      error: null,
      bytes_sent: 0,
      path: null,
      created_at: now(),
      message_id: null,
      opens_at: null,
      opens_round: null,
      locked: false,
      ...t,
      size: whole(t.size ?? 1000),
      bytes_done: whole(t.bytes_done),
    };
  }
  /** Newest first, as the node lists them. */
  const transfers: Transfer[] = [];
  if (options.demoTransfers) {
    const t0 = now();
    transfers.push(
      newTransfer({ name: 'Quarterly report.pdf', contact: 'Alice', size: 2.4 * MiB, created_at: t0 - 60 }),
      newTransfer({
        name: 'holiday-photos.zip',
        contact: 'Bob',
        size: 184 * MiB,
        state: 'transferring',
        bytes_done: 70 * MiB,
        created_at: t0 - 300,
      }),
      newTransfer({
        name: 'design-v2.fig',
        contact: 'Alice',
        outgoing: true,
        size: 6.2 * MiB,
        protection: 'perfect_secrecy',
        state: 'transferring',
        bytes_done: 4.4 * MiB,
        path: '/home/e2e/Work/design-v2.fig',
        created_at: t0 - 420,
      }),
      newTransfer({
        name: 'notes.md',
        contact: 'Bob',
        outgoing: true,
        size: 14_200,
        path: '/home/e2e/notes.md',
        created_at: t0 - 600,
      }),
      newTransfer({
        name: 'dataset.csv',
        contact: 'Alice',
        size: 96 * MiB,
        state: 'paused',
        bytes_done: 11.5 * MiB,
        created_at: t0 - 3600,
      }),
      newTransfer({
        name: 'contract-signed.pdf',
        contact: 'Alice',
        size: 812_000,
        state: 'completed',
        bytes_done: 812_000,
        path: `${DOWNLOADS}/contract-signed.pdf`,
        created_at: t0 - 7200,
      }),
      newTransfer({
        name: 'video.mp4',
        contact: 'Bob',
        size: 48 * MiB,
        state: 'failed',
        error: 'chunk 12 arrived damaged 6 times: the authentication tag does not match',
        bytes_done: 11 * MiB,
        created_at: t0 - 86_400,
      }),
      newTransfer({
        name: 'old-backup.tar',
        contact: 'Bob',
        outgoing: true,
        size: 350 * MiB,
        state: 'declined',
        path: '/home/e2e/old-backup.tar',
        created_at: t0 - 90_000,
      }),
      newTransfer({
        name: 'draft.docx',
        contact: 'Alice',
        size: 120_000,
        state: 'cancelled',
        error: 'cancelled by Alice',
        created_at: t0 - 100_000,
      }),
    );
  }
  /** Timelocked files that open by themselves once finished. */
  const autoOpenFiles = new Set<string>();
  /** A received timelocked file's round is published: the node opens it
   * into the downloads folder and says so (`transfer_opened`). */
  /** An incoming offer `t`, as the node reports it: stored with its chat
   * message, then announced. */
  function receiveOffer(t: Transfer): string {
    const from = t.contact;
    transfers.unshift(t);
    history.push({
      contact: from,
      id: t.message_id!,
      outgoing: false,
      mode: 'grid',
      kind: 'file',
      text: t.name,
      round: 16_384 * 40 + 5_001,
      sealed_after: quicknetTime(16_384 * 40 + 5_001),
      state: null,
      error: null,
      created_at: now(),
    });
    emit('node-event', { kind: 'message_received', from });
    emit('node-event', { kind: 'transfer_offered', transfer_id: t.id, from, name: t.name, size: t.size });
    return t.id;
  }

  function openFile(id: string): void {
    const t = transfer(id);
    if (!t.locked || t.state !== 'completed') return;
    t.locked = false;
    t.path = `${DOWNLOADS}/${t.name}`;
    emit('node-event', { kind: 'transfer_opened', transfer_id: t.id });
  }
  function transfer(id: unknown): Transfer {
    const t = transfers.find((x) => x.id === id || (typeof id === 'string' && id.length >= 4 && x.id.startsWith(id)));
    if (!t) throw { code: 'bad_input', message: `no transfer ${String(id)}` };
    return t;
  }
  function refuse(t: Transfer, what: string): never {
    throw { code: 'bad_input', message: `transfer ${t.id} is ${t.state} and cannot be ${what}` };
  }

  /** Read marks per contact, as the app keeps them in the home. */
  const readMarks: Record<string, number> = {};
  /** Incoming chat messages and file offers above each contact's read mark. */
  function unreadCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const c of contacts) {
      counts[c.name] = history.filter(
        (m) =>
          m.contact === c.name &&
          !m.outgoing &&
          m.id > (readMarks[c.name] ?? 0) &&
          (m.kind === 'text' || m.kind === 'file'),
      ).length;
    }
    return counts;
  }

  const MIN_BUDGET = 64 * 1024 * 1024;
  const DEFAULT_DRAND = [
    'https://api.drand.sh',
    'https://api2.drand.sh',
    'https://api3.drand.sh',
    'https://drand.cloudflare.com',
  ];
  const DEFAULT_BOOTSTRAP = [
    '/dnsaddr/bootstrap.example.net/p2p/12D3KooWBootstrapPeerQm1o2r4Tq8yJbVw6kLp5sHd3eUi',
    '/ip4/198.51.100.21/tcp/4001/p2p/12D3KooWBootstrapPeerRn2p3s5Ur9zKcWx7mMq6tIe4fVj',
  ];
  const settings = {
    seeding: false,
    chains: ['quicknet'],
    bootstrap: options.privateGrid
      ? ([] as string[])
      : ['/ip4/198.51.100.20/tcp/4001/p2p/12D3KooWBootstrapPeerQm1o2r4Tq8yJbVw6kLp5sHd3eUi'],
    drand_urls: [...DEFAULT_DRAND],
    gateways: [] as string[],
    upload_rounds_per_sec: null as number | null,
    cache_budget_bytes: 4 * 1024 * 1024 * 1024,
    mdns: true,
    notifications: true,
    listen_port: 40123,
    mailbox_cap_mb: 1024,
  };
  type Settings = typeof settings;
  const AUTOSTART_PATH = '/home/e2e/.config/autostart/zks-entropy-grid.desktop';
  let autostart = false;
  const PEER_ID = '12D3KooWE2eSelfQm1o2r4Tq8yJbVw6kLp5sHd3eUiRgC7aB1x9Z';

  /** The network part of the live grid: with no bootstrap peers stored the
   * node has nobody in its DHT table (the running node follows the list). */
  function liveNetwork(seeding: boolean) {
    const net = options.network ?? {};
    const isPrivate = settings.bootstrap.length === 0;
    return {
      network: {
        dht_mode: 'client',
        dht_peers: isPrivate ? 0 : (net.dht_peers ?? 23),
        grid_peers: 2,
        connected: isPrivate ? 2 : 25,
        nat: net.nat ?? 'public',
        relays: net.relays ?? [],
        grid_member: net.grid_member ?? (seeding && !isPrivate),
      },
      contacts: net.contacts ?? { Alice: 'direct', Bob: 'not connected' },
    };
  }
  /** What the node's Settings::validate says, first problem first. */
  function invalid(s: Settings): string | null {
    if (s.chains.length === 0) return 'choose at least one chain to seed';
    for (const c of s.chains) {
      if (!['quicknet', 'default'].includes(c) && !/^[0-9a-fA-F]{64}$/.test(c)) {
        return `chains: ${JSON.stringify(c)} is neither a known chain name nor a 64-digit chain hash`;
      }
    }
    for (const p of s.bootstrap) {
      if (!p.startsWith('/')) return `bootstrap: ${JSON.stringify(p)} is not a multiaddress`;
      if (!p.includes('/p2p/')) return `bootstrap: ${JSON.stringify(p)} must end with /p2p/<peer id>`;
    }
    for (const [what, urls] of [['drand URLs', s.drand_urls], ['gateways', s.gateways]] as const) {
      for (const u of urls) {
        if (!/^https?:\/\/\S+$/.test(u)) return `${what}: ${JSON.stringify(u)} is not an http:// or https:// URL`;
      }
    }
    if (s.upload_rounds_per_sec === 0) {
      return 'upload cap: 0 rounds per second would serve nothing; turn seeding off instead';
    }
    if (s.cache_budget_bytes < MIN_BUDGET) return 'the beacon cache needs at least 64 MiB';
    return null;
  }
  /** The node's clock as grid_live reports it: 3 s further at each call. */
  let gridClock = started;
  let seederOn = false;
  const counters: Record<string, number> = { cache: 5000, swarm: 800, gateway: 300, drand: 20 };
  let passes = 0;

  // History fetches: one at a time, progressing over about a second (five
  // HISTORY_EVENTs), cancellable; pinned ranges kept here.
  const QUICKNET_HASH = '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971';
  const QUICKNET_HEAD = 16_384 * 40 + 5_000;
  let historyRunning: { cancelled: boolean } | null = null;
  const pins: { chain: string; hash: string; from: number; to: number; held: number; bytes: number }[] = [];
  const chunkBytes = (from: number, to: number) =>
    (Math.floor((to - 1) / 16_384) - Math.floor((from - 1) / 16_384) + 1) * (64 + 2048 + 48 * 16_385);
  function historyFetch(args: Record<string, unknown>): Promise<unknown> {
    const from = Number(args.from);
    const to = Number(args.to);
    const pin = args.pin === true;
    if (args.chain !== QUICKNET_HASH && args.chain !== 'quicknet') {
      throw { code: 'bad_input', message: `${JSON.stringify(args.chain)} is not a chain known here; choose one of the listed chains` };
    }
    if (!(from >= 1)) throw { code: 'bad_input', message: 'rounds of quicknet start at 1 (its genesis); round 0 does not exist' };
    if (from > to) throw { code: 'bad_input', message: `the first round (${from}) is after the last (${to})` };
    if (to > QUICKNET_HEAD) {
      throw { code: 'bad_input', message: `round ${to} of quicknet is not published yet; the newest is ${QUICKNET_HEAD}` };
    }
    if (historyRunning) throw { code: 'busy', message: 'a history fetch is already running; wait for it or cancel it first' };
    const job = { cancelled: false };
    historyRunning = job;
    const total = to - from + 1;
    const startedAt = Date.now();
    const pinEntry = { chain: 'quicknet', hash: QUICKNET_HASH, from, to, held: 0, bytes: chunkBytes(from, to) };
    const newPin = pin && !pins.some((p) => p.from === from && p.to === to);
    if (newPin) pins.push(pinEntry);
    return new Promise((resolve) => {
      let step = 0;
      const tick = () => {
        const elapsed = Date.now() - startedAt;
        const held = job.cancelled ? Math.floor((total * step) / 5) : Math.floor((total * Math.min(step, 5)) / 5);
        const progress = {
          chain: 'quicknet', from, to, total, held,
          rounds_per_sec: held / Math.max(0.001, elapsed / 1000), elapsed_ms: elapsed,
        };
        emit('history-progress', progress);
        pinEntry.held = held;
        if (job.cancelled || step >= 5) {
          historyRunning = null;
          if (job.cancelled && newPin) pins.splice(pins.indexOf(pinEntry), 1);
          resolve({
            chain: 'quicknet', from, to, total, held,
            sources: job.cancelled ? {} : { drand: held },
            failed: 0, first_failure: null,
            pinned: pin && !job.cancelled, cancelled: job.cancelled, elapsed_ms: elapsed,
          });
          return;
        }
        step += 1;
        setTimeout(tick, 250);
      };
      setTimeout(tick, 20);
    });
  }

  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  const callbacks = new Map<number, { fn: (payload: unknown) => void; once: boolean }>();
  const listeners = new Map<string, Map<number, number>>(); // event -> eventId -> callback id
  let nextId = 1;

  const MIN_PASSPHRASE = 8;
  let vaultLocked = options.vault !== undefined;
  let vaultNeeds: 'unlock' | 'create' = options.vault ?? 'unlock';
  let passphrase = 'correct horse battery';
  let protection: 'keyring' | 'passphrase' = options.keyring ? 'keyring' : 'passphrase';
  function vaultStatus() {
    return {
      state: vaultLocked ? 'locked' : 'running',
      needs: vaultLocked ? vaultNeeds : null,
      upgrade: false,
      protection: vaultLocked && vaultNeeds === 'create' ? null : protection,
      keyring_available: options.keyring === true,
      min_passphrase_chars: MIN_PASSPHRASE,
      data_dir: '/home/e2e/.local/share/entropygrid',
      error: null,
    };
  }
  const tooShort = {
    code: 'bad_input',
    message: `the passphrase must have at least ${MIN_PASSPHRASE} characters`,
  };

  // The name contacts see, checked as the node checks it.
  let displayName = options.noName ? '' : 'e2e-host';
  let nameChosen = !options.noName;
  function checkName(typed: unknown): string {
    const name = String(typed ?? '').trim();
    if (!name) {
      throw { code: 'bad_input', message: 'the name is empty; type the name your contacts should see' };
    }
    if ([...name].length > 64 || new TextEncoder().encode(name).length > 64) {
      throw { code: 'bad_input', message: 'the name is too long: at most 64 characters' };
    }
    if (/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u.test(name)) {
      throw { code: 'bad_input', message: 'the name contains a control character' };
    }
    return name;
  }

  // Our devices (decision 0072), checked like the node checks them: only
  // the primary links, confirms and unlinks; only a new home (no contacts,
  // no other device) joins, with the primary's link code; ids are any
  // unique prefix of 4 hex digits or more.
  type Device = {
    id: string;
    name: string;
    primary: boolean;
    this_device: boolean;
    state: string;
    added_at: number;
    last_seen: number | null;
    safety_code: string;
  };
  const LINK_CODE = `ZKS1:${'L1NK-6BFOXN%TS3DH 2Z-8*G3V9%1F0NK:FDA'.repeat(6)}`;
  const DEVICE_CODE = '57721 56649 01532 86060 65120 90082 40243 10421';
  const MAX_DEVICES = 8;
  const LINKED_AT = 1_796_400_000;
  let deviceRole: string = options.devices?.role ?? 'primary';
  const device = (over: Partial<Device> & { id: string; name: string }): Device => ({
    primary: false,
    this_device: false,
    state: 'linked',
    added_at: LINKED_AT,
    last_seen: null,
    safety_code: '',
    ...over,
  });
  const SELF_DEVICE_ID = 'e2e5e1f0'.padEnd(64, '0');
  const DESK_ID = 'de5c7a11'.padEnd(64, '1');
  const devices: Device[] = [];
  /** This device as the list names it: its display name. */
  const selfName = () => displayName || 'this device';
  if (deviceRole === 'primary') {
    const others = options.devices?.others === true;
    devices.push(device({ id: SELF_DEVICE_ID, name: selfName(), primary: true, this_device: true, added_at: others ? LINKED_AT : 0 }));
    if (others) {
      devices.push(
        device({ id: 'abcdef12'.padEnd(64, '2'), name: 'Laptop', added_at: LINKED_AT + 86_400, last_seen: now() - 300, safety_code: '16180 33988 74989 48482 04586 83436 56381 17720' }),
        device({ id: '99887766'.padEnd(64, '3'), name: 'Phone', state: 'pending', added_at: 0, safety_code: DEVICE_CODE }),
      );
    }
  } else {
    const joining = deviceRole === 'joining';
    devices.push(device({ id: DESK_ID, name: 'Desk', primary: true, added_at: joining ? 0 : LINKED_AT, last_seen: joining ? null : now() - 120, safety_code: DEVICE_CODE }));
    if (deviceRole !== 'unlinked') {
      devices.push(device({ id: SELF_DEVICE_ID, name: selfName(), this_device: true, state: joining ? 'pending' : 'linked', added_at: joining ? 0 : LINKED_AT + 86_400 }));
    }
    if (deviceRole === 'linked' && options.devices?.others) {
      devices.push(device({ id: 'abcdef12'.padEnd(64, '2'), name: 'Laptop', added_at: LINKED_AT + 2 * 86_400, last_seen: now() - 7200 }));
    }
  }
  /** A link code was made here (a new device can join with it). */
  let linkCodeMade = false;
  function devicesView() {
    // The primary first, then as linked, then the devices waiting.
    const order = (d: Device) => (d.primary ? 0 : d.state === 'pending' ? 2 : 1);
    // Without a signed list (never linked a device), this device goes by
    // the display name as it is now.
    const named = (d: Device) =>
      d.this_device && deviceRole === 'primary' && d.added_at === 0 ? { ...d, name: selfName() } : { ...d };
    return {
      role: deviceRole,
      devices: [...devices].sort((a, b) => order(a) - order(b)).map(named),
    };
  }
  function devicesChanged() {
    setTimeout(() => emit('node-event', { kind: 'devices_changed' }), 0);
  }
  function primaryOnly(what: string): void {
    if (deviceRole !== 'primary') {
      throw { code: 'bad_input', message: `this device is linked to another; ${what} on your primary device` };
    }
  }
  /** The node's own_device_row: another device of ours by id prefix. */
  function ownDevice(idArg: unknown): Device {
    const id = String(idArg ?? '').trim().toLowerCase();
    if (id.length < 4 || !/^[0-9a-f]+$/.test(id)) {
      throw { code: 'bad_input', message: `${JSON.stringify(id)} is not a device id (4 or more hex digits, as \`zks devices\` shows)` };
    }
    const found = devices.filter((d) => !d.this_device && d.id.startsWith(id));
    if (found.length === 0) throw { code: 'bad_input', message: `no linked or joining device has the id ${id}` };
    if (found.length > 1) throw { code: 'bad_input', message: `more than one device id starts with ${id}; give more digits` };
    return found[0];
  }
  /** pairing.rs code_input: exactly one of the text and the image. */
  function codeInput(text: unknown, image: unknown): string {
    const t = typeof text === 'string' ? text.trim() : '';
    const i = typeof image === 'string' ? image : '';
    if (t && i) throw { code: 'bad_input', message: 'give either the pasted code or an image, not both' };
    if (!t && !i) throw { code: 'bad_input', message: 'paste a ZKS1: code or open an image of its QR code' };
    if (i) {
      let bytes: string;
      try {
        bytes = atob(i.replace(/\s+/g, ''));
      } catch {
        throw { code: 'bad_input', message: 'the image did not arrive intact (bad base64)' };
      }
      // The mock reads no QR codes: any PNG stands for the link code.
      if (!bytes.startsWith('\x89PNG\r\n\x1a\n')) {
        throw { code: 'bad_qr', message: 'this is not a ZKS code: it starts with "\ufffdPNG" instead of ZKS1:' };
      }
      return LINK_CODE;
    }
    return t;
  }
  /** The node's checks of a code's text (zks_qr::from_text), then ours: only
   * the primary's link code is a link code here. */
  function checkLinkCode(text: string): void {
    if (!text.toUpperCase().startsWith('ZKS1:')) {
      throw { code: 'bad_qr', message: `this is not a ZKS code: it starts with ${JSON.stringify(text.slice(0, 5))} instead of ZKS1:` };
    }
    if (text.length === 5) throw { code: 'bad_qr', message: 'the ZKS code is empty' };
    if (text !== LINK_CODE) {
      throw { code: 'bad_qr', message: 'this ZKS code is damaged: it has stray characters or is cut short' };
    }
  }

  // Groups, checked like the node checks them: admins change the members,
  // a message goes as one copy per member (pad to a contact with a pad,
  // grid to the other contacts, not sent to members who are no contacts).
  type GroupMember = { name: string; peer_id: string; admin: boolean; me: boolean; contact: boolean };
  type Group = { id: string; name: string; epoch: number; members: GroupMember[]; member: boolean; created_at: number };
  type GroupDelivery = { name: string; state: string; mode: string | null };
  type GroupMessage = {
    id: number;
    author: string;
    author_peer_id: string;
    outgoing: boolean;
    text: string;
    created_at: number;
    quote: { message_id: number | null; author: string; excerpt: string } | null;
    mode: string | null;
    deliveries: GroupDelivery[];
    reactions: { emoji: string; by: string; mine: boolean }[];
    edited: boolean;
    deleted: boolean;
    file: { name: string; size: number; blake3: string; transfer: string | null } | null;
  };
  const SELF_PEER_ID = '12D3KooWE2eSelfQm1o2r4Tq8yJbVw6kLp5sHd3eUiRgC7aB1x9Z';
  const groups: Group[] = [];
  const groupMessages = new Map<string, GroupMessage[]>();
  let nextGroupMessage = 1;
  const me = (): GroupMember => ({ name: displayName || 'me', peer_id: SELF_PEER_ID, admin: true, me: true, contact: false });
  const asMember = (c: Contact): GroupMember => ({ name: c.name, peer_id: c.peer_id, admin: false, me: false, contact: true });
  function groupInfo(g: Group) {
    const mine = g.members.find((m) => m.me);
    const members = [...g.members].sort((a, b) => Number(b.admin) - Number(a.admin) || a.name.localeCompare(b.name));
    return { ...g, members: members.map((m) => ({ ...m })), admin: g.member && (mine?.admin ?? false) };
  }
  function findGroup(name: unknown): Group {
    const key = String(name ?? '');
    const g = groups.find((x) => x.id === key || x.name === key || (key.length >= 4 && x.id.startsWith(key)));
    if (!g) throw { code: 'bad_input', message: `there is no group ${JSON.stringify(key)}` };
    return g;
  }
  function asAdmin(g: Group): void {
    if (!g.member) throw { code: 'bad_input', message: `you are no longer in the group ${g.name}` };
    if (!g.members.find((m) => m.me)?.admin) {
      throw { code: 'bad_input', message: `only an admin of ${g.name} can do that` };
    }
  }
  function groupMember(g: Group, name: unknown): GroupMember {
    const m = g.members.find((x) => x.name === String(name));
    if (!m) throw { code: 'bad_input', message: `${String(name)} is not a member of ${g.name}` };
    return m;
  }
  function checkGroupName(typed: unknown): string {
    const name = String(typed ?? '').trim();
    if (!name) throw { code: 'bad_input', message: 'give the group a name' };
    if ([...name].length > 64) throw { code: 'bad_input', message: 'the group name is too long: at most 64 characters' };
    return name;
  }
  function groupChanged(g: Group): ReturnType<typeof groupInfo> {
    g.epoch += 1;
    emit('node-event', { kind: 'group_changed', group: g.id });
    return groupInfo(g);
  }
  function addGroupMessage(
    g: Group,
    m: Omit<GroupMessage, 'id' | 'created_at' | 'reactions' | 'edited' | 'deleted'>,
  ): GroupMessage {
    const message = { ...m, id: nextGroupMessage++, created_at: now(), reactions: [], edited: false, deleted: false, file: null };
    groupMessages.set(g.id, [...(groupMessages.get(g.id) ?? []), message]);
    return message;
  }
  function quoteOf(g: Group, id: unknown) {
    if (id == null) return null;
    const q = (groupMessages.get(g.id) ?? []).find((m) => m.id === Number(id));
    if (!q) throw { code: 'bad_input', message: `there is no message ${String(id)} in ${g.name}` };
    if (q.deleted) throw { code: 'bad_input', message: `message ${q.id} was deleted; there is nothing to quote` };
    return { message_id: q.id, author: q.outgoing ? me().name : q.author, excerpt: q.text.slice(0, 120) };
  }
  if (options.groups && contacts.length >= 2) {
    const g: Group = {
      id: 'b00c0c1b0000000000000000000000aa',
      name: 'Book club',
      epoch: 4,
      member: true,
      created_at: now() - 7200,
      members: [
        me(),
        asMember(contacts[0]),
        asMember(contacts[1]),
        { name: 'Carol', peer_id: '12D3KooWCarolr4Tq8yJbVw6kLp5sHd3eUiRgC7aB1x9ZcN7f3Qm1o2', admin: false, me: false, contact: false },
      ],
    };
    groups.push(g);
    addGroupMessage(g, {
      author: 'Carol', author_peer_id: g.members[3].peer_id, outgoing: false,
      text: 'Next book: The Dispossessed?', quote: null, mode: 'grid', deliveries: [],
    });
    const q = addGroupMessage(g, {
      author: 'Alice', author_peer_id: contacts[0].peer_id, outgoing: false,
      text: 'Yes! I have a copy to lend.', quote: null, mode: 'pad', deliveries: [],
    });
    q.quote = { message_id: 1, author: 'Carol', excerpt: 'Next book: The Dispossessed?' };
    q.reactions = [
      { emoji: '👍', by: 'Carol', mine: false },
      { emoji: '👍', by: contacts[1].name, mine: false },
    ];
    const shared = addGroupMessage(g, {
      author: 'Alice', author_peer_id: contacts[0].peer_id, outgoing: false,
      text: 'reading-list.pdf', quote: null, mode: 'pad', deliveries: [],
    });
    shared.file = { name: 'reading-list.pdf', size: 348_160, blake3: 'ab'.repeat(32), transfer: null };
  }
  /** A group message and its group, by id, as the node finds them. */
  function groupMessageById(id: unknown): { g: Group; m: GroupMessage } {
    for (const g of groups) {
      const m = (groupMessages.get(g.id) ?? []).find((x) => x.id === Number(id));
      if (m) return { g, m };
    }
    throw { code: 'bad_input', message: `there is no group message ${String(id)}` };
  }
  /** The node's checks before our change to a group message: we are in the
   * group, it is not deleted; for an edit or delete, it is ours and recent. */
  function changeable(id: unknown, own: 'edit' | 'delete' | null): { g: Group; m: GroupMessage } {
    const { g, m } = groupMessageById(id);
    if (!g.member) throw { code: 'bad_input', message: `you are no longer in the group ${g.name}` };
    if (m.deleted) throw { code: 'bad_input', message: `message ${m.id} was deleted` };
    if (own !== null) {
      if (!m.outgoing) throw { code: 'bad_input', message: `only its sender may ${own} message ${m.id}` };
      if (now() - m.created_at > 24 * 3600) {
        throw {
          code: 'bad_input',
          message: `message ${m.id} was sent more than 24 hours ago; it can no longer be changed for everyone`,
        };
      }
    }
    return { g, m };
  }
  function groupMessageCopy(m: GroupMessage): GroupMessage {
    return { ...m, deliveries: m.deliveries.map((d) => ({ ...d })), reactions: m.reactions.map((r) => ({ ...r })) };
  }

  function answer(cmd: string, args: Record<string, unknown>): unknown {
    if (vaultLocked && !cmd.startsWith('vault_') && !cmd.startsWith('plugin:')) {
      throw { code: 'locked', message: 'this home is locked; unlock it with its passphrase first' };
    }
    switch (cmd) {
      case 'vault_status':
        return vaultStatus();
      case 'vault_unlock': {
        if (!vaultLocked) throw { code: 'not_locked', message: 'this home is already unlocked' };
        const given = String(args.passphrase ?? '');
        if (vaultNeeds === 'create') {
          if ([...given].length < MIN_PASSPHRASE) throw tooShort;
          passphrase = given;
        } else if (given !== passphrase) {
          throw { code: 'wrong_passphrase', message: 'wrong passphrase; nothing was changed' };
        }
        vaultLocked = false;
        return vaultStatus();
      }
      case 'vault_lock':
        if (protection !== 'passphrase') {
          throw { code: 'bad_input', message: 'this home\'s key is kept in the OS keyring' };
        }
        vaultLocked = true;
        vaultNeeds = 'unlock';
        setTimeout(() => emit('node-event', { kind: 'stopping' }), 0);
        return vaultStatus();
      case 'vault_change': {
        // As the app: a keyring home needs no current passphrase; a null
        // new one moves the key into the keyring (where there is one).
        if (protection === 'passphrase' && String(args.current ?? '') !== passphrase) {
          throw { code: 'wrong_passphrase', message: 'wrong passphrase; nothing was changed' };
        }
        if (args.new_passphrase === null || args.new_passphrase === undefined) {
          if (!options.keyring) {
            throw { code: 'no_keyring', message: 'this system has no OS keyring to keep the key in' };
          }
          protection = 'keyring';
          return vaultStatus();
        }
        const next = String(args.new_passphrase);
        if ([...next].length < MIN_PASSPHRASE) throw tooShort;
        passphrase = next;
        protection = 'passphrase';
        return vaultStatus();
      }
      case 'node_status':
        return {
          version: '0.1.0',
          data_dir: '/home/e2e/.local/share/entropygrid',
          uptime_secs: now() - started,
          database: {
            path: '/home/e2e/.local/share/entropygrid/zks.sqlite3',
            schema_version: 4,
            sqlite_version: '3.46.0',
          },
          live: options.offlineGrid
            ? null
            : {
                peers: 7,
                seeding: { enabled: settings.seeding, passes: 0, last_pass_at: null, last_error: null },
                sources: {},
                ...liveNetwork(settings.seeding),
                at: now(),
              },
        };
      case 'grid_status':
        return {
          cache_dir: '/home/e2e/.local/share/entropygrid/beacons',
          cache_bytes: 3 * 1024 * 1024 + 123_456,
          chains: [
            {
              name: 'quicknet',
              hash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
              head: 16_384 * 40 + 5_000,
              period: 3,
              rounds: 16_384 * 3 + 9_000,
              chunks: [
                [0, 16_384],
                [1, 16_384],
                [2, 16_384],
                [20, 9_000],
              ],
            },
          ],
        };
      case 'identity_name_get':
        return { name: displayName, chosen: nameChosen };
      case 'identity_name_set':
        displayName = checkName(args.name);
        nameChosen = true;
        return { name: displayName, chosen: true };
      case 'pairing_create_invite': {
        if (typeof args.name === 'string') {
          displayName = checkName(args.name);
          nameChosen = true;
        } else if (!nameChosen) {
          throw { code: 'bad_input', message: 'choose the name your contacts will see before making an invite' };
        }
        const name = displayName;
        return {
          text: `ZKS1:${'6BFOXN%TS3DH 2Z-8*G3V9%1F0NK:FDA'.repeat(6)}`,
          expires_at: now() + (typeof args.ttl_secs === 'number' ? args.ttl_secs : 3600),
          name,
          qr_svg: QR_SVG,
          // The small code of an online app (the QR shown is the same stand-in).
          link_text: options.offlineGrid ? null : 'ZKS1:LINK 6BFOXN%TS3DH 2Z-8*G3V9%1F0NK:FDA',
          link_qr_svg: options.offlineGrid ? null : QR_SVG,
          link_qr_version: options.offlineGrid ? null : 7,
        };
      }
      case 'pairing_scan_frame': {
        // The test reads frames with a third-party decoder (jsQR) through
        // page.exposeFunction; without one, no frame shows a code.
        const decode = (window as unknown as {
          __zksDecodeFrame?: (w: number, h: number, b64: string) => Promise<string | null>;
        }).__zksDecodeFrame;
        const w = Number(args.width);
        const h = Number(args.height);
        if (!(w > 0 && h > 0 && w * h <= 1920 * 1080)) {
          throw { code: 'bad_input', message: `a camera frame of ${w}×${h} pixels is not taken` };
        }
        return decode ? decode(w, h, String(args.luma_base64)) : null;
      }
      case 'pairing_accept': {
        if (typeof args.text === 'string' && args.text.trim() === LINK_CODE) {
          throw {
            code: 'bad_input',
            message:
              'this is a code that links a device to its owner, not a pairing invite; on a new device, join with it (`zks device join`, or Join in the app)',
          };
        }
        const name = typeof args.as_name === 'string' && args.as_name ? args.as_name : 'Carol';
        const contact: Contact = {
          name,
          peer_id: '12D3KooWCarol4Tq8yJbVw6kLp5sHd3eUiRgC7aB1x9ZcN7f3Qm1o2r',
          safety_code: '16180 33988 74989 48482 04586 83436 56381 17720',
          verified: false,
          addresses: ['/ip4/198.51.100.7/udp/4001/quic-v1'],
          role: 'responder',
          pad: null,
        };
        contacts.push(contact);
        return {
          reply_text: `ZKS1:${'R7Q-3+9*KD1 OYV%2LM:08FE4$B5'.repeat(7)}`,
          reply_qr_svg: QR_SVG,
          contact: contactOut(contact),
        };
      }
      case 'pairing_finish': {
        const name = typeof args.as_name === 'string' && args.as_name ? args.as_name : 'Dave';
        const contact: Contact = {
          name,
          peer_id: '12D3KooWDave',
          safety_code: '14142 13562 37309 50488 01688 72420 96980 78569',
          verified: false,
          addresses: [],
          role: 'initiator',
          pad: null,
        };
        contacts.push(contact);
        return contactOut(contact);
      }
      case 'contacts_list':
        return contacts.map(contactOut);
      case 'contacts_verify': {
        const contact = contacts.find((c) => c.name === args.name);
        if (!contact) throw { code: 'not_found', message: `no contact named ${String(args.name)}` };
        if (typeof args.code === 'string' && args.code.trim()) {
          if (args.code.replace(/[\s-]+/g, '') !== contact.safety_code.replace(/\s+/g, '')) {
            throw { code: 'bad_input', message: 'the safety code does not match; do not mark this contact as verified' };
          }
        } else if (args.compared !== true) {
          throw { code: 'bad_input', message: 'compare the safety code first: give the code their device shows, or confirm that you compared all 40 digits and they match' };
        }
        contact.verified = true;
        return contactOut(contact);
      }
      case 'pad_import': {
        const contact = contacts.find((c) => c.name === args.contact);
        if (!contact) throw { code: 'store', message: `no contact named ${String(args.contact)}` };
        const path = String(args.path ?? '').trim();
        if (!path.startsWith('/')) {
          throw { code: 'bad_input', message: `${JSON.stringify(path)} is not a full path` };
        }
        if (contact.pad && contact.pad.send_left > 0 && args.replace !== true) {
          throw {
            code: 'bad_input',
            message: `a pad with ${contact.pad.send_left} bytes left is already shared with ${contact.name}; pass --replace to replace it`,
          };
        }
        contact.pad = { pad_id: 'e2e0', size: 1 << 20, send_left: (1 << 19) - 32, receive_left: 1 << 19 };
        return { pad: { ...contact.pad }, destroyed: args.destroy_source === true };
      }
      case 'chat_search': {
        // Words ANDed, case-insensitive, newest first (the node: FTS5 over the history).
        const words = String(args.text ?? '')
          .toLowerCase()
          .split(/\s+/)
          .filter((w) => /[\p{L}\p{N}]/u.test(w));
        if (words.length === 0) {
          throw { code: 'bad_input', message: 'the search text is empty: type a word to look for' };
        }
        if (args.contact != null && !contacts.some((c) => c.name === args.contact)) {
          throw { code: 'bad_input', message: `no contact named ${JSON.stringify(args.contact)}` };
        }
        return history
          .filter((m) => args.contact == null || m.contact === args.contact)
          .filter((m) => m.kind !== 'control' && words.every((w) => m.text.toLowerCase().includes(w)))
          .sort((a, b) => b.id - a.id)
          .map((m) => ({
            message_id: m.id,
            contact: m.contact,
            outgoing: m.outgoing,
            kind: m.kind,
            created_at: m.created_at,
            // The node marks each matching word between « and ».
            snippet: words.reduce(
              (text, w) =>
                text.replace(new RegExp(`(${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})`, 'giu'), '«$1»'),
              m.text,
            ),
          }));
      }
      case 'chat_history':
        return history
          .filter((m) => m.contact === args.contact && m.kind !== 'control')
          .map(chatMessage);
      case 'chat_react': {
        const m = messageById(args.message_id);
        if (m.deleted) throw { code: 'bad_input', message: `message ${m.id} was deleted` };
        const others = (m.reactions ?? []).filter((r) => !r.mine);
        m.reactions = typeof args.emoji === 'string' ? [...others, { emoji: args.emoji, mine: true }] : others;
        return control(m.contact, m.mode);
      }
      case 'chat_edit': {
        const m = messageById(args.message_id);
        if (!m.outgoing) {
          throw { code: 'bad_input', message: `message ${m.id} is not yours; you can only edit your own messages` };
        }
        if (typeof args.text !== 'string' || args.text.trim() === '') {
          throw { code: 'bad_input', message: 'the new text is empty (delete the message instead)' };
        }
        m.text = args.text;
        m.edited_at = now();
        return control(m.contact, m.mode);
      }
      case 'chat_delete': {
        const m = messageById(args.message_id);
        if (args.for_everyone !== true) {
          history.splice(history.indexOf(m), 1);
          return null;
        }
        if (!m.outgoing) {
          throw {
            code: 'bad_input',
            message: `message ${m.id} is not yours; you can only delete for everyone your own messages`,
          };
        }
        m.deleted = true;
        m.text = '';
        m.reactions = [];
        return control(m.contact, m.mode);
      }
      case 'chat_set_timer': {
        const contact = contacts.find((c) => c.name === args.contact);
        if (!contact) throw { code: 'bad_input', message: `no contact named ${String(args.contact)}` };
        contact.timer_secs = Number(args.secs);
        contact.timer_set_by_me = true;
        contact.timer_set_at = now();
        return control(contact.name, 'grid');
      }
      case 'chat_send': {
        if (!contacts.some((c) => c.name === args.contact)) {
          throw { code: 'store', message: `no contact named ${String(args.contact)}` };
        }
        if (typeof args.text !== 'string' || args.text.trim() === '') {
          throw { code: 'bad_input', message: 'type a message to send' };
        }
        const pad = args.pad === true;
        const opensRound = openRound(args.open_at);
        const message = {
          contact: String(args.contact),
          id: history.length + 1,
          outgoing: true,
          mode: pad ? 'pad' : 'grid',
          kind: 'text',
          text: args.text,
          round: pad ? null : BOUND_ROUND,
          sealed_after: pad ? null : quicknetTime(BOUND_ROUND),
          state: 'queued',
          error: null,
          created_at: now(),
          reply_to: typeof args.reply_to === 'number' ? messageById(args.reply_to).id : null,
          opens_at: opensRound === null ? null : quicknetTime(opensRound),
          opens_round: opensRound,
          locked: false,
        };
        history.push(message);
        return sent(message);
      }
      case 'chat_unread':
        return unreadCounts();
      case 'chat_mark_read': {
        const name = String(args.contact);
        if (!contacts.some((c) => c.name === name)) {
          throw { code: 'bad_input', message: `there is no contact named ${JSON.stringify(name)}` };
        }
        const newest = Math.max(0, ...history.filter((m) => m.contact === name).map((m) => m.id));
        readMarks[name] = Math.max(readMarks[name] ?? 0, Math.min(Number(args.up_to), newest));
        return unreadCounts();
      }
      case 'transfers_list':
        return transfers.map((t) => ({ ...t }));
      case 'file_send': {
        const contact = contacts.find((c) => c.name === args.contact);
        if (!contact) throw { code: 'store', message: `no contact named ${String(args.contact)}` };
        const path = String(args.path ?? '');
        if (!path.startsWith('/')) {
          throw { code: 'bad_input', message: `${JSON.stringify(path)} is not a full path to a file` };
        }
        if (path.endsWith('/')) throw { code: 'bad_input', message: `${path} is not a regular file` };
        const pad = args.pad === true;
        if (pad && !contact.pad) {
          throw { code: 'bad_input', message: `no one-time pad is shared with ${contact.name}` };
        }
        const name = path.split('/').pop()!;
        // Timelocked: what travels is the age file, a little larger.
        const opensRound = openRound(args.open_at);
        const t = newTransfer({
          name,
          contact: contact.name,
          outgoing: true,
          size: 2.5 * MiB + (opensRound === null ? 0 : 888),
          protection: pad ? 'perfect_secrecy' : 'post_quantum',
          path,
          opens_at: opensRound === null ? null : quicknetTime(opensRound),
          opens_round: opensRound,
        });
        transfers.unshift(t);
        t.message_id = history.length + 1;
        history.push({
          contact: contact.name,
          id: t.message_id,
          outgoing: true,
          mode: pad ? 'pad' : 'grid',
          kind: 'file',
          text: name,
          round: pad ? null : BOUND_ROUND,
          sealed_after: pad ? null : quicknetTime(BOUND_ROUND),
          state: 'queued',
          error: null,
          created_at: now(),
        });
        return { ...t };
      }
      case 'file_accept': {
        const t = transfer(args.id);
        if (t.outgoing || !['offered', 'paused'].includes(t.state)) refuse(t, 'accepted');
        t.state = 'accepted';
        return { ...t };
      }
      case 'file_decline': {
        const t = transfer(args.id);
        if (t.outgoing || t.state !== 'offered') refuse(t, 'declined');
        t.state = 'declined';
        return { ...t };
      }
      case 'file_pause': {
        const t = transfer(args.id);
        if (t.outgoing || !['accepted', 'transferring'].includes(t.state)) refuse(t, 'paused');
        t.state = 'paused';
        return { ...t };
      }
      case 'file_cancel': {
        const t = transfer(args.id);
        if (!['offered', 'accepted', 'transferring', 'paused'].includes(t.state)) refuse(t, 'cancelled');
        t.state = 'cancelled';
        t.error = 'cancelled by you';
        return { ...t };
      }
      case 'grid_live': {
        if (options.offlineGrid) {
          return {
            live: null,
            served_by: null,
            pid: null,
            addresses: [],
            seeding: settings.seeding,
            upload_rounds_per_sec: settings.upload_rounds_per_sec,
            cache_budget_bytes: settings.cache_budget_bytes,
            bootstrap_peers: settings.bootstrap.length,
          };
        }
        gridClock += 3;
        const t = gridClock - started;
        // The running seeder follows the stored switch at once (this app).
        seederOn = settings.seeding;
        if (seederOn) passes += 1;
        // Cumulative counters, as the node keeps them: they only grow.
        const rates: Record<string, number> = {
          cache: 40 + 25 * Math.sin(t / 9),
          swarm: seederOn ? 14 + 6 * Math.cos(t / 7) : 2,
          gateway: seederOn && t % 30 < 12 ? 9 : 0,
          drand: t % 21 === 0 ? 1 : 0.3,
        };
        for (const [key, rate] of Object.entries(rates)) counters[key] += Math.round(rate * 3);
        const sources: Record<string, { rounds: number; failures: number; millis: number }> = {};
        for (const key of Object.keys(rates)) {
          sources[key] = { rounds: counters[key], failures: key === 'gateway' ? 1 : 0, millis: 30 * t };
        }
        return {
          live: {
            peers: 7,
            seeding: {
              enabled: seederOn,
              passes,
              last_pass_at: passes > 0 ? gridClock - 1 : null,
              last_error: null,
            },
            sources,
            ...liveNetwork(seederOn),
            at: gridClock,
          },
          served_by: 'app',
          pid: 31337,
          addresses: [
            `/ip4/192.168.1.23/tcp/40123/p2p/${PEER_ID}`,
            `/ip4/192.168.1.23/udp/40123/quic-v1/p2p/${PEER_ID}`,
          ],
          seeding: settings.seeding,
          upload_rounds_per_sec: settings.upload_rounds_per_sec,
          cache_budget_bytes: settings.cache_budget_bytes,
          bootstrap_peers: settings.bootstrap.length,
        };
      }
      case 'history_fetch':
        return historyFetch(args);
      case 'history_cancel':
        if (historyRunning) historyRunning.cancelled = true;
        return historyRunning !== null;
      case 'history_pins':
        return pins.map((p) => ({ ...p }));
      case 'history_unpin': {
        const i = pins.findIndex((p) => p.from === args.from && p.to === args.to);
        if (i < 0) throw { code: 'bad_input', message: `rounds ${args.from}–${args.to} of quicknet are not pinned; nothing was changed` };
        pins.splice(i, 1);
        return pins.map((p) => ({ ...p }));
      }
      case 'seeding_set':
        settings.seeding = args.on === true;
        return { ...settings };
      case 'settings_get':
        return {
          settings: { ...settings },
          default_drand_urls: [...DEFAULT_DRAND],
          default_bootstrap: [...DEFAULT_BOOTSTRAP],
          min_cache_budget_bytes: MIN_BUDGET,
          about: {
            version: '0.1.0',
            data_dir: '/home/e2e/.local/share/entropygrid',
            downloads_dir: DOWNLOADS,
            peer_id: PEER_ID,
            name: 'e2e-host',
          },
          autostart: options.noAutostart
            ? null
            : { enabled: autostart, path: AUTOSTART_PATH, other: null },
        };
      case 'settings_save': {
        const edit = args.settings as Omit<Settings, 'seeding' | 'listen_port'>;
        const next: Settings = { ...settings, ...edit };
        const problem = invalid(next);
        if (problem) throw { code: 'bad_input', message: problem };
        const labels: [keyof Settings, string][] = [
          ['bootstrap', 'bootstrap peers'],
          ['mdns', 'local network discovery (mDNS)'],
          ['drand_urls', 'drand URLs'],
          ['gateways', 'IPFS gateways'],
          ['chains', 'chains'],
          ['upload_rounds_per_sec', 'upload cap'],
          ['cache_budget_bytes', 'cache budget'],
        ];
        const later = labels
          .filter(([k]) => JSON.stringify(settings[k]) !== JSON.stringify(next[k]))
          .map(([, label]) => label);
        Object.assign(settings, next);
        return { settings: { ...settings }, applies_later: later };
      }
      case 'autostart_set':
        if (options.noAutostart) {
          throw { code: 'unsupported', message: 'starting at login is only available on Linux in this build' };
        }
        autostart = args.on === true;
        if (autostart) settings.seeding = true;
        return { enabled: autostart, path: AUTOSTART_PATH, other: null };
      case 'devices':
        return devicesView();
      case 'link_device': {
        const ttl = args.ttl_secs ?? 600;
        if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 60 || ttl > 86_400) {
          throw { code: 'bad_input', message: `a link code lives 1 minute to 1 day (60 to 86400 s), not ${String(ttl)} s` };
        }
        primaryOnly('link devices');
        if (devices.length >= MAX_DEVICES) {
          throw { code: 'bad_input', message: `a person links at most ${MAX_DEVICES} devices; unlink one first` };
        }
        if (options.offlineGrid) {
          throw {
            code: 'bad_input',
            message: 'this device is not online: start it (`zks daemon` or the app) so the new device can reach it',
          };
        }
        if (!nameChosen) {
          throw { code: 'bad_input', message: 'choose the name your contacts will see before making an invite' };
        }
        linkCodeMade = true;
        return {
          text: LINK_CODE,
          expires_at: now() + ttl,
          name: displayName,
          qr_svg: QR_SVG,
          link_text: null,
          link_qr_svg: null,
          link_qr_version: null,
        };
      }
      case 'join_device': {
        if (String(args.name ?? '').trim() === '') {
          throw { code: 'bad_input', message: 'give this device a name (your other devices and your contacts see it)' };
        }
        const text = codeInput(args.code, args.image_base64);
        const name = checkName(args.name);
        checkLinkCode(text);
        if (deviceRole !== 'primary') throw { code: 'bad_input', message: 'this device is already linked (or joining)' };
        if (contacts.length > 0 || devices.length > 1) {
          throw { code: 'bad_input', message: 'only a new home can join as a linked device; this one has contacts' };
        }
        displayName = name;
        nameChosen = true;
        deviceRole = 'joining';
        devices.splice(0, devices.length,
          device({ id: DESK_ID, name: 'Desk', primary: true, added_at: 0, safety_code: DEVICE_CODE }),
          device({ id: SELF_DEVICE_ID, name, this_device: true, state: 'pending', added_at: 0 }),
        );
        devicesChanged();
        return devicesView();
      }
      case 'confirm_device': {
        primaryOnly('confirm devices');
        const d = ownDevice(args.id);
        if (d.state === 'linked') throw { code: 'bad_input', message: `${d.name} is linked already` };
        const self = devices.find((x) => x.this_device);
        if (self && self.added_at === 0) self.added_at = now();
        d.state = 'linked';
        d.added_at = now();
        devicesChanged();
        return devicesView();
      }
      case 'remove_device': {
        primaryOnly('unlink devices');
        const d = ownDevice(args.id);
        devices.splice(devices.indexOf(d), 1);
        devicesChanged();
        return devicesView();
      }
      case 'downloads_dir':
        return DOWNLOADS;
      case 'open_folder':
        return null;
      case 'groups_list':
        return [...groups].reverse().map(groupInfo);
      case 'group_get':
        return groupInfo(findGroup(args.group));
      case 'group_create': {
        const name = checkGroupName(args.name);
        const names = Array.isArray(args.members) ? args.members.map(String) : [];
        if (names.length + 1 > 50) {
          throw { code: 'bad_input', message: 'a group has at most 50 members, you included' };
        }
        const members = names.map((n) => {
          const c = contacts.find((x) => x.name === n);
          if (!c) throw { code: 'bad_input', message: `there is no contact named ${JSON.stringify(n)}` };
          return asMember(c);
        });
        if (new Set(names).size !== names.length) throw { code: 'bad_input', message: 'a contact is named twice' };
        const g: Group = {
          id: (groups.length + 1).toString(16).padStart(32, 'c'),
          name,
          epoch: 0,
          member: true,
          created_at: now(),
          members: [me(), ...members],
        };
        groups.push(g);
        return groupChanged(g);
      }
      case 'group_add': {
        const g = findGroup(args.group);
        asAdmin(g);
        const c = contacts.find((x) => x.name === args.contact);
        if (!c) throw { code: 'bad_input', message: `there is no contact named ${JSON.stringify(String(args.contact))}` };
        if (g.members.some((m) => m.peer_id === c.peer_id)) {
          throw { code: 'bad_input', message: `${c.name} is in ${g.name} already` };
        }
        if (g.members.length >= 50) throw { code: 'bad_input', message: 'a group has at most 50 members, you included' };
        g.members.push(asMember(c));
        return groupChanged(g);
      }
      case 'group_remove': {
        const g = findGroup(args.group);
        asAdmin(g);
        const m = groupMember(g, args.member);
        if (m.me) throw { code: 'bad_input', message: 'leave the group instead' };
        g.members = g.members.filter((x) => x !== m);
        return groupChanged(g);
      }
      case 'group_rename': {
        const g = findGroup(args.group);
        asAdmin(g);
        g.name = checkGroupName(args.name);
        return groupChanged(g);
      }
      case 'group_admin': {
        const g = findGroup(args.group);
        asAdmin(g);
        const m = groupMember(g, args.member);
        if (m.admin) throw { code: 'bad_input', message: `${m.name} is an admin already` };
        m.admin = true;
        return groupChanged(g);
      }
      case 'group_leave': {
        const g = findGroup(args.group);
        if (!g.member) throw { code: 'bad_input', message: `you are no longer in the group ${g.name}` };
        g.member = false;
        g.members = g.members.filter((m) => !m.me);
        return groupChanged(g);
      }
      case 'group_send': {
        const g = findGroup(args.group);
        if (!g.member) throw { code: 'bad_input', message: `you are no longer in the group ${g.name}` };
        if (typeof args.text !== 'string' || args.text.trim() === '') {
          throw { code: 'bad_input', message: 'type a message to send' };
        }
        const quote = quoteOf(g, args.reply_to);
        const deliveries = g.members
          .filter((m) => !m.me)
          .map((m) => {
            const c = contacts.find((x) => x.peer_id === m.peer_id);
            if (!c) return { name: m.name, state: 'not_sent', mode: null };
            return { name: m.name, state: 'queued', mode: c.pad ? 'pad' : 'grid' };
          });
        const message = addGroupMessage(g, {
          author: me().name, author_peer_id: SELF_PEER_ID, outgoing: true,
          text: args.text, quote, mode: null, deliveries,
        });
        emit('node-event', { kind: 'group_message', group: g.id, from: null });
        return { ...message, deliveries: message.deliveries.map((d) => ({ ...d })) };
      }
      case 'group_messages': {
        const g = findGroup(args.group);
        return (groupMessages.get(g.id) ?? []).map(groupMessageCopy);
      }
      case 'group_react': {
        const { g, m } = changeable(args.message_id, null);
        const emoji = typeof args.emoji === 'string' ? args.emoji.trim() : null;
        if (emoji !== null && (emoji === '' || [...emoji].length > 8 || /[\p{L}\p{N}\s]/u.test(emoji))) {
          throw { code: 'bad_input', message: 'a reaction is one emoji' };
        }
        const others = m.reactions.filter((r) => !r.mine);
        m.reactions = emoji === null ? others : [...others, { emoji, by: me().name, mine: true }];
        emit('node-event', { kind: 'group_message', group: g.id, from: null });
        return groupMessageCopy(m);
      }
      case 'group_edit': {
        const { g, m } = changeable(args.message_id, 'edit');
        if (typeof args.text !== 'string' || args.text.trim() === '') {
          throw { code: 'bad_input', message: 'the new text is empty (delete the message instead)' };
        }
        m.text = args.text;
        m.edited = true;
        emit('node-event', { kind: 'group_message', group: g.id, from: null });
        return groupMessageCopy(m);
      }
      case 'group_delete': {
        const { g, m } = changeable(args.message_id, 'delete');
        m.deleted = true;
        m.text = '';
        m.reactions = [];
        emit('node-event', { kind: 'group_message', group: g.id, from: null });
        return groupMessageCopy(m);
      }
      case 'plugin:event|listen': {
        const event = String(args.event);
        const eventId = nextId++;
        if (!listeners.has(event)) listeners.set(event, new Map());
        listeners.get(event)!.set(eventId, Number(args.handler));
        return eventId;
      }
      case 'plugin:event|unlisten':
        listeners.get(String(args.event))?.delete(Number(args.eventId));
        return null;
      default:
        throw { code: 'unknown_command', message: `the mock backend has no command ${cmd}` };
    }
  }

  const w = window as unknown as Record<string, unknown>;
  w.__TAURI_INTERNALS__ = {
    metadata: {
      currentWindow: { label: 'main' },
      currentWebview: { windowLabel: 'main', label: 'main' },
    },
    transformCallback(fn: (payload: unknown) => void, once = false): number {
      const id = nextId++;
      callbacks.set(id, { fn, once });
      return id;
    },
    unregisterCallback(id: number): void {
      callbacks.delete(id);
    },
    convertFileSrc(path: string, protocol = 'asset'): string {
      return `${protocol}://localhost/${encodeURIComponent(path)}`;
    },
    async invoke(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
      calls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
      // Answer asynchronously, like the real IPC.
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (cmd === 'vault_unlock' || cmd === 'vault_change') {
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      if (fail[cmd]) throw { ...fail[cmd] };
      return answer(cmd, args ?? {});
    },
  };
  w.__TAURI_EVENT_PLUGIN_INTERNALS__ = {
    unregisterListener(event: string, eventId: number): void {
      listeners.get(event)?.delete(eventId);
    },
  };
  /** Delivers a backend event to the page's listeners, as Tauri would. */
  function emit(event: string, payload: unknown): number {
    let delivered = 0;
    for (const [eventId, cbId] of listeners.get(event) ?? []) {
      const cb = callbacks.get(cbId);
      if (!cb) continue;
      cb.fn({ event, id: eventId, payload });
      if (cb.once) callbacks.delete(cbId);
      delivered += 1;
    }
    return delivered;
  }
  w.__ZKS_MOCK__ = {
    calls,
    settings,
    readMarks,
    contacts,
    transfers,
    emit,
    /** The id of the (newest) transfer of a file name. */
    transferId(name: string): string {
      const t = transfers.find((x) => x.name === name);
      if (!t) throw new Error(`no transfer named ${name}`);
      return t.id;
    },
    /** How many listeners the page has for an event right now. */
    listening(event: string): number {
      return listeners.get(event)?.size ?? 0;
    },
    /** A chat message from a contact arrives: stored, then announced. */
    receive(from: string, text: string, replyTo: number | null = null): number {
      const id = history.length + 1;
      history.push({
        reply_to: replyTo,
        contact: from,
        id,
        outgoing: false,
        mode: 'grid',
        kind: 'text',
        text,
        round: 16_384 * 40 + 5_002,
        sealed_after: quicknetTime(16_384 * 40 + 5_002),
        state: null,
        error: null,
        created_at: now(),
      });
      emit('node-event', { kind: 'message_received', from });
      return id;
    },
    /** A timelocked message from a contact arrives, shut until its round is
     * published (about `inSecs` from now): stored with no text, announced;
     * then, unless `autoOpen` is false, it opens by itself at that time like
     * the node's (`openLocked`). */
    receiveLocked(from: string, text: string, inSecs: number, autoOpen = true): number {
      const id = history.length + 1;
      const round = quicknetRoundAt(now() + inSecs);
      lockedText.set(id, text);
      history.push({
        contact: from,
        id,
        outgoing: false,
        mode: 'grid',
        kind: 'text',
        text: '',
        round: 16_384 * 40 + 5_002,
        sealed_after: quicknetTime(16_384 * 40 + 5_002),
        state: null,
        error: null,
        created_at: now(),
        opens_at: quicknetTime(round),
        opens_round: round,
        locked: true,
      });
      emit('node-event', { kind: 'message_received', from });
      if (autoOpen) {
        const wait = Math.max(0, quicknetTime(round) * 1000 - Date.now());
        setTimeout(() => openLocked(id), wait);
      }
      return id;
    },
    openLocked,
    /** A sent message's delivery state changes (`mailbox`, `delivered`), as
     * the node reports it: stored, then announced. */
    settle(id: number, state: 'mailbox' | 'delivered'): void {
      const m = history.find((x) => x.id === id);
      if (!m || !m.outgoing) throw new Error(`no sent message ${id}`);
      m.state = state;
      emit('node-event', {
        kind: state === 'mailbox' ? 'message_mailboxed' : 'message_delivered',
        message_id: id,
      });
    },
    /** The contact reacts to message `id` (`null` takes the reaction back). */
    reactFrom(from: string, id: number, emoji: string | null): void {
      const m = history.find((x) => x.id === id);
      if (!m) throw new Error(`no message ${id}`);
      const mine = (m.reactions ?? []).filter((r) => r.mine);
      m.reactions = emoji === null ? mine : [...mine, { emoji, mine: false }];
      emit('node-event', { kind: 'message_received', from });
    },
    /** The contact edits (`text`) or deletes (`null`) their message `id`. */
    changeFrom(from: string, id: number, text: string | null): void {
      const m = history.find((x) => x.id === id);
      if (!m || m.outgoing) throw new Error(`no message ${id} from ${from}`);
      if (text === null) {
        m.deleted = true;
        m.text = '';
        m.reactions = [];
      } else {
        m.text = text;
        m.edited_at = now();
      }
      emit('node-event', { kind: 'message_received', from });
    },
    /** The contact sets the conversation's timer. */
    timerFrom(from: string, secs: number): void {
      const c = contacts.find((x) => x.name === from);
      if (!c) throw new Error(`no contact ${from}`);
      c.timer_secs = secs;
      c.timer_set_by_me = false;
      c.timer_set_at = now();
      emit('node-event', { kind: 'message_received', from });
    },
    /** A contact offers a file, as the node reports it: stored, then announced. */
    offer(from: string, name: string, size: number): string {
      return receiveOffer(newTransfer({ name, contact: from, size, message_id: history.length + 1 }));
    },
    /** Bytes move: the transfer is transferring and a progress event goes out. */
    progress(id: string, bytesDone: number): void {
      const t = transfer(id);
      t.state = 'transferring';
      t.bytes_done = bytesDone;
      emit('node-event', { kind: 'transfer_progress', transfer_id: t.id, bytes_done: bytesDone, size: t.size });
    },
    /** A transfer ends; a completed incoming file lands in the downloads
     * folder — a timelocked one stays locked (no file) and opens by itself
     * at its time, like the node's (`openFile`). */
    finish(id: string, state: string, error: string | null = null): void {
      const t = transfer(id);
      t.state = state;
      t.error = error;
      if (state === 'completed') {
        t.bytes_done = t.size;
        if (!t.outgoing && !t.locked) t.path = `${DOWNLOADS}/${t.name}`;
        if (!t.outgoing && t.locked && t.opens_at !== null && autoOpenFiles.has(t.id)) {
          const wait = Math.max(0, t.opens_at * 1000 - Date.now());
          setTimeout(() => openFile(t.id), wait);
        }
      }
      emit('node-event', { kind: 'transfer_finished', transfer_id: t.id, state, error });
    },
    /** A contact offers a file timelocked to about `inSecs` from now (its
     * quicknet round): stored locked, announced; once it is finished, it
     * opens by itself at that time unless `autoOpen` is false. */
    offerLocked(from: string, name: string, size: number, inSecs: number, autoOpen = true): string {
      const round = quicknetRoundAt(now() + inSecs);
      const t = newTransfer({
        name,
        contact: from,
        size,
        message_id: history.length + 1,
        opens_at: quicknetTime(round),
        opens_round: round,
        locked: true,
      });
      if (autoOpen) autoOpenFiles.add(t.id);
      return receiveOffer(t);
    },
    openFile,
    /** Copies of our group message reach `names` (default: every contact
     * member): delivered, announced as the node does. */
    deliverGroup(messageId: number, names: string[] | null = null): void {
      for (const g of groups) {
        const m = (groupMessages.get(g.id) ?? []).find((x) => x.id === messageId);
        if (!m) continue;
        for (const d of m.deliveries) {
          if (d.state === 'queued' && (names === null || names.includes(d.name))) d.state = 'delivered';
        }
        emit('node-event', { kind: 'message_delivered', message_id: 10_000 + messageId });
        return;
      }
      throw new Error(`no group message ${messageId}`);
    },
    /** A member's message arrives in a group, in a copy of `mode`. */
    receiveGroup(group: string, author: string, text: string, mode: 'pad' | 'grid' = 'grid'): number {
      const g = findGroup(group);
      const m = groupMember(g, author);
      const message = addGroupMessage(g, {
        author: m.name, author_peer_id: m.peer_id, outgoing: false, text, quote: null, mode, deliveries: [],
      });
      emit('node-event', { kind: 'group_message', group: g.id, from: m.name });
      return message.id;
    },
    /** A new device joins with the link code shown (on the primary): it
     * waits for confirmation, with its safety code. */
    deviceJoins(name: string): string {
      if (!linkCodeMade) throw new Error('no link code was made');
      linkCodeMade = false;
      const d = device({ id: `7e57${devices.length}`.padEnd(64, '4'), name, state: 'pending', added_at: 0, safety_code: DEVICE_CODE });
      devices.push(d);
      devicesChanged();
      return d.id;
    },
    /** On a joining device: the primary confirms it; it gets the contacts
     * the primary hands over (with a grid-pad history of Alice). */
    confirmedByPrimary(): void {
      if (deviceRole !== 'joining') throw new Error('this device is not joining');
      deviceRole = 'linked';
      const self = devices.find((d) => d.this_device)!;
      self.state = 'linked';
      self.added_at = now();
      devices[0].added_at = now();
      devices[0].last_seen = now();
      devicesChanged();
    },
    /** On a linked device: the primary unlinked it. */
    unlinkedByPrimary(): void {
      deviceRole = 'unlinked';
      devices.splice(devices.findIndex((d) => d.this_device), 1);
      devicesChanged();
    },
    /** A message we sent to `contact` from another of our devices arrives
     * here (stored as ours), then the conversation is announced as synced. */
    syncFromDevice(contact: string, text: string): number {
      const id = history.length + 1;
      history.push({
        contact,
        id,
        outgoing: true,
        mode: 'grid',
        kind: 'text',
        text,
        round: BOUND_ROUND,
        sealed_after: quicknetTime(BOUND_ROUND),
        state: 'delivered',
        error: null,
        created_at: now(),
      });
      emit('node-event', { kind: 'conversation_synced', contact });
      return id;
    },
    /** An admin removes us from a group. */
    removeMe(group: string): void {
      const g = findGroup(group);
      g.member = false;
      g.members = g.members.filter((m) => !m.me);
      g.epoch += 1;
      emit('node-event', { kind: 'group_changed', group: g.id });
    },
  };
}
