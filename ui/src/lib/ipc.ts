// The typed boundary to the Rust side: every command the UI calls and every
// event it hears. The data types are generated from the Rust types into
// ./bindings/ (src-tauri/src/bindings.rs; regenerate with
// `ZKS_WRITE_BINDINGS=1 cargo test -p zks-desktop ipc_bindings_are_current`)
// and re-exported here; this file keeps the invoke wrappers and the few
// shapes that are not Rust types.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import type { AcceptedInvite } from './bindings/AcceptedInvite';
import type { Autostart } from './bindings/Autostart';
import type { ChatMessage } from './bindings/ChatMessage';
import type { Contact } from './bindings/Contact';
import type { DeviceInfo } from './bindings/DeviceInfo';
import type { DevicesView } from './bindings/DevicesView';
import type { DisplayName } from './bindings/DisplayName';
import type { GridLive } from './bindings/GridLive';
import type { GridStatus } from './bindings/GridStatus';
import type { GroupInfo } from './bindings/GroupInfo';
import type { GroupMessage } from './bindings/GroupMessage';
import type { HistoryProgress } from './bindings/HistoryProgress';
import type { HistoryReport } from './bindings/HistoryReport';
import type { InviteCode } from './bindings/InviteCode';
import type { IpcError } from './bindings/IpcError';
import type { NodeEvent } from './bindings/NodeEvent';
import type { NodeStatus } from './bindings/NodeStatus';
import type { PadImported } from './bindings/PadImported';
import type { PinnedRange } from './bindings/PinnedRange';
import type { SavedSettings } from './bindings/SavedSettings';
import type { SearchHit } from './bindings/SearchHit';
import type { SentMessage } from './bindings/SentMessage';
import type { Settings } from './bindings/Settings';
import type { SettingsEdit } from './bindings/SettingsEdit';
import type { SettingsPage } from './bindings/SettingsPage';
import type { Transfer } from './bindings/Transfer';
import type { VaultStatus } from './bindings/VaultStatus';

export type { About } from './bindings/About';
export type { ChainCoverage } from './bindings/ChainCoverage';
export type { DatabaseStatus } from './bindings/DatabaseStatus';
export type { GroupDelivery } from './bindings/GroupDelivery';
export type { GroupMember } from './bindings/GroupMember';
export type { GroupQuote } from './bindings/GroupQuote';
export type { GroupReactionInfo } from './bindings/GroupReactionInfo';
export type { KeyProtection } from './bindings/KeyProtection';
export type { LiveGrid } from './bindings/LiveGrid';
export type { NetworkStatus } from './bindings/NetworkStatus';
export type { MessageReaction } from './bindings/MessageReaction';
export type { PadStatus } from './bindings/PadStatus';
export type { Protection } from './bindings/Protection';
export type { Quote } from './bindings/Quote';
export type { SeedStatus } from './bindings/SeedStatus';
export type { SourceStats } from './bindings/SourceStats';
export type { TransferState } from './bindings/TransferState';
export type {
  AcceptedInvite,
  Autostart,
  ChatMessage,
  Contact,
  DeviceInfo,
  DevicesView,
  DisplayName,
  GridLive,
  GridStatus,
  GroupInfo,
  GroupMessage,
  HistoryProgress,
  HistoryReport,
  InviteCode,
  IpcError,
  NodeEvent,
  NodeStatus,
  PadImported,
  PinnedRange,
  SavedSettings,
  SearchHit,
  SentMessage,
  Settings,
  SettingsEdit,
  SettingsPage,
  Transfer,
  VaultStatus,
};

/** Unread messages per contact name (dto::UnreadCounts, a Rust type alias):
 * incoming chat messages and file offers newer than the conversation's read
 * mark. */
export type UnreadCounts = Record<string, number>;

/** A code as the person has it: pasted text, or a QR image as base64. Give one.
 * (The arguments of `pairing_accept` and `pairing_finish`.) */
export interface CodeInput {
  text?: string;
  image_base64?: string;
  /** Name to save the contact under (default: the name in the code). */
  as_name?: string;
}

/** A link code as the person has it (the arguments of `join_device`):
 * pasted text, or a QR image as base64. Give one. */
export interface LinkCodeInput {
  code?: string;
  image_base64?: string;
}

/** Files dragged over or dropped onto the window, with their full paths. */
export type FileDrop =
  | { type: 'enter'; paths: string[] }
  | { type: 'over' }
  | { type: 'drop'; paths: string[] }
  | { type: 'leave' };

/** Name of the Tauri event carrying NodeEvents (dto::NODE_EVENT). */
export const NODE_EVENT = 'node-event';

/** Name of the Tauri event carrying a history fetch's progress (dto::HISTORY_EVENT). */
export const HISTORY_EVENT = 'history-progress';

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
  /** Fetches rounds `from..=to` of `chain` (pinned if `pin`); resolves when done
   * or cancelled, with progress meanwhile as HISTORY_EVENT. A bad request
   * rejects with `bad_input` before anything starts; `busy` while one runs. */
  historyFetch: (chain: string, from: number, to: number, pin: boolean) =>
    call<HistoryReport>('history_fetch', { chain, from, to, pin }),
  /** Stops the running history fetch; false if none runs. */
  historyCancel: () => call<boolean>('history_cancel'),
  /** The ranges pinned in the beacon cache. */
  historyPins: () => call<PinnedRange[]>('history_pins'),
  /** Unpins a range; answers the pinned ranges left. */
  historyUnpin: (chain: string, from: number, to: number) =>
    call<PinnedRange[]>('history_unpin', { chain, from, to }),
  settingsGet: () => call<SettingsPage>('settings_get'),
  /** The node checks the whole edit; a bad field rejects it (`bad_input`). */
  settingsSave: (settings: SettingsEdit) => call<SavedSettings>('settings_save', { settings }),
  /** On: the login entry plus seeding on. Off: removes the entry. */
  autostartSet: (on: boolean) => call<Autostart>('autostart_set', { on }),
  /** `ttl_secs` defaults to an hour on the backend (1 minute to 7 days). */
  pairingCreateInvite: (args: { name?: string; ttl_secs?: number } = {}) =>
    call<InviteCode>('pairing_create_invite', args),
  /** Reads a QR code in a greyscale camera frame (one byte a pixel):
   * its text, or null when the frame shows none yet. */
  pairingScanFrame: (width: number, height: number, lumaBase64: string) =>
    call<string | null>('pairing_scan_frame', { width, height, luma_base64: lumaBase64 }),
  pairingAccept: (input: CodeInput) =>
    call<AcceptedInvite>('pairing_accept', { ...input }),
  pairingFinish: (input: CodeInput) => call<Contact>('pairing_finish', { ...input }),
  contactsList: () => call<Contact[]>('contacts_list'),
  /** Marks a contact verified after the comparison: the `code` their device
   * shows (refused unless it matches), or `compared`, the person's word that
   * they compared all 40 digits. Neither: refused (`bad_input`). */
  contactsVerify: (name: string, proof: { code: string } | { compared: true }) =>
    call<Contact>('contacts_verify', { name, ...proof }),
  /** The name contacts see in our invites and replies, and whether it was chosen. */
  identityNameGet: () => call<DisplayName>('identity_name_get'),
  /** Chooses that name (trimmed, 1–64 characters, no control characters;
   * `bad_input` otherwise). */
  identityNameSet: (name: string) => call<DisplayName>('identity_name_set', { name }),
  /** The history with a contact, oldest first. */
  chatHistory: (contact: string) => call<ChatMessage[]>('chat_history', { contact }),
  /** Messages holding every word of `text` (the last may be half typed),
   * newest first; with `contact`, only that conversation. */
  chatSearch: (text: string, contact: string | null = null) =>
    call<SearchHit[]>('chat_search', { text, contact }),
  /** Queues a message; `pad` uses the one-time pad instead of the grid pad;
   * `replyTo` quotes that message of the conversation; `openAt` (Unix
   * seconds) timelocks the text to the drand round of that time, so the
   * contact can read it only from then (`bad_input` for a time passed or
   * more than 10 years ahead). */
  chatSend: (
    contact: string,
    text: string,
    pad = false,
    replyTo: number | null = null,
    openAt: number | null = null,
  ) => call<SentMessage>('chat_send', { contact, text, pad, reply_to: replyTo, open_at: openAt }),
  /** Sets our reaction to a message; `null` takes it back. */
  chatReact: (messageId: number, emoji: string | null) =>
    call<SentMessage>('chat_react', { message_id: messageId, emoji }),
  /** Replaces the text of our message (sent less than 24 h ago) on both sides. */
  chatEdit: (messageId: number, text: string) =>
    call<SentMessage>('chat_edit', { message_id: messageId, text }),
  /** Deletes a message here, or ours for everyone (sent less than 24 h ago). */
  chatDelete: (messageId: number, forEveryone: boolean) =>
    call<SentMessage | null>('chat_delete', { message_id: messageId, for_everyone: forEveryone }),
  /** Sets the conversation's disappearing-messages timer (seconds, 0 = off). */
  chatSetTimer: (contact: string, secs: number) =>
    call<SentMessage>('chat_set_timer', { contact, secs }),
  /** Imports the pad file at `path` (a full path) for `contact`; `replace`
   * replaces a pad with bytes left; `destroySource` then wipes the file. */
  padImport: (contact: string, path: string, replace: boolean, destroySource: boolean) =>
    call<PadImported>('pad_import', { contact, path, replace, destroy_source: destroySource }),
  /** Unread messages per contact (every contact, zero included). */
  chatUnread: () => call<UnreadCounts>('chat_unread'),
  /** Marks a conversation read up to a message id; answers the new counts. */
  chatMarkRead: (contact: string, upTo: number) =>
    call<UnreadCounts>('chat_mark_read', { contact, up_to: upTo }),
  /** Every group we are or were in, newest first. */
  groupsList: () => call<GroupInfo[]>('groups_list'),
  /** One group, by name or hex id. */
  groupGet: (group: string) => call<GroupInfo>('group_get', { group }),
  /** Creates a group with these contacts (we are its first admin; at most 49 others). */
  groupCreate: (name: string, members: string[]) =>
    call<GroupInfo>('group_create', { name, members }),
  /** Adds a contact to the group (admins only). */
  groupAdd: (group: string, contact: string) => call<GroupInfo>('group_add', { group, contact }),
  /** Removes a member from the group (admins only). */
  groupRemove: (group: string, member: string) => call<GroupInfo>('group_remove', { group, member }),
  /** Renames the group (admins only). */
  groupRename: (group: string, name: string) => call<GroupInfo>('group_rename', { group, name }),
  /** Makes a member an admin (admins only). */
  groupAdmin: (group: string, member: string) => call<GroupInfo>('group_admin', { group, member }),
  /** Leaves the group; its history stays, read only. */
  groupLeave: (group: string) => call<GroupInfo>('group_leave', { group }),
  /** Sends a text to every member (one pairwise copy each, pad or grid);
   * `replyTo` quotes that message of the group. */
  groupSend: (group: string, text: string, replyTo: number | null = null) =>
    call<GroupMessage>('group_send', { group, text, reply_to: replyTo }),
  /** The group's messages, oldest first, with each copy's delivery state on ours. */
  groupMessages: (group: string) => call<GroupMessage[]>('group_messages', { group }),
  /** Sets our reaction to a group message for every member (`null` takes it back). */
  groupReact: (messageId: number, emoji: string | null) =>
    call<GroupMessage>('group_react', { message_id: messageId, emoji }),
  /** Replaces the text of our group message (sent less than 24 h ago) at every member. */
  groupEdit: (messageId: number, text: string) =>
    call<GroupMessage>('group_edit', { message_id: messageId, text }),
  /** Deletes our group message (sent less than 24 h ago) for every member. */
  groupDelete: (messageId: number) => call<GroupMessage>('group_delete', { message_id: messageId }),
  /** This device's place among our devices (`primary`, `linked`, `joining`
   * or `unlinked`), and the devices, the primary first. */
  devices: () => call<DevicesView>('devices'),
  /** On the primary: a code that links a new device (the full code and its
   * QR code; no small link code). `ttl_secs` defaults to 10 minutes on the
   * backend (1 minute to 1 day). `bad_input` on a linked device, with 8
   * devices already, or while this device is offline. */
  linkDevice: (ttlSecs?: number) =>
    call<InviteCode>('link_device', ttlSecs === undefined ? {} : { ttl_secs: ttlSecs }),
  /** On a new home (no contacts): joins the person whose primary made the
   * link code, as the device `name`; then waits for the primary to confirm. */
  joinDevice: (input: LinkCodeInput, name: string) =>
    call<DevicesView>('join_device', { ...input, name }),
  /** On the primary: confirms the device `id` that joined (any unique prefix
   * of 4 hex digits or more), after the safety codes were compared. */
  confirmDevice: (id: string) => call<DevicesView>('confirm_device', { id }),
  /** On the primary: unlinks the device `id`, or refuses one that joined. */
  removeDevice: (id: string) => call<DevicesView>('remove_device', { id }),
  /** Every transfer, newest first. */
  transfersList: () => call<Transfer[]>('transfers_list'),
  /** Offers the file at `path` (a full path); `pad` uses the one-time pad;
   * `openAt` (Unix seconds) timelocks the file to the drand round of that
   * time first ("deliver now, open at…"), so it opens for the contact then. */
  fileSend: (contact: string, path: string, pad = false, openAt: number | null = null) =>
    call<Transfer>('file_send', { contact, path, pad, open_at: openAt }),
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

/** Calls `handler` with each HistoryProgress; resolves to a function that stops it. */
export function onHistoryProgress(handler: (p: HistoryProgress) => void): Promise<UnlistenFn> {
  return listen<HistoryProgress>(HISTORY_EVENT, (e) => handler(e.payload));
}
