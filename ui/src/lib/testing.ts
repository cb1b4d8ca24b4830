// Sample data and helpers for component tests (not part of the app bundle:
// only tests import it).
import { expect } from 'vitest';
import { waitFor } from '@testing-library/svelte';
import type {
  ChatMessage,
  Contact,
  DeviceInfo,
  DevicesView,
  GroupInfo,
  GroupMember,
  GroupMessage,
  LiveGrid,
  NodeStatus,
  SettingsPage,
  Transfer,
  VaultStatus,
} from './ipc';

/** A transfer with sensible defaults: an incoming offer from Alice. */
export function transfer(over: Partial<Transfer>): Transfer {
  return {
    id: '0123456789abcdef0123456789abcdef',
    contact: 'Alice',
    outgoing: false,
    name: 'photo.jpg',
    size: 1000,
    blake3: 'ab'.repeat(32),
    protection: 'post_quantum',
    protection_label: 'Post-quantum encrypted',
    state: 'offered',
    error: null,
    bytes_done: 0,
    bytes_sent: 0,
    path: null,
    created_at: 1_700_000_000,
    message_id: null,
    opens_at: null,
    opens_round: null,
    locked: false,
    ...over,
  };
}

/** A chat message with sensible defaults: an outgoing grid-pad text, delivered,
 * bound to quicknet round 30663002 (the round shipped with the release). */
export function chatMessage(over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id: 1,
    outgoing: true,
    mode: 'grid',
    kind: 'text',
    text: 'hello',
    round: 30_663_002,
    sealed_after: 1_784_792_370,
    state: 'delivered',
    error: null,
    created_at: 1_784_792_370 + 3600,
    reply_to: null,
    reactions: [],
    edited_at: null,
    deleted: false,
    expires_at: null,
    opens_at: null,
    opens_round: null,
    locked: false,
    ...over,
  };
}

/** A contact with sensible defaults: Alice, unverified, no pad. */
export function contact(over: Partial<Contact> = {}): Contact {
  return {
    name: 'Alice',
    peer_id: '12D3KooWAlice',
    safety_code: '12345 67890 11111 22222 33333 44444 55555 66666',
    verified: false,
    addresses: [],
    role: 'responder',
    pad: null,
    needs_pairing: false,
    timer_secs: 0,
    timer_set_by_me: false,
    timer_set_at: null,
    devices: [],
    ...over,
  };
}

/** One of our devices with sensible defaults: this device, the primary
 * ("Desk"), linked on 4 Dec 2026. */
export function deviceInfo(over: Partial<DeviceInfo> = {}): DeviceInfo {
  return {
    id: 'de5c0000'.padEnd(64, '1'),
    name: 'Desk',
    primary: true,
    this_device: true,
    state: 'linked',
    added_at: 1_796_400_000,
    last_seen: null,
    safety_code: '',
    ...over,
  };
}

/** Our devices as the node lists them; by default a primary alone. */
export function devicesView(over: Partial<DevicesView> = {}): DevicesView {
  return { role: 'primary', devices: [deviceInfo()], ...over };
}

/** A node status with sensible defaults: Alice's running passphrase home
 * with an empty beacon cache, offline. */
export function sampleNodeStatus(over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    version: '0.1.0',
    data_dir: '/home/alice/.local/share/zks',
    uptime_secs: 3,
    database: {
      path: '/home/alice/.local/share/zks/zks.sqlite3',
      schema_version: 1,
      sqlite_version: '3.50.0',
      key_protection: 'passphrase',
    },
    grid: { cache_dir: '/home/alice/.local/share/zks/grid', cache_bytes: 0, chains: [] },
    live: null,
    ...over,
  };
}

/** The live grid of a node online on the public network, with how each
 * contact is connected (`direct`, `relayed via <id>`, `not connected`). */
export function sampleLiveGrid(contacts: Record<string, string> = {}): LiveGrid {
  return {
    peers: 25,
    seeding: { enabled: false, passes: 0, last_pass_at: null, last_error: null },
    sources: {},
    network: {
      dht_mode: 'client',
      dht_peers: 23,
      grid_peers: 2,
      connected: 25,
      nat: 'private',
      relays: [],
      grid_member: false,
    },
    contacts,
    at: 1_700_000_000,
  };
}

/** A vault status with sensible defaults: a running passphrase home. */
export function vaultStatus(over: Partial<VaultStatus>): VaultStatus {
  return {
    state: 'running',
    needs: null,
    upgrade: false,
    protection: 'passphrase',
    keyring_available: false,
    min_passphrase_chars: 8,
    data_dir: '/home/alice/.local/share/entropygrid',
    error: null,
    ...over,
  };
}

/** A Settings page with sensible defaults: Alice's node with the stored
 * defaults (quicknet, the drand API, a 4 GiB cache), no login entry. */
export function settingsPage(over: Partial<SettingsPage> = {}): SettingsPage {
  return {
    settings: {
      seeding: false,
      chains: ['quicknet'],
      bootstrap: [],
      drand_urls: ['https://api.drand.sh'],
      gateways: [],
      upload_rounds_per_sec: null,
      cache_budget_bytes: 4 * 1024 ** 3,
      mdns: true,
      notifications: true,
      listen_port: 40123,
      auto_lock_minutes: 0,
      mailbox_cap_mb: 1024,
    },
    default_drand_urls: ['https://api.drand.sh'],
    default_bootstrap: ['/dnsaddr/bootstrap.example.net/p2p/12D3KooWBootstrapPeerQm1o2r4Tq8yJbVw6kLp5sHd3eUi'],
    min_cache_budget_bytes: 64 * 1024 ** 2,
    about: {
      version: '0.1.0',
      data_dir: '/home/alice/.local/share/entropygrid',
      downloads_dir: '/home/alice/Downloads',
      peer_id: '12D3KooWAlice',
      name: 'Alice',
    },
    autostart: null,
    ...over,
  };
}

type Invoke = (cmd: string, args: unknown, options: unknown) => Promise<unknown>;

/**
 * Call after `mockIPC(…, { shouldMockEvents: true })`: notes which Tauri
 * events the page subscribes to (the mock answers those itself), so a test
 * can wait until a screen hears dropped files (it subscribes on mount).
 */
export function watchDrops(): { hearsDrops: () => Promise<void> } {
  const listening: string[] = [];
  const internals = (window as unknown as { __TAURI_INTERNALS__: { invoke: Invoke } }).__TAURI_INTERNALS__;
  const invoke = internals.invoke;
  internals.invoke = async (cmd, args, options) => {
    const result = await invoke(cmd, args, options);
    if (cmd === 'plugin:event|listen') listening.push(String((args as { event: string }).event));
    return result;
  };
  return {
    hearsDrops: () => waitFor(() => expect(listening).toContain('tauri://drag-leave')),
  };
}

/** A group member with sensible defaults: Alice, a contact, not an admin. */
export function groupMember(over: Partial<GroupMember> = {}): GroupMember {
  return { name: 'Alice', peer_id: '12D3KooWAlice', admin: false, me: false, contact: true, ...over };
}

/** A group with sensible defaults: "Book club", us (admin), Alice, Bob and
 * Carol (not our contact). */
export function groupInfo(over: Partial<GroupInfo> = {}): GroupInfo {
  return {
    id: 'b00c0c1b0000000000000000000000aa',
    name: 'Book club',
    epoch: 4,
    members: [
      groupMember({ name: 'me', peer_id: '12D3KooWMe', admin: true, me: true, contact: false }),
      groupMember(),
      groupMember({ name: 'Bob', peer_id: '12D3KooWBob' }),
      groupMember({ name: 'Carol', peer_id: '12D3KooWCarol', contact: false }),
    ],
    admin: true,
    member: true,
    created_at: 1_784_792_370,
    ...over,
  };
}

/** A group message with sensible defaults: a received grid-pad copy from Alice. */
export function groupMessage(over: Partial<GroupMessage> = {}): GroupMessage {
  return {
    id: 1,
    author: 'Alice',
    author_peer_id: '12D3KooWAlice',
    outgoing: false,
    text: 'hello group',
    created_at: 1_784_792_370,
    quote: null,
    mode: 'grid',
    deliveries: [],
    reactions: [],
    edited: false,
    deleted: false,
    file: null,
    ...over,
  };
}
