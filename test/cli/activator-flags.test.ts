// `ebb activator`'s agreed flags (docs/HELPERS.md "Agreed ports and flags"): --health-port and
// --metrics-port exist with their defaults, and a bad port is refused naming the flag, before
// anything connects. Serving them is tested against a real API server in
// test/integration/activator-replicas.test.ts.
import { describe, expect, it } from 'vitest';
import { activatorCommand } from '../../src/cli/activator.ts';
import type { CliIO } from '../../src/cli/io.ts';

const run = async (argv: string[]) => {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    now: () => new Date(0),
    readText: async () => '',
  };
  const code = await activatorCommand(argv, io);
  return { code, stdout, stderr };
};

describe('ebb activator flags', () => {
  it('lists --health-port (8081) and --metrics-port (9090), 0 turning each off', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    const help = stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--health-port <n> port of \/healthz and \/readyz \(0: off\) \(default: 8081\)/);
    expect(help).toMatch(/--metrics-port <n> port of Prometheus \/metrics \(0: off;.*\) \(default: 9090\)/);
  });

  it('lists the drain and connection timeouts, in seconds with their defaults', async () => {
    const { stdout } = await run(['--help']);
    const help = stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--drain-delay <s> .*readiness failed.*\(default 5; 0: none\)/);
    expect(help).toMatch(/--request-body-timeout <s> .*408 \(default 60; 0: no limit\)/);
    expect(help).toMatch(/--upgrade-idle-timeout <s> .*\(default 60; 0: no limit\)/);
  });

  it.each([
    ['--drain-delay', '-1'],
    ['--request-body-timeout', '1m'],
  ])('refuses %s %s naming the flag', async (flag, value) => {
    const { code, stderr } = await run([flag, value]);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`option '${flag} <s>' argument '${value}' is invalid. must be seconds >= 0`);
  });

  it.each([
    ['--health-port', '70000'],
    ['--metrics-port', '-1'],
    ['--metrics-port', 'http'],
  ])('refuses %s %s naming the flag', async (flag, value) => {
    const { code, stderr } = await run([flag, value]);
    expect(code).not.toBe(0);
    expect(stderr).toContain(
      `option '${flag} <n>' argument '${value}' is invalid. must be a port number 0-65535`,
    );
  });
});
