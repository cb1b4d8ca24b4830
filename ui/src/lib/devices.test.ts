import { describe, expect, it } from 'vitest';
import {
  MAX_DEVICES,
  addedLabel,
  ago,
  alsoOn,
  canJoin,
  canLinkMore,
  codeGroups,
  deviceFacts,
  deviceNameProblem,
  joinProblem,
  lastSeenLabel,
  pendingOf,
  primaryOf,
  shortId,
  thisDeviceOf,
} from './devices';
import { deviceInfo, devicesView } from './testing';

const NOW = 1_796_400_000 + 30 * 86_400;
const laptop = deviceInfo({
  id: 'abcdef12'.padEnd(64, '2'),
  name: 'Laptop',
  primary: false,
  this_device: false,
  last_seen: NOW - 300,
});
const pending = deviceInfo({
  id: '99887766'.padEnd(64, '3'),
  name: 'Phone',
  primary: false,
  this_device: false,
  state: 'pending',
  added_at: 0,
  safety_code: '12345 67890 11111 22222',
});

describe('ago', () => {
  it('says how long ago, in the largest whole unit', () => {
    expect(ago(NOW, NOW)).toBe('just now');
    expect(ago(NOW - 59, NOW)).toBe('just now');
    expect(ago(NOW - 60, NOW)).toBe('1 min ago');
    expect(ago(NOW - 3599, NOW)).toBe('59 min ago');
    expect(ago(NOW - 3600, NOW)).toBe('1 h ago');
    expect(ago(NOW - 86_399, NOW)).toBe('23 h ago');
    expect(ago(NOW - 86_400, NOW)).toBe('1 day ago');
    expect(ago(NOW - 3 * 86_400, NOW)).toBe('3 days ago');
  });

  it('takes a time a little ahead (another clock) as just now', () => {
    expect(ago(NOW + 20, NOW)).toBe('just now');
  });
});

describe('lastSeenLabel and addedLabel', () => {
  it('says when another device was last heard from, nothing for this one', () => {
    expect(lastSeenLabel(laptop, NOW)).toBe('seen 5 min ago');
    expect(lastSeenLabel({ ...laptop, last_seen: null }, NOW)).toBe('never seen');
    expect(lastSeenLabel(deviceInfo(), NOW)).toBe('');
  });

  it('dates a linked device, and not a device the node has no date for', () => {
    expect(addedLabel(1_796_400_000, 'en-GB', 'UTC')).toBe('linked 4 Dec 2026');
    expect(addedLabel(0, 'en-GB', 'UTC')).toBe('');
  });

  it('joins the facts with dots', () => {
    expect(deviceFacts(laptop, NOW, 'en-GB', 'UTC')).toBe('linked 4 Dec 2026 · seen 5 min ago');
    expect(deviceFacts(deviceInfo(), NOW, 'en-GB', 'UTC')).toBe('linked 4 Dec 2026');
    expect(deviceFacts(pending, NOW, 'en-GB', 'UTC')).toBe('never seen');
    expect(deviceFacts(deviceInfo({ state: 'pending', added_at: 0 }), NOW, 'en-GB', 'UTC')).toBe('');
  });
});

describe('the list', () => {
  const view = devicesView({ devices: [deviceInfo(), laptop, pending] });

  it('finds the primary, this device and the devices waiting', () => {
    expect(primaryOf(view)?.name).toBe('Desk');
    expect(thisDeviceOf(view)?.name).toBe('Desk');
    expect(pendingOf(view).map((d) => d.name)).toEqual(['Phone']);
    expect(primaryOf(devicesView({ devices: [] }))).toBeNull();
    // A joining device is not "waiting" on itself: the primary confirms it.
    const joining = devicesView({
      role: 'joining',
      devices: [deviceInfo({ this_device: false }), { ...pending, this_device: true }],
    });
    expect(pendingOf(joining)).toEqual([]);
  });

  it('shortens ids to the 8 digits the CLI shows', () => {
    expect(shortId(laptop.id)).toBe('abcdef12');
  });

  it('offers joining only to a new primary alone, without contacts', () => {
    expect(canJoin(devicesView(), 0)).toBe(true);
    expect(canJoin(devicesView(), 1)).toBe(false);
    expect(canJoin(view, 0)).toBe(false);
    expect(canJoin(devicesView({ devices: [deviceInfo(), pending] }), 0)).toBe(false);
    for (const role of ['linked', 'joining', 'unlinked']) {
      expect(canJoin(devicesView({ role }), 0)).toBe(false);
    }
  });

  it('links up to the node’s limit of devices', () => {
    expect(canLinkMore(view)).toBe(true);
    const full = devicesView({ devices: Array.from({ length: MAX_DEVICES }, () => laptop) });
    expect(canLinkMore(full)).toBe(false);
  });
});

describe('alsoOn and codeGroups', () => {
  it('lists a contact’s other devices in words', () => {
    expect(alsoOn([])).toBe('');
    expect(alsoOn(['Laptop'])).toBe('also on Laptop');
    expect(alsoOn(['Laptop', 'Phone'])).toBe('also on Laptop and Phone');
    expect(alsoOn(['Laptop', 'Phone', 'Tablet'])).toBe('also on Laptop, Phone and Tablet');
  });

  it('splits a safety code into its groups', () => {
    expect(codeGroups(' 12345  67890\n11111 ')).toEqual(['12345', '67890', '11111']);
    expect(codeGroups('')).toEqual([]);
  });
});

describe('the join form', () => {
  it('needs a code (text or image) and a name', () => {
    expect(joinProblem('', false, 'Laptop')).toMatch(/Paste the link code/);
    expect(joinProblem('  ', false, 'Laptop')).toMatch(/Paste the link code/);
    expect(joinProblem('', true, 'Laptop')).toBeNull();
    expect(joinProblem('ZKS1:AB', false, ' ')).toMatch(/Give this device a name/);
    expect(joinProblem('ZKS1:AB', false, 'Laptop')).toBeNull();
  });

  it('checks the name as the node does', () => {
    expect(deviceNameProblem(' Laptop ')).toBeNull();
    expect(deviceNameProblem('x'.repeat(64))).toBeNull();
    expect(deviceNameProblem('x'.repeat(65))).toMatch(/too long/);
    // 22 characters of 3 bytes each: 66 bytes.
    expect(deviceNameProblem('日'.repeat(22))).toMatch(/too long/);
    expect(deviceNameProblem('Lap\ttop')).toMatch(/control character/);
    expect(deviceNameProblem('Lap\u202etop')).toMatch(/control character/);
  });
});
