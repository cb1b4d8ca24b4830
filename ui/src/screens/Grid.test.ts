import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import Grid from './Grid.svelte';
import type {
  GridLive,
  GridStatus,
  HistoryReport,
  IpcError,
  LiveGrid,
  PinnedRange,
  Settings,
  SourceStats,
} from '../lib/ipc';

const QUICKNET = '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971';
const DEFAULT = '8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce';
const C = 16384;
const GiB = 1024 * 1024 * 1024;

const full: GridStatus = {
  cache_dir: '/tmp/home/cache',
  cache_bytes: 5 * 1024 * 1024 + 512 * 1024,
  chains: [
    {
      name: 'quicknet',
      hash: QUICKNET,
      head: 10 * C,
      period: 3,
      rounds: 4 * C + 5000,
      chunks: [
        [0, C],
        [1, C],
        [2, C],
        [3, C],
        [4, 5000],
      ],
    },
    { name: 'default', hash: DEFAULT, head: 200, period: 30, rounds: 0, chunks: [] },
  ],
};

const empty: GridStatus = {
  cache_dir: '/tmp/home/cache',
  cache_bytes: 0,
  chains: full.chains.map((c) => ({ ...c, rounds: 0, chunks: [] })),
};

const offline: GridLive = {
  live: null,
  served_by: null,
  pid: null,
  addresses: [],
  seeding: false,
  upload_rounds_per_sec: null,
  cache_budget_bytes: 4 * GiB,
  bootstrap_peers: 1,
};

const RELAY = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN';

function stats(rounds: number, failures = 0): SourceStats {
  return { rounds, failures, millis: 0 };
}

/** The app's own grid at node time `at`, with the given cumulative counters. */
function online(at: number, counters: Record<string, number>, over: Partial<LiveGrid> = {}): GridLive {
  return {
    live: {
      peers: 3,
      seeding: { enabled: true, passes: 12, last_pass_at: at - 2, last_error: null },
      sources: Object.fromEntries(Object.entries(counters).map(([k, n]) => [k, stats(n)])),
      network: {
        dht_mode: 'client',
        dht_peers: 23,
        grid_peers: 2,
        connected: 25,
        nat: 'unknown',
        relays: [],
        grid_member: false,
      },
      contacts: {},
      at,
      ...over,
    },
    served_by: 'app',
    pid: 4242,
    addresses: ['/ip4/127.0.0.1/tcp/40123/p2p/12D3KooWSelf'],
    seeding: true,
    upload_rounds_per_sec: 5000,
    cache_budget_bytes: 64 * 1024 * 1024,
    bootstrap_peers: 1,
  };
}

type Answer<T> = T | IpcError;

/**
 * Mocks the backend: grid_status and grid_live give their answers in turn
 * (the last one repeats); seeding_set answers with `seeding`. Records calls.
 */
function backend(opts: {
  status?: Answer<GridStatus>[];
  live?: Answer<GridLive>[];
  seeding?: (on: boolean) => Answer<Settings>;
  history?: (args: Record<string, unknown>) => Promise<HistoryReport> | IpcError;
}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  const status = opts.status ?? [full];
  const live = opts.live ?? [offline];
  const count = (cmd: string) => calls.filter((c) => c.cmd === cmd).length;
  const pick = <T>(list: Answer<T>[], n: number): T => {
    const answer = list[Math.min(n, list.length) - 1];
    if (typeof answer === 'object' && answer !== null && 'code' in answer) throw answer;
    return answer as T;
  };
  /** The switch as stored by seeding_set, which grid_live then reports. */
  let stored: boolean | null = null;
  let pinned: PinnedRange[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    if (cmd === 'grid_status') return pick(status, count(cmd));
    if (cmd === 'grid_live') {
      const answer = pick(live, count(cmd));
      return stored === null ? answer : { ...answer, seeding: stored };
    }
    if (cmd === 'history_pins') return pinned;
    if (cmd === 'history_unpin') {
      const a = args as { from: number; to: number };
      pinned = pinned.filter((p) => p.from !== a.from || p.to !== a.to);
      return pinned;
    }
    if (cmd === 'history_cancel') return true;
    if (cmd === 'history_fetch' && opts.history) {
      const a = args as Record<string, unknown>;
      const answer = opts.history(a);
      if ('code' in answer) throw answer;
      return answer.then((r) => {
        if (r.pinned) {
          pinned = [
            ...pinned,
            { chain: r.chain, hash: QUICKNET, from: r.from, to: r.to, held: r.held, bytes: 788592 },
          ];
        }
        return r;
      });
    }
    if (cmd === 'plugin:event|listen') return 1;
    if (cmd === 'plugin:event|unlisten') return null;
    if (cmd === 'seeding_set' && opts.seeding) {
      const answer = opts.seeding((args as { on: boolean }).on);
      if ('code' in answer) throw answer;
      stored = answer.seeding;
      return answer;
    }
    throw { code: 'unexpected', message: `unexpected ${cmd}` };
  });
  return {
    calls,
    of: (cmd: string) => calls.filter((c) => c.cmd === cmd),
  };
}

function settings(seeding: boolean): Settings {
  return {
    seeding,
    chains: ['quicknet'],
    bootstrap: [],
    drand_urls: [],
    gateways: [],
    upload_rounds_per_sec: null,
    cache_budget_bytes: 4 * GiB,
    mdns: true,
    notifications: true,
    listen_port: 0,
    auto_lock_minutes: 0,
    mailbox_cap_mb: 1024,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Grid', () => {
  it('shows loading, then one card per chain with its coverage', async () => {
    backend({ status: [full] });
    render(Grid);
    expect(screen.getByText('Loading the grid…')).toBeTruthy();

    const quicknet = await screen.findByRole('article', { name: /quicknet/ });
    expect(screen.queryByText('Loading the grid…')).toBeNull();
    expect(quicknet.textContent).toMatch(/70,536 of 163,840 rounds held \(43\.0%\)/);
    expect(within(quicknet).getByText('52db9ba7…84e971')).toBeTruthy();
    const strip = within(quicknet).getByRole('img', {
      name: 'Coverage of quicknet, rounds 1 to 163,840: chunks 0–3 complete, chunk 4 partly held (5,000 of 16,384 rounds).',
    });
    // 163,840 rounds in 400 bins: chunks 0–3 fill 160 bins, chunk 4 shades 40 more.
    const bins = strip.querySelectorAll('rect.bin');
    expect(bins).toHaveLength(200);
    expect(bins[0].getAttribute('data-fraction')).toBe('1.0000');
    expect(bins[199].getAttribute('data-fraction')).toBe((5000 / C).toFixed(4));

    const other = screen.getByRole('article', { name: /default/ });
    expect(other.textContent).toMatch(/0 of 200 rounds held \(0%\)/);
    expect(within(other).getByRole('img').querySelectorAll('rect.bin')).toHaveLength(0);
    expect(within(other).getByRole('img', { name: /no rounds held/ })).toBeTruthy();

    const cache = screen.getByRole('region', { name: 'Beacon cache' });
    expect(within(cache).getAllByText('5.5 MiB').length).toBeGreaterThan(0);
    expect(within(cache).getByText('/tmp/home/cache')).toBeTruthy();
    expect(screen.queryByText('No rounds held yet.')).toBeNull();
  });

  it('explains how to fill an empty cache', async () => {
    backend({ status: [empty] });
    render(Grid);
    expect(await screen.findByText('No rounds held yet.')).toBeTruthy();
    expect(screen.getByText(/Turn seeding on to follow the chains/)).toBeTruthy();
    // The app does it itself: no command to run is shown.
    expect(screen.getByRole('link', { name: 'Fetch history' })).toBeTruthy();
    expect(document.body.textContent).not.toMatch(/zks fetch|command line/);
    expect(screen.getByRole('region', { name: 'Fetch history' })).toBeTruthy();
    expect(screen.getAllByRole('article')).toHaveLength(2);
  });

  it('shows a backend error as an alert', async () => {
    backend({ status: [{ code: 'io', message: 'cannot read /tmp/home/cache' }] });
    render(Grid);
    const alert = await screen.findByText(/Could not read the beacon cache/);
    const banner = alert.closest('[role="alert"]')!;
    expect(banner.textContent).toMatch(/cannot read \/tmp\/home\/cache/);
    expect(banner.textContent).toMatch(/\(io\)/);
    expect(screen.queryByText('Loading the grid…')).toBeNull();
  });

  it('asks again on Refresh and shows the new figures', async () => {
    const b = backend({ status: [empty, full] });
    render(Grid);
    await screen.findByText('No rounds held yet.');
    expect(b.of('grid_status')).toHaveLength(1);
    expect(b.of('grid_live')).toHaveLength(1);
    await fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    expect(await screen.findByText(/70,536 of 163,840 rounds held/)).toBeTruthy();
    expect(b.of('grid_status')).toHaveLength(2);
    expect(b.of('grid_live')).toHaveLength(2);
    expect(screen.queryByText('No rounds held yet.')).toBeNull();
  });

  it('reads the cache every 5 s and the live figures every 3 s while shown, and stops when closed', async () => {
    vi.useFakeTimers();
    const b = backend({});
    const { unmount } = render(Grid);
    await vi.advanceTimersByTimeAsync(100);
    expect(b.of('grid_status')).toHaveLength(1);
    expect(b.of('grid_live')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(b.of('grid_live')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(b.of('grid_status')).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(5000);
    expect(b.of('grid_status')).toHaveLength(3);
    expect(b.of('grid_live')).toHaveLength(4);
    unmount();
    await vi.advanceTimersByTimeAsync(20000);
    expect(b.of('grid_status')).toHaveLength(3);
    expect(b.of('grid_live')).toHaveLength(4);
  });

  it('shows peers, seeding with its last pass and error, the cap, the budget and the addresses', async () => {
    const at = 1_700_000_000;
    backend({
      live: [
        online(at, { cache: 10, swarm: 0, gateway: 0, drand: 5 }, {
          seeding: {
            enabled: true,
            passes: 12,
            last_pass_at: at - 2,
            last_error: 'quicknet: round 42: no source answered',
          },
        }),
      ],
    });
    render(Grid);
    const card = await screen.findByRole('region', { name: /On the network/ });
    expect(await within(card).findByText('Online — this app serves this home.')).toBeTruthy();
    expect(within(card).getByTestId('peers').textContent).toBe('3');
    const clock = new Date((at - 2) * 1000).toLocaleTimeString();
    expect(within(card).getByTestId('seeding-state').textContent).toBe(
      `On — 12 passes, the last at ${clock}`,
    );
    expect(within(card).getByTestId('seeding-error').textContent).toBe(
      'quicknet: round 42: no source answered',
    );
    expect(card.textContent).toMatch(/5,000 rounds\/s/);
    const toggle = within(card).getByRole('switch', { name: 'Seeding' }) as HTMLInputElement;
    expect(toggle.checked).toBe(true);

    // 5.5 MiB of a 64 MiB budget.
    const meter = await screen.findByRole('meter', { name: 'Cache size of its budget' });
    expect(meter.getAttribute('aria-valuetext')).toBe('5.5 MiB of 64.0 MiB');
    expect(screen.getByText(/of 64\.0 MiB budget \(8\.5%\)/)).toBeTruthy();

    const addresses = screen.getByRole('region', { name: 'Listening on' });
    expect(within(addresses).getByText('/ip4/127.0.0.1/tcp/40123/p2p/12D3KooWSelf')).toBeTruthy();
    expect(addresses.textContent).toMatch(/This app's addresses/);
  });

  it('shows the node on the public network: DHT, grid peers, reachability, relay slots', async () => {
    const network = online(100, { cache: 0 }).live!.network;
    backend({
      live: [
        online(100, { cache: 0 }, {
          network: { ...network, nat: 'private', relays: [RELAY], grid_member: true },
        }),
      ],
    });
    render(Grid);
    const panel = await screen.findByRole('region', { name: 'Network' });
    await within(panel).findByText('Public network (Amino DHT): client, 23 peers');
    expect(within(panel).getByTestId('grid-peers').textContent).toBe('2');
    expect(within(panel).getByTestId('reachability').textContent).toBe('behind NAT');
    const relays = within(panel).getByTestId('relays');
    expect(relays.textContent?.trim()).toBe('on 12D3KooW…x6nXTN');
    expect(relays.getAttribute('title')).toBe(RELAY);
    expect(within(panel).getByTestId('grid-member').textContent).toBe('announced on the DHT');
  });

  it('says when the DHT has nobody yet, and calls a grid without bootstrap peers private', async () => {
    const network = online(100, { cache: 0 }).live!.network;
    const empty = online(100, { cache: 0 }, { network: { ...network, dht_peers: 0 } });
    backend({ live: [empty] });
    const first = render(Grid);
    let panel = await screen.findByRole('region', { name: 'Network' });
    await within(panel).findByText('Not connected yet');
    expect(within(panel).getByTestId('reachability').textContent).toBe('checking…');
    expect(within(panel).getByTestId('relays').textContent?.trim()).toBe('none');
    expect(within(panel).queryByTestId('grid-member')).toBeNull();
    first.unmount();

    backend({ live: [{ ...empty, bootstrap_peers: 0 }] });
    render(Grid);
    panel = await screen.findByRole('region', { name: 'Network' });
    await within(panel).findByText('Private grid — no bootstrap peers');
  });

  it('offline the Network panel says so, or private grid without bootstrap peers', async () => {
    backend({ live: [offline] });
    const first = render(Grid);
    let panel = await screen.findByRole('region', { name: 'Network' });
    await within(panel).findByText('Not online');
    expect(within(panel).queryByTestId('grid-peers')).toBeNull();
    first.unmount();

    backend({ live: [{ ...offline, bootstrap_peers: 0 }] });
    render(Grid);
    panel = await screen.findByRole('region', { name: 'Network' });
    await within(panel).findByText('Private grid — no bootstrap peers');
  });

  it('says when a zks daemon serves the home', async () => {
    const daemon = { ...online(1000, { cache: 0 }), served_by: 'daemon' as const, pid: 777 };
    backend({ live: [daemon] });
    render(Grid);
    expect(
      await screen.findByText(/Online via zks daemon \(process 777\)/),
    ).toBeTruthy();
    expect(screen.getByRole('region', { name: 'Listening on' }).textContent).toMatch(
      /zks daemon \(process 777\)/,
    );
  });

  it('offline: no figures, the stored switch, nothing listening, no plot', async () => {
    backend({ live: [{ ...offline, seeding: true }] });
    render(Grid);
    expect(await screen.findByText(/Not online: no process serves this home/)).toBeTruthy();
    expect(screen.getByTestId('peers').textContent).toBe('—');
    expect(screen.getByTestId('seeding-state').textContent).toBe(
      'On — starts when the node goes online',
    );
    expect((screen.getByRole('switch', { name: 'Seeding' }) as HTMLInputElement).checked).toBe(true);
    expect(screen.getByText('Not listening: the node is not online.')).toBeTruthy();
    expect(screen.queryByRole('region', { name: 'Rounds fetched per source' })).toBeNull();
    expect(screen.queryByRole('meter')).toBeTruthy();
  });

  it('a node that cannot say what the grid does is an alert, not a guess', async () => {
    backend({ live: [{ code: 'data_dir', message: 'cannot use data directory /nope' }] });
    render(Grid);
    const alert = await screen.findByText(/Could not read what the grid is doing/);
    expect(alert.closest('[role="alert"]')!.textContent).toMatch(
      /cannot use data directory \/nope \(data_dir\)/,
    );
    expect(screen.getByText(/No live figures: the node did not answer/)).toBeTruthy();
    expect(screen.queryByRole('switch')).toBeNull();
    expect(screen.queryByTestId('peers')).toBeNull();
    expect(screen.queryByRole('meter')).toBeNull();
  });

  it('the switch turns seeding on through the node', async () => {
    const b = backend({ live: [offline], seeding: (on) => settings(on) });
    render(Grid);
    const toggle = (await screen.findByRole('switch', { name: 'Seeding' })) as HTMLInputElement;
    expect(toggle.checked).toBe(false);
    await fireEvent.click(toggle);
    await vi.waitFor(() => expect(b.of('seeding_set')).toHaveLength(1));
    expect(b.of('seeding_set')[0].args).toEqual({ on: true });
    await vi.waitFor(() =>
      expect(screen.getByTestId('seeding-state').textContent).toBe(
        'On — starts when the node goes online',
      ),
    );
    expect(toggle.checked).toBe(true);
    // The live figures are asked again at once.
    expect(b.of('grid_live').length).toBeGreaterThanOrEqual(2);
  });

  it('a refused switch shows why and shows what is stored', async () => {
    backend({
      live: [offline],
      seeding: () => ({ code: 'store', message: 'the database is locked' }),
    });
    render(Grid);
    const toggle = (await screen.findByRole('switch', { name: 'Seeding' })) as HTMLInputElement;
    await fireEvent.click(toggle);
    const alert = await screen.findByText(/Could not switch seeding: the database is locked/);
    expect(alert.textContent).toMatch(/\(store\)/);
    expect(toggle.checked).toBe(false);
  });

  it('plots rounds per second per source from successive samples', async () => {
    vi.useFakeTimers();
    const t = 1_700_000_000;
    backend({
      live: [
        online(t, { cache: 100, swarm: 0, gateway: 0, drand: 0 }),
        online(t + 3, { cache: 130, swarm: 6, gateway: 0, drand: 3 }),
        // The same report again (a daemon publishes every 5 s): no new point.
        online(t + 3, { cache: 130, swarm: 6, gateway: 0, drand: 3 }),
        online(t + 6, { cache: 190, swarm: 6, gateway: 0, drand: 3 }),
      ],
    });
    render(Grid);
    await vi.advanceTimersByTimeAsync(100);
    const section = screen.getByRole('region', { name: 'Rounds fetched per source' });
    // One reading: nothing to plot yet.
    expect(within(section).getByText(/Measuring… the plot starts with the second reading/)).toBeTruthy();

    await vi.advanceTimersByTimeAsync(3000);
    let lines = section.querySelectorAll('polyline.series');
    expect([...lines].map((l) => l.getAttribute('data-source'))).toEqual([
      'cache',
      'swarm',
      'gateway',
      'drand',
    ]);
    expect([...lines].map((l) => l.getAttribute('data-count'))).toEqual(['1', '1', '1', '1']);

    await vi.advanceTimersByTimeAsync(6000);
    lines = section.querySelectorAll('polyline.series');
    expect([...lines].map((l) => l.getAttribute('data-count'))).toEqual(['2', '2', '2', '2']);
    const cache = section.querySelector('polyline.series-cache')!;
    const points = cache.getAttribute('points')!.split(' ').map((p) => p.split(',').map(Number));
    expect(points).toHaveLength(2);
    // 10 rounds/s then 20 rounds/s, on a 0–20 axis: the second point is at the top.
    expect(points[1][1]).toBe(0);
    expect(points[0][1]).toBeGreaterThan(points[1][1]);
    expect(points[1][0]).toBeGreaterThan(points[0][0]);

    const legend = within(section).getByRole('list', { name: 'Sources' });
    const items = within(legend).getAllByRole('listitem');
    expect(items.map((i) => i.querySelector('.legend-name')!.textContent)).toEqual([
      'Cache',
      'Swarm',
      'IPFS gateways',
      'drand API',
    ]);
    expect(items[0].textContent).toMatch(/20 rounds\/s/);
    expect(items[0].textContent).toMatch(/190 rounds since the node started/);
    expect(items[1].textContent).toMatch(/0 rounds\/s/);
    const svg = within(section).getByRole('img');
    expect(svg.getAttribute('aria-label')).toBe(
      'Rounds per second per source over the last 60 s; latest: Cache 20, Swarm 0, IPFS gateways 0, drand API 0.',
    );
  });

  it('checks the Fetch history form before asking the node, then fetches and lists the pin', async () => {
    let finish: (r: HistoryReport) => void = () => {};
    const api = backend({
      history: () => new Promise<HistoryReport>((resolve) => (finish = resolve)),
    });
    render(Grid);
    const form = await screen.findByRole('region', { name: 'Fetch history' });
    expect(within(form).getByTestId('no-pins')).toBeTruthy();
    // The last hour of quicknet (3 s rounds) is the default: 1,200 rounds.
    expect(within(form).getByTestId('history-preview').textContent).toMatch(/1,200 rounds/);

    await fireEvent.click(within(form).getByLabelText(/From round/));
    await fireEvent.input(within(form).getByLabelText('First round'), { target: { value: '500' } });
    await fireEvent.input(within(form).getByLabelText('Last round'), { target: { value: '100' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Fetch' }));
    expect(within(form).getByTestId('history-form-error').textContent).toBe(
      'The first round (500) is after the last (100).',
    );
    expect(api.of('history_fetch')).toHaveLength(0);

    await fireEvent.input(within(form).getByLabelText('First round'), { target: { value: '1' } });
    await fireEvent.input(within(form).getByLabelText('Last round'), { target: { value: '250' } });
    await fireEvent.click(within(form).getByLabelText(/Pin/));
    await fireEvent.click(within(form).getByRole('button', { name: 'Fetch' }));
    expect(api.of('history_fetch')[0].args).toEqual({ chain: QUICKNET, from: 1, to: 250, pin: true });
    expect(await within(form).findByRole('button', { name: 'Cancel' })).toBeTruthy();
    expect(within(form).getByRole('progressbar')).toBeTruthy();

    finish({
      chain: 'quicknet',
      from: 1,
      to: 250,
      total: 250,
      held: 250,
      sources: { drand: 250 },
      failed: 0,
      first_failure: null,
      pinned: true,
      cancelled: false,
      elapsed_ms: 1500,
    });
    const done = await within(form).findByTestId('history-result');
    expect(done.textContent).toMatch(/250 of 250 rounds of quicknet held/);
    expect(done.textContent).toMatch(/250 from drand HTTP/);
    expect(done.textContent).toMatch(/Pinned/);
    const pins = await within(form).findByTestId('pins');
    expect(pins.textContent).toMatch(/quicknet\s*rounds 1–250/);
    await fireEvent.click(within(pins).getByRole('button', { name: /Unpin quicknet rounds 1–250/ }));
    expect(await within(form).findByTestId('no-pins')).toBeTruthy();
    expect(api.of('history_unpin')[0].args).toEqual({ chain: QUICKNET, from: 1, to: 250 });
  });
});
