import { describe, expect, it } from 'vitest';
import type { NetworkStatus } from './ipc';
import {
  contactPathLabel,
  publicNetworkLine,
  reachabilityLine,
  relaysLine,
  settingsNetworkLine,
  shortPeerId,
} from './network';

const RELAY = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';
const OTHER = 'QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN';

function network(over: Partial<NetworkStatus> = {}): NetworkStatus {
  return {
    dht_mode: 'client',
    dht_peers: 23,
    grid_peers: 2,
    connected: 25,
    nat: 'unknown',
    relays: [],
    grid_member: false,
    ...over,
  };
}

describe('shortPeerId', () => {
  it('keeps the first 8 and the last 6 characters of a long id', () => {
    expect(shortPeerId(RELAY)).toBe('12D3KooW…x6nXTN');
    expect(shortPeerId(OTHER)).toBe('QmNnooDu…ezGAJN');
  });

  it('leaves an id of 16 characters or fewer whole', () => {
    expect(shortPeerId('')).toBe('');
    expect(shortPeerId('abc')).toBe('abc');
    expect(shortPeerId('0123456789abcdef')).toBe('0123456789abcdef');
    expect(shortPeerId('0123456789abcdefg')).toBe('01234567…bcdefg');
  });
});

describe('publicNetworkLine', () => {
  it('names the DHT mode and counts its peers', () => {
    expect(publicNetworkLine(network(), 4)).toBe('Public network (Amino DHT): client, 23 peers');
    expect(publicNetworkLine(network({ dht_mode: 'server', dht_peers: 1 }), 4)).toBe(
      'Public network (Amino DHT): server, 1 peer',
    );
    expect(publicNetworkLine(network({ dht_peers: 1234 }), 1)).toBe(
      'Public network (Amino DHT): client, 1,234 peers',
    );
  });

  it('says a grid without bootstrap peers is private, online or not', () => {
    expect(publicNetworkLine(network(), 0)).toBe('Private grid — no bootstrap peers');
    expect(publicNetworkLine(network({ dht_peers: 0 }), 0)).toBe(
      'Private grid — no bootstrap peers',
    );
    expect(publicNetworkLine(null, 0)).toBe('Private grid — no bootstrap peers');
  });

  it('says when the DHT has nobody yet, or the node is not online', () => {
    expect(publicNetworkLine(network({ dht_peers: 0 }), 3)).toBe('Not connected yet');
    expect(publicNetworkLine(null, 3)).toBe('Not online');
  });
});

describe('reachabilityLine', () => {
  it("words AutoNAT's verdicts", () => {
    expect(reachabilityLine('public')).toBe('public');
    expect(reachabilityLine('private')).toBe('behind NAT');
    expect(reachabilityLine('unknown')).toBe('checking…');
    expect(reachabilityLine('')).toBe('checking…');
  });
});

describe('relaysLine', () => {
  it('lists the relays by short id, or says there are none', () => {
    expect(relaysLine([])).toBe('none');
    expect(relaysLine([RELAY])).toBe('on 12D3KooW…x6nXTN');
    expect(relaysLine([RELAY, OTHER])).toBe('on 12D3KooW…x6nXTN, QmNnooDu…ezGAJN');
  });
});

describe('contactPathLabel', () => {
  it('labels a direct and a relayed contact', () => {
    expect(contactPathLabel('direct')).toBe('direct');
    expect(contactPathLabel(`relayed via ${RELAY}`)).toBe('relayed via 12D3KooW…x6nXTN');
  });

  it('has no label for a contact that is not connected or unknown', () => {
    expect(contactPathLabel('not connected')).toBeNull();
    expect(contactPathLabel(undefined)).toBeNull();
    expect(contactPathLabel(null)).toBeNull();
    expect(contactPathLabel('')).toBeNull();
    expect(contactPathLabel('relayed via ')).toBeNull();
    expect(contactPathLabel('something else')).toBeNull();
  });
});

describe('settingsNetworkLine', () => {
  it('adds reachability on the DHT', () => {
    expect(settingsNetworkLine(network({ nat: 'private' }), 2)).toBe(
      'Public network (Amino DHT): client, 23 peers · reachability: behind NAT',
    );
  });

  it('says the same as the Grid screen off the DHT', () => {
    expect(settingsNetworkLine(network({ dht_peers: 0 }), 2)).toBe('Not connected yet');
    expect(settingsNetworkLine(null, 2)).toBe('Not online');
    expect(settingsNetworkLine(null, 0)).toBe('Private grid — no bootstrap peers');
    expect(settingsNetworkLine(network({ dht_peers: 0 }), 0)).toBe(
      'Private grid — no bootstrap peers',
    );
  });

  it('a list just emptied is private from the next start, not yet', () => {
    expect(settingsNetworkLine(network(), 0)).toBe(
      'Public network (Amino DHT): client, 23 peers — a private grid from the next start',
    );
  });
});
