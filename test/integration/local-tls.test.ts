// `ebb local --tls-port`: HTTPS beside the plain URL, with certificate files (chosen by SNI) or,
// without any, a self-signed one for localhost; a certificate file that is no usable certificate
// stops ebb at once, naming the file and the reason.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CertificateKeyMismatch } from '../../src/api/reasons.ts';
import { callTls, makeCert } from '../activator/tls-certs.ts';
import { type RunningCli, startCli } from '../platform/local/running-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'ebb-local-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const started: RunningCli[] = [];
afterEach(async () => {
  for (const cli of started.splice(0)) {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

const write = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** The TLS port of the `HTTPS:` banner line. */
const tlsPortOf = async (cli: RunningCli): Promise<number> => {
  const [, port] = (await cli.line(/^\s+HTTPS:\s+https:\/\/127\.0\.0\.1:(\d+)\/$/)) as [string, string];
  return Number(port);
};

describe('ebb local --tls-port', () => {
  it('serves the example over HTTPS with certificate files chosen by SNI', async () => {
    const [shop, blog] = await Promise.all([
      makeCert('shop', ['shop.localhost']),
      makeCert('blog', ['blog.localhost']),
    ]);
    const cli = await startCli({
      args: [
        ...['--port', '0', '--ui-port', '0', '--tls-port', '0'],
        ...['--tls-cert', write('shop.crt', shop.cert), '--tls-key', write('shop.key', shop.key)],
        ...['--tls-cert', write('blog.crt', blog.cert), '--tls-key', write('blog.key', blog.key)],
      ],
    });
    started.push(cli);
    const port = await tlsPortOf(cli);
    const answer = await callTls(port, 'blog.localhost');
    expect(answer).toMatchObject({ status: 200, cn: 'blog' });
    expect(answer.body).toMatch(/^hello from hello/);
    expect((await callTls(port, 'other.localhost')).cn).toBe('shop');
  }, 60_000);

  it('without --tls-cert: a self-signed certificate for localhost', async () => {
    const cli = await startCli({ args: ['--port', '0', '--ui-port', '0', '--tls-port', '0'] });
    started.push(cli);
    const answer = await callTls(await tlsPortOf(cli), 'localhost');
    expect(answer.status).toBe(200);
  }, 60_000);

  it('a key that is not the certificate’s stops ebb local, naming the file and the reason', async () => {
    const [a, b] = await Promise.all([makeCert('a', ['a.localhost']), makeCert('b', ['b.localhost'])]);
    const cert = write('a.crt', a.cert);
    const args = ['--port', '0', '--ui-port', '0', '--tls-port', '0', '--tls-cert', cert];
    // startCli fails with ebb's stderr when ebb exits before its banner.
    const failed = startCli({ args: [...args, '--tls-key', write('b.key', b.key)] });
    await expect(failed).rejects.toThrow(
      `ebb local: cannot serve TLS: ${cert}: the private key does not belong to the certificate (CN=a) (${CertificateKeyMismatch})`,
    );
  }, 60_000);
});
