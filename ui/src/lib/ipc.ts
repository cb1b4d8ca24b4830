// The typed boundary to the Rust side. Mirrors src-tauri/src/dto.rs: every
// command the UI calls and every event it hears is declared here, once.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { getCurrentWebview } from '@tauri-apps/api/webview';

/** Every error from the backend arrives in this shape. */
export interface IpcError {
  code: string;
  message: string;
}

export interface DatabaseStatus {
  path: string;
  schema_version: number;
  sqlite_version: string;
}

export interface NodeStatus {
  version: string;
  data_dir: string;
  uptime_secs: number;
  database: DatabaseStatus;
}

/** How much of one chain the beacon cache holds (zks_node::ChainCoverage). */
export interface ChainCoverage {
  name: string;
  /** Chain hash, hex. */
  hash: string;
  /** Rounds published by now (the chain head). */
  head: number;
  /** Rounds held. */
  rounds: number;
  /** Per chunk with any round: [chunk index, rounds held of 16384]. */
  chunks: [number, number][];
}

/** The beacon cache (zks_node::GridStatus). */
export interface GridStatus {
  cache_dir: string;
  /** Bytes of chunk files. */
  cache_bytes: number;
  chains: ChainCoverage[];
}

/** Counters of one beacon source since the node started (zks_grid::SourceStats). */
export interface SourceStats {
  /** Verified rounds delivered. */
  rounds: number;
  /** Failed or refused requests. */
  failures: number;
  /** Time spent waiting on the source, in milliseconds. */
  millis: number;
}

/** How seeding is going (zks_node::SeedStatus). */
export interface SeedStatus {
  /** Whether the running seeder is on. */
  enabled: boolean;
  /** Passes since the node started. */
  passes: number;
  /** Unix time (seconds) of the last pass. */
  last_pass_at: number | null;
  /** What went wrong in the last pass, if anything. */
  last_error: string | null;
}

/** What an online node's grid is doing (zks_node::LiveGrid). */
export interface LiveGrid {
  peers: number;
  seeding: SeedStatus;
  /** Per source: `cache`, `swarm`, `gateway` (IPFS), `drand` (HTTP API). */
  sources: Record<string, SourceStats>;
  /** Unix time (seconds) of this report. */
  at: number;
}

/** The Grid screen's live figures (dto::GridLive). */
export interface GridLive {
  /** `null` when no process of this home is online. */
  live: LiveGrid | null;
  /** `app` (this app serves the home), `daemon` (another process does) or `null`. */
  served_by: 'app' | 'daemon' | null;
  pid: number | null;
  /** The serving process's listen addresses. */
  addresses: string[];
  /** The stored seeding switch. */
  seeding: boolean;
  /** As set; applies when the node next goes online. */
  upload_rounds_per_sec: number | null;
  /** As set; applies when the node next goes online. */
  cache_budget_bytes: number;
}

/** Everything the user can set (zks_node::Settings). */
export interface Settings {
  seeding: boolean;
  /** Chain names (`quicknet`, `default`) or 64-hex chain hashes. */
  chains: string[];
  /** Multiaddresses ending in /p2p/<peer id>. */
  bootstrap: string[];
  drand_urls: string[];
  gateways: string[];
  /** Rounds served to peers per second; `null`: no cap. */
  upload_rounds_per_sec: number | null;
  cache_budget_bytes: number;
  mdns: boolean;
  notifications: boolean;
  /** TCP and QUIC port; 0 until the node first picks one. */
  listen_port: number;
  /**
   * Minutes without use before the window locks a passphrase home (0:
   * never). Absent from an older backend, which means never.
   */
  auto_lock_minutes?: number;
}

/**
 * The settings the Settings screen edits (dto::SettingsEdit). Without
 * `auto_lock_minutes` the stored value is kept (the main form leaves it to
 * the Security section).
 */
export type SettingsEdit = Omit<Settings, 'seeding' | 'listen_port' | 'auto_lock_minutes'> & {
  auto_lock_minutes?: number;
};

/** The XDG login entry behind "Start seeding at login" (dto::Autostart). */
export interface Autostart {
  enabled: boolean;
  /** The entry's file. */
  path: string;
  /** The command of an entry that starts something else, if any. */
  other: string | null;
}

/** This install (dto::About). */
export interface About {
  version: string;
  data_dir: string;
  downloads_dir: string;
  peer_id: string;
  name: string;
}

/** What the Settings screen shows (dto::SettingsPage). */
export interface SettingsPage {
  settings: Settings;
  default_drand_urls: string[];
  min_cache_budget_bytes: number;
  about: About;
  /** `null` where the app cannot start at login (only Linux can). */
  autostart: Autostart | null;
}

/** The result of a save (dto::SavedSettings). */
export interface SavedSettings {
  settings: Settings;
  /** Changed settings that apply when the node next goes online, in words. */
  applies_later: string[];
}

/** A one-time pad imported for a contact (dto::PadImported). */
export interface PadImported {
  pad: PadStatus;
  /** Whether the given file was overwritten and deleted. */
  destroyed: boolean;
}

/** How much of a shared one-time pad is left (bytes), per direction. */
export interface PadStatus {
  pad_id: string;
  size: number;
  send_left: number;
  receive_left: number;
}

/** A paired contact (zks_node::Contact). */
export interface Contact {
  name: string;
  peer_id: string;
  /** 8 groups of 5 digits separated by spaces. */
  safety_code: string;
  verified: boolean;
  addresses: string[];
  /** `initiator` (we showed the invite) or `responder`. */
  role: string;
  pad: PadStatus | null;
}

/** A fresh invite (dto::InviteCode). */
export interface InviteCode {
  text: string;
  /** Unix time in seconds. */
  expires_at: number;
  name: string;
  /** Standalone SVG document of the QR code of `text`. */
  qr_svg: string;
}

/** The result of accepting an invite (dto::AcceptedInvite). */
export interface AcceptedInvite {
  reply_text: string;
  reply_qr_svg: string | null;
  contact: Contact;
}

/** A code as the person has it: pasted text, or a QR image as base64. Give one. */
export interface CodeInput {
  text?: string;
  image_base64?: string;
  /** Name to save the contact under (default: the name in the code). */
  as_name?: string;
}

/** One message of a conversation (dto::ChatMessage). */
export interface ChatMessage {
  id: number;
  outgoing: boolean;
  /** `grid`: post-quantum (grid pad); `pad`: one-time pad (perfect secrecy). */
  mode: 'grid' | 'pad';
  /** `text`: a chat message; `file`: a file offer (`text` is the file name;
   * its transfer is the one whose `message_id` is this `id`). */
  kind: 'text' | 'file';
  text: string;
  /** The beacon round the key is bound to (grid pad). */
  round: number | null;
  /** Outgoing only: `queued`, `delivered` or `failed`. */
  state: 'queued' | 'delivered' | 'failed' | null;
  /** The last delivery error, if any. */
  error: string | null;
  /** Unix time in seconds. */
  created_at: number;
}

/** A message accepted for sending (dto::SentMessage). */
export interface SentMessage {
  message_id: number;
  /** What protects it, in the words the UI shows. */
  protection: string;
  round: number | null;
}

/** Where a transfer is (zks_node::TransferInfo::state). */
export type TransferState =
  | 'offered'
  | 'accepted'
  | 'transferring'
  | 'paused'
  | 'completed'
  | 'declined'
  | 'cancelled'
  | 'failed';

/** A file transfer (dto::Transfer: zks_node::TransferInfo plus its label). */
export interface Transfer {
  /** 32 hex digits. */
  id: string;
  contact: string;
  outgoing: boolean;
  name: string;
  size: number;
  /** BLAKE3 of the whole file, hex. */
  blake3: string;
  /** Only `perfect_secrecy` (the one-time pad) may be called perfect secrecy. */
  protection: 'post_quantum' | 'perfect_secrecy';
  /** What protects it, in the words the UI shows (from the node). */
  protection_label: string;
  state: TransferState;
  /** Why it failed or was cancelled. */
  error: string | null;
  /** Bytes verified (receiving) or sent at least once (sending). */
  bytes_done: number;
  /** Sending: bytes sent in total, repeats included. */
  bytes_sent: number;
  /** Receiving: the final file once completed. Sending: the source file. */
  path: string | null;
  /** Unix time in seconds. */
  created_at: number;
  /** The offer's message in the conversation (ChatMessage.id), if known. */
  message_id: number | null;
}

/** Unread messages per contact name (dto::UnreadCounts): incoming chat
 * messages and file offers newer than the conversation's read mark. */
export type UnreadCounts = Record<string, number>;

export type NodeEvent =
  | { kind: 'started' }
  | { kind: 'stopping' }
  | { kind: 'message_received'; from: string }
  | { kind: 'message_delivered'; message_id: number }
  /** A pairing finished because the contact's reply arrived over the network. */
  | { kind: 'pairing_finished'; contact: string }
  | { kind: 'transfer_offered'; transfer_id: string; from: string; name: string; size: number }
  | { kind: 'transfer_progress'; transfer_id: string; bytes_done: number; size: number }
  | { kind: 'transfer_finished'; transfer_id: string; state: TransferState; error: string | null }
  /** A message reused the key or pad bytes of an earlier, different message
   * and was refused (on the receiving side), or the contact refused ours
   * for that reason (on the sending side). */
  | { kind: 'key_reuse_detected'; contact: string; detail: string };

/** Files dragged over or dropped onto the window, with their full paths. */
export type FileDrop =
  | { type: 'enter'; paths: string[] }
  | { type: 'over' }
  | { type: 'drop'; paths: string[] }
  | { type: 'leave' };

/** How a home's key is protected (zks_node::KeyProtection). */
export type KeyProtection = 'passphrase' | 'keyring';

/** Whether the home is open and how its key is protected (dto::VaultStatus). */
export interface VaultStatus {
  /** `locked`: no node runs until the Unlock screen opens the home. */
  state: 'running' | 'locked' | 'failed';
  /** While locked: `unlock` (give the passphrase) or `create` (choose one for a new home). */
  needs: 'unlock' | 'create' | null;
  /** While locked for `create`: a database of an older release, encrypted on unlock. */
  upgrade: boolean;
  protection: KeyProtection | null;
  keyring_available: boolean;
  /** The shortest passphrase a new home or a change accepts. */
  min_passphrase_chars: number;
  data_dir: string | null;
  /** Why the node did not start (`failed`). */
  error: IpcError | null;
}

/** Name of the Tauri event carrying NodeEvents (dto::NODE_EVENT). */
export const NODE_EVENT = 'node-event';

export function isIpcError(value: unknown): value is IpcError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as IpcError).code === 'string' &&
    typeof (value as IpcError).message === 'string'
  );
}

/** Normalises whatever a failed call threw into an IpcError. */
export function toIpcError(value: unknown): IpcError {
  if (isIpcError(value)) return value;
  if (value instanceof Error) return { code: 'ipc', message: value.message };
  return { code: 'ipc', message: String(value) };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toIpcError(e);
  }
}

/** Base64 (standard alphabet, padded) of bytes, for images sent over IPC. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(binary);
}

export const api = {
  nodeStatus: () => call<NodeStatus>('node_status'),
  gridStatus: () => call<GridStatus>('grid_status'),
  /** Peers, seeding and per-source counters of the process serving this home. */
  gridLive: () => call<GridLive>('grid_live'),
  /** Turns seeding on or off (stored at once; the running seeder follows). */
  seedingSet: (on: boolean) => call<Settings>('seeding_set', { on }),
  settingsGet: () => call<SettingsPage>('settings_get'),
  /** The node checks the whole edit; a bad field rejects it (`bad_input`). */
  settingsSave: (settings: SettingsEdit) => call<SavedSettings>('settings_save', { settings }),
  /** On: the login entry plus seeding on. Off: removes the entry. */
  autostartSet: (on: boolean) => call<Autostart>('autostart_set', { on }),
  /** `ttl_secs` defaults to an hour on the backend (1 minute to 7 days). */
  pairingCreateInvite: (args: { name?: string; ttl_secs?: number } = {}) =>
    call<InviteCode>('pairing_create_invite', args),
  pairingAccept: (input: CodeInput) =>
    call<AcceptedInvite>('pairing_accept', { ...input }),
  pairingFinish: (input: CodeInput) => call<Contact>('pairing_finish', { ...input }),
  contactsList: () => call<Contact[]>('contacts_list'),
  /** A given `code` must match the contact's safety code or it is refused. */
  contactsVerify: (name: string, code?: string) =>
    call<Contact>('contacts_verify', code ? { name, code } : { name }),
  /** The history with a contact, oldest first. */
  chatHistory: (contact: string) => call<ChatMessage[]>('chat_history', { contact }),
  /** Queues a message; `pad` uses the one-time pad instead of the grid pad. */
  chatSend: (contact: string, text: string, pad = false) =>
    call<SentMessage>('chat_send', { contact, text, pad }),
  /** Imports the pad file at `path` (a full path) for `contact`; `replace`
   * replaces a pad with bytes left; `destroySource` then wipes the file. */
  padImport: (contact: string, path: string, replace: boolean, destroySource: boolean) =>
    call<PadImported>('pad_import', { contact, path, replace, destroy_source: destroySource }),
  /** Unread messages per contact (every contact, zero included). */
  chatUnread: () => call<UnreadCounts>('chat_unread'),
  /** Marks a conversation read up to a message id; answers the new counts. */
  chatMarkRead: (contact: string, upTo: number) =>
    call<UnreadCounts>('chat_mark_read', { contact, up_to: upTo }),
  /** Every transfer, newest first. */
  transfersList: () => call<Transfer[]>('transfers_list'),
  /** Offers the file at `path` (a full path); `pad` uses the one-time pad. */
  fileSend: (contact: string, path: string, pad = false) =>
    call<Transfer>('file_send', { contact, path, pad }),
  /** Accepts an offered file, or resumes a paused one. */
  fileAccept: (id: string) => call<Transfer>('file_accept', { id }),
  fileDecline: (id: string) => call<Transfer>('file_decline', { id }),
  /** Pauses a file being received (resume with fileAccept). */
  filePause: (id: string) => call<Transfer>('file_pause', { id }),
  fileCancel: (id: string) => call<Transfer>('file_cancel', { id }),
  /** The folder received files land in. */
  downloadsDir: () => call<string>('downloads_dir'),
  /** Shows the downloads folder, or a transfer's file or folder, in the file manager. */
  openFolder: (path: string) => call<null>('open_folder', { path }),
  /** Whether the home is open, and how its key is protected. */
  vaultStatus: () => call<VaultStatus>('vault_status'),
  /** Opens a locked home with its passphrase (a new home: protects it with this
   * one). A wrong passphrase rejects with `wrong_passphrase` and changes nothing. */
  vaultUnlock: (passphrase: string) => call<VaultStatus>('vault_unlock', { passphrase }),
  /** Stops the node of a passphrase home and locks it. */
  vaultLock: () => call<VaultStatus>('vault_lock'),
  /** Protects the home anew, rotating its key and re-encrypting the database:
   * with `newPassphrase`, or (null) with the key kept in the OS keyring.
   * `current` is the passphrase of a passphrase home (null for a keyring
   * home). `busy` while `zks daemon` or another program has the home open;
   * `no_keyring` where there is no OS keyring to move to. */
  vaultChange: (current: string | null, newPassphrase: string | null) =>
    call<VaultStatus>('vault_change', { current, new_passphrase: newPassphrase }),
};

/**
 * Calls `handler` while files from the desktop are dragged over the window
 * and when they are dropped (Tauri's drag-drop events on this web view,
 * which carry the files' paths); resolves to a function that stops it.
 */
export async function onFileDrop(handler: (drop: FileDrop) => void): Promise<UnlistenFn> {
  return getCurrentWebview().onDragDropEvent((event) => {
    const p = event.payload;
    if (p.type === 'enter') handler({ type: 'enter', paths: [...(p.paths ?? [])] });
    else if (p.type === 'drop') handler({ type: 'drop', paths: [...(p.paths ?? [])] });
    else if (p.type === 'over') handler({ type: 'over' });
    else handler({ type: 'leave' });
  });
}

// Every part of the UI that hears node events shares one Tauri listener; it
// is dropped when the last handler goes.
const nodeEventHandlers = new Set<(event: NodeEvent) => void>();
let nodeEventListener: Promise<UnlistenFn> | null = null;

/** Calls `handler` with every NodeEvent; resolves to a function that stops it. */
export function onNodeEvent(handler: (event: NodeEvent) => void): Promise<UnlistenFn> {
  let listening = nodeEventListener;
  if (listening === null) {
    const started = listen<NodeEvent>(NODE_EVENT, (e) => {
      for (const h of [...nodeEventHandlers]) h(e.payload);
    });
    nodeEventListener = listening = started;
    started.catch(() => {
      if (nodeEventListener === started) nodeEventListener = null;
    });
  }
  const shared = listening;
  nodeEventHandlers.add(handler);
  return shared.then(
    () => {
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        nodeEventHandlers.delete(handler);
        if (nodeEventHandlers.size === 0 && nodeEventListener === shared) {
          nodeEventListener = null;
          void shared.then((unlisten) => unlisten()).catch(() => {});
        }
      };
    },
    (e: unknown) => {
      nodeEventHandlers.delete(handler);
      throw e;
    },
  );
}
