// The placeholder page in a real browser (headless Chromium from Debian's `chromium` package,
// driven by playwright-core, as local-browser.test.ts runs it): a browser opens a route that is
// at zero, sees the placeholder at once, the cold start is poked, the app comes up, and the
// page's own refresh lands the browser on the app's page, with no script and no user action.
// Never skipped: a missing Chromium fails the test.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeAfterEach, routeSpec, serviceKey, startActivator, startBackend } from '../activator/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-gpu'];

let browser: Browser;
const track = closeAfterEach();

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
});

/** The page's visible text now, or '' while it is navigating (the refresh). */
const bodyText = async (page: Page): Promise<string> => {
  try {
    return (await page.textContent('body')) ?? '';
  } catch {
    return '';
  }
};

describe('placeholder page in Chromium', () => {
  it('shows the placeholder during a cold start and ends on the app page by refreshing itself', async () => {
    const a = track(
      await startActivator([
        routeSpec('web', {
          hosts: ['127.0.0.1'],
          placeholder: { message: 'The shop is waking up.', refreshSeconds: 1 },
        }),
      ]),
    );
    const page = await browser.newPage();
    try {
      const first = await page.goto(`http://127.0.0.1:${a.port}/catalog`);
      expect(first?.status()).toBe(503);
      expect(await bodyText(page)).toContain('The shop is waking up.');
      expect(a.pokes[0]).toEqual({ route: 'shop/web', held: 1 });

      // The controller's part: the app comes up after the poke.
      const app = track(
        await startBackend((req, res) => {
          res.writeHead(200, { 'content-type': 'text/html' });
          res.end(`<!doctype html><title>Shop</title><h1>Catalog</h1><p id="path">${req.url}</p>`);
        }),
      );
      a.source.set(serviceKey('web'), [app.endpoint]);

      await vi.waitFor(async () => expect(await bodyText(page)).toContain('Catalog'), {
        timeout: 30_000,
        interval: 200,
      });
      expect(await page.textContent('#path')).toBe('/catalog');
      expect(page.url()).toBe(`http://127.0.0.1:${a.port}/catalog`);
    } finally {
      await page.close();
    }
  });
});
