// Live list of file transfers for a screen: loaded from the node, kept
// current by node events (progress updates the bytes and the speed without
// asking the node again), and the actions on a transfer. Each screen makes
// its own feed and starts it while it is shown.
import {
  api,
  onNodeEvent,
  toIpcError,
  type IpcError,
  type NodeEvent,
  type Transfer,
} from './ipc';
import { isOpen, SpeedMeter } from './transfers';

export type TransferAction = 'accept' | 'decline' | 'pause' | 'cancel';

/** A dropped file the node refused to send. */
export interface SendFailure {
  path: string;
  name: string;
  error: IpcError;
}

/** How often the list is read again while a transfer is open (some state
 * changes, e.g. our offer being accepted, come without an event). */
const REFRESH_MS = 5000;

/** The last part of a path, for messages about a file not sent. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p !== '');
  return parts[parts.length - 1] ?? path;
}

export class TransferFeed {
  list = $state<Transfer[]>([]);
  loading = $state(true);
  /** The last failure to read the list (the list shown is the last one read). */
  error = $state<IpcError | null>(null);
  /** Transfers with an action in flight. */
  busy = $state<Record<string, boolean>>({});
  /** The last refused action, shown on its transfer. */
  actionError = $state<{ id: string; error: IpcError } | null>(null);
  /** Names of files being offered right now (the node hashes them first). */
  sending = $state<string[]>([]);
  /** Ticks every second so speeds and "stalled" stay current. */
  now = $state(Date.now());

  private meter = new SpeedMeter();
  /** Bytes done as last reported by progress events (the node stores its
   * count less often, so a list read may lag behind them). */
  private reported = new Map<string, number>();
  private reading: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  /** Reads the list again (one read at a time; a request during a read runs after it). */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          await this.readOnce();
        } while (this.again && !this.stopped);
      } finally {
        // In the same step as the last check of `again`, so no request is lost.
        this.reading = null;
      }
    })();
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    try {
      const list: unknown = await api.transfersList();
      if (!Array.isArray(list)) {
        throw new Error('the node answered with something other than a list');
      }
      if (this.stopped) return;
      this.list = (list as Transfer[]).map((t) => {
        const seen = this.reported.get(t.id);
        return seen !== undefined && isOpen(t) && seen > t.bytes_done
          ? { ...t, bytes_done: Math.min(seen, t.size) }
          : t;
      });
      this.error = null;
    } catch (e) {
      if (!this.stopped) this.error = toIpcError(e);
    } finally {
      this.loading = false;
    }
  }

  /** Bytes per second of a transfer (null while it is being measured). */
  speed(id: string): number | null {
    return this.meter.speed(id, this.now);
  }

  /** Applies a node event; returns whether it was about transfers. */
  handle(event: NodeEvent): boolean {
    switch (event.kind) {
      case 'transfer_offered':
        void this.refresh();
        return true;
      case 'transfer_progress': {
        const at = Date.now();
        this.meter.record(event.transfer_id, event.bytes_done, at);
        this.reported.set(event.transfer_id, event.bytes_done);
        this.now = at;
        const t = this.list.find((x) => x.id === event.transfer_id);
        if (!t) {
          void this.refresh();
          return true;
        }
        t.bytes_done = event.bytes_done;
        // Bytes moving on something not shown as moving: ask for its state.
        if (t.state !== 'transferring') void this.refresh();
        return true;
      }
      case 'transfer_finished':
        this.meter.forget(event.transfer_id);
        this.reported.delete(event.transfer_id);
        void this.refresh();
        return true;
      case 'transfer_opened':
        // A timelocked file reached its round: it is a file now.
        void this.refresh();
        return true;
      default:
        return false;
    }
  }

  /** Accepts (or resumes), declines, pauses or cancels a transfer. */
  async act(action: TransferAction, id: string): Promise<void> {
    if (this.busy[id]) return;
    this.busy[id] = true;
    if (this.actionError?.id === id) this.actionError = null;
    try {
      const call = {
        accept: api.fileAccept,
        decline: api.fileDecline,
        pause: api.filePause,
        cancel: api.fileCancel,
      }[action];
      const updated = await call(id);
      if (updated && typeof updated === 'object' && updated.id === id) {
        this.list = this.list.map((t) => (t.id === id ? updated : t));
      }
    } catch (e) {
      this.actionError = { id, error: toIpcError(e) };
    } finally {
      delete this.busy[id];
    }
    await this.refresh();
  }

  /** Offers each file to `contact`, one after the other (each timelocked to
   * `openAt`, Unix seconds, when given); returns those refused. */
  async sendFiles(
    contact: string,
    paths: string[],
    pad: boolean,
    openAt: number | null = null,
  ): Promise<SendFailure[]> {
    const failures: SendFailure[] = [];
    for (const path of paths) {
      const name = baseName(path);
      this.sending = [...this.sending, name];
      try {
        await api.fileSend(contact, path, pad, openAt);
      } catch (e) {
        failures.push({ path, name, error: toIpcError(e) });
      } finally {
        const i = this.sending.indexOf(name);
        if (i >= 0) this.sending = this.sending.filter((_, j) => j !== i);
      }
      void this.refresh();
    }
    await this.refresh();
    return failures;
  }

  /** Loads the list and follows it; returns a function that stops. */
  start(): () => void {
    this.stopped = false;
    void this.refresh();
    let unlisten: (() => void) | null = null;
    onNodeEvent((event) => this.handle(event))
      .then((fn) => (this.stopped ? fn() : (unlisten = fn)))
      .catch(() => {
        // No event channel (e.g. a plain browser): the timer still refreshes.
      });
    const tick = setInterval(() => (this.now = Date.now()), 1000);
    const poll = setInterval(() => {
      if (this.list.some(isOpen)) void this.refresh();
    }, REFRESH_MS);
    return () => {
      this.stopped = true;
      clearInterval(tick);
      clearInterval(poll);
      unlisten?.();
    };
  }
}
