// The local file: LocalApp fields (each bad one refused naming the field), references from
// ScaledObjects, and `ebb local` refusing a bad file with a non-zero exit and the problems.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CliIO } from '../../../src/cli/io.ts';
import { checkLocalFile } from '../../../src/cli/local.ts';
import { localCommand } from '../../../src/cli/local-command.ts';
import { parseLocalFile } from '../../../src/platform/local/file.ts';

const appDoc = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'web' }) =>
  stringify({ apiVersion: 'local.ebb.dev/v1alpha1', kind: 'LocalApp', metadata, spec });

const goodSpec = { command: 'node', args: ['app.js'], portEnv: 'PORT' };

const scaledObjectDoc = (over: Record<string, unknown> = {}, trigger?: Record<string, unknown>) =>
  stringify({
    apiVersion: 'autoscaling.ebb.dev/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'web' },
    spec: {
      scaleTargetRef: { name: 'web' },
      triggers: [
        trigger ?? {
          type: 'http',
          metadata: { hosts: '*', service: 'web', port: '80', targetConcurrency: '10' },
        },
      ],
      ...over,
    },
  });

const file = (...docs: string[]) => docs.join('---\n');

/** `path: message` of every problem, or 'ok'. */
const problems = (text: string): string[] | 'ok' => {
  const parsed = parseLocalFile('/srv/ebb/local.yaml', text);
  return parsed.ok ? 'ok' : parsed.problems.map((p) => `${p.doc}: ${p.path}: ${p.message}`);
};

describe('LocalApp fields', () => {
  const rows: {
    label: string;
    spec?: Record<string, unknown>;
    metadata?: Record<string, unknown>;
    want: RegExp;
  }[] = [
    { label: 'command missing', spec: { portEnv: 'PORT' }, want: /^1: spec\.command: / },
    { label: 'command empty', spec: { ...goodSpec, command: '' }, want: /^1: spec\.command: / },
    { label: 'args not a list', spec: { ...goodSpec, args: 'app.js' }, want: /^1: spec\.args: / },
    { label: 'args of numbers', spec: { ...goodSpec, args: [1] }, want: /^1: spec\.args\[0\]: / },
    { label: 'portEnv missing', spec: { command: 'node' }, want: /^1: spec\.portEnv: / },
    {
      label: 'portEnv not a variable name',
      spec: { ...goodSpec, portEnv: '9PORT' },
      want: /^1: spec\.portEnv: must be an environment variable name such as PORT/,
    },
    {
      label: 'env value not a string',
      spec: { ...goodSpec, env: { DELAY: 5 } },
      want: /^1: spec\.env\.DELAY: /,
    },
    {
      label: 'env name not a variable name',
      spec: { ...goodSpec, env: { 'A-B': 'x' } },
      want: /^1: spec\.env\.A-B: must be an environment variable name .*got "A-B"/,
    },
    {
      label: 'protocol not one ebb speaks',
      spec: { ...goodSpec, protocol: 'grpc' },
      want: /^1: spec\.protocol: /,
    },
    {
      label: 'readinessPath without a slash',
      spec: { ...goodSpec, readinessPath: 'healthz' },
      want: /^1: spec\.readinessPath: must be a URL path starting with "\/"/,
    },
    {
      label: 'readinessPath with a query',
      spec: { ...goodSpec, readinessPath: '/healthz?x=1' },
      want: /^1: spec\.readinessPath: /,
    },
    {
      label: 'startupTimeoutSeconds 0',
      spec: { ...goodSpec, startupTimeoutSeconds: 0 },
      want: /^1: spec\.startupTimeoutSeconds: .*0/,
    },
    {
      label: 'terminationGracePeriodSeconds negative',
      spec: { ...goodSpec, terminationGracePeriodSeconds: -1 },
      want: /^1: spec\.terminationGracePeriodSeconds: .*-1/,
    },
    {
      label: 'terminationGracePeriodSeconds a string',
      spec: { ...goodSpec, terminationGracePeriodSeconds: '5' },
      want: /^1: spec\.terminationGracePeriodSeconds: /,
    },
    { label: 'unknown field', spec: { ...goodSpec, replicas: 2 }, want: /^1: spec.*replicas/ },
    {
      label: 'name not a DNS label',
      metadata: { name: 'Web_App' },
      want: /^1: metadata\.name: must be a lowercase DNS label/,
    },
    { label: 'name missing', metadata: {}, want: /^1: metadata\.name: / },
  ];
  it.each(rows)('$label', ({ spec, metadata, want }) => {
    const got = problems(appDoc(spec ?? goodSpec, metadata));
    expect(got).not.toBe('ok');
    expect(got[0]).toMatch(want);
  });

  it('reports every bad field of a document, not just the first', () => {
    const got = problems(
      appDoc({ command: '', portEnv: '1', readinessPath: 'x', startupTimeoutSeconds: -1 }),
    );
    expect(got).not.toBe('ok');
    expect((got as string[]).map((p) => p.split(':')[1]?.trim())).toEqual([
      'spec.command',
      'spec.portEnv',
      'spec.readinessPath',
      'spec.startupTimeoutSeconds',
    ]);
  });

  it('resolves a good LocalApp: defaults, namespace, cwd relative to the file', () => {
    const parsed = parseLocalFile(
      '/srv/ebb/local.yaml',
      file(
        appDoc({ ...goodSpec, env: { A: '1' }, readinessPath: '/healthz', cwd: 'app' }),
        appDoc(
          {
            command: '/bin/true',
            portEnv: 'P',
            protocol: 'h2c',
            startupTimeoutSeconds: 2,
            terminationGracePeriodSeconds: 0,
          },
          {
            name: 'other',
            namespace: 'team',
          },
        ),
      ),
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.apps).toEqual([
      {
        namespace: 'default',
        name: 'web',
        command: 'node',
        args: ['app.js'],
        cwd: '/srv/ebb/app',
        env: { A: '1' },
        portEnv: 'PORT',
        readinessPath: '/healthz',
        protocol: 'http/1.1',
        startupTimeoutMs: 60_000,
        gracePeriodMs: 5000,
      },
      {
        namespace: 'team',
        name: 'other',
        command: '/bin/true',
        args: [],
        cwd: '/srv/ebb',
        env: {},
        portEnv: 'P',
        readinessPath: undefined,
        protocol: 'h2c',
        startupTimeoutMs: 2000,
        gracePeriodMs: 0,
      },
    ]);
  });
});

describe('the file as a whole', () => {
  it('fills in a ScaledObject namespace and its target as a LocalApp', () => {
    const parsed = parseLocalFile('x.yaml', file(appDoc(goodSpec), scaledObjectDoc()));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.value.scaledObjects).toMatchObject([
      {
        doc: 2,
        raw: {
          metadata: { name: 'web', namespace: 'default' },
          spec: { scaleTargetRef: { name: 'web', kind: 'LocalApp', apiVersion: 'local.ebb.dev/v1alpha1' } },
        },
      },
    ]);
  });

  const rows: { label: string; text: string; want: string[] }[] = [
    {
      label: 'a target that is not a LocalApp of the file',
      text: file(appDoc(goodSpec), scaledObjectDoc({ scaleTargetRef: { name: 'api' } })),
      want: ['2: spec.scaleTargetRef.name: names no LocalApp in this file: "default/api"'],
    },
    {
      label: 'a Deployment target',
      text: file(appDoc(goodSpec), scaledObjectDoc({ scaleTargetRef: { name: 'web', kind: 'Deployment' } })),
      want: [
        '2: spec.scaleTargetRef.kind: must be "LocalApp" or omitted in local mode (the target is a LocalApp of this file), got "Deployment"',
      ],
    },
    {
      label: 'an apps/v1 target',
      text: file(
        appDoc(goodSpec),
        scaledObjectDoc({ scaleTargetRef: { name: 'web', apiVersion: 'apps/v1' } }),
      ),
      want: [
        '2: spec.scaleTargetRef.apiVersion: must be "local.ebb.dev/v1alpha1" or omitted in local mode (the target is a LocalApp of this file), got "apps/v1"',
      ],
    },
    {
      label: 'an http service that is not a LocalApp',
      text: file(
        appDoc(goodSpec),
        scaledObjectDoc({}, { type: 'http', metadata: { hosts: '*', service: 'api', port: '80' } }),
      ),
      want: [
        '2: spec.triggers[0].metadata.service: names no LocalApp in this file: "default/api" (in local mode the service is a LocalApp)',
      ],
    },
    {
      label: 'a LocalApp declared twice',
      text: file(appDoc(goodSpec), appDoc(goodSpec)),
      want: ['2: metadata.name: LocalApp default/web is declared more than once'],
    },
    {
      label: 'a ScaledObject declared twice',
      text: file(appDoc(goodSpec), scaledObjectDoc(), scaledObjectDoc()),
      want: ['3: metadata.name: ScaledObject default/web is declared more than once'],
    },
    {
      label: 'another kind',
      text: file(appDoc(goodSpec), stringify({ apiVersion: 'apps/v1', kind: 'Deployment' })),
      want: ['2: kind: must be "LocalApp" or "ScaledObject", got "Deployment"'],
    },
    {
      label: 'not a mapping',
      text: file(appDoc(goodSpec), '- a\n- b\n'),
      want: ['2: : must be a LocalApp or a ScaledObject (a YAML mapping)'],
    },
    {
      label: 'empty',
      text: '',
      want: ['1: : declares nothing: expected LocalApp and ScaledObject documents'],
    },
  ];
  it.each(rows)('refuses $label', ({ text, want }) => {
    expect(problems(text)).toEqual(want);
  });

  it('refuses YAML that does not parse, with the line', () => {
    const got = problems('kind: LocalApp\nspec: [unclosed\n');
    expect(got).not.toBe('ok');
    expect(got[0]).toMatch(/^1: : not YAML: line \d+, column \d+: /);
  });

  it('admits the ScaledObjects with the controller admission (trigger metadata)', () => {
    const text = file(
      appDoc(goodSpec),
      scaledObjectDoc(
        {},
        { type: 'http', metadata: { hosts: '*', service: 'web', port: '80', targetConcurrency: 'ten' } },
      ),
    );
    const checked = checkLocalFile('x.yaml', text);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.lines).toHaveLength(1);
    expect(checked.lines[0]).toMatch(/^x\.yaml:2: .*targetConcurrency/);
  });

  it('the example file is valid', async () => {
    const { readFile } = await import('node:fs/promises');
    const name = 'examples/local/ebb.yaml';
    const checked = checkLocalFile(name, await readFile(name, 'utf8'));
    expect(checked.ok ? 'ok' : checked.lines).toBe('ok');
  });
});

describe('ebb local refuses a bad file or flag', () => {
  const io = (text: string | Error) => {
    const out: string[] = [];
    const err: string[] = [];
    const cli: CliIO = {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      now: () => new Date(0),
      readText: async () => {
        if (text instanceof Error) throw text;
        return text;
      },
    };
    return { cli, out, err: () => err.join('') };
  };

  it('exits 1 naming the file, document and field', async () => {
    const { cli, out, err } = io(appDoc({ command: 'node', portEnv: 'PORT', readinessPath: 'healthz' }));
    expect(await localCommand(['bad.yaml', '--port', '0', '--ui-port', '0'], cli)).toBe(1);
    expect(err()).toBe(
      'ebb local: bad.yaml:1: spec.readinessPath: must be a URL path starting with "/" (no "?", "#" or spaces)\n',
    );
    expect(out).toEqual([]);
  });

  it('exits 1 when the file cannot be read', async () => {
    const missing = Object.assign(new Error("ENOENT: no such file or directory, open 'nope.yaml'"), {
      code: 'ENOENT',
    });
    const { cli, err } = io(missing);
    expect(await localCommand(['nope.yaml'], cli)).toBe(1);
    expect(err()).toBe('ebb local: cannot read nope.yaml: no such file or directory\n');
  });

  it('exits non-zero on a bad flag, naming it', async () => {
    const { cli, err } = io('');
    expect(await localCommand(['x.yaml', '--ui-port', 'eighty'], cli)).not.toBe(0);
    expect(err()).toMatch(/--ui-port.*must be a port number/);
  });
});
