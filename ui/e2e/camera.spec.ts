// The Pairing screen's camera in Chromium with a fake camera: Chromium plays
// a Y4M file made here from a real QR code (drawn by the `qrcode` package
// from npm, as a phone would see a screen: grey background, off centre), the
// app reads frames from it as it would from a webcam, and the frames it
// sends are read by a third-party decoder (`jsqr` from npm) in place of the
// node's (the node's own decoder reads webcam frames in the Rust tests).
// Also: a denied permission and a machine without a camera get a clear
// message and leave the form as it was.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import QRCode from 'qrcode';
import jsQR from 'jsqr';
import { test, expect, expectNoHorizontalScroll, UI_DIR } from './fixtures';

const SMALL = { width: 800, height: 600 };
const CHROMIUM = process.env.ZKS_CHROMIUM ?? '/usr/bin/chromium';
/** An invite link as the node makes one (166 characters, QR version 7). */
const LINK =
  'ZKS1:%69 VDL2J:DX3M8N.PUDVUNG/5FGQEUP6EC8 VUMM7:-G%RK-0-4$IV6S8MOSVW6UIUY74DR9E1PK1JB7GEQL4V0D1JB9N8SGXE-C4ZA.E9V5YJHV4ULA8PNHEFB%/BX9NE5DPJ9:J1P.GOA3N90ZYKE5GX2G2';

/** A 640×480 Y4M (one frame, 4:2:0) showing the QR code of `text`. */
function y4mOf(text: string): Buffer {
  const [w, h] = [640, 480];
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const px = Math.floor(380 / (n + 8));
  const left = 150;
  const top = 40;
  const y = Buffer.alloc(w * h, 110);
  for (let row = 0; row < (n + 8) * px; row++) {
    for (let col = 0; col < (n + 8) * px; col++) {
      const [mr, mc] = [Math.floor(row / px) - 4, Math.floor(col / px) - 4];
      const dark = mr >= 0 && mc >= 0 && mr < n && mc < n && qr.modules.get(mr, mc) === 1;
      y[(top + row) * w + left + col] = dark ? 30 : 225;
    }
  }
  const chroma = Buffer.alloc((w / 2) * (h / 2) * 2, 128);
  const header = Buffer.from(`YUV4MPEG2 W${w} H${h} F10:1 Ip A1:1 C420jpeg\nFRAME\n`);
  return Buffer.concat([header, y, chroma]);
}

const dir = join(UI_DIR, 'test-results');
mkdirSync(dir, { recursive: true });
const VIDEO = join(dir, 'camera-qr.y4m');
writeFileSync(VIDEO, y4mOf(LINK));

// Every test here runs in a Chromium whose camera shows the code.
test.use({
  viewport: SMALL,
  launchOptions: {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${VIDEO}`,
    ],
  },
});

test.describe('camera with a QR code in front of it', () => {
  test('scanning their code with the camera fills it in', async ({ app }) => {
    const { page } = app;
    let reading = false;
    let frames = 0;
    await page.exposeFunction('__zksDecodeFrame', (w: number, h: number, b64: string) => {
      frames++;
      if (!reading) return null;
      const luma = Buffer.from(b64, 'base64');
      expect(luma.length).toBe(w * h);
      const rgba = new Uint8ClampedArray(w * h * 4);
      for (let i = 0; i < luma.length; i++) {
        rgba.fill(luma[i], i * 4, i * 4 + 3);
        rgba[i * 4 + 3] = 255;
      }
      return jsQR(rgba, w, h)?.data ?? null;
    });
    await page.getByRole('button', { name: 'Pairing', exact: true }).click();
    const step = page.getByRole('region', { name: '2 Their code' });
    await step.getByRole('button', { name: 'Scan with camera' }).click();
    await expect(step.getByRole('status')).toHaveText('Hold their QR code in front of the camera…');
    // Frames reach the backend as 640×480 greyscale.
    await expect.poll(() => frames).toBeGreaterThan(1);
    const sizes = (await app.callsOf('pairing_scan_frame')).map((c) => [c.args.width, c.args.height]);
    expect(sizes[0]).toEqual([640, 480]);
    await expectNoHorizontalScroll(page);
    await step.getByRole('group', { name: 'Scan with camera' }).scrollIntoViewIfNeeded();
    await app.screenshot('pairing-camera');

    reading = true;
    // Frames are decoded one at a time by jsQR in the test process: on a
    // busy machine the first readable one can take longer than 5 s.
    await expect(page.getByLabel('Paste their code')).toHaveValue(LINK, { timeout: 20_000 });
    await expect(step.getByText('Code scanned with the camera.')).toBeVisible();
    await expect(step.getByRole('group', { name: 'Scan with camera' })).toHaveCount(0);
    await page.getByRole('button', { name: 'Accept', exact: true }).click();
    await expect(page.getByText('Paired with')).toContainText('Carol');
    expect((await app.callsOf('pairing_accept')).map((c) => c.args)).toEqual([{ text: LINK }]);
  });
});

test.describe('camera refused or missing', () => {
  for (const [what, script, message] of [
    [
      'a denied permission',
      () => {
        navigator.mediaDevices.getUserMedia = () =>
          Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
      },
      'Camera access was denied.',
    ],
    [
      'no camera at all',
      () => {
        Object.defineProperty(navigator, 'mediaDevices', { value: undefined });
      },
      'This window cannot use a camera here.',
    ],
  ] as const) {
    test(`${what} gets a clear message and changes nothing`, async ({ app }) => {
      const { page } = app;
      await page.evaluate(script);
      await page.getByRole('button', { name: 'Pairing', exact: true }).click();
      const step = page.getByRole('region', { name: '2 Their code' });
      await page.getByLabel('Paste their code').fill('ZKS1:TYPED');
      await step.getByRole('button', { name: 'Scan with camera' }).click();
      await expect(step.getByRole('alert')).toContainText(message);
      await expect(page.getByLabel('Paste their code')).toHaveValue('ZKS1:TYPED');
      if (what === 'a denied permission') await app.screenshot('pairing-camera-denied');
      await step.getByRole('button', { name: 'Close' }).click();
      await expect(step.getByRole('alert')).toHaveCount(0);
      expect(await app.callsOf('pairing_scan_frame')).toEqual([]);
    });
  }
});
