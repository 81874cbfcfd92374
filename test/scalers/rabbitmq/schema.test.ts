import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkTriggers, resolveTrigger } from '../../../scalers/index.ts';
import { parseGoDurationOrMs } from '../../../scalers/kit/metadata.ts';
import { rabbitmqScaler } from '../../../scalers/rabbitmq/index.ts';
import type { Trigger } from '../../../src/api/scaledobject.ts';
import type { TriggerContext } from '../../../src/scaler.ts';
import { fixtures, fixtureText } from '../../fixtures/scaledobjects.ts';

const ctx = (
  metadata: Record<string, string>,
  authParams: Record<string, string> = {},
  extra: Partial<Trigger> = {},
  index = 0,
): TriggerContext => ({ index, trigger: { type: 'rabbitmq', metadata, ...extra }, authParams });

// KEDA's `host` test constant is the name of an env var its rows read through hostFromEnv. ebb
// has no container environment and refuses a *FromEnv key KEDA would read (rows at the end), so
// those rows give the host itself (`url`); `host` is kept where a row tests a host that is no URL.
const host = 'myHostSecret';
const url = 'amqp://rabbitmq';

// ---- KEDA's testRabbitMQMetadata (rabbitmq_scaler_test.go), in order: { metadata, error? } ----
// error = [metadata key, message pattern]. Where ebb deliberately differs, the label says so.
// KEDA's rows use scheme-only hosts ("https://"), which ebb refuses (no host name: rows 13-14);
// the later rows keep their scheme with a host name added, so they test what KEDA's rows test.

const metadataCases: Array<{
  label: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  /** The trigger names a TriggerAuthentication (not resolved at admission: authParams empty). */
  authenticationRef?: true;
  error?: [string, RegExp];
}> = [
  { label: 'nothing passed', metadata: {}, error: ['queueName', /is required/] },
  {
    label: 'properly formed metadata',
    metadata: { queueLength: '10', queueName: 'sample', host: url },
  },
  {
    label: 'malformed queueLength',
    metadata: { queueLength: 'AA', queueName: 'sample', host: url },
    error: ['queueLength', /must be a number, got "AA"/],
  },
  {
    label: 'missing host',
    metadata: { queueLength: '10', queueName: 'sample' },
    error: ['host', /is required: set host, or an authenticationRef/],
  },
  {
    label: 'missing queueName',
    metadata: { queueLength: '10', host: url },
    error: ['queueName', /is required/],
  },
  {
    label: 'host defined in authParams (still no queueName)',
    metadata: { queueLength: '10', host: url },
    authParams: { host },
    error: ['queueName', /is required/],
  },
  {
    label: 'http protocol with a host that is no URL (ebb: refused; KEDA fails only when it connects)',
    metadata: { queueLength: '10', queueName: 'sample', host, protocol: 'http' },
    error: ['host', /is not a valid URL/],
  },
  {
    label: 'queue name with slashes',
    metadata: { queueLength: '10', queueName: 'namespace/name', host: url },
  },
  {
    label: 'vhost passed',
    metadata: { vhostName: 'myVhost', queueName: 'namespace/name', host: url },
  },
  {
    label: 'vhost passed but empty',
    metadata: { vhostName: '', queueName: 'namespace/name', host: url },
  },
  {
    label: 'protocol defined in authParams',
    metadata: { queueName: 'sample', host: 'http://rabbitmq' },
    authParams: { protocol: 'http' },
  },
  {
    label: 'auto protocol and a bad URL',
    metadata: { queueName: 'sample', host: 'something://' },
    error: ['host', /has no host name/],
  },
  {
    label: 'auto protocol and an HTTP URL without host (ebb: refused)',
    metadata: { queueName: 'sample', host: 'http://' },
    error: ['host', /is not a valid URL/],
  },
  {
    label: 'auto protocol and an HTTPS URL without host (ebb: refused)',
    metadata: { queueName: 'sample', host: 'https://' },
    error: ['host', /is not a valid URL/],
  },
  {
    label: 'auto protocol and an HTTP URL',
    metadata: { queueName: 'sample', host: 'http://rabbitmq:15672' },
  },
  { label: 'auto protocol and an HTTPS URL', metadata: { queueName: 'sample', host: 'https://rabbitmq' } },
  {
    label: 'queueLength and mode',
    metadata: { queueLength: '10', mode: 'QueueLength', queueName: 'sample', host: 'https://rabbitmq' },
    error: ['queueLength', /is deprecated and cannot be combined with mode or value/],
  },
  {
    label: 'queueLength and value',
    metadata: { queueLength: '10', value: '20', queueName: 'sample', host: 'https://rabbitmq' },
    error: ['queueLength', /is deprecated/],
  },
  {
    label: 'queueLength and mode and value',
    metadata: {
      queueLength: '10',
      mode: 'QueueLength',
      value: '20',
      queueName: 'sample',
      host: 'https://rabbitmq',
    },
    error: ['queueLength', /is deprecated/],
  },
  {
    label: 'only mode',
    metadata: { mode: 'QueueLength', queueName: 'sample', host: 'https://rabbitmq' },
    error: ['value', /is required \(and must not be 0\) when mode is set/],
  },
  {
    label: 'only value',
    metadata: { value: '20', queueName: 'sample', host: 'https://rabbitmq' },
    error: ['mode', /is required when value is set/],
  },
  {
    label: 'mode and value',
    metadata: { mode: 'QueueLength', value: '20', queueName: 'sample', host: 'https://rabbitmq' },
  },
  {
    label: 'invalid mode',
    metadata: { mode: 'Feelings', value: '20', queueName: 'sample', host: 'https://rabbitmq' },
    error: ['mode', /must be one of "QueueLength", .*got "Feelings"/],
  },
  {
    label: 'invalid value',
    metadata: { mode: 'QueueLength', value: 'lots', queueName: 'sample', host: 'https://rabbitmq' },
    error: ['value', /must be a number, got "lots"/],
  },
  {
    label: 'queue length amqp',
    metadata: { mode: 'QueueLength', value: '20', queueName: 'sample', host: 'amqps://rabbitmq' },
  },
  {
    label: 'message rate amqps',
    metadata: { mode: 'MessageRate', value: '1000', queueName: 'sample', host: 'amqps://rabbitmq' },
    error: ['mode', /mode MessageRate needs protocol http/],
  },
  {
    label: 'message rate amqp',
    metadata: { mode: 'MessageRate', value: '1000', queueName: 'sample', host: 'amqp://rabbitmq' },
    error: ['mode', /needs protocol http/],
  },
  {
    label: 'message rate http',
    metadata: { mode: 'MessageRate', value: '1000', queueName: 'sample', host: 'http://rabbitmq' },
  },
  {
    label: 'message rate https',
    metadata: { mode: 'MessageRate', value: '1000', queueName: 'sample', host: 'https://rabbitmq' },
  },
  {
    label: 'deliverGet rate amqps',
    metadata: { mode: 'DeliverGetRate', value: '1000', queueName: 'sample', host: 'amqps://rabbitmq' },
    error: ['mode', /mode DeliverGetRate needs protocol http/],
  },
  {
    label: 'deliverGet rate amqp',
    metadata: { mode: 'DeliverGetRate', value: '1000', queueName: 'sample', host: 'amqp://rabbitmq' },
    error: ['mode', /needs protocol http/],
  },
  {
    label: 'deliverGet rate http',
    metadata: { mode: 'DeliverGetRate', value: '1000', queueName: 'sample', host: 'http://rabbitmq' },
  },
  {
    label: 'deliverGet rate https',
    metadata: { mode: 'DeliverGetRate', value: '1000', queueName: 'sample', host: 'https://rabbitmq' },
  },
  {
    label: 'amqp host and useRegex',
    metadata: { queueName: 'sample', host: 'amqps://rabbitmq', useRegex: 'true' },
    error: ['useRegex', /useRegex needs protocol http/],
  },
  {
    label: 'http host and useRegex',
    metadata: { queueName: 'sample', host: 'http://rabbitmq', useRegex: 'true' },
  },
  {
    label: 'message rate and useRegex',
    metadata: {
      mode: 'MessageRate',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
    },
  },
  {
    label: 'deliverGet rate and useRegex',
    metadata: {
      mode: 'DeliverGetRate',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
    },
  },
  {
    label: 'queue length and useRegex',
    metadata: {
      mode: 'QueueLength',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
    },
  },
  {
    label: 'http valid timeout',
    metadata: {
      mode: 'QueueLength',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      timeout: '1000',
    },
  },
  {
    label: 'http invalid timeout',
    metadata: {
      mode: 'QueueLength',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      timeout: '-10',
    },
    error: ['timeout', /must not be negative, got "-10"/],
  },
  {
    label: 'http wrong timeout',
    metadata: {
      mode: 'QueueLength',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      timeout: 'error',
    },
    error: ['timeout', /must be a duration such as "5s"/],
  },
  {
    label: 'amqp timeout',
    metadata: {
      mode: 'QueueLength',
      value: '1000',
      queueName: 'sample',
      host: 'amqp://rabbitmq',
      timeout: '10',
    },
    error: ['timeout', /a custom timeout needs protocol http/],
  },
  {
    label: 'valid pageSize',
    metadata: {
      mode: 'MessageRate',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
      pageSize: '100',
    },
  },
  {
    label: 'pageSize less than 1',
    metadata: {
      mode: 'MessageRate',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
      pageSize: '-1',
    },
    error: ['pageSize', /must be >= 1, got -1/],
  },
  {
    label: 'invalid pageSize',
    metadata: {
      mode: 'MessageRate',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
      pageSize: 'a',
    },
    error: ['pageSize', /must be an integer, got "a"/],
  },
  {
    label: 'valid pageSize (DeliverGetRate)',
    metadata: {
      mode: 'DeliverGetRate',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
      pageSize: '100',
    },
  },
  {
    label: 'pageSize less than 1 (DeliverGetRate)',
    metadata: {
      mode: 'DeliverGetRate',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
      pageSize: '-1',
    },
    error: ['pageSize', /must be >= 1/],
  },
  {
    label: 'invalid pageSize (DeliverGetRate)',
    metadata: {
      mode: 'DeliverGetRate',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
      pageSize: 'a',
    },
    error: ['pageSize', /must be an integer/],
  },
  {
    label: 'activationValue passed',
    metadata: { activationValue: '10', queueLength: '20', queueName: 'sample', host: url },
  },
  {
    label: 'malformed activationValue',
    metadata: { activationValue: 'AA', queueLength: '10', queueName: 'sample', host: url },
    error: ['activationValue', /must be a number, got "AA"/],
  },
  {
    label: 'http and excludeUnacknowledged',
    metadata: {
      mode: 'QueueLength',
      value: '1000',
      queueName: 'sample',
      host: 'http://rabbitmq',
      useRegex: 'true',
      excludeUnacknowledged: 'true',
    },
  },
  {
    label: 'amqp and excludeUnacknowledged',
    metadata: {
      mode: 'QueueLength',
      value: '1000',
      queueName: 'sample',
      host: 'amqp://rabbitmq',
      useRegex: 'true',
      excludeUnacknowledged: 'true',
    },
    error: ['excludeUnacknowledged', /excludeUnacknowledged needs protocol http/],
  },
  { label: 'unsafeSsl true', metadata: { queueName: 'sample', host: 'https://rabbitmq', unsafeSsl: 'true' } },
  {
    label: 'unsafeSsl wrong input',
    metadata: { queueName: 'sample', host: 'https://rabbitmq', unsafeSsl: 'random' },
    error: ['unsafeSsl', /must be "true" or "false", got "random"/],
  },

  // ---- ebb's own rows ----
  {
    label: 'values are trimmed',
    metadata: { queueName: ' sample ', host: ' amqp://rabbitmq ', queueLength: ' 5 ' },
  },
  {
    label: 'value 0 with mode counts as not set (KEDA)',
    metadata: { queueName: 'q', host: 'http://rabbitmq', mode: 'QueueLength', value: '0' },
    error: ['value', /is required/],
  },
  {
    label: 'negative value (ebb: refused; KEDA passes it to the HPA)',
    metadata: { queueName: 'q', host: 'http://rabbitmq', mode: 'QueueLength', value: '-5' },
    error: ['value', /must be > 0, got -5/],
  },
  {
    label: 'negative legacy queueLength (ebb: refused)',
    metadata: { queueName: 'q', host: 'http://rabbitmq', queueLength: '-5' },
    error: ['queueLength', /must be > 0/],
  },
  {
    label: 'a number KEDA would not parse (JSON numbers only)',
    metadata: { queueName: 'q', host: 'http://rabbitmq', mode: 'QueueLength', value: '0x10' },
    error: ['value', /must be a number/],
  },
  {
    label: 'an exponent is a JSON number',
    metadata: { queueName: 'q', host: 'http://rabbitmq', mode: 'QueueLength', value: '1e3' },
  },
  {
    label: 'bad operation with useRegex (ebb: at admission; KEDA: at the first read)',
    metadata: { queueName: '^q', host: 'http://rabbitmq', useRegex: 'true', operation: 'median' },
    error: ['operation', /must be one of "sum", "avg", "max", got "median"/],
  },
  {
    label: 'operation is ignored without useRegex (KEDA)',
    metadata: { queueName: 'q', host: 'http://rabbitmq', operation: 'median' },
  },
  {
    label: 'unknown protocol',
    metadata: { queueName: 'q', host: 'http://rabbitmq', protocol: 'stomp' },
    error: ['protocol', /must be one of "auto", "amqp", "http", got "stomp"/],
  },
  {
    label: 'explicit protocol must match the scheme (ebb)',
    metadata: { queueName: 'q', host: 'http://rabbitmq:15672', protocol: 'amqp' },
    error: ['host', /scheme "http", which does not match protocol amqp/],
  },
  {
    label: 'MessageRate with explicit amqp and no host known yet',
    metadata: { queueName: 'q', protocol: 'amqp', mode: 'MessageRate', value: '5' },
    authParams: {},
    error: ['mode', /needs protocol http/],
  },
  {
    label: 'a Go duration timeout',
    metadata: { queueName: 'q', host: 'http://rabbitmq', timeout: '1.5s' },
  },
  {
    label: "timeout 0 with amqp is KEDA's no timeout",
    metadata: { queueName: 'q', host: 'amqp://rabbitmq', timeout: '0' },
  },
  {
    label: 'unknown keys are ignored (as KEDA does)',
    metadata: { queueName: 'q', host: 'amqp://rabbitmq', somethingElse: 'x' },
  },
  // *FromEnv: refused whenever KEDA would read it (host: metadata, then the auth, then env;
  // username/password: the auth, then env). Without an authenticationRef that is decided here.
  {
    label: 'ebb: hostFromEnv without host is refused (KEDA reads the container env)',
    metadata: { queueName: 'q', hostFromEnv: host },
    error: [
      'hostFromEnv',
      /^ebb has no container environment to read it from; put the value in a Secret and reference it with a TriggerAuthentication$/,
    ],
  },
  {
    label: 'ebb: usernameFromEnv/passwordFromEnv without an authenticationRef are refused',
    metadata: { queueName: 'q', host: url, usernameFromEnv: 'U', passwordFromEnv: 'P' },
    error: [
      'passwordFromEnv',
      /^ebb has no container environment to read it from; put the value in a Secret and reference it with a TriggerAuthentication$/,
    ],
  },
  {
    label: 'hostFromEnv beside host: KEDA never reads it, admitted',
    metadata: { queueName: 'q', host: url, hostFromEnv: host },
  },
  {
    label: 'hostFromEnv with an authenticationRef: decided when the TriggerAuthentication is resolved',
    metadata: { queueName: 'q', hostFromEnv: host, usernameFromEnv: 'U' },
    authenticationRef: true,
  },
  {
    label: 'ebb: hostFromEnv when the resolved TriggerAuthentication has no host is refused',
    metadata: { queueName: 'q', hostFromEnv: host },
    authParams: { username: 'u', password: 'p' },
    authenticationRef: true,
    error: [
      'hostFromEnv',
      /^ebb has no container environment to read it from; put the value in a Secret and reference it with a TriggerAuthentication$/,
    ],
  },
];

describe('rabbitmq metadata table', () => {
  it.each(metadataCases)('$label', ({ metadata, authParams, authenticationRef, error }) => {
    const ref = authenticationRef === true ? { authenticationRef: { name: 'rabbitmq' } } : {};
    const result = rabbitmqScaler.parse(ctx(metadata, authParams, ref));
    if (error === undefined) {
      expect(result).toMatchObject({ ok: true });
      return;
    }
    const [key, pattern] = error;
    if (result.ok) throw new Error(`expected a problem at ${key}, got none`);
    const at = result.error.filter((p) => p.path === `spec.triggers[0].metadata.${key}`);
    expect(
      at.map((p) => p.message),
      JSON.stringify(result.error),
    ).toEqual([expect.stringMatching(pattern)]);
    expect(at[0]?.reason).toBe('InvalidTriggerMetadata');
  });
});

describe('rabbitmq parsed config', () => {
  const parse = (metadata: Record<string, string>, authParams: Record<string, string> = {}) => {
    const result = rabbitmqScaler.parse(ctx(metadata, authParams));
    if (!result.ok) throw new Error(JSON.stringify(result.error));
    return result.value;
  };

  it.each([
    { label: 'nothing set: QueueLength 20', metadata: {}, mode: 'QueueLength', value: 20 },
    {
      label: 'value 0 and nothing else: the default too',
      metadata: { value: '0' },
      mode: 'QueueLength',
      value: 20,
    },
    { label: 'legacy queueLength', metadata: { queueLength: '5' }, mode: 'QueueLength', value: 5 },
    {
      label: 'mode and value',
      metadata: { mode: 'MessageRate', value: '1.5' },
      mode: 'MessageRate',
      value: 1.5,
    },
  ])('$label', ({ metadata, mode, value }) => {
    expect(parse({ queueName: 'q', host: 'http://rabbitmq', ...metadata })).toMatchObject({ mode, value });
  });

  it('fills in KEDA defaults', () => {
    expect(parse({ queueName: 'q', host: 'amqp://rabbitmq' })).toEqual({
      queueName: 'q',
      mode: 'QueueLength',
      value: 20,
      activationValue: 0,
      host: 'amqp://rabbitmq',
      protocol: undefined,
      vhostName: undefined,
      useRegex: false,
      operation: 'sum',
      excludeUnacknowledged: false,
      pageSize: 100,
      timeoutMs: undefined,
      unsafeSsl: false,
      fromEnv: {},
      authenticationRef: undefined,
    });
  });

  it.each([
    ['true', true],
    ['1', true],
    ['T', true],
    ['False', false],
    ['0', false],
    ['', false],
  ])('useRegex %j is %s (strconv.ParseBool)', (raw, expected) => {
    expect(parse({ queueName: 'q', host: 'http://rabbitmq', useRegex: raw }).useRegex).toBe(expected);
  });

  it('takes the vHostName spelling of the KEDA docs as vhostName (KEDA ignores it)', () => {
    expect(parse({ queueName: 'q', host: 'http://rabbitmq', vHostName: 'orders' }).vhostName).toBe('orders');
    expect(parse({ queueName: 'q', host: 'http://rabbitmq', vHostName: 'a', vhostName: 'b' }).vhostName).toBe(
      'b',
    );
  });

  it.each([
    ['1000', 1000],
    ['0', 0],
    ['5s', 5000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['250ms', 250],
    ['2h', 7_200_000],
    ['-10', -10],
    ['10', 10],
    ['error', undefined],
    ['5', 5],
    ['1.5', undefined],
  ])('parseGoDurationOrMs(%j) = %j ms', (raw, ms) => {
    expect(parseGoDurationOrMs(raw)).toBe(ms);
  });
});

// ---- admission: authParams are empty, the authenticationRef may provide host and credentials ----

describe('rabbitmq at admission', () => {
  const withRef = { authenticationRef: { name: 'rabbit-auth' } };

  it('does not ask for a host the authenticationRef may provide', () => {
    expect(rabbitmqScaler.parse(ctx({ queueName: 'q' }, {}, withRef))).toMatchObject({ ok: true });
  });

  it('checks what the metadata alone decides (an explicit protocol)', () => {
    const result = rabbitmqScaler.parse(
      ctx({ queueName: 'q', protocol: 'amqp', mode: 'DeliverGetRate', value: '3' }, {}, withRef),
    );
    expect(result).toMatchObject({
      ok: false,
      error: [
        { path: 'spec.triggers[0].metadata.mode', message: expect.stringMatching(/needs protocol http/) },
      ],
    });
  });

  it('reports the missing host at runtime, when the resolved auth lacks it', () => {
    const result = rabbitmqScaler.parse(ctx({ queueName: 'q' }, { username: 'u', password: 'p' }, withRef));
    expect(result).toEqual({
      ok: false,
      error: [
        {
          path: 'spec.triggers[0].metadata.host',
          reason: 'InvalidTriggerMetadata',
          message: 'is required: neither the metadata nor TriggerAuthentication "rabbit-auth" sets host',
        },
      ],
    });
  });

  it('checks the auth host at runtime: MessageRate over an amqp:// host from the auth', () => {
    const result = rabbitmqScaler.parse(
      ctx({ queueName: 'q', mode: 'MessageRate', value: '5' }, { host: 'amqp://u:secret@rabbit' }, withRef),
    );
    expect(result).toMatchObject({
      ok: false,
      error: [{ path: 'spec.triggers[0].metadata.mode' }],
    });
  });

  it('never echoes a host URL, which may carry a password', () => {
    const result = rabbitmqScaler.parse(ctx({ queueName: 'q' }, { host: 'amqp://u:s3cret@[bad' }, withRef));
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('s3cret');
    expect(result).toMatchObject({
      error: [
        {
          path: 'spec.triggers[0].authenticationRef',
          message: /TriggerAuthentication "rabbit-auth": host is not a valid URL/,
        },
      ],
    });
  });

  it('reports a missing host even when another key is wrong', () => {
    const result = rabbitmqScaler.parse(ctx({ queueName: 'q', value: 'lots', mode: 'QueueLength' }));
    expect(result.ok ? [] : result.error.map((p) => p.path)).toEqual([
      'spec.triggers[0].metadata.value',
      'spec.triggers[0].metadata.host',
    ]);
  });
});

// ---- the project's ScaledObject fixtures: every rabbitmq file, through the registry ----

const triggersOf = (set: 'valid' | 'invalid', file: string): Trigger[] => {
  // Some invalid fixtures have no triggers list at all.
  const doc = parseYaml(fixtureText(set, file)) as { spec?: { triggers?: Trigger[] } };
  return Array.isArray(doc.spec?.triggers) ? doc.spec.triggers : [];
};
const rabbitmqFixtures = (set: 'valid' | 'invalid') =>
  fixtures.filter((f) => f.set === set && triggersOf(set, f.file).some((t) => t.type === 'rabbitmq'));

describe('rabbitmq fixtures', () => {
  it('there are some of each kind', () => {
    expect(rabbitmqFixtures('valid').length).toBeGreaterThanOrEqual(7);
    expect(rabbitmqFixtures('invalid').length).toBeGreaterThanOrEqual(2);
  });

  it.each(rabbitmqFixtures('valid').map((f) => f.file))('admits %s', (file) => {
    expect(checkTriggers({ triggers: triggersOf('valid', file) })).toEqual([]);
  });

  it('refuses a trigger with no host, no hostFromEnv, no authenticationRef at metadata.host', () => {
    expect(checkTriggers({ triggers: triggersOf('invalid', 'ebb-rabbitmq-host-missing.yaml') })).toEqual([
      {
        path: 'spec.triggers[0].metadata.host',
        reason: 'InvalidTriggerMetadata',
        message:
          'is required: set host, or an authenticationRef whose TriggerAuthentication provides host (not hostFromEnv: ebb has no container environment to read it from)',
      },
    ]);
  });

  it('resolves two unnamed triggers into two metrics named as KEDA names them', () => {
    const [first, second] = triggersOf('valid', 'rabbitmq-two-triggers.yaml').map((t, i) =>
      resolveTrigger(t, i),
    );
    expect(first).toMatchObject({
      ok: true,
      value: {
        key: 's0-rabbitmq-testqueue',
        metric: { name: 's0-rabbitmq-testqueue', target: 20, metricType: 'AverageValue' },
      },
    });
    expect(second).toMatchObject({
      ok: true,
      value: { metric: { name: 's1-rabbitmq-testqueue', target: 100 } },
    });
  });

  it('honours metricType Value and activationValue', () => {
    const [value] = triggersOf('valid', 'rabbitmq-delivergetrate-value.yaml');
    const [activation] = triggersOf('valid', 'rabbitmq-amqp-authref-activation.yaml');
    if (value === undefined || activation === undefined) throw new Error('fixture files changed');
    expect(resolveTrigger(value, 0)).toMatchObject({
      ok: true,
      value: { metric: { target: 30, metricType: 'Value' } },
    });
    expect(resolveTrigger(activation, 0)).toMatchObject({
      ok: true,
      value: { activationThreshold: 5, metric: { target: 10 } },
    });
  });
});

// ---- metric names (KEDA's TestRabbitMQGetMetricSpecForScaling, and url.QueryEscape) ----

describe('rabbitmq metric name', () => {
  it.each([
    { queueName: 'sample', index: 0, name: 's0-rabbitmq-sample' },
    { queueName: 'namespace/name', index: 1, name: 's1-rabbitmq-namespace-2Fname' },
    { queueName: 'orders.eu', index: 0, name: 's0-rabbitmq-orders-eu' },
    { queueName: 'with space', index: 0, name: 's0-rabbitmq-with+space' },
    { queueName: '^.*incoming$', index: 2, name: 's2-rabbitmq--5E--2Aincoming-24' },
    { queueName: "a(b)!'*~", index: 0, name: 's0-rabbitmq-a-28b-29-21-27-2A~' },
  ])('$queueName -> $name', ({ queueName, index, name }) => {
    const c = ctx({ queueName, host: 'http://rabbitmq', useRegex: 'true' }, {}, {}, index);
    const parsed = rabbitmqScaler.parse(c);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    expect(rabbitmqScaler.metric(parsed.value, c).name).toBe(name);
  });
});
