// The node's place in the networks, in words: the public network (Amino
// DHT), grid peers, reachability, relay slots, and how each contact is
// connected. Pure functions of the node's `NetworkStatus`, shared by the Grid
// screen, the Settings screen and the chat header.
import type { NetworkStatus } from './ipc';

/** A peer id cut to its first 8 and last 6 characters (`12D3KooW…a1b2c3`);
 * a short one is left whole. */
export function shortPeerId(id: string): string {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id;
}

function peers(n: number): string {
  return `${n.toLocaleString('en-US')} peer${n === 1 ? '' : 's'}`;
}

/**
 * Where the node stands on the public network, in one line.
 *
 * `bootstrapPeers` is the stored bootstrap list's length: with none the
 * node never joins the public network (a private grid), whatever the DHT
 * reports. `network` is `null` while no process of this home is online.
 */
export function publicNetworkLine(network: NetworkStatus | null, bootstrapPeers: number): string {
  if (bootstrapPeers === 0) return 'Private grid — no bootstrap peers';
  if (!network) return 'Not online';
  if (network.dht_peers === 0) return 'Not connected yet';
  return `Public network (Amino DHT): ${network.dht_mode || 'client'}, ${peers(network.dht_peers)}`;
}

/** AutoNAT's verdict in plain words. */
export function reachabilityLine(nat: string): string {
  switch (nat) {
    case 'public':
      return 'public';
    case 'private':
      return 'behind NAT';
    default:
      return 'checking…';
  }
}

/** The relays the node holds a slot on, by short peer id. */
export function relaysLine(relays: string[]): string {
  return relays.length === 0 ? 'none' : `on ${relays.map(shortPeerId).join(', ')}`;
}

/**
 * How a contact is connected, as a small label: `direct`, `relayed via
 * <short relay id>`, or `null` when it is not connected (or unknown).
 */
export function contactPathLabel(path: string | undefined | null): string | null {
  if (!path) return null;
  if (path === 'direct') return 'direct';
  const relayed = /^relayed via (\S+)$/.exec(path);
  if (relayed) return `relayed via ${shortPeerId(relayed[1])}`;
  return null;
}

/**
 * The Settings screen's line: as [`publicNetworkLine`] for the stored
 * bootstrap list, but a node still on the public network after its list was
 * emptied says so (the list applies when the node next goes online), and a
 * node on the DHT adds its reachability.
 */
export function settingsNetworkLine(network: NetworkStatus | null, bootstrapPeers: number): string {
  const onDht = network !== null && network.dht_peers > 0;
  if (bootstrapPeers === 0 && onDht) {
    return `${publicNetworkLine(network, 1)} — a private grid from the next start`;
  }
  const line = publicNetworkLine(network, bootstrapPeers);
  return onDht && bootstrapPeers > 0 ? `${line} · reachability: ${reachabilityLine(network.nat)}` : line;
}
