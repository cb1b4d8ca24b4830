// Unread counts per conversation, shared by the sidebar and the Chat screen.
// The counts come from the backend (chat_unread), which compares each
// conversation with its read mark; the marks live in the home
// (desktop-state.json), so a restart keeps the counts. They are read again
// when a message arrives, and a conversation shown in the window is marked
// read (chat_mark_read). What counts as unread is decided there, not here.
import { api, onNodeEvent, toIpcError, type IpcError, type UnreadCounts } from './ipc';

export class UnreadState {
  /** Per contact name, as the backend last answered. */
  counts = $state<UnreadCounts>({});
  /** The last failure to read or mark (the counts shown are the last ones read). */
  error = $state<IpcError | null>(null);
  /** The conversation on screen right now: it counts as read while shown,
   * even before its mark has been stored. */
  viewing = $state<string | null>(null);

  /** Requests run one after the other, so an older answer never replaces a newer one. */
  private queue: Promise<void> = Promise.resolve();
  /** The last mark asked for, per contact (to skip asking again for nothing new). */
  private marked = new Map<string, number>();

  /** Unread messages with `contact` as shown (0 for the conversation on screen). */
  count(contact: string): number {
    if (contact === this.viewing) return 0;
    const n = this.counts[contact];
    return typeof n === 'number' && n > 0 ? n : 0;
  }

  /** Unread messages in every conversation, as shown. */
  get total(): number {
    return Object.keys(this.counts).reduce((sum, name) => sum + this.count(name), 0);
  }

  private enqueue(request: () => Promise<UnreadCounts>): Promise<void> {
    const next = this.queue.then(async () => {
      try {
        const counts: unknown = await request();
        if (typeof counts !== 'object' || counts === null || Array.isArray(counts)) {
          throw new Error('the node answered with something other than counts');
        }
        this.counts = counts as UnreadCounts;
        this.error = null;
      } catch (e) {
        this.error = toIpcError(e);
      }
    });
    this.queue = next;
    return next;
  }

  /** Reads the counts again. */
  refresh(): Promise<void> {
    return this.enqueue(() => api.chatUnread());
  }

  /**
   * Marks the conversation with `contact` read up to message `upTo` (the
   * newest one shown). Nothing is asked when that was marked already and
   * nothing is unread there.
   */
  markRead(contact: string, upTo: number): Promise<void> {
    const before = this.marked.get(contact);
    if (before !== undefined && before >= upTo && !(this.counts[contact] > 0)) return this.queue;
    this.marked.set(contact, Math.max(before ?? upTo, upTo));
    return this.enqueue(() => api.chatMarkRead(contact, upTo));
  }

  private users = 0;
  private stopFollowing: (() => void) | null = null;

  /**
   * Loads the counts and follows new messages; returns a function that
   * stops. The sidebar and the Chat screen both start it: the first start
   * loads (from scratch), the last stop stops.
   */
  start(): () => void {
    this.users += 1;
    if (this.users === 1) this.stopFollowing = this.follow();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.users -= 1;
      if (this.users === 0) {
        this.stopFollowing?.();
        this.stopFollowing = null;
      }
    };
  }

  private follow(): () => void {
    this.counts = {};
    this.error = null;
    this.viewing = null;
    this.marked.clear();
    let stopped = false;
    let unlisten: (() => void) | null = null;
    void this.refresh();
    onNodeEvent((event) => {
      if (
        event.kind === 'message_received' ||
        event.kind === 'conversation_synced' ||
        event.kind === 'pairing_finished' ||
        event.kind === 'started'
      ) {
        void this.refresh();
      }
    })
      .then((fn) => (stopped ? fn() : (unlisten = fn)))
      .catch(() => {
        // No event channel (e.g. a plain browser): counts change on marking only.
      });
    return () => {
      stopped = true;
      unlisten?.();
    };
  }
}

export const unread = new UnreadState();
