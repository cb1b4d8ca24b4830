// The code shown in step 1 of the Pairing screen. It lives here, not in the
// screen, so it survives going to another screen and back: a code is good
// until it expires or a pairing uses it, and making a new one each time the
// screen opens would leave the other person holding a code nobody waits for.
//
// While a code is held, a pairing that finishes with it over the network
// (the node's `pairing_finished` event, sent only for replies to our own
// invites) marks it used, on whichever screen the window is. A used or
// expired code is still shown while the screen stays open (with who paired,
// or "expired"), and is gone the next time the screen opens.
import { onNodeEvent, type InviteCode } from './ipc';

export class PairingInviteState {
  invite = $state<InviteCode | null>(null);
  /** Who paired with the code over the network (it is used up then). */
  pairedWith = $state<string | null>(null);
  /** A pairing finished with the code (over the network or by its reply). */
  used = $state(false);

  /** Bumped by each new code and each clear, so a late listener stops. */
  private generation = 0;
  private unlisten: (() => void) | null = null;

  /** Holds a freshly made code (replacing any other) and listens for its pairing. */
  show(invite: InviteCode): void {
    this.clear();
    this.invite = invite;
    const generation = this.generation;
    onNodeEvent((event) => {
      if (event.kind === 'pairing_finished' && this.generation === generation && this.invite) {
        this.used = true;
        this.pairedWith = event.contact;
        this.stopListening();
      }
    })
      .then((unlisten) => {
        if (this.generation === generation && !this.used) this.unlisten = unlisten;
        else unlisten();
      })
      .catch(() => {
        // No event channel (e.g. a plain browser): the reply is pasted in step 3.
      });
  }

  /** A pairing was finished by hand (step 3) while this code was held:
   * take it as the one it used. */
  markUsed(): void {
    if (this.invite === null) return;
    this.used = true;
    this.stopListening();
  }

  /** Whether the held code can no longer pair at `nowMs`. */
  stale(nowMs = Date.now()): boolean {
    return this.invite !== null && (this.used || this.invite.expires_at * 1000 <= nowMs);
  }

  /** On opening the screen: forgets a code that expired or was used. */
  dropStale(nowMs = Date.now()): void {
    if (this.stale(nowMs)) this.clear();
  }

  clear(): void {
    this.generation += 1;
    this.stopListening();
    this.invite = null;
    this.pairedWith = null;
    this.used = false;
  }

  private stopListening(): void {
    this.unlisten?.();
    this.unlisten = null;
  }
}

export const pairingInvite = new PairingInviteState();
