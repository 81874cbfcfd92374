import { describe, expect, it } from 'vitest';
import { type Broker, managementPath, resolveBroker } from '../../../scalers/rabbitmq/broker.ts';
import { parseRabbitMQMetadata } from '../../../scalers/rabbitmq/schema.ts';
import type { Trigger } from '../../../src/api/scaledobject.ts';
import type { TriggerContext } from '../../../src/scaler.ts';

const ctx = (
  metadata: Record<string, string>,
  authParams: Record<string, string> = {},
  extra: Partial<Trigger> = {},
): TriggerContext => ({ index: 0, trigger: { type: 'rabbitmq', metadata, ...extra }, authParams });

const resolve = (metadata: Record<string, string>, authParams: Record<string, string> = {}, extra = {}) => {
  const c = ctx(metadata, authParams, extra);
  const config = parseRabbitMQMetadata(c);
  if (!config.ok) throw new Error(JSON.stringify(config.error));
  return resolveBroker(config.value, c);
};

const broker = (metadata: Record<string, string>, authParams: Record<string, string> = {}): Broker => {
  const result = resolve(metadata, authParams);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
};

// ---- KEDA's getVhostAndPathFromURLTestData: { rawPath, vhostName, vhost segment, path prefix } ----

const ROOT = '%2F';
const vhostPathCases: Array<[string, string | undefined, string, string]> = [
  // level 0 + vhost
  ['myVhost', undefined, 'myVhost', ''],
  ['%2FmyVhost', undefined, '%2FmyVhost', ''],
  // level 0 + vhost as /, // and empty
  ['/', undefined, ROOT, ''],
  ['//', undefined, ROOT, ''],
  ['/%2F', undefined, ROOT, ''],
  ['', undefined, ROOT, ''],
  // level 1 + vhost
  ['sub1/myVhost', undefined, 'myVhost', '/sub1'],
  ['sub1/', 'overridenVhost', 'overridenVhost', '/sub1'],
  ['myVhost', 'overridenVhost', 'overridenVhost', ''],
  ['sub1/%2FmyVhost', undefined, '%2FmyVhost', '/sub1'],
  // level 1 + vhost as / and //
  ['sub1/', undefined, ROOT, '/sub1'],
  ['sub1/', 'myVhost', 'myVhost', '/sub1'],
  ['sub1//', undefined, ROOT, '/sub1'],
  ['sub1/%2F', undefined, ROOT, '/sub1'],
  // level 2 + vhost
  ['sub1/sub2/myVhost', undefined, 'myVhost', '/sub1/sub2'],
  ['sub1/sub2/myVhost', 'overridenVhost', 'overridenVhost', '/sub1/sub2'],
  ['sub1/sub2/%2FmyVhost', undefined, '%2FmyVhost', '/sub1/sub2'],
  // level 2 + vhost as / and //
  ['sub1/sub2/', undefined, ROOT, '/sub1/sub2'],
  ['sub1/sub2/', 'myVhost', 'myVhost', '/sub1/sub2'],
  ['sub1/sub2//', undefined, ROOT, '/sub1/sub2'],
  ['sub1/sub2/%2F', undefined, ROOT, '/sub1/sub2'],
  // ebb's own: a leading slash (URL paths have one), vhostName "/" and a space
  ['/sub1/myVhost', undefined, 'myVhost', '/sub1'],
  ['/', '/', ROOT, ''],
  ['/', 'my vhost', 'my%20vhost', ''],
];

describe('managementPath (KEDA getVhostAndPathFromURL)', () => {
  it.each(vhostPathCases)('%j with vhostName %j -> /%s under %j', (rawPath, vhostName, segment, prefix) => {
    expect(managementPath(rawPath, vhostName)).toEqual({ vhostSegment: segment, prefix });
  });
});

// ---- KEDA's testRabbitMQAuthParamData, with the host in the metadata (ebb reads no env) ----

const amqpHost = 'amqp://user:sercet@somehost.com:5236/vhost';
const amqpsHost = 'amqps://somehost.com:5671/vhost';

const authCases: Array<{
  label: string;
  metadata?: Record<string, string>;
  authParams: Record<string, string>;
  error?: RegExp;
}> = [
  {
    label: 'TLS with ca, cert and key',
    metadata: { host: amqpsHost },
    authParams: { tls: 'enable', ca: 'caaa', cert: 'ceert', key: 'keey' },
  },
  {
    label: 'TLS cert/key and a public CA',
    metadata: { host: amqpsHost },
    authParams: { tls: 'enable', cert: 'ceert', key: 'keey' },
  },
  {
    label: 'TLS cert/key + key password',
    metadata: { host: amqpsHost },
    authParams: { tls: 'enable', cert: 'ceert', key: 'keey', keyPassword: 'keeyPassword' },
  },
  { label: 'TLS CA only', metadata: { host: amqpsHost }, authParams: { tls: 'enable', ca: 'caaa' } },
  {
    label: 'TLS missing cert',
    metadata: { host: amqpsHost },
    authParams: { tls: 'enable', ca: 'caaa', key: 'kee' },
    error: /cert and key must be given together/,
  },
  {
    label: 'TLS missing key',
    metadata: { host: amqpsHost },
    authParams: { tls: 'enable', ca: 'caaa', cert: 'ceert' },
    error: /cert and key must be given together/,
  },
  {
    label: 'TLS invalid',
    metadata: { host: amqpsHost },
    authParams: { tls: 'yes', ca: 'caaa', cert: 'ceert', key: 'kee' },
    error: /tls must be "enable" or "disable", got "yes"/,
  },
  { label: 'username and password', authParams: { username: 'user', password: 'PASSWORD' } },
  {
    label: 'username but no password',
    authParams: { username: 'user' },
    error: /username and password must be given together/,
  },
  {
    label: 'password but no username',
    authParams: { password: 'PASSWORD' },
    error: /username and password must be given together/,
  },
  { label: 'vhostName', authParams: { vhostName: 'myVhost' } },
  { label: 'vhostName but empty', authParams: { vhostName: '' } },
  {
    label: 'OAuth2 (not supported by ebb yet)',
    metadata: { host: 'http://localhost:15672', protocol: 'http' },
    authParams: {
      oauthTokenURI: 'https://oauth.example.com/token',
      clientID: 'my-client',
      clientSecret: 'my-secret',
    },
    error: /OAuth2 .* is not supported by ebb yet/,
  },
  {
    label: 'workload identity (not supported by ebb yet)',
    metadata: { host: 'http://localhost:15672', protocol: 'http' },
    authParams: { workloadIdentityResource: 'rabbitmq-resource-id' },
    error: /Workload Identity .* not supported by ebb yet/,
  },
  {
    label: 'tls enable with a plain amqp:// host (ebb: refused; KEDA connects without TLS)',
    authParams: { tls: 'enable', ca: 'caaa' },
    error: /tls is "enable" but the host's scheme is "amqp"/,
  },
];

describe('rabbitmq auth params (KEDA testRabbitMQAuthParamData)', () => {
  it.each(authCases)('$label', ({ metadata, authParams, error }) => {
    const result = resolve({ queueName: 'sample', host: amqpHost, ...metadata }, authParams, {
      authenticationRef: { name: 'rabbit-auth' },
    });
    if (error === undefined) {
      expect(result).toMatchObject({ ok: true });
      return;
    }
    expect(result).toMatchObject({
      ok: false,
      error: [
        {
          path: 'spec.triggers[0].authenticationRef',
          reason: 'InvalidTriggerMetadata',
          message: expect.stringMatching(/^TriggerAuthentication "rabbit-auth": /),
        },
      ],
    });
    expect(result.ok ? '' : result.error[0]?.message).toMatch(error);
  });
});

describe('resolveBroker', () => {
  it('AMQP: credentials and vhost from the URL, default port', () => {
    expect(broker({ queueName: 'q', host: 'amqp://user:p%40ss@rabbit/orders%2Feu' })).toEqual({
      protocol: 'amqp',
      scheme: 'amqp',
      hostname: 'rabbit',
      port: 5672,
      vhost: 'orders/eu',
      credentials: { username: 'user', password: 'p@ss' },
      tls: undefined,
      display: 'amqp://rabbit vhost "orders/eu"',
    });
  });

  it.each([
    { host: 'amqp://rabbit', vhost: '/' },
    { host: 'amqp://rabbit/', vhost: '/' },
    { host: 'amqp://rabbit/%2F', vhost: '/' },
    { host: 'amqp://rabbit/v1', vhost: 'v1' },
  ])('AMQP vhost of $host is $vhost', ({ host, vhost }) => {
    expect(broker({ queueName: 'q', host })).toMatchObject({ vhost });
  });

  it('AMQP: auth credentials and vhostName override the URL; guest without any', () => {
    expect(
      broker(
        { queueName: 'q', host: 'amqp://user:old@rabbit:5673/v1', vhostName: 'v2' },
        { username: 'a', password: 'b' },
      ),
    ).toMatchObject({ port: 5673, vhost: 'v2', credentials: { username: 'a', password: 'b' } });
    expect(broker({ queueName: 'q', host: 'amqp://rabbit' })).toMatchObject({
      credentials: { username: 'guest', password: 'guest' },
    });
  });

  it('AMQPS: TLS options, unsafeSsl, and SASL EXTERNAL with a client certificate and no password', () => {
    expect(
      broker(
        { queueName: 'q', host: 'amqps://rabbit', unsafeSsl: 'true' },
        { tls: 'enable', ca: 'CA', cert: 'CERT', key: 'KEY', keyPassword: 'KP' },
      ),
    ).toMatchObject({
      scheme: 'amqps',
      port: 5671,
      credentials: undefined,
      tls: { ca: 'CA', cert: 'CERT', key: 'KEY', passphrase: 'KP', rejectUnauthorized: false },
    });
    expect(
      broker({ queueName: 'q', host: 'amqps://u:p@rabbit' }, { tls: 'enable', cert: 'CERT', key: 'KEY' }),
    ).toMatchObject({ credentials: { username: 'u', password: 'p' } });
  });

  it('HTTP: prefix, vhost segment, basic auth from the URL, never credentials in display', () => {
    const b = broker({ queueName: 'q', host: 'https://admin:s3cret@rabbit:15671/mgmt/orders' });
    expect(b).toEqual({
      protocol: 'http',
      baseUrl: 'https://rabbit:15671/mgmt',
      vhostSegment: 'orders',
      authorization: `Basic ${Buffer.from('admin:s3cret').toString('base64')}`,
      tls: { rejectUnauthorized: true },
      timeoutMs: 3000,
      display: 'https://rabbit:15671/mgmt vhost "orders"',
    });
  });

  it('HTTP: auth credentials win, timeout, plain http has no TLS', () => {
    expect(
      broker(
        { queueName: 'q', host: 'http://x:y@rabbit:15672/', timeout: '500' },
        { username: 'a', password: 'b' },
      ),
    ).toMatchObject({
      baseUrl: 'http://rabbit:15672',
      vhostSegment: '%2F',
      authorization: `Basic ${Buffer.from('a:b').toString('base64')}`,
      tls: undefined,
      timeoutMs: 500,
    });
    expect(broker({ queueName: 'q', host: 'http://rabbit:15672' })).toMatchObject({
      authorization: undefined,
    });
  });

  it('protocol from the auth params, and the auth host is checked against it', () => {
    expect(broker({ queueName: 'q', host: 'http://rabbit:15672' }, { protocol: 'http' })).toMatchObject({
      protocol: 'http',
    });
    expect(
      resolve(
        { queueName: 'q' },
        { host: 'http://rabbit', protocol: 'amqp' },
        { authenticationRef: { name: 'a' } },
      ),
    ).toMatchObject({
      ok: false,
      error: [
        {
          path: 'spec.triggers[0].authenticationRef',
          message: /host has scheme "http", which does not match protocol amqp/,
        },
      ],
    });
  });

  it.each([
    {
      label: 'hostFromEnv',
      metadata: { queueName: 'q', hostFromEnv: 'RABBIT_URL' },
      path: 'spec.triggers[0].metadata.hostFromEnv',
      message:
        'ebb has no container environment to read it from; put the value in a Secret and reference it with a TriggerAuthentication',
    },
    {
      label: 'usernameFromEnv',
      metadata: { queueName: 'q', host: 'amqp://rabbit', usernameFromEnv: 'U', passwordFromEnv: 'P' },
      path: 'spec.triggers[0].metadata.usernameFromEnv',
      message:
        'ebb has no container environment to read it from; put the value in a Secret and reference it with a TriggerAuthentication',
    },
  ])('reports $label when the scaler needs it', ({ metadata, path, message }) => {
    const result = resolve(metadata);
    expect(result).toMatchObject({
      ok: false,
      error: expect.arrayContaining([{ path, reason: 'InvalidTriggerMetadata', message }]),
    });
  });

  it('ignores hostFromEnv when the authenticationRef provides host (KEDA: auth before env)', () => {
    expect(
      resolve(
        { queueName: 'q', hostFromEnv: 'RABBIT_URL' },
        { host: 'amqp://rabbit' },
        { authenticationRef: { name: 'a' } },
      ),
    ).toMatchObject({ ok: true, value: { hostname: 'rabbit' } });
  });
});
