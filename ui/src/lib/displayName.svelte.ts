// The name contacts see in this device's invites and replies
// (identity_name_get / identity_name_set). The node creates the identity
// with no name; the shell asks for one once the home is open, before the
// main screens, until it is chosen. The node checks the name again; the
// check here only answers as the person types.
import { api, toIpcError, type DisplayName, type IpcError } from './ipc';

/** Longest name, in characters and in bytes of UTF-8 (the invite's limit). */
export const MAX_NAME = 64;

// Control characters, and the bidirectional-text controls that could make a
// name read as another (the node refuses the same).
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** What is wrong with a name as typed (before trimming), or null. */
export function displayNameProblem(typed: string): string | null {
  const name = typed.trim();
  if (name.length === 0) return 'Type the name your contacts should see.';
  if ([...name].length > MAX_NAME || new TextEncoder().encode(name).length > MAX_NAME) {
    return `That name is too long: at most ${MAX_NAME} characters (fewer outside Latin script).`;
  }
  if (CONTROL.test(name)) {
    return 'That name contains a control character (a line break, tab or text-direction mark); use letters, digits, spaces and punctuation.';
  }
  return null;
}

class DisplayNameState {
  /** As the node last answered; null until it did (or when it could not). */
  current = $state<DisplayName | null>(null);
  error = $state<IpcError | null>(null);

  /** True when the node said no name was chosen yet: the shell asks for one.
   * An unreadable answer does not block the app (its screens show the
   * node's own errors). */
  get needed(): boolean {
    return this.current?.chosen === false;
  }

  async refresh(): Promise<void> {
    try {
      const answer: unknown = await api.identityNameGet();
      const ok =
        typeof answer === 'object' &&
        answer !== null &&
        typeof (answer as DisplayName).chosen === 'boolean' &&
        typeof (answer as DisplayName).name === 'string';
      this.current = ok ? (answer as DisplayName) : null;
      this.error = null;
    } catch (e) {
      // Locked, stopped or an older backend: nothing to ask for now.
      this.current = null;
      this.error = toIpcError(e);
    }
  }

  /** Stores the name; resolves to null, or the problem to show. */
  async choose(typed: string): Promise<string | null> {
    const problem = displayNameProblem(typed);
    if (problem) return problem;
    try {
      this.current = await api.identityNameSet(typed.trim());
      this.error = null;
      return null;
    } catch (e) {
      return toIpcError(e).message;
    }
  }

  /** Forgets everything (tests). */
  reset(): void {
    this.current = null;
    this.error = null;
  }
}

export const displayName = new DisplayNameState();
