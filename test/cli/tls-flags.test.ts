// `ebb activator`'s TLS flags: a bad value or a missing partner flag stops the command naming
// the flag and why, before anything connects (no cluster is needed to see it).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { activatorCommand } from '../../src/cli/activator.ts';
import { makeCert } from '../activator/tls-certs.ts';
import { runCommand as runWith } from './run-command.ts';

const run = (argv: string[]) => runWith(activatorCommand, argv);

describe('ebb activator TLS flags', () => {
  it('lists --tls-port (off), --tls-secret, --tls-min-version (TLSv1.2) and --tls-ciphers', async () => {
    const help = (await run(['--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(
      /--tls-port <n> also serve HTTPS on this port \(off by default; needs --tls-secret\)/,
    );
    expect(help).toMatch(/--tls-secret <namespace\/name> a kubernetes.io\/tls Secret .* repeatable/);
    expect(help).toMatch(/--tls-min-version <v> .* \(default: "TLSv1.2", env: EBB_TLS_MIN_VERSION\)/);
    expect(help).toMatch(/--tls-ciphers <list> OpenSSL cipher list/);
  });

  it.each([
    [['--tls-secret', 'web'], 'give the Secret as namespace/name'],
    [['--tls-secret', 'Shop/web'], '"Shop" is no namespace name (RFC 1123 label)'],
    [['--tls-secret', 'shop/web_cert'], '"web_cert" is no Secret name (RFC 1123 subdomain)'],
    [['--tls-secret', 'shop/web'], '--tls-secret needs --tls-port'],
    [['--tls-port', '8443'], '--tls-port needs at least one --tls-secret namespace/name'],
    [
      ['--tls-port', '8443', '--tls-secret', 'shop/web', '--tls-min-version', 'TLSv1.1'],
      'deprecated (RFC 8996)',
    ],
    [['--tls-port', '8443', '--tls-secret', 'shop/web', '--tls-ciphers', 'NOPE'], 'no cipher match'],
  ])('%j is refused: %s', async (argv, message) => {
    const { code, stderr } = await run(argv);
    expect(code).not.toBe(0);
    expect(stderr).toContain(message);
  });
});

describe('ebb activator backend TLS flags', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-backend-ca-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  // Without a cluster the command stops at its cluster check (exit 1), after the flags were read.
  const noCluster = ['--kubeconfig', join(dir, 'absent-kubeconfig')];

  it('lists --backend-ca-file and --backend-tls-insecure', async () => {
    const help = (await run(['--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--backend-ca-file <file> PEM CA bundle .* <service>.<namespace>.svc/);
    expect(help).toMatch(/--backend-tls-insecure do not verify the certificates of https endpoints/);
  });

  it.each([
    [() => ['--backend-ca-file', join(dir, 'missing.pem')], 'missing.pem: cannot read it'],
    [() => ['--backend-ca-file', file('empty.pem', 'nothing here')], 'empty.pem: no PEM certificate'],
    [
      () => [
        '--backend-ca-file',
        file('bad.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      ],
      'bad.pem: certificate 1 of 1 is not a valid X.509 certificate',
    ],
  ])('a bad CA file is refused naming the flag, the file and why (%#)', async (argv, message) => {
    const { code, stderr } = await run(argv());
    expect(code).toBe(2);
    expect(stderr).toContain('--backend-ca-file');
    expect(stderr).toContain(message);
  });

  it('a CA file and --backend-tls-insecure together are refused', async () => {
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const { code, stderr } = await run([
      '--backend-ca-file',
      file('ca.pem', cert.cert),
      '--backend-tls-insecure',
    ]);
    expect(code).toBe(2);
    expect(stderr).toContain('--backend-ca-file and --backend-tls-insecure contradict each other');
  });

  it('a good CA file is taken; --backend-tls-insecure is a warning on stderr', async () => {
    const cert = await makeCert('cart.shop.svc', ['cart.shop.svc']);
    const taken = await run(['--backend-ca-file', file('good.pem', cert.cert), ...noCluster]);
    expect(taken.stderr).not.toContain('--backend-ca-file');
    expect(taken.code).toBe(1);
    const insecure = await run(['--backend-tls-insecure', ...noCluster]);
    expect(insecure.stderr).toContain(
      'WARNING --backend-tls-insecure: certificates of https endpoints are NOT verified',
    );
    expect(insecure.code).toBe(1);
  });
});
