// The Settings screen's form: the node's settings as the text the person
// edits, and back. Only parsing happens here (lines, numbers, units); whether
// a value is acceptable is the node's call when it saves.
import type { Settings, SettingsEdit } from './ipc';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export type BudgetUnit = 'MiB' | 'GiB';

/** The form's fields, as typed. */
export interface SettingsForm {
  bootstrap: string;
  mdns: boolean;
  drandUrls: string;
  gateways: string;
  chains: string;
  uploadCap: string;
  budget: string;
  budgetUnit: BudgetUnit;
  notifications: boolean;
  /** Mailbox disk cap in MiB (held for others while seeding). */
  mailboxCap: string;
}

/** Non-empty trimmed lines. */
export function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/** A budget in the largest unit that shows it whole (or to 2 decimals in GiB). */
export function budgetFromBytes(bytes: number): { value: string; unit: BudgetUnit } {
  if (bytes >= GiB && bytes % (GiB / 4) === 0) {
    return { value: String(bytes / GiB), unit: 'GiB' };
  }
  if (bytes % MiB === 0 || bytes < GiB) {
    return { value: String(Math.round((bytes / MiB) * 100) / 100), unit: 'MiB' };
  }
  return { value: String(Math.round((bytes / GiB) * 100) / 100), unit: 'GiB' };
}

export function toForm(s: Settings): SettingsForm {
  const budget = budgetFromBytes(s.cache_budget_bytes);
  return {
    bootstrap: s.bootstrap.join('\n'),
    mdns: s.mdns,
    drandUrls: s.drand_urls.join('\n'),
    gateways: s.gateways.join('\n'),
    chains: s.chains.join('\n'),
    uploadCap: s.upload_rounds_per_sec === null ? '' : String(s.upload_rounds_per_sec),
    budget: budget.value,
    budgetUnit: budget.unit,
    notifications: s.notifications,
    mailboxCap: String(s.mailbox_cap_mb),
  };
}

/** The same settings, whatever the spacing and blank lines. */
export function sameForm(a: SettingsForm, b: SettingsForm): boolean {
  const norm = (f: SettingsForm) =>
    JSON.stringify({
      ...f,
      bootstrap: lines(f.bootstrap),
      drandUrls: lines(f.drandUrls),
      gateways: lines(f.gateways),
      chains: lines(f.chains),
      uploadCap: f.uploadCap.trim(),
      mailboxCap: f.mailboxCap.trim(),
      budget: parseBudget(f.budget, f.budgetUnit) ?? f.budget.trim(),
      budgetUnit: '',
    });
  return norm(a) === norm(b);
}

function parseBudget(value: string, unit: BudgetUnit): number | null {
  const text = value.trim().replace(',', '.');
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const bytes = Math.round(Number(text) * (unit === 'GiB' ? GiB : MiB));
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/**
 * The edit to send, or what cannot be read as a number. An empty upload cap
 * means no cap. `stored` is the budget as loaded: left as shown, it is sent
 * back to the byte (the form shows it rounded when it is no whole MiB).
 */
export function fromForm(
  f: SettingsForm,
  stored?: { bytes: number },
): { edit: SettingsEdit } | { error: string } {
  const cap = f.uploadCap.trim().replace(/[\s,]/g, '');
  let upload: number | null = null;
  if (cap !== '') {
    if (!/^\d+$/.test(cap) || !Number.isSafeInteger(Number(cap))) {
      return {
        error:
          'upload cap: enter a whole number of rounds per second, or leave it empty for no cap',
      };
    }
    upload = Number(cap);
  }
  let budget = parseBudget(f.budget, f.budgetUnit);
  if (stored) {
    const shown = budgetFromBytes(stored.bytes);
    if (shown.value === f.budget.trim() && shown.unit === f.budgetUnit) budget = stored.bytes;
  }
  if (budget === null) {
    return { error: `cache budget: enter a number of ${f.budgetUnit}, e.g. 4 GiB or 512 MiB` };
  }
  const mailbox = f.mailboxCap.trim().replace(/[\s,]/g, '');
  if (!/^\d+$/.test(mailbox) || !Number.isSafeInteger(Number(mailbox))) {
    return { error: 'mailbox cap: enter a whole number of MiB, or 0 to hold no mailboxes' };
  }
  return {
    edit: {
      chains: lines(f.chains),
      bootstrap: lines(f.bootstrap),
      drand_urls: lines(f.drandUrls),
      gateways: lines(f.gateways),
      upload_rounds_per_sec: upload,
      cache_budget_bytes: budget,
      mdns: f.mdns,
      notifications: f.notifications,
      mailbox_cap_mb: Number(mailbox),
    },
  };
}

/** Whether the bootstrap field lists no peer: a private grid, off the
 * public network (the node only meets peers added by hand, LAN peers and
 * contacts). */
export function isPrivateGrid(bootstrap: string): boolean {
  return lines(bootstrap).length === 0;
}

/** Who a private grid's node meets, in words. */
export function privateGridPeers(mdns: boolean): string {
  return mdns
    ? 'only the peers you add here, peers on your local network (found with mDNS) and your contacts'
    : 'only the peers you add here and your contacts (finding peers on the local network is off)';
}

/** "a", "a and b", "a, b and c". */
export function listWords(items: string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The confirmation after a save. */
export function savedMessage(appliesLater: string[]): string {
  if (appliesLater.length === 0) return 'Saved.';
  return (
    `Saved — the node uses the new ${listWords(appliesLater)} when it next goes online ` +
    '(the next time the app or the zks daemon serving this home starts).'
  );
}
