// Sample data for component tests (not part of the app bundle: only tests import it).
import type { Contact, Transfer, VaultStatus } from './ipc';

/** A transfer with sensible defaults: an incoming offer from Alice. */
export function transfer(over: Partial<Transfer>): Transfer {
  return {
    id: '0123456789abcdef0123456789abcdef',
    contact: 'Alice',
    outgoing: false,
    name: 'photo.jpg',
    size: 1000,
    blake3: 'ab'.repeat(32),
    protection: 'post_quantum',
    protection_label: 'Post-quantum encrypted',
    state: 'offered',
    error: null,
    bytes_done: 0,
    bytes_sent: 0,
    path: null,
    created_at: 1_700_000_000,
    message_id: null,
    ...over,
  };
}

/** A contact with sensible defaults: Alice, unverified, no pad. */
export function contact(over: Partial<Contact>): Contact {
  return {
    name: 'Alice',
    peer_id: '12D3KooWAlice',
    safety_code: '12345 67890 11111 22222 33333 44444 55555 66666',
    verified: false,
    addresses: [],
    role: 'responder',
    pad: null,
    ...over,
  };
}

/** A vault status with sensible defaults: a running passphrase home. */
export function vaultStatus(over: Partial<VaultStatus>): VaultStatus {
  return {
    state: 'running',
    needs: null,
    upgrade: false,
    protection: 'passphrase',
    keyring_available: false,
    min_passphrase_chars: 8,
    data_dir: '/home/alice/.local/share/entropygrid',
    error: null,
    ...over,
  };
}
