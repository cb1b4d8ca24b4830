import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import SafetyCode, { codeDigits, typedCodeState } from './SafetyCode.svelte';
import { contact } from './testing';

const CODE = '12345 67890 11111 22222 33333 44444 55555 66666';

describe('comparing a typed safety code', () => {
  it('ignores spaces and dashes and tells a match, a start and a mismatch apart', () => {
    expect(codeDigits(' 12345-67890 1 ')).toBe('12345678901');
    expect(typedCodeState('', CODE)).toBe('empty');
    expect(typedCodeState('   ', CODE)).toBe('empty');
    expect(typedCodeState('12345 678', CODE)).toBe('partial');
    expect(typedCodeState(CODE, CODE)).toBe('match');
    expect(typedCodeState(CODE.replace(/ /g, ''), CODE)).toBe('match');
    expect(typedCodeState(CODE.replace(/ /g, '-'), CODE)).toBe('match');
    expect(typedCodeState('9', CODE)).toBe('mismatch');
    expect(typedCodeState('12345 67899', CODE)).toBe('mismatch');
    expect(typedCodeState(`${CODE} 1`, CODE)).toBe('mismatch');
    expect(typedCodeState('12345 abc', CODE)).toBe('mismatch');
  });
});

describe('Mark as verified', () => {
  function setup() {
    const calls: { cmd: string; args: unknown }[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      return { ...contact({ name: 'Bob' }), verified: true };
    });
    render(SafetyCode, { props: { contact: contact({ name: 'Bob', safety_code: CODE }) } });
    const mark = screen.getByRole('button', { name: 'Mark as verified' }) as HTMLButtonElement;
    const box = screen.getByLabelText(
      'Or: I compared all 40 digits with theirs and they match',
    ) as HTMLInputElement;
    const typed = screen.getByLabelText('Type the code their device shows') as HTMLInputElement;
    return { calls, mark, box, typed };
  }

  it('stays disabled until the code is typed or the comparison is confirmed', async () => {
    const { calls, mark, box, typed } = setup();
    expect(mark.disabled).toBe(true);
    await fireEvent.click(mark);
    expect(calls).toEqual([]);

    await fireEvent.input(typed, { target: { value: '12345 67890' } });
    expect(mark.disabled).toBe(true);
    await fireEvent.click(box);
    expect(mark.disabled).toBe(false);
    await fireEvent.click(box);
    expect(mark.disabled).toBe(true);
    await fireEvent.input(typed, { target: { value: CODE } });
    expect(mark.disabled).toBe(false);
    await fireEvent.click(mark);
    expect(calls).toEqual([{ cmd: 'contacts_verify', args: { name: 'Bob', code: CODE } }]);
  });

  it('sends the explicit comparison when the box is ticked', async () => {
    const { calls, mark, box } = setup();
    await fireEvent.click(box);
    await fireEvent.click(mark);
    expect(calls).toEqual([{ cmd: 'contacts_verify', args: { name: 'Bob', compared: true } }]);
  });
});
