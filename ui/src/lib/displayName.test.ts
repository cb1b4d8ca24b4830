import { beforeEach, describe, expect, it } from 'vitest';
import { mockIPC } from '@tauri-apps/api/mocks';
import { displayName, displayNameProblem, MAX_NAME } from './displayName.svelte';

describe('a display name as typed', () => {
  it('is fine trimmed, 1 to 64 characters, with no control characters', () => {
    expect(displayNameProblem('Alice')).toBeNull();
    expect(displayNameProblem('  Zoë 🙂  ')).toBeNull();
    expect(displayNameProblem('a'.repeat(MAX_NAME))).toBeNull();
  });

  it('says what is wrong otherwise', () => {
    expect(displayNameProblem('')).toMatch(/Type the name/);
    expect(displayNameProblem(' \t ')).toMatch(/Type the name/);
    expect(displayNameProblem('a'.repeat(MAX_NAME + 1))).toMatch(/too long/);
    // 22 characters but 66 bytes of UTF-8: the invite holds 64.
    expect(displayNameProblem('語'.repeat(22))).toMatch(/too long/);
    expect(displayNameProblem('Al\nice')).toMatch(/control character/);
    expect(displayNameProblem('Al\u0000ice')).toMatch(/control character/);
    expect(displayNameProblem('Alice\u202eecilA')).toMatch(/control character/);
  });
});

describe('the display name state', () => {
  beforeEach(() => displayName.reset());

  it('asks only when the node says no name was chosen', async () => {
    mockIPC(() => ({ name: '', chosen: false }));
    await displayName.refresh();
    expect(displayName.needed).toBe(true);

    mockIPC(() => ({ name: 'Alice', chosen: true }));
    await displayName.refresh();
    expect(displayName.needed).toBe(false);

    // A locked home or an unusable answer never blocks the app.
    mockIPC(() => {
      throw { code: 'locked', message: 'the home is locked' };
    });
    await displayName.refresh();
    expect(displayName.needed).toBe(false);
    expect(displayName.error?.code).toBe('locked');
    mockIPC(() => ({ version: '0.1.0' }));
    await displayName.refresh();
    expect(displayName.needed).toBe(false);
  });

  it('checks before asking the node, and shows what the node refuses', async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if ((args as { name: string }).name === 'Mallory') {
        throw { code: 'bad_input', message: 'the name contains a control character' };
      }
      return { name: (args as { name: string }).name, chosen: true };
    });
    expect(await displayName.choose('  ')).toMatch(/Type the name/);
    expect(calls).toEqual([]);
    expect(await displayName.choose('Mallory')).toBe('the name contains a control character');
    expect(await displayName.choose('  Alice ')).toBeNull();
    expect(calls).toEqual([
      { cmd: 'identity_name_set', args: { name: 'Mallory' } },
      { cmd: 'identity_name_set', args: { name: 'Alice' } },
    ]);
    expect(displayName.current).toEqual({ name: 'Alice', chosen: true });
  });
});
