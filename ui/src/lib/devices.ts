// The words of Settings → Devices and of a contact's other devices, as pure
// functions (decision 0072: one person on several devices). The node says
// what each device is and where it stands (`devices`); this only words it,
// and checks the "Join as a linked device" form as the node would, so the
// person hears about a missing name or code before anything is sent.
import type { DeviceInfo } from './bindings/DeviceInfo';
import type { DevicesView } from './bindings/DevicesView';

/** Devices one person may have, the primary included (the node's limit). */
export const MAX_DEVICES = 8;
/** Longest device name, in characters and in bytes of UTF-8 (the node's limit). */
export const MAX_DEVICE_NAME = 64;
/** How long a link code stays valid (seconds; the backend's default). */
export const LINK_TTL_SECS = 600;

/** Where this device stands: `primary`, `linked`, `joining` or `unlinked`
 * (anything else the node might say later is shown as it is). */
export type DeviceRole = 'primary' | 'linked' | 'joining' | 'unlinked';

/** The primary device in the list, if it is there. */
export function primaryOf(view: DevicesView): DeviceInfo | null {
  return view.devices.find((d) => d.primary) ?? null;
}

/** This device in the list, if it is there. */
export function thisDeviceOf(view: DevicesView): DeviceInfo | null {
  return view.devices.find((d) => d.this_device) ?? null;
}

/** Devices that joined and wait for the primary's confirmation. */
export function pendingOf(view: DevicesView): DeviceInfo[] {
  return view.devices.filter((d) => d.state === 'pending' && !d.this_device);
}

/** The short form of a device id the window shows (the node takes any
 * unique prefix of 4 hex digits or more; 8 is what `zks devices` prints). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Whether this home may join another person's primary as a linked device:
 * a primary with no other device (linked or waiting) and no contacts — the
 * node refuses any other home. */
export function canJoin(view: DevicesView, contacts: number): boolean {
  return view.role === 'primary' && contacts === 0 && view.devices.every((d) => d.this_device);
}

/** Whether the primary may link one more device. */
export function canLinkMore(view: DevicesView): boolean {
  return view.devices.length < MAX_DEVICES;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago" for Unix seconds `at`
 * seen from `now` (a time a little ahead, as clocks differ, is "just now"). */
export function ago(at: number, now: number): string {
  const secs = Math.max(0, now - at);
  if (secs < 60) return 'just now';
  if (secs < 3600) return `${Math.floor(secs / 60)} min ago`;
  if (secs < 86_400) return `${Math.floor(secs / 3600)} h ago`;
  const days = Math.floor(secs / 86_400);
  return `${days} ${days === 1 ? 'day' : 'days'} ago`;
}

/** When a device was last heard from: "seen 5 min ago", "never seen";
 * nothing for this device (it is here). */
export function lastSeenLabel(device: Pick<DeviceInfo, 'last_seen' | 'this_device'>, now: number): string {
  if (device.this_device) return '';
  return device.last_seen === null ? 'never seen' : `seen ${ago(device.last_seen, now)}`;
}

/** When a device was linked: "linked 4 Dec 2026"; nothing when the node
 * does not know (0: a device waiting for confirmation). */
export function addedLabel(addedAt: number, locale?: string, timeZone?: string): string {
  if (addedAt <= 0) return '';
  const date = new Intl.DateTimeFormat(locale, {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone,
  }).format(new Date(addedAt * 1000));
  return `linked ${date}`;
}

/** The facts line under a device's name, e.g. "linked 4 Dec 2026 · seen
 * 5 min ago". */
export function deviceFacts(device: DeviceInfo, now: number, locale?: string, timeZone?: string): string {
  return [addedLabel(device.added_at, locale, timeZone), lastSeenLabel(device, now)]
    .filter((p) => p !== '')
    .join(' · ');
}

/** "also on Laptop", "also on Laptop and Phone", "also on Laptop, Phone and
 * Tablet"; nothing without other devices. */
export function alsoOn(devices: readonly string[]): string {
  if (devices.length === 0) return '';
  if (devices.length === 1) return `also on ${devices[0]}`;
  return `also on ${devices.slice(0, -1).join(', ')} and ${devices[devices.length - 1]}`;
}

/** The digit groups of a safety code. */
export function codeGroups(code: string): string[] {
  return code.split(/\s+/).filter((g) => g.length > 0);
}

// Control characters, and the bidirectional-text controls that could make a
// name read as another (the node refuses the same).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** What is wrong with a device name as typed, or null. */
export function deviceNameProblem(typed: string): string | null {
  const name = typed.trim();
  if (name.length === 0) return 'Give this device a name, e.g. Laptop.';
  if ([...name].length > MAX_DEVICE_NAME || new TextEncoder().encode(name).length > MAX_DEVICE_NAME) {
    return `That name is too long: at most ${MAX_DEVICE_NAME} characters (fewer outside Latin script).`;
  }
  if (CONTROL.test(name)) {
    return 'That name contains a control character (a line break, tab or text-direction mark).';
  }
  return null;
}

/** What is missing from the "Join as a linked device" form, or null. */
export function joinProblem(code: string, hasImage: boolean, name: string): string | null {
  if (code.trim() === '' && !hasImage) {
    return 'Paste the link code your primary device shows, scan it, or open an image of it.';
  }
  return deviceNameProblem(name);
}
