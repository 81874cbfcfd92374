// `ebb activator`'s TLS flags: a bad value or a missing partner flag stops the command naming
// the flag and why, before anything connects (no cluster is needed to see it).
import { describe, expect, it } from 'vitest';
import { activatorCommand } from '../../src/cli/activator.ts';
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
