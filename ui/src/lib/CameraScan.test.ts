import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { cameraError, frameSize, lumaOf } from './CameraScan.svelte';
import CodeEntry from './CodeEntry.svelte';

describe('the camera of the Pairing screen', () => {
  afterEach(() => {
    Reflect.deleteProperty(navigator, 'mediaDevices');
  });

  it('names each camera failure with a code and what to do', () => {
    const cases: [string, string, RegExp][] = [
      ['NotAllowedError', 'camera_denied', /denied.*system settings/],
      ['SecurityError', 'camera_denied', /denied/],
      ['NotFoundError', 'no_camera', /No camera was found/],
      ['OverconstrainedError', 'no_camera', /No camera/],
      ['NotReadableError', 'camera_busy', /in use by another app/],
      ['TypeError', 'camera_error', /could not start/],
    ];
    for (const [name, code, message] of cases) {
      const error = cameraError(new DOMException('x', name));
      expect(error.code, name).toBe(code);
      expect(error.message, name).toMatch(message);
    }
    expect(cameraError('weird').code).toBe('camera_error');
  });

  it('turns RGBA pixels into one grey byte each', () => {
    const rgba = new Uint8ClampedArray([0, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 255, 0, 255, 0, 255]);
    expect([...lumaOf(rgba)]).toEqual([0, 255, 76, 149]);
  });

  it('scales frames down to 640×480 at most, keeping their shape', () => {
    expect(frameSize(640, 480)).toEqual({ width: 640, height: 480 });
    expect(frameSize(1280, 720)).toEqual({ width: 640, height: 360 });
    expect(frameSize(1920, 1080)).toEqual({ width: 640, height: 360 });
    expect(frameSize(320, 240)).toEqual({ width: 320, height: 240 });
  });

  it('says so when the window has no camera, and keeps what was typed', async () => {
    Object.defineProperty(navigator, 'mediaDevices', { value: undefined, configurable: true });
    render(CodeEntry, { props: { label: 'Paste their code', text: 'ZKS1:TYPED' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Scan with camera' }));
    expect((await screen.findByRole('alert')).textContent).toContain('cannot use a camera here');
    expect((screen.getByLabelText('Paste their code') as HTMLTextAreaElement).value).toBe('ZKS1:TYPED');
    await fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('reports a denied camera', async () => {
    Object.defineProperty(navigator, 'mediaDevices', {
      value: { getUserMedia: () => Promise.reject(new DOMException('no', 'NotAllowedError')) },
      configurable: true,
    });
    render(CodeEntry, { props: { label: 'Paste their code' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Scan with camera' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Camera access was denied');
    expect(alert.getAttribute('data-code')).toBe('camera_denied');
  });
});
