// How a contact's verification shows next to what protects the messages:
// until the safety code was compared, the label says so, in the chat header
// and under every bubble ("Post-quantum encrypted · not verified").

/** What is appended to a protection label for an unverified contact. */
export const NOT_VERIFIED = ' · not verified';

/** `label`, with " · not verified" unless the contact is verified. */
export function withVerification(label: string, verified: boolean): string {
  return verified ? label : `${label}${NOT_VERIFIED}`;
}
