// `--trusted-proxies` on both commands that run an activator: listed in the help, parsed as
// comma-separated CIDRs or addresses (repeatable), and a bad entry refused naming it, before
// anything starts. What the activator does with the list: test/activator/hostile/forwarded.test.ts.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { activatorCommand } from '../../src/cli/activator.ts';
import { trustedProxies } from '../../src/cli/flags.ts';
import { localCommand } from '../../src/cli/local-command.ts';
import { runCommand } from './run-command.ts';

const run = runCommand;

describe.each([
  ['ebb activator', activatorCommand, []],
  ['ebb local', localCommand, ['app.yaml']],
] as const)('%s --trusted-proxies', (_, command, args) => {
  it('is listed with what it trusts and its default', async () => {
    const { code, stdout } = await run(command, ['--help']);
    expect(code).toBe(0);
    expect(stdout.replace(/\s+/g, ' ')).toMatch(
      /--trusted-proxies <cidrs> CIDRs or addresses .* X-Forwarded-Proto, X-Forwarded-Host and Forwarded .*\(default: trust nobody\)/,
    );
  });

  it.each(['10.0.0.0/33', 'ingress', '10.0.0.0/8,::/200'])('refuses %s naming the entry', async (value) => {
    const { code, stderr } = await run(command, [...args, '--trusted-proxies', value]);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`option '--trusted-proxies <cidrs>' argument '${value}' is invalid.`);
    expect(stderr).toContain(JSON.stringify(value.split(',').at(-1)));
  });
});

describe('trustedProxies (the flag parser)', () => {
  it('splits on commas and joins repeated flags', () => {
    expect(trustedProxies('fd00::/8', trustedProxies('10.0.0.0/8, 192.168.1.5'))).toEqual([
      '10.0.0.0/8',
      '192.168.1.5',
      'fd00::/8',
    ]);
  });

  it('throws commander’s InvalidArgumentError (printed with the flag)', () => {
    expect(() => trustedProxies('10.0.0.0/8/8')).toThrow(InvalidArgumentError);
  });
});
