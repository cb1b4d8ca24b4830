import { describe, expect, it } from 'vitest';
import {
  GiB,
  MiB,
  budgetFromBytes,
  fromForm,
  isPrivateGrid,
  lines,
  privateGridPeers,
  listWords,
  sameForm,
  savedMessage,
  toForm,
} from './settingsForm';
import type { Settings } from './ipc';

const settings: Settings = {
  seeding: true,
  chains: ['quicknet'],
  bootstrap: ['/ip4/203.0.113.5/tcp/4001/p2p/12D3KooWPeer'],
  drand_urls: ['https://api.drand.sh', 'https://api2.drand.sh'],
  gateways: [],
  upload_rounds_per_sec: null,
  cache_budget_bytes: 4 * GiB,
  mdns: true,
  notifications: false,
  listen_port: 40123,
  auto_lock_minutes: 0,
  mailbox_cap_mb: 1024,
};

describe('settings form', () => {
  it('reads lines without blanks or spaces around them', () => {
    expect(lines('  a \n\n b\r\n   \nc')).toEqual(['a', 'b', 'c']);
    expect(lines('')).toEqual([]);
  });

  it('shows a budget in the largest unit that shows it well', () => {
    expect(budgetFromBytes(4 * GiB)).toEqual({ value: '4', unit: 'GiB' });
    expect(budgetFromBytes(1.5 * GiB)).toEqual({ value: '1.5', unit: 'GiB' });
    expect(budgetFromBytes(64 * MiB)).toEqual({ value: '64', unit: 'MiB' });
    expect(budgetFromBytes(3000 * MiB)).toEqual({ value: '3000', unit: 'MiB' });
    expect(budgetFromBytes(GiB + 12345)).toEqual({ value: '1', unit: 'GiB' });
  });

  it('round-trips the settings it edits', () => {
    const form = toForm(settings);
    expect(form.uploadCap).toBe('');
    expect(form.budget).toBe('4');
    expect(form.budgetUnit).toBe('GiB');
    const out = fromForm(form);
    expect(out).toEqual({
      edit: {
        chains: ['quicknet'],
        bootstrap: ['/ip4/203.0.113.5/tcp/4001/p2p/12D3KooWPeer'],
        drand_urls: ['https://api.drand.sh', 'https://api2.drand.sh'],
        gateways: [],
        upload_rounds_per_sec: null,
        cache_budget_bytes: 4 * GiB,
        mdns: true,
        notifications: false,
        mailbox_cap_mb: 1024,
      },
    });
  });

  it('reads the cap and the budget as numbers, or says what is wrong', () => {
    const form = toForm(settings);
    expect(fromForm({ ...form, uploadCap: ' 5,000 ' })).toMatchObject({
      edit: { upload_rounds_per_sec: 5000 },
    });
    expect(fromForm({ ...form, uploadCap: '0' })).toMatchObject({
      edit: { upload_rounds_per_sec: 0 },
    });
    expect(fromForm({ ...form, uploadCap: 'fast' })).toEqual({
      error: 'upload cap: enter a whole number of rounds per second, or leave it empty for no cap',
    });
    expect(fromForm({ ...form, uploadCap: '1.5' })).toHaveProperty('error');
    expect(fromForm({ ...form, budget: '512', budgetUnit: 'MiB' })).toMatchObject({
      edit: { cache_budget_bytes: 512 * MiB },
    });
    expect(fromForm({ ...form, budget: '0,5', budgetUnit: 'GiB' })).toMatchObject({
      edit: { cache_budget_bytes: GiB / 2 },
    });
    expect(fromForm({ ...form, budget: 'lots' })).toEqual({
      error: 'cache budget: enter a number of GiB, e.g. 4 GiB or 512 MiB',
    });
    expect(fromForm({ ...form, mailboxCap: ' 2,048 ' })).toMatchObject({
      edit: { mailbox_cap_mb: 2048 },
    });
    expect(fromForm({ ...form, mailboxCap: '0' })).toMatchObject({
      edit: { mailbox_cap_mb: 0 },
    });
    expect(fromForm({ ...form, mailboxCap: 'big' })).toEqual({
      error: 'mailbox cap: enter a whole number of MiB, or 0 to hold no mailboxes',
    });
  });

  it('sends an odd stored budget back to the byte when left as shown', () => {
    const odd = { ...settings, cache_budget_bytes: GiB + 12345 };
    const form = toForm(odd);
    expect(fromForm(form, { bytes: odd.cache_budget_bytes })).toMatchObject({
      edit: { cache_budget_bytes: GiB + 12345 },
    });
    expect(fromForm({ ...form, budget: '2' }, { bytes: odd.cache_budget_bytes })).toMatchObject({
      edit: { cache_budget_bytes: 2 * GiB },
    });
  });

  it('compares forms by what they mean', () => {
    const form = toForm(settings);
    expect(sameForm(form, { ...form, chains: 'quicknet\n\n  ' })).toBe(true);
    expect(sameForm(form, { ...form, budget: '4096', budgetUnit: 'MiB' })).toBe(true);
    expect(sameForm(form, { ...form, mdns: false })).toBe(false);
    expect(sameForm(form, { ...form, uploadCap: '10' })).toBe(false);
  });

  it('says what applies later', () => {
    expect(listWords(['a'])).toBe('a');
    expect(listWords(['a', 'b'])).toBe('a and b');
    expect(listWords(['a', 'b', 'c'])).toBe('a, b and c');
    expect(savedMessage([])).toBe('Saved.');
    expect(savedMessage(['upload cap'])).toBe(
      'Saved — the node uses the new upload cap when it next goes online (the next time the app or the zks daemon serving this home starts).',
    );
    expect(savedMessage(['drand URLs', 'upload cap'])).toMatch(
      /^Saved — the node uses the new drand URLs and upload cap when it next goes online/,
    );
  });

  it('calls a bootstrap list with no peer a private grid', () => {
    expect(isPrivateGrid('')).toBe(true);
    expect(isPrivateGrid('  \n\n ')).toBe(true);
    expect(isPrivateGrid('/ip4/203.0.113.5/tcp/4001/p2p/12D3KooWPeer')).toBe(false);
    expect(privateGridPeers(true)).toMatch(/local network \(found with mDNS\)/);
    expect(privateGridPeers(false)).toMatch(/local network is off/);
    expect(privateGridPeers(false)).toMatch(/peers you add here and your contacts/);
  });
});
