// The standalone activator's report token (src/activator/report-token.ts) from a real file, and
// the reporter sending it: a missing, empty or oversized file stops the start with the file
// named; every report carries `Authorization: Bearer <token>`; when the kubelet rotates the file
// the next read picks it up, at once after a controller answers 401; a file that cannot be read
// again keeps the last token.
import { rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReportToken } from '../../src/activator/report-token.ts';
import { ActivatorReporter } from '../../src/activator/reporter.ts';
import { silentLogger } from '../../src/logging.ts';
import { makeTempDir, removeDir } from '../env/proc.ts';
import { until } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tokenFile = async (content: string): Promise<string> => {
  const dir = await makeTempDir('report-token');
  cleanups.push(() => removeDir(dir));
  const file = join(dir, 'token');
  writeFileSync(file, content);
  return file;
};

const load = async (file: string, opts: Parameters<typeof ReportToken.load>[2] = {}) => {
  const token = await ReportToken.load(file, silentLogger, opts);
  cleanups.push(() => token.close());
  return token;
};

describe('the report token file', () => {
  it.each([
    { label: 'missing', content: undefined, why: /ENOENT/ },
    { label: 'empty', content: ' \n', why: /is empty/ },
    { label: 'two tokens', content: 'a.b.c d.e.f\n', why: /more than one token/ },
    { label: 'oversized', content: 'x'.repeat(70_000), why: /70000 bytes, more than a token/ },
  ])('$label: the start fails naming the flag and the file', async ({ content, why }) => {
    const file = await tokenFile('placeholder');
    if (content === undefined) rmSync(file);
    else writeFileSync(file, content);
    const err = await ReportToken.load(file, silentLogger).then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    );
    expect(err).toMatch(/^--report-token-file: cannot read the ServiceAccount token/);
    expect(err).toContain(file);
    expect(err).toMatch(why);
  });

  it('is read again on its period, and a failed read keeps the last token', async () => {
    const file = await tokenFile('one.one.one\n');
    const token = await load(file, { rereadEveryMs: 20 });
    expect(token.current()).toBe('one.one.one');
    writeFileSync(file, 'two.two.two');
    await until(() => token.current() === 'two.two.two', 'the rotated token');
    rmSync(file);
    await new Promise((r) => setTimeout(r, 100));
    expect(token.current()).toBe('two.two.two');
  });
});

describe('the reporter with the token', () => {
  it('sends it as a Bearer token; a 401 after a rotation makes it read the file again at once', async () => {
    const seen: string[] = [];
    let accepted = 'old.old.old';
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const auth = req.headers.authorization ?? '';
        seen.push(auth);
        res.writeHead(auth === `Bearer ${accepted}` ? 204 : 401).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const file = await tokenFile('old.old.old');
    // Re-read only after a 401 here (the period is an hour).
    const token = await load(file, { rereadEveryMs: 3_600_000, minRereadGapMs: 0 });
    const reporter = new ActivatorReporter({ urls: [url], log: silentLogger, credentials: token });
    cleanups.push(() => reporter.close());
    // A push while the last is unanswered is skipped (by design): push until one more arrives.
    const pushUntil = async (n: number, what: string) => {
      for (let i = 0; i < 200 && seen.length < n; i++) {
        reporter.stats({ activator: 'a', at: Date.now(), routes: [] });
        await new Promise((r) => setTimeout(r, 10));
      }
      await until(() => seen.length >= n, what);
    };

    await pushUntil(1, 'the first report');
    expect(seen).toEqual(['Bearer old.old.old']);

    // The kubelet rotates the file; the controller accepts only the new token from now on.
    writeFileSync(file, 'new.new.new');
    accepted = 'new.new.new';
    await pushUntil(2, 'the refused report');
    expect(seen[1]).toBe('Bearer old.old.old');
    await until(() => token.current() === 'new.new.new', 'the re-read after the 401');
    await pushUntil(seen.length + 1, 'the next report');
    expect(seen.at(-1)).toBe('Bearer new.new.new');
  });
});
