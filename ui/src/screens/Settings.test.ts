import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import Settings from './Settings.svelte';
import type {
  Autostart,
  IpcError,
  SavedSettings,
  Settings as NodeSettings,
  SettingsEdit,
  SettingsPage,
} from '../lib/ipc';
import { settingsPage } from '../lib/testing';

const GiB = 1024 * 1024 * 1024;
const DEFAULTS = [
  'https://api.drand.sh',
  'https://api2.drand.sh',
  'https://api3.drand.sh',
  'https://drand.cloudflare.com',
];
const PEER = '12D3KooWGmWKUoeSLLdTcPZzKrCCExV8hRvafaRVT54GkBVvbg1u';

const stored: NodeSettings = {
  seeding: false,
  chains: ['quicknet'],
  bootstrap: [`/ip4/203.0.113.5/tcp/4001/p2p/${PEER}`],
  drand_urls: ['http://127.0.0.1:8080'],
  gateways: [],
  upload_rounds_per_sec: null,
  cache_budget_bytes: 4 * GiB,
  mdns: true,
  notifications: true,
  listen_port: 40123,
  auto_lock_minutes: 0,
  mailbox_cap_mb: 1024,
};

function page(over: Partial<SettingsPage> = {}): SettingsPage {
  const base = settingsPage();
  return settingsPage({
    settings: { ...stored },
    default_drand_urls: DEFAULTS,
    about: { ...base.about, peer_id: PEER },
    ...over,
  });
}

type Save = (edit: SettingsEdit) => SavedSettings | IpcError;

/** A backend with the settings commands; records every call. */
function backend(opts: {
  get?: SettingsPage | IpcError;
  save?: Save;
  autostart?: (on: boolean) => Autostart | IpcError;
}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    const answer = (a: unknown) => {
      if (typeof a === 'object' && a !== null && 'code' in a) throw a;
      return a;
    };
    if (cmd === 'settings_get') return answer(opts.get ?? page());
    if (cmd === 'settings_save' && opts.save) {
      return answer(opts.save((args as { settings: SettingsEdit }).settings));
    }
    if (cmd === 'autostart_set' && opts.autostart) {
      return answer(opts.autostart((args as { on: boolean }).on));
    }
    throw { code: 'unexpected', message: `unexpected ${cmd}` };
  });
  return { calls, of: (cmd: string) => calls.filter((c) => c.cmd === cmd) };
}

/** A save the node accepts, reporting the given changes as applying later. */
function accepts(appliesLater: string[]): Save {
  return (edit) => ({ settings: { ...stored, ...edit }, applies_later: appliesLater });
}

const field = (label: string) => screen.getByLabelText(label) as HTMLInputElement;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Settings', () => {
  it('loads the settings into the form and shows this install', async () => {
    backend({});
    render(Settings);
    expect(screen.getByText('Loading the settings…')).toBeTruthy();
    const bootstrap = (await screen.findByLabelText('Bootstrap peers')) as HTMLTextAreaElement;
    expect(bootstrap.value).toBe(`/ip4/203.0.113.5/tcp/4001/p2p/${PEER}`);
    expect(field('Find peers on the local network (mDNS)').checked).toBe(true);
    expect(screen.getByText('40123')).toBeTruthy();
    expect((screen.getByLabelText('drand HTTP API URLs') as HTMLTextAreaElement).value).toBe(
      'http://127.0.0.1:8080',
    );
    expect((screen.getByLabelText('IPFS gateways') as HTMLTextAreaElement).value).toBe('');
    expect((screen.getByLabelText('Chains to seed') as HTMLTextAreaElement).value).toBe('quicknet');
    expect(field('Upload cap').value).toBe('');
    expect(field('Cache budget').value).toBe('4');
    expect((screen.getByLabelText('Cache budget unit') as HTMLSelectElement).value).toBe('GiB');
    expect(field('Desktop notifications').checked).toBe(true);
    expect(screen.getByText(/at least 64\.0 MiB/)).toBeTruthy();

    const about = screen.getByRole('region', { name: 'About' });
    expect(within(about).getByText(PEER)).toBeTruthy();
    expect(within(about).getByText('/home/alice/.local/share/entropygrid')).toBeTruthy();
    expect(within(about).getByText('/home/alice/Downloads')).toBeTruthy();
    expect(within(about).getByText('0.1.0')).toBeTruthy();
    expect(about.textContent).toMatch(/Alice/);
    // Nothing to save yet; no login switch where the app cannot do it.
    expect((screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.queryByRole('switch', { name: 'Start seeding at login' })).toBeNull();
  });

  it('saves an edit and says what applies when the node next goes online', async () => {
    const b = backend({ save: accepts(['upload cap']) });
    render(Settings);
    const cap = (await screen.findByLabelText('Upload cap')) as HTMLInputElement;
    await fireEvent.input(cap, { target: { value: '5000' } });
    await fireEvent.click(field('Find peers on the local network (mDNS)'));
    expect(screen.getByText(/Unsaved changes/)).toBeTruthy();
    const save = screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement;
    expect(save.disabled).toBe(false);
    await fireEvent.click(save);

    const done = await screen.findByTestId('saved');
    expect(done.textContent).toBe(
      'Saved — the node uses the new upload cap when it next goes online (the next time the app or the zks daemon serving this home starts).',
    );
    expect(b.of('settings_save').map((c) => c.args)).toEqual([
      {
        settings: {
          chains: ['quicknet'],
          bootstrap: [`/ip4/203.0.113.5/tcp/4001/p2p/${PEER}`],
          drand_urls: ['http://127.0.0.1:8080'],
          gateways: [],
          upload_rounds_per_sec: 5000,
          cache_budget_bytes: 4 * GiB,
          mdns: false,
          notifications: true,
          mailbox_cap_mb: 1024,
        },
      },
    ]);
    expect(save.disabled).toBe(true);
    expect(field('Upload cap').value).toBe('5000');
  });

  it('shows the node’s refusal next to the form and keeps what was typed', async () => {
    const b = backend({
      save: () => ({
        code: 'bad_input',
        message: 'bootstrap: "/ip4/1.2.3.4/tcp/1" must end with /p2p/<peer id>',
      }),
    });
    render(Settings);
    const bootstrap = (await screen.findByLabelText('Bootstrap peers')) as HTMLTextAreaElement;
    const typed = `/ip4/203.0.113.5/tcp/4001/p2p/${PEER}\n/ip4/1.2.3.4/tcp/1`;
    await fireEvent.input(bootstrap, { target: { value: typed } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));

    const error = await screen.findByTestId('save-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toMatch(
      /Not saved: bootstrap: "\/ip4\/1\.2\.3\.4\/tcp\/1" must end with \/p2p\/<peer id>/,
    );
    expect(error.textContent).toMatch(/\(bad_input\)/);
    expect(bootstrap.value).toBe(typed);
    expect((screen.getByRole('button', { name: 'Save' }) as HTMLButtonElement).disabled).toBe(false);
    expect(screen.queryByTestId('saved')).toBeNull();
    expect(b.of('settings_save')).toHaveLength(1);

    // Discarding brings back what is stored and clears the error.
    await fireEvent.click(screen.getByRole('button', { name: 'Discard changes' }));
    expect(bootstrap.value).toBe(`/ip4/203.0.113.5/tcp/4001/p2p/${PEER}`);
    expect(screen.queryByTestId('save-error')).toBeNull();
  });

  it('a number it cannot read is not sent', async () => {
    const b = backend({ save: accepts([]) });
    render(Settings);
    const cap = (await screen.findByLabelText('Upload cap')) as HTMLInputElement;
    await fireEvent.input(cap, { target: { value: 'fast' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect((await screen.findByTestId('save-error')).textContent).toMatch(
      /Not saved: upload cap: enter a whole number/,
    );
    expect(b.of('settings_save')).toHaveLength(0);
  });

  it('says plainly when the grid is private and offers the public network', async () => {
    const publicPeers = [`/dnsaddr/bootstrap.example.net/p2p/${PEER}`];
    const b = backend({
      get: page({ settings: { ...stored, bootstrap: [] }, default_bootstrap: publicPeers }),
      save: accepts(['bootstrap peers']),
    });
    render(Settings);
    const peers = (await screen.findByLabelText('Bootstrap peers')) as HTMLTextAreaElement;
    const notice = screen.getByTestId('private-grid');
    expect(notice.textContent).toMatch(/Private grid\./);
    expect(notice.textContent).toMatch(/off the public\s+network/);
    expect(notice.textContent).toMatch(/peers on your local network \(found with mDNS\) and your contacts/);
    await fireEvent.click(within(notice).getByRole('button', { name: 'Use the public network' }));
    expect(peers.value).toBe(publicPeers.join('\n'));
    expect(screen.queryByTestId('private-grid')).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByTestId('saved');
    expect((b.of('settings_save')[0].args.settings as SettingsEdit).bootstrap).toEqual(publicPeers);

    // Emptied again by hand: private again, and still editable.
    await fireEvent.input(peers, { target: { value: '' } });
    expect(screen.getByTestId('private-grid')).toBeTruthy();
  });

  it('resets the drand URLs to the public defaults', async () => {
    const b = backend({ save: accepts(['drand URLs']) });
    render(Settings);
    const urls = (await screen.findByLabelText('drand HTTP API URLs')) as HTMLTextAreaElement;
    const reset = screen.getByRole('button', { name: 'Reset to public defaults' }) as HTMLButtonElement;
    expect(reset.disabled).toBe(false);
    await fireEvent.click(reset);
    expect(urls.value).toBe(DEFAULTS.join('\n'));
    expect(reset.disabled).toBe(true);
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect((await screen.findByTestId('saved')).textContent).toMatch(
      /the node uses the new drand URLs when it next goes online/,
    );
    expect((b.of('settings_save')[0].args.settings as SettingsEdit).drand_urls).toEqual(DEFAULTS);
  });

  it('a cache budget in MiB', async () => {
    const b = backend({ save: accepts(['cache budget']) });
    render(Settings);
    await screen.findByLabelText('Cache budget');
    await fireEvent.input(field('Cache budget'), { target: { value: '512' } });
    await fireEvent.change(screen.getByLabelText('Cache budget unit'), {
      target: { value: 'MiB' },
    });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByTestId('saved');
    expect((b.of('settings_save')[0].args.settings as SettingsEdit).cache_budget_bytes).toBe(
      512 * 1024 * 1024,
    );
  });

  it('starts seeding at login through the login entry', async () => {
    const path = '/home/alice/.config/autostart/zks-entropy-grid.desktop';
    const b = backend({
      get: page({ autostart: { enabled: false, path, other: null } }),
      autostart: (on) => ({ enabled: on, path, other: null }),
    });
    render(Settings);
    const toggle = (await screen.findByRole('switch', {
      name: 'Start seeding at login',
    })) as HTMLInputElement;
    expect(toggle.checked).toBe(false);
    expect(screen.getByText(path)).toBeTruthy();
    await fireEvent.click(toggle);
    await vi.waitFor(() => expect(b.of('autostart_set').map((c) => c.args)).toEqual([{ on: true }]));
    expect(toggle.checked).toBe(true);
  });

  it('a refused login entry shows why and the switch stays off', async () => {
    const path = '/home/alice/.config/autostart/zks-entropy-grid.desktop';
    backend({
      get: page({ autostart: { enabled: false, path, other: '/opt/zks-desktop --home /b --background' } }),
      autostart: () => ({ code: 'io', message: `cannot write the login entry ${path}: Permission denied` }),
    });
    render(Settings);
    const toggle = (await screen.findByRole('switch', {
      name: 'Start seeding at login',
    })) as HTMLInputElement;
    expect(screen.getByText(/turning this on replaces it/)).toBeTruthy();
    await fireEvent.click(toggle);
    expect((await screen.findByText(/Permission denied/)).textContent).toMatch(/\(io\)/);
    expect(toggle.checked).toBe(false);
  });

  it('copies the PeerId', async () => {
    backend({});
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    render(Settings);
    await screen.findByText(PEER);
    await fireEvent.click(screen.getByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith(PEER);
    expect(await screen.findByText('Copied.')).toBeTruthy();
  });

  it('shows why the settings cannot be read, and tries again', async () => {
    let fail = true;
    mockIPC((cmd) => {
      if (cmd !== 'settings_get') throw { code: 'unexpected', message: cmd };
      if (fail) throw { code: 'data_dir', message: 'cannot use data directory /nope' };
      return page();
    });
    render(Settings);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toMatch(/Cannot read the settings/);
    expect(alert.textContent).toMatch(/cannot use data directory \/nope \(data_dir\)/);
    fail = false;
    await fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect(await screen.findByLabelText('Bootstrap peers')).toBeTruthy();
  });
});
