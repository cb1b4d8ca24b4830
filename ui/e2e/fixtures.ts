// Shared fixtures: a loopback static server over the built UI (ui/dist), the
// mocked backend, and screenshots saved as test artefacts.
import { test as base, expect, type Page } from '@playwright/test';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { installMockBackend, type MockOptions, type RecordedCall } from './mock-backend';

const HERE = dirname(fileURLToPath(import.meta.url));
/** ui/ and the repository root, found from this file so any clone works. */
export const UI_DIR = resolve(HERE, '..');
export const REPO_ROOT = resolve(UI_DIR, '..');
const DIST = join(UI_DIR, 'dist');
/** Same rule as scripts/lib.sh: $ZKS_ARTIFACTS or <repo>/artifacts. */
export const ARTIFACTS_DIR = join(
  process.env.ZKS_ARTIFACTS ? resolve(process.env.ZKS_ARTIFACTS) : join(REPO_ROOT, 'artifacts'),
  'e2e',
);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

function serveDist(): Promise<{ server: Server; url: string }> {
  if (!existsSync(join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: run \`npm run build\` in ui/ first`);
  }
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(DIST, path));
    if (file !== DIST && !file.startsWith(DIST + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    res.end(readFileSync(file));
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      ok({ server, url: `http://127.0.0.1:${port}/` });
    });
  });
}

export interface App {
  page: Page;
  /** Every invoke the UI made so far, in order. */
  calls(): Promise<RecordedCall[]>;
  /** Calls of one command. */
  callsOf(cmd: string): Promise<RecordedCall[]>;
  /** Full-page PNG into <artifacts>/e2e/<name>.png. */
  screenshot(name: string): Promise<string>;
}

type TestFixtures = { mock: MockOptions; app: App };
type WorkerFixtures = { appUrl: string };

export const test = base.extend<TestFixtures, WorkerFixtures>({
  appUrl: [
    // eslint-disable-next-line no-empty-pattern
    async ({}, use) => {
      const { server, url } = await serveDist();
      await use(url);
      await new Promise<void>((done) => server.close(() => done()));
    },
    { scope: 'worker' },
  ],
  mock: [{}, { option: true }],
  app: async ({ page, appUrl, mock }, use) => {
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    // Nothing but the loopback server: no request may leave the machine.
    await page.route(
      (url) => !url.href.startsWith(appUrl),
      (route) => route.abort('blockedbyclient'),
    );
    await page.addInitScript(installMockBackend, mock);
    await page.goto(appUrl);

    const calls = () =>
      page.evaluate(() => (window as unknown as { __ZKS_MOCK__: { calls: RecordedCall[] } }).__ZKS_MOCK__.calls);
    await use({
      page,
      calls,
      callsOf: async (cmd) => (await calls()).filter((c) => c.cmd === cmd),
      screenshot: async (name) => {
        mkdirSync(ARTIFACTS_DIR, { recursive: true });
        const path = join(ARTIFACTS_DIR, `${name}.png`);
        await page.screenshot({ path, fullPage: true, animations: 'disabled' });
        return path;
      },
    });
    // The UI must not crash or log errors while a test drives it.
    expect(problems, 'page errors / console errors').toEqual([]);
  },
});

export { expect };

/** Asserts the layout has no horizontal overflow at the current viewport. */
export async function expectNoHorizontalScroll(page: Page): Promise<void> {
  const width = page.viewportSize()!.width;
  const sizes = await page.evaluate(() => {
    const main = document.querySelector('main');
    return {
      doc: document.documentElement.scrollWidth,
      main: main ? main.scrollWidth - main.clientWidth : 0,
    };
  });
  expect(sizes.doc, 'document scrollWidth').toBeLessThanOrEqual(width);
  expect(sizes.main, 'main pane horizontal overflow (px)').toBeLessThanOrEqual(0);
}
