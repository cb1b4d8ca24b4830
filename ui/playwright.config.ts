// End-to-end tests of the built UI (ui/dist) in Debian's Chromium, with the
// Tauri backend mocked in the page (e2e/mock-backend.ts). No browser download:
// install with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1. Run: npm run build && npm run e2e
import { defineConfig } from '@playwright/test';

const CHROMIUM = process.env.ZKS_CHROMIUM ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './e2e',
  testMatch: '**/*.spec.ts',
  outputDir: './test-results',
  fullyParallel: true,
  workers: 2,
  forbidOnly: true,
  retries: 0,
  timeout: 15_000,
  expect: { timeout: 5_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1024, height: 768 },
    // A fresh temporary profile per browser is Playwright's default for launch().
    launchOptions: {
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    serviceWorkers: 'block',
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
