// Live node status shared by the shell and the screens: refreshed on a timer
// and whenever the node announces something.
import { api, onNodeEvent, toIpcError, type IpcError, type NodeStatus } from './ipc';

const REFRESH_MS = 5000;

class NodeStatusState {
  status = $state<NodeStatus | null>(null);
  error = $state<IpcError | null>(null);
  loading = $state(true);

  async refresh(): Promise<void> {
    try {
      this.status = await api.nodeStatus();
      this.error = null;
    } catch (e) {
      this.error = toIpcError(e);
    } finally {
      this.loading = false;
    }
  }

  /** Starts refreshing; returns a function that stops it. */
  start(): () => void {
    this.status = null;
    this.error = null;
    this.loading = true;
    void this.refresh();
    const timer = setInterval(() => void this.refresh(), REFRESH_MS);
    let unlisten: (() => void) | null = null;
    let stopped = false;
    onNodeEvent(() => void this.refresh())
      .then((fn) => (stopped ? fn() : (unlisten = fn)))
      .catch(() => {
        // No event channel (e.g. a plain browser): the timer still refreshes.
      });
    return () => {
      stopped = true;
      clearInterval(timer);
      unlisten?.();
    };
  }
}

export const nodeStatus = new NodeStatusState();
