// Metadata tables ported from KEDA's pkg/scalers/kafka_scaler_test.go (parseKafkaMetadataTestDataset,
// parseKafkaAuthParamsTestDataset, parseAuthParamsTestDataset, parseKafkaOAuthbearerAuthParamsTestDataset,
// kafkaMetricIdentifiers, TestKafkaParsePartitionLimitation) and apache_kafka_scaler_test.go. Where
// ebb deliberately differs from KEDA the label says so.
import { describe, expect, it } from 'vitest';
import { resolveTrigger } from '../../../scalers/index.ts';
import { kafkaMetricName, kafkaScaler } from '../../../scalers/kafka/index.ts';
import {
  type KafkaConfig,
  parseKafkaMetadata,
  parsePartitionLimitation,
} from '../../../scalers/kafka/schema.ts';
import type { Problem } from '../../../src/api/reasons.ts';
import type { Trigger } from '../../../src/api/scaledobject.ts';

type Metadata = Record<string, string>;

interface Row {
  readonly label: string;
  readonly metadata: Metadata;
  /** [key, message]: the problem expected at spec.triggers[0].metadata.<key>. */
  readonly error?: readonly [string, string];
  /** Further problems, when one row has several. */
  readonly more?: readonly (readonly [string, string])[];
  readonly expect?: Partial<Omit<KafkaConfig, 'connection'>> & {
    readonly connection?: Partial<KafkaConfig['connection']>;
  };
}

const base = { bootstrapServers: 'foobar:9092', consumerGroup: 'my-group' };
const withTopic = { ...base, topic: 'my-topic' };

// parseKafkaMetadataTestDataset, in KEDA's order.
const METADATA: readonly Row[] = [
  {
    label: 'failure, no bootstrapServers',
    metadata: {},
    error: ['bootstrapServers', 'is required (a comma-separated list of host:port)'],
    more: [['consumerGroup', 'is required']],
  },
  {
    label: 'failure, no consumer group',
    metadata: { bootstrapServers: 'foobar:9092' },
    error: ['consumerGroup', 'is required'],
  },
  {
    label: 'success, no topic',
    metadata: base,
    expect: {
      topics: [],
      consumerGroup: 'my-group',
      offsetResetPolicy: 'latest',
      partitionLimitation: undefined,
    },
  },
  {
    label: 'success, ignore partitionLimitation if no topic',
    metadata: { ...base, partitionLimitation: '1,2,3,4,5,6' },
    expect: { topics: [], partitionLimitation: undefined },
  },
  {
    label: 'success, no limitation with whitespaced limitation value',
    metadata: { ...base, partitionLimitation: '           ' },
    expect: { partitionLimitation: undefined },
  },
  {
    label: 'success, no limitation',
    metadata: { ...base, partitionLimitation: '' },
    expect: { partitionLimitation: undefined },
  },
  {
    label: 'failure, version not supported',
    metadata: { ...withTopic, version: '1.2.3.4' },
    error: ['version', 'is not a Kafka version such as "3.9.0", got "1.2.3.4"'],
  },
  {
    label: 'failure, lagThreshold is negative value',
    metadata: { ...withTopic, lagThreshold: '-1' },
    error: ['lagThreshold', 'must be greater than 0, got "-1"'],
  },
  {
    label: 'failure, lagThreshold is 0',
    metadata: { ...withTopic, lagThreshold: '0' },
    error: ['lagThreshold', 'must be greater than 0, got "0"'],
  },
  {
    label: 'success, lagThreshold is 1000000',
    metadata: { ...withTopic, lagThreshold: '1000000', activationLagThreshold: '0' },
    expect: { lagThreshold: 1_000_000, activationLagThreshold: 0 },
  },
  {
    label: 'failure, activationLagThreshold is not int',
    metadata: { ...withTopic, lagThreshold: '10', activationLagThreshold: 'AA' },
    error: ['activationLagThreshold', 'must be an integer, got "AA"'],
  },
  {
    label: 'success, activationLagThreshold is 0',
    metadata: { ...withTopic, lagThreshold: '10', activationLagThreshold: '0' },
    expect: { lagThreshold: 10, activationLagThreshold: 0 },
  },
  {
    label: 'success (defaults)',
    metadata: withTopic,
    expect: {
      topics: ['my-topic'],
      lagThreshold: 10,
      activationLagThreshold: 0,
      offsetResetPolicy: 'latest',
      allowIdleConsumers: false,
      excludePersistentLag: false,
      scaleToZeroOnInvalidOffset: false,
      limitToPartitionsWithLag: false,
      ensureEvenDistributionOfPartitions: false,
      partitionLimitation: undefined,
    },
  },
  {
    label: 'success, partitionLimitation as list',
    metadata: { ...withTopic, partitionLimitation: '1,2,3,4' },
    expect: { partitionLimitation: [1, 2, 3, 4] },
  },
  {
    label: 'success, partitionLimitation as range',
    metadata: { ...withTopic, partitionLimitation: '1-4' },
    expect: { partitionLimitation: [1, 2, 3, 4] },
  },
  {
    label: 'success, partitionLimitation mixed list + ranges',
    metadata: { ...withTopic, partitionLimitation: '1-4,8,10-12' },
    expect: { partitionLimitation: [1, 2, 3, 4, 8, 10, 11, 12] },
  },
  {
    label: 'failure, partitionLimitation wrong data type',
    metadata: { ...withTopic, partitionLimitation: 'a,b,c,d' },
    error: ['partitionLimitation', 'invalid partition "a" in "a,b,c,d"; expected e.g. "1,2,10-20"'],
  },
  {
    label: 'success, more brokers',
    metadata: { ...withTopic, bootstrapServers: 'foo:9092,bar:9092' },
    expect: {
      connection: { brokers: ['foo:9092', 'bar:9092'], tls: undefined, pending: [] },
    },
  },
  {
    label: 'success, offsetResetPolicy policy latest',
    metadata: { ...withTopic, bootstrapServers: 'foo:9092,bar:9092', offsetResetPolicy: 'latest' },
    expect: { offsetResetPolicy: 'latest' },
  },
  {
    label: 'failure, offsetResetPolicy policy wrong',
    metadata: { ...withTopic, bootstrapServers: 'foo:9092,bar:9092', offsetResetPolicy: 'foo' },
    error: ['offsetResetPolicy', 'must be one of "latest", "earliest", got "foo"'],
  },
  {
    label: 'success, offsetResetPolicy policy earliest',
    metadata: { ...withTopic, bootstrapServers: 'foo:9092,bar:9092', offsetResetPolicy: 'earliest' },
    expect: { offsetResetPolicy: 'earliest' },
  },
  {
    label: 'failure, allowIdleConsumers malformed',
    metadata: { ...withTopic, allowIdleConsumers: 'notvalid' },
    error: ['allowIdleConsumers', 'must be "true" or "false", got "notvalid"'],
  },
  {
    label: 'success, allowIdleConsumers is true',
    metadata: { ...withTopic, allowIdleConsumers: 'true' },
    expect: { allowIdleConsumers: true },
  },
  {
    label: 'failure, excludePersistentLag is malformed',
    metadata: { ...withTopic, excludePersistentLag: 'notvalid' },
    error: ['excludePersistentLag', 'must be "true" or "false", got "notvalid"'],
  },
  {
    label: 'success, excludePersistentLag is true',
    metadata: { ...withTopic, excludePersistentLag: 'true' },
    expect: { excludePersistentLag: true },
  },
  {
    label: 'success, version supported',
    metadata: { ...withTopic, allowIdleConsumers: 'true', version: '1.0.0' },
    expect: { allowIdleConsumers: true },
  },
  {
    label: 'success, limitToPartitionsWithLag is true',
    metadata: { ...withTopic, limitToPartitionsWithLag: 'true' },
    expect: { limitToPartitionsWithLag: true },
  },
  {
    label: 'failure, limitToPartitionsWithLag is malformed',
    metadata: { ...withTopic, limitToPartitionsWithLag: 'notvalid' },
    error: ['limitToPartitionsWithLag', 'must be "true" or "false", got "notvalid"'],
  },
  {
    label: 'failure, allowIdleConsumers and limitToPartitionsWithLag cannot be set to true simultaneously',
    metadata: { ...withTopic, allowIdleConsumers: 'true', limitToPartitionsWithLag: 'true' },
    error: ['limitToPartitionsWithLag', 'cannot be "true" together with allowIdleConsumers "true"'],
  },
  {
    label: 'success, allowIdleConsumers can be set when limitToPartitionsWithLag is false',
    metadata: { ...withTopic, allowIdleConsumers: 'true', limitToPartitionsWithLag: 'false' },
    expect: { allowIdleConsumers: true, limitToPartitionsWithLag: false },
  },
  {
    label: 'failure, topic must be specified when limitToPartitionsWithLag is true',
    metadata: { ...base, limitToPartitionsWithLag: 'true' },
    error: ['topic', 'is required when limitToPartitionsWithLag is "true"'],
  },
  {
    label: 'success, ensureEvenDistributionOfPartitions is true',
    metadata: { ...withTopic, ensureEvenDistributionOfPartitions: 'true' },
    expect: { ensureEvenDistributionOfPartitions: true },
  },
  {
    label:
      'failure, limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set to true simultaneously',
    metadata: { ...withTopic, ensureEvenDistributionOfPartitions: 'true', limitToPartitionsWithLag: 'true' },
    error: [
      'ensureEvenDistributionOfPartitions',
      'cannot be "true" together with limitToPartitionsWithLag "true"',
    ],
  },
  { label: 'success, fullMetadata true with topic', metadata: { ...withTopic, fullMetadata: 'true' } },
  { label: 'success, fullMetadata true without topic', metadata: { ...base, fullMetadata: 'true' } },
  { label: 'success, fullMetadata false with topic', metadata: { ...withTopic, fullMetadata: 'false' } },
  {
    label: 'failure, fullMetadata false without topic',
    metadata: { ...base, fullMetadata: 'false' },
    error: ['topic', 'is required when fullMetadata is "false"'],
  },
  {
    label: 'failure, fullMetadata malformed',
    metadata: { ...withTopic, fullMetadata: 'notabool' },
    error: ['fullMetadata', 'must be "true" or "false", got "notabool"'],
  },
  // Beyond KEDA's table.
  {
    label: 'ebb: topic is required for ensureEvenDistributionOfPartitions (KEDA Validate)',
    metadata: { ...base, ensureEvenDistributionOfPartitions: 'true' },
    error: ['topic', 'is required when ensureEvenDistributionOfPartitions is "true"'],
  },
  {
    label: 'ebb: values are trimmed and Go booleans accepted (KEDA typed config)',
    metadata: { ...withTopic, topic: ' my-topic ', allowIdleConsumers: 'T', lagThreshold: ' 5 ' },
    expect: { topics: ['my-topic'], allowIdleConsumers: true, lagThreshold: 5 },
  },
  {
    label: 'ebb: an empty broker entry is refused early (KEDA fails only at connect)',
    metadata: { ...withTopic, bootstrapServers: 'foo:9092,' },
    error: [
      'bootstrapServers',
      'has an empty entry in "foo:9092,"; expected a comma-separated list of host:port',
    ],
  },
  {
    label: 'ebb: a broker without port is refused early (KEDA fails only at connect)',
    metadata: { ...withTopic, bootstrapServers: 'foo' },
    error: ['bootstrapServers', 'broker "foo" is not host:port (in "foo")'],
  },
  {
    label: 'ebb: a reversed partition range is refused (KEDA silently counts no partition for it)',
    metadata: { ...withTopic, partitionLimitation: '5-3' },
    error: ['partitionLimitation', 'partition range "5-3" in "5-3" runs backwards'],
  },
  {
    label: 'ebb: bootstrapServersFromEnv, which KEDA reads when bootstrapServers is empty, is refused',
    metadata: { consumerGroup: 'g', bootstrapServersFromEnv: 'BROKERS' },
    error: [
      'bootstrapServersFromEnv',
      'ebb has no container environment to read it from; set bootstrapServers in the trigger metadata (KEDA reads it from the metadata or the environment, never from a TriggerAuthentication)',
    ],
  },
  {
    label: 'ebb: topicFromEnv is refused the same way',
    metadata: { ...withTopic, topic: '', topicFromEnv: 'TOPIC' },
    error: [
      'topicFromEnv',
      'ebb has no container environment to read it from; set topic in the trigger metadata (KEDA reads it from the metadata or the environment, never from a TriggerAuthentication)',
    ],
  },
  {
    label: 'consumerGroupFromEnv beside consumerGroup: KEDA never reads it, admitted',
    metadata: { ...withTopic, consumerGroupFromEnv: 'GROUP' },
  },
];

const trigger = (metadata: Metadata, extra: Partial<Trigger> = {}): Trigger => ({
  type: 'kafka',
  metadata,
  ...extra,
});

const parse = (metadata: Metadata, authParams: Record<string, string> = {}, extra: Partial<Trigger> = {}) =>
  parseKafkaMetadata({ index: 0, trigger: trigger(metadata, extra), authParams });

const problem = (key: string, message: string): Problem => ({
  path: `spec.triggers[0].metadata.${key}`,
  reason: 'InvalidTriggerMetadata',
  message,
});

/** The one helper: the whole problem list, or the listed fields of the config. */
const expectRow = (result: ReturnType<typeof parse>, row: Pick<Row, 'error' | 'more' | 'expect'>) => {
  if (row.error !== undefined) {
    const problems = [row.error, ...(row.more ?? [])].map(([key, message]) => problem(key, message));
    expect(result).toEqual({ ok: false, error: problems });
    return;
  }
  expect(result.ok ? [] : result.error).toEqual([]);
  if (result.ok && row.expect !== undefined) expect(result.value).toMatchObject(row.expect);
};

// KEDA's TestGetBrokers runs each row with SASL credentials in the auth params and without.
const validWithAuthParams = { sasl: 'plaintext', username: 'admin', password: 'admin' };

describe('kafka metadata (parseKafkaMetadataTestDataset)', () => {
  it.each(METADATA)('$label', (row) => {
    expectRow(parse(row.metadata), row);
    expectRow(parse(row.metadata, validWithAuthParams, { authenticationRef: { name: 'auth' } }), row);
  });
});

// ---- TLS and SASL ----

const validKafkaMetadata = { ...withTopic, allowIdleConsumers: 'false' };

interface AuthRow {
  readonly label: string;
  readonly metadata?: Metadata;
  readonly authParams: Record<string, string>;
  readonly error?: readonly [string, string];
  readonly tls?: boolean;
  readonly sasl?: string | undefined;
}

const TLS_SASL: readonly AuthRow[] = [
  // parseKafkaAuthParamsTestDataset (auth params only)
  { label: 'success, SASL only (plaintext)', authParams: validWithAuthParams, sasl: 'plaintext', tls: false },
  {
    label: 'success, SASL only (scram_sha256)',
    authParams: { sasl: 'scram_sha256', username: 'admin', password: 'admin' },
    sasl: 'scram_sha256',
  },
  {
    label: 'success, SASL only (scram_sha512)',
    authParams: { sasl: 'scram_sha512', username: 'admin', password: 'admin' },
    sasl: 'scram_sha512',
  },
  {
    label: 'success, TLS only',
    authParams: { tls: 'enable', ca: 'caaa', cert: 'ceert', key: 'keey' },
    tls: true,
  },
  {
    label: 'success, TLS cert/key and assumed public CA',
    authParams: { tls: 'enable', cert: 'ceert', key: 'keey' },
    tls: true,
  },
  {
    label: 'success, TLS cert/key + key password and assumed public CA',
    authParams: { tls: 'enable', cert: 'ceert', key: 'keey', keyPassword: 'keeyPassword' },
    tls: true,
  },
  { label: 'success, TLS CA only', authParams: { tls: 'enable', ca: 'caaa' }, tls: true },
  {
    label: 'success, SASL + TLS',
    authParams: { ...validWithAuthParams, tls: 'enable', ca: 'caaa', cert: 'ceert', key: 'keey' },
    tls: true,
    sasl: 'plaintext',
  },
  {
    label: 'success, SASL + TLS explicitly disabled',
    authParams: { ...validWithAuthParams, tls: 'disable' },
    tls: false,
  },
  {
    label: 'success, SASL OAUTHBEARER + TLS',
    authParams: {
      sasl: 'oauthbearer',
      username: 'admin',
      password: 'admin',
      scopes: 'scope',
      oauthTokenEndpointUri: 'https://website.com',
      tls: 'disable',
    },
    sasl: 'oauthbearer',
  },
  {
    label: 'deliberately unsupported, SASL GSSAPI/password (KEDA: success)',
    authParams: {
      sasl: 'gssapi',
      username: 'admin',
      password: 'admin',
      kerberosConfig: '<config>',
      realm: 'tst.com',
    },
    error: [
      'sasl',
      '"gssapi" (Kerberos) (from the authenticationRef) is not supported by ebb: its Kafka client has no GSSAPI mechanism',
    ],
  },
  {
    label: 'failure, SASL OAUTHBEARER + TLS bad sasl type',
    authParams: { sasl: 'foo', username: 'admin', password: 'admin', tls: 'disable' },
    error: [
      'sasl',
      'must be one of "none", "plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi", got "foo" (from the authenticationRef)',
    ],
  },
  {
    label: 'success, SASL OAUTHBEARER + TLS missing scope',
    authParams: {
      sasl: 'oauthbearer',
      username: 'admin',
      password: 'admin',
      oauthTokenEndpointUri: 'https://website.com',
    },
    sasl: 'oauthbearer',
  },
  {
    label: 'failure, SASL OAUTHBEARER + TLS missing oauthTokenEndpointUri',
    authParams: {
      sasl: 'oauthbearer',
      username: 'admin',
      password: 'admin',
      scopes: 'scope',
      oauthTokenEndpointUri: '',
    },
    error: [
      'oauthTokenEndpointUri',
      'is required for sasl "oauthbearer": set it in a TriggerAuthentication and point the trigger\'s authenticationRef at it',
    ],
  },
  {
    label: 'failure, SASL missing username',
    authParams: { sasl: 'plaintext', password: 'admin' },
    error: [
      'username',
      'is required for sasl "plaintext": set it in a TriggerAuthentication and point the trigger\'s authenticationRef at it',
    ],
  },
  {
    label: 'failure, SASL missing password',
    authParams: { sasl: 'plaintext', username: 'admin' },
    error: [
      'password',
      'is required for sasl "plaintext": set it in a TriggerAuthentication and point the trigger\'s authenticationRef at it',
    ],
  },
  {
    label: 'failure, TLS missing cert',
    authParams: { tls: 'enable', ca: 'caaa', key: 'keey' },
    error: ['cert', 'must be provided with key (authenticationRef)'],
  },
  {
    label: 'failure, TLS missing key',
    authParams: { tls: 'enable', ca: 'caaa', cert: 'ceert' },
    error: ['key', 'must be provided with cert (authenticationRef)'],
  },
  {
    label: 'failure, TLS invalid',
    authParams: { tls: 'yes', ca: 'caaa', cert: 'ceert', key: 'keey' },
    error: ['tls', 'must be "enable" or "disable", got "yes" (from the authenticationRef)'],
  },
  { label: 'success, SASL none', authParams: { sasl: 'none' }, sasl: undefined, tls: false },
  // parseAuthParamsTestDataset (tls and sasl in the trigger metadata)
  {
    label: 'success, SASL scram_sha256 in metadata',
    metadata: { sasl: 'scram_sha256' },
    authParams: { username: 'admin', password: 'admin' },
    sasl: 'scram_sha256',
  },
  {
    label: 'success, TLS only in metadata, unsafeSsl',
    metadata: { tls: 'enable', unsafeSsl: 'true' },
    authParams: { ca: 'caaa' },
    tls: true,
  },
  {
    label: 'failure, SASL incorrect type in metadata',
    metadata: { sasl: 'foo' },
    authParams: { username: 'admin', password: 'admin' },
    error: [
      'sasl',
      'must be one of "none", "plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi", got "foo"',
    ],
  },
  {
    label: 'failure, SASL + TLS, incorrect tls in metadata',
    metadata: { sasl: 'plaintext', tls: 'foo' },
    authParams: { username: 'admin', password: 'admin' },
    error: ['tls', 'must be "enable" or "disable", got "foo"'],
  },
  {
    label: 'success, setting SASL values in both places (triggerMetadata takes precedence)',
    metadata: { sasl: 'scram_sha512' },
    authParams: { sasl: 'plaintext', username: 'admin', password: 'admin' },
    sasl: 'scram_sha512',
  },
  {
    label: 'success, setting TLS values in both places (triggerMetadata takes precedence)',
    metadata: { tls: 'enable' },
    authParams: { tls: 'disable', ca: 'caaa', cert: 'ceert', key: 'keey' },
    tls: true,
  },
  {
    label: 'success, setting SASL plaintext value with extra \\n in TriggerAuthentication',
    authParams: { sasl: 'plaintext\n', username: 'admin', password: 'admin' },
    sasl: 'plaintext',
  },
  {
    label: 'success, setting SASL scram_sha512 value with extra space in TriggerAuthentication',
    authParams: { sasl: 'scram_sha512 ', username: 'admin', password: 'admin' },
    sasl: 'scram_sha512',
  },
  {
    label: 'ebb: a username in metadata is not read (KEDA reads credentials from auth params only)',
    metadata: { sasl: 'plaintext', username: 'admin' },
    authParams: { password: 'admin' },
    error: [
      'username',
      'is required for sasl "plaintext": set it in a TriggerAuthentication and point the trigger\'s authenticationRef at it (it is never read from trigger metadata)',
    ],
  },
  // parseKafkaOAuthbearerAuthParamsTestDataset
  {
    label: 'success, SASL OAUTHBEARER + tokenProvider bearer + extension',
    authParams: {
      sasl: 'oauthbearer',
      saslTokenProvider: 'bearer',
      username: 'admin',
      password: 'admin',
      scopes: 'scope1, scope2',
      oauthTokenEndpointUri: 'https://website.com',
      oauthExtensions: 'extension_foo=bar,extension_baz=baz',
    },
    sasl: 'oauthbearer',
  },
  {
    label: 'failure, SASL OAUTHBEARER + bad extension',
    authParams: {
      sasl: 'oauthbearer',
      username: 'admin',
      password: 'admin',
      oauthTokenEndpointUri: 'https://website.com',
      oauthExtensions: 'extension_foo=bar,extension_bazbaz',
    },
    error: ['oauthExtensions', '"extension_bazbaz" (authenticationRef) is not of the form key=value'],
  },
  {
    label: 'deliberately unsupported, SASL OAUTHBEARER MSK + TLS + Credentials (KEDA: success)',
    metadata: { awsRegion: 'eu-west-1' },
    authParams: {
      sasl: 'oauthbearer',
      saslTokenProvider: 'aws_msk_iam',
      tls: 'enable',
      awsAccessKeyID: 'none',
    },
    error: [
      'saslTokenProvider',
      '"aws_msk_iam" (from the authenticationRef) (AWS MSK IAM) is not supported by ebb yet',
    ],
  },
];

describe('kafka TLS and SASL (parseKafkaAuthParamsTestDataset, parseAuthParamsTestDataset, OAuth)', () => {
  it.each(TLS_SASL)('$label', (row) => {
    const result = parse({ ...validKafkaMetadata, ...row.metadata }, row.authParams, {
      authenticationRef: { name: 'auth' },
    });
    if (row.error !== undefined) {
      // The authenticationRef resolved: a missing credential names it.
      const message = row.error[1].replace(
        "set it in a TriggerAuthentication and point the trigger's authenticationRef at it",
        'the TriggerAuthentication "auth" does not provide it',
      );
      expect(result).toEqual({ ok: false, error: [problem(row.error[0], message)] });
      return;
    }
    expect(result.ok ? [] : result.error).toEqual([]);
    if (!result.ok) return;
    if ('tls' in row) expect(result.value.connection.tls !== undefined).toBe(row.tls);
    if ('sasl' in row) expect(result.value.connection.sasl?.mechanism).toBe(row.sasl);
  });

  it('reads certificates, unsafeSsl and OAuth settings into the connection', () => {
    const result = parse(
      { ...validKafkaMetadata, tls: 'enable', unsafeSsl: 'true', sasl: 'oauthbearer' },
      {
        ca: 'caaa',
        cert: 'ceert',
        key: 'keey',
        keyPassword: 'pw',
        username: 'id',
        password: 'secret',
        scopes: 'scope1, scope2,',
        oauthTokenEndpointUri: 'https://idp.example/token',
        oauthExtensions: 'a=b',
      },
    );
    expect(result.ok && result.value.connection).toEqual({
      brokers: ['foobar:9092'],
      tls: { ca: 'caaa', cert: 'ceert', key: 'keey', keyPassword: 'pw', unsafeSsl: true },
      sasl: {
        mechanism: 'oauthbearer',
        clientId: 'id',
        clientSecret: 'secret',
        tokenEndpoint: 'https://idp.example/token',
        scopes: ['scope1', 'scope2'],
        extensions: { a: 'b' },
      },
      pending: [],
    });
  });
});

describe('kafka credentials at admission (authenticationRef not resolved yet)', () => {
  it.each([
    {
      label: 'sasl plaintext in metadata (v03)',
      metadata: { sasl: 'plaintext', tls: 'enable' },
      pending: ['username', 'password'],
    },
    {
      label: 'sasl oauthbearer in metadata (v04)',
      metadata: { sasl: 'oauthbearer', tls: 'enable' },
      pending: ['username', 'password', 'oauthTokenEndpointUri'],
    },
    { label: 'nothing in metadata (v02)', metadata: {}, pending: [] },
  ])('$label: admitted, credentials pending', ({ metadata, pending }) => {
    const result = parse({ ...validKafkaMetadata, ...metadata }, {}, { authenticationRef: { name: 'auth' } });
    expect(result.ok ? result.value.connection.pending : result.error).toEqual(pending);
  });

  it('without an authenticationRef the same trigger is refused', () => {
    const result = parse({ ...validKafkaMetadata, sasl: 'plaintext' });
    expect(result.ok ? [] : result.error.map((p) => p.path)).toEqual([
      'spec.triggers[0].metadata.username',
      'spec.triggers[0].metadata.password',
    ]);
  });

  it('what the metadata alone decides is still refused', () => {
    const result = parse(
      { ...validKafkaMetadata, sasl: 'gssapi' },
      {},
      { authenticationRef: { name: 'auth' } },
    );
    expect(result).toEqual({
      ok: false,
      error: [
        problem(
          'sasl',
          '"gssapi" (Kerberos) is not supported by ebb: its Kafka client has no GSSAPI mechanism',
        ),
      ],
    });
  });
});

// ---- apache-kafka ----

describe('apache-kafka metadata', () => {
  const apache = (metadata: Metadata, authParams: Record<string, string> = {}) =>
    parseKafkaMetadata({ index: 0, trigger: { type: 'apache-kafka', metadata }, authParams });

  it('takes a list of topics', () => {
    const result = apache({ ...base, topic: 'a, b,' });
    expect(result.ok && result.value.topics).toEqual(['a', 'b']);
  });

  it('has aws_msk_iam (unsupported) and no oauthbearer among its sasl types', () => {
    expect(apache({ ...withTopic, sasl: 'aws_msk_iam', tls: 'enable', awsRegion: 'eu-west-1' })).toEqual({
      ok: false,
      error: [problem('sasl', '"aws_msk_iam" (AWS MSK IAM) is not supported by ebb yet')],
    });
    expect(apache({ ...withTopic, sasl: 'oauthbearer' })).toEqual({
      ok: false,
      error: [
        problem(
          'sasl',
          'must be one of "none", "plaintext", "scram_sha256", "scram_sha512", "gssapi", "aws_msk_iam", got "oauthbearer"',
        ),
      ],
    });
  });

  it('shares the kafka rules (parseApacheKafkaMetadataTestDataset: lagThreshold 0)', () => {
    expect(apache({ ...withTopic, lagThreshold: '0' })).toEqual({
      ok: false,
      error: [problem('lagThreshold', 'must be greater than 0, got "0"')],
    });
  });
});

// ---- metric names and targets ----

describe('kafka metric (kafkaMetricIdentifiers, apacheKafkaMetricIdentifiers)', () => {
  it.each([
    { label: 'topic, trigger 0', type: 'kafka', index: 0, metadata: withTopic, name: 's0-kafka-my-topic' },
    { label: 'topic, trigger 1', type: 'kafka', index: 1, metadata: withTopic, name: 's1-kafka-my-topic' },
    { label: 'no topic', type: 'kafka', index: 1, metadata: base, name: 's1-kafka-my-group-topics' },
    {
      label: 'dots sanitised',
      type: 'kafka',
      index: 0,
      metadata: { ...base, topic: 'orders.v1' },
      name: 's0-kafka-orders-v1',
    },
    {
      label: 'apache-kafka topic',
      type: 'apache-kafka',
      index: 0,
      metadata: { ...base, topic: 'my-topics' },
      name: 's0-kafka-my-topics',
    },
    {
      label: 'apache-kafka topics joined',
      type: 'apache-kafka',
      index: 2,
      metadata: { ...base, topic: 'a,b' },
      name: 's2-kafka-a,b',
    },
  ])('$label: $name', ({ type, index, metadata, name }) => {
    const resolved = resolveTrigger({ type, metadata }, index);
    expect(resolved.ok && resolved.value.metric.name).toBe(name);
  });

  it('targets lagThreshold per replica, or as a whole with metricType Value; activation is activationLagThreshold', () => {
    const metadata = { ...withTopic, lagThreshold: '50', activationLagThreshold: '3' };
    const average = resolveTrigger({ type: 'kafka', metadata }, 0);
    expect(average.ok && average.value.metric).toEqual({
      name: 's0-kafka-my-topic',
      target: 50,
      metricType: 'AverageValue',
    });
    expect(average.ok && average.value.activationThreshold).toBe(3);
    expect(average.ok && average.value.offline).toBe(false);
    const value = resolveTrigger({ type: 'kafka', metadata, metricType: 'Value' }, 0);
    expect(value.ok && value.value.metric.metricType).toBe('Value');
    expect(kafkaScaler.types).toEqual(['kafka', 'apache-kafka']);
    expect(kafkaMetricName(3, { topics: [], consumerGroup: 'g' })).toBe('s3-kafka-g-topics');
  });
});

// ---- TestKafkaParsePartitionLimitation ----

describe('partitionLimitation (TestKafkaParsePartitionLimitation)', () => {
  it.each([
    { label: 'single value', input: '1', expected: [1] },
    { label: 'comma-separated list', input: '1,2,3,4', expected: [1, 2, 3, 4] },
    { label: 'list with whitespace around values', input: ' 1 , 2 , 3 ', expected: [1, 2, 3] },
    { label: 'simple range', input: '1-4', expected: [1, 2, 3, 4] },
    { label: 'single-element range (start == end)', input: '3-3', expected: [3] },
    { label: 'range with whitespace', input: ' 1 - 4 ', expected: [1, 2, 3, 4] },
    { label: 'mixed list and ranges', input: '1-4,8,10-12', expected: [1, 2, 3, 4, 8, 10, 11, 12] },
    { label: 'non-numeric value', input: 'a,b,c', expected: undefined },
    { label: 'invalid range: too many parts', input: '1-2-3', expected: undefined },
    { label: 'invalid range: non-numeric start', input: 'a-3', expected: undefined },
    { label: 'invalid range: non-numeric end', input: '1-b', expected: undefined },
    { label: 'ebb: empty entry', input: '1,,2', expected: undefined },
  ])('$label', ({ input, expected }) => {
    const result = parsePartitionLimitation(input);
    expect(result.ok ? result.value : undefined).toEqual(expected);
  });
});
