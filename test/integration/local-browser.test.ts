// The status page of `ebb local` in a real browser: headless Chromium from Debian's `chromium`
// package (.ci/run installs it), driven by playwright-core. The page is open while a request
// cold-starts the example's `hello`; its numbers and its chart must follow. Never skipped: a
// missing Chromium fails the test.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { alive, processTree, type RunningCli, startCli } from '../platform/local/running-cli.ts';

const CHROMIUM = '/usr/bin/chromium';
// Root in a container: no user namespaces for the sandbox, a small /dev/shm, no GPU.
const CHROMIUM_ARGS = ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage', '--disable-gpu'];

let browser: Browser;
let cli: RunningCli;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (.ci/run does)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  cli = await startCli();
});

afterAll(async () => {
  await browser?.close();
  if (cli !== undefined && cli.child.exitCode === null) {
    const tree = processTree(cli.ebbPid);
    cli.child.kill('SIGKILL');
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
});

const HELLO = 'section[data-key="default/hello"]';
/** The chart's top and bottom margin in the page's SVG (PAD in status-page.ts). */
const CHART_PAD = 14;

interface PageState {
  replicas: string;
  ready: string;
  held: string;
  requests: string;
  samples: number;
  /** Values of each series, read back from the polyline's y coordinates (0 = the baseline). */
  series: Record<'replicas' | 'ready' | 'metric', number[]>;
}

/** What the page shows for `hello` now: its numbers, and its chart's series as values. */
const readHello = async (page: Page): Promise<PageState> => {
  const section = page.locator(HELLO);
  const field = async (name: string) => (await section.locator(`[data-field="${name}"]`).textContent()) ?? '';
  const svg = section.locator('svg');
  const attr = async (name: string) => Number(await svg.getAttribute(name));
  const [height, max, samples] = [await attr('height'), await attr('data-max'), await attr('data-samples')];
  const values = async (series: string): Promise<number[]> => {
    const points = (await svg.locator(`polyline[data-series="${series}"]`).getAttribute('points')) ?? '';
    return points
      .split(' ')
      .filter((point) => point !== '')
      .map((point) => {
        const y = Number(point.split(',')[1]);
        return Math.round(((height - CHART_PAD - y) / (height - 2 * CHART_PAD)) * max * 100) / 100;
      });
  };
  return {
    replicas: await field('replicas'),
    ready: await field('ready'),
    held: await field('held'),
    requests: await field('requests'),
    samples,
    series: {
      replicas: await values('replicas'),
      ready: await values('ready'),
      metric: await values('metric'),
    },
  };
};

describe('ebb local status page', () => {
  it('shows a cold start: replicas and ready go 0 → 1, and the chart draws it', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A Content-Security-Policy violation is a console error: the page must not cause any.
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const loaded = await page.goto(cli.uiUrl);
    // The page runs under its own self-only policy (no inline script or style, no eval).
    expect(loaded?.headers()['content-security-policy']).toMatch(/^default-src 'self';/);
    expect(loaded?.headers()['x-frame-options']).toBe('DENY');

    // Every ScaledObject of the example is listed, with the URL to send requests to.
    await page.waitForSelector(HELLO);
    const sections = page.locator('section[data-key]');
    const keys = [];
    for (let i = 0; i < (await sections.count()); i++)
      keys.push(await sections.nth(i).getAttribute('data-key'));
    expect(keys).toEqual(['default/hello', 'default/ticker', 'default/orders', 'default/events']);
    expect(await page.textContent('#intro')).toContain(cli.url);

    // Scaled to zero, with a few samples in the chart.
    // Locators, not waitForFunction with a string: the page's policy forbids eval.
    await vi.waitFor(
      async () =>
        expect(
          Number(await page.locator(`${HELLO} svg`).getAttribute('data-samples')),
        ).toBeGreaterThanOrEqual(2),
      { timeout: 30_000, interval: 200 },
    );
    const before = await readHello(page);
    expect(before).toMatchObject({ replicas: '0', ready: '0', held: '0', requests: '0' });
    expect(Math.max(...before.series.replicas)).toBe(0);
    expect(Math.max(...before.series.metric)).toBe(0);

    // The cold start, watched through the page every 100 ms.
    const seen = new Set<string>();
    const t0 = performance.now();
    const response = fetch(cli.url, { signal: AbortSignal.timeout(30_000) });
    let after = before;
    while (performance.now() - t0 < 20_000) {
      after = await readHello(page);
      seen.add(`replicas ${after.replicas} ready ${after.ready} held ${after.held}`);
      const drawn =
        Math.max(...after.series.replicas) === 1 &&
        Math.max(...after.series.ready) === 1 &&
        Math.max(...after.series.metric) > 0;
      if (after.replicas === '1' && after.ready === '1' && drawn) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const answer = await response;
    expect(answer.status).toBe(200);
    console.log(`page states during the cold start: ${[...seen].join(' | ')}`);

    // The numbers changed...
    expect(after).toMatchObject({ replicas: '1', ready: '1', held: '0', requests: '1' });
    expect(seen.size).toBeGreaterThanOrEqual(2);
    // ...and the chart: replicas and ready climbed from 0 to 1, and the concurrency of the held
    // request shows as a rise of the metric.
    expect(after.series.replicas[0]).toBe(0);
    expect(Math.max(...after.series.replicas)).toBe(1);
    expect(after.series.ready[0]).toBe(0);
    expect(Math.max(...after.series.ready)).toBe(1);
    expect(Math.max(...after.series.metric)).toBeGreaterThan(0);
    expect(after.samples).toBeGreaterThan(before.samples);
    expect(await page.locator(`${HELLO} .legend`).first().textContent()).toMatch(
      /processes: hello-0 ready :\d+ pid \d+/,
    );
    expect(errors).toEqual([]);
    await page.close();

    const tree = processTree(cli.ebbPid);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    // The detached reaper exits on its pipe's end-of-file, a moment after ebb (local.test.ts waits too).
    await vi.waitFor(() => expect(alive(tree)).toEqual([]), { timeout: 5_000, interval: 50 });
  });
});
