// `ebb activator`'s agreed flags (docs/HELPERS.md "Agreed ports and flags"): --health-port and
// --metrics-port exist with their defaults, and a bad port is refused naming the flag, before
// anything connects. Serving them is tested against a real API server in
// test/integration/activator-replicas.test.ts. Also the flags of report authentication (ebb
// activator's token file, ebb run's --report-*) and the status page's --ui-allowed-host: a bad
// value stops the command naming the flag, before anything connects.
import { describe, expect, it } from 'vitest';
import { activatorCommand } from '../../src/cli/activator.ts';
import { runCommand as runWith } from './run-command.ts';

const run = (argv: string[]) => runWith(activatorCommand, argv);

describe('ebb activator flags', () => {
  it('lists --health-port (8081) and --metrics-port (9090), 0 turning each off', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    const help = stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(
      /--health-port <n> port of \/healthz and \/readyz \(0: off\) \(default: 8081, env: EBB_HEALTH_PORT\)/,
    );
    expect(help).toMatch(
      /--metrics-port <n> port of Prometheus \/metrics \(0: off;.*\) \(default: 9090, env: EBB_METRICS_PORT\)/,
    );
  });

  it('lists --metrics-detail (default keda) and refuses a set it does not know', async () => {
    const help = (await run(['--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(
      /--metrics-detail <set> series per ScaledObject .*\(choices: "keda", "extended", default: "keda"/,
    );
    const { code, stderr } = await run(['--metrics-detail', 'all']);
    expect(code).not.toBe(0);
    expect(stderr).toContain("argument 'all' is invalid. Allowed choices are keda, extended.");
  });

  it('lists the drain and connection timeouts, in seconds with their defaults', async () => {
    const { stdout } = await run(['--help']);
    const help = stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--drain-delay <s> .*readiness failed.*\(default 5; 0: none\)/);
    expect(help).toMatch(/--request-body-timeout <s> .*408 \(default 60; 0: no limit; at most 3600\)/);
    expect(help).toMatch(/--upgrade-idle-timeout <s> .*\(default 60; 0: no limit; at most 86400\)/);
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
    ['--response-timeout', '3601', 3600],
    ['--request-body-timeout', '3600.5', 3600],
    ['--upgrade-idle-timeout', '86401', 86400],
  ])('refuses %s %s above the http trigger field maximum, naming it', async (flag, value, max) => {
    const { code, stderr } = await run([flag, value]);
    expect(code).not.toBe(0);
    expect(stderr).toContain(
      `option '${flag} <s>' argument '${value}' is invalid. must be at most ${max} seconds (the largest value the http trigger field takes)`,
    );
  });

  it.each(['ftp://collector:4318', 'collector:4318/x y'])(
    'refuses --otlp-endpoint %s naming the flag',
    async (value) => {
      const { code, stderr } = await run(['--otlp-endpoint', value]);
      expect(code).not.toBe(0);
      expect(stderr).toContain(
        `option '--otlp-endpoint <url>' argument '${value}' is invalid. must be an http:// or https:// URL`,
      );
    },
  );

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

describe('report authentication and status page flags', () => {
  it('ebb activator reports with the ServiceAccount token by default; an unreadable file stops it', async () => {
    const help = (await run(['--help'])).stdout.replace(/\s+/g, ' ');
    expect(help).toContain(
      '(default: "/var/run/secrets/kubernetes.io/serviceaccount/token", env: EBB_REPORT_TOKEN_FILE)',
    );
    // The command checks the cluster first (test/cli/first-run.test.ts); the token is the first
    // thing the standalone shape reads, before any connection.
    const { runStandaloneActivator } = await import('../../src/cli/standalone-activator.ts');
    await expect(
      runStandaloneActivator({
        controllerUrls: ['http://127.0.0.1:1'],
        reportTokenFile: '/nonexistent/ebb-token',
      }),
    ).rejects.toThrow(
      /^--report-token-file: cannot read the ServiceAccount token .*\/nonexistent\/ebb-token/,
    );
  });

  it.each([
    [
      ['--report-auth', 'basic'],
      "option '--report-auth <mode>' argument 'basic' is invalid. Allowed choices are tokenreview, none.",
    ],
    [
      ['--report-allowed-service-accounts', 'ebb-system/ebb-activator'],
      '"ebb-system/ebb-activator" must be namespace:name of a ServiceAccount',
    ],
    [
      ['--metrics-detail', 'full'],
      "option '--metrics-detail <set>' argument 'full' is invalid. Allowed choices are keda, extended.",
    ],
  ])('ebb run refuses %j naming the flag', async (argv, message) => {
    const { run: runCommand } = await import('../../src/cli/run.ts');
    const { code, stderr } = await runWith(runCommand, argv);
    expect(code).not.toBe(0);
    expect(stderr).toContain(message);
  });

  it.each(['dev.test:8090', 'http://dev.test', 'cafe:80'])(
    'ebb local refuses --ui-allowed-host %s',
    async (host) => {
      const { localCommand } = await import('../../src/cli/local-command.ts');
      const { code, stderr } = await runWith(localCommand, ['x.yaml', '--ui-allowed-host', host]);
      expect(code).not.toBe(0);
      expect(stderr).toContain('must be a host name or an IP address, without a port');
    },
  );
});
