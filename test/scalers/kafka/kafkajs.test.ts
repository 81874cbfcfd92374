// The kafkajs adapter's pure parts: settings mapping and error classification. Its I/O is
// proven against a real broker in test/integration/kafka.test.ts.
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { failureKind, kafkajsSasl, kafkajsTls } from '../../../scalers/kafka/kafkajs.ts';

describe('kafkajs settings', () => {
  it.each([
    { label: 'no sasl', sasl: undefined, mechanism: undefined },
    {
      label: 'plaintext',
      sasl: { mechanism: 'plaintext', username: 'u', password: 'p' } as const,
      mechanism: 'plain',
    },
    {
      label: 'scram_sha256',
      sasl: { mechanism: 'scram_sha256', username: 'u', password: 'p' } as const,
      mechanism: 'scram-sha-256',
    },
    {
      label: 'scram_sha512',
      sasl: { mechanism: 'scram_sha512', username: 'u', password: 'p' } as const,
      mechanism: 'scram-sha-512',
    },
    {
      label: 'oauthbearer',
      sasl: {
        mechanism: 'oauthbearer',
        clientId: 'c',
        clientSecret: 's',
        tokenEndpoint: 'https://idp/token',
        scopes: [],
        extensions: {},
      } as const,
      mechanism: 'oauthbearer',
    },
  ])('sasl $label -> $mechanism', ({ sasl, mechanism }) => {
    expect(kafkajsSasl(sasl)?.mechanism).toBe(mechanism);
  });

  it('maps TLS settings to node:tls options; unsafeSsl skips verification', () => {
    expect(kafkajsTls(undefined)).toBe(false);
    expect(kafkajsTls({ ca: 'CA', cert: 'CERT', key: 'KEY', keyPassword: 'PW', unsafeSsl: false })).toEqual({
      rejectUnauthorized: true,
      ca: ['CA'],
      cert: 'CERT',
      key: 'KEY',
      passphrase: 'PW',
    });
    expect(
      kafkajsTls({ ca: undefined, cert: undefined, key: undefined, keyPassword: undefined, unsafeSsl: true }),
    ).toEqual({ rejectUnauthorized: false });
  });
});

describe('failureKind', () => {
  const saslError = Object.assign(new Error('SASL PLAIN authentication failed'), {
    name: 'KafkaJSSASLAuthenticationError',
  });
  it.each([
    {
      label: 'connection refused',
      error: new KafkaJSConnectionError('Connection error'),
      kind: 'connection',
    },
    {
      label: 'retries exhausted on a connection error',
      error: new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('Connection error'), {
        retryCount: 1,
        retryTime: 100,
      }),
      kind: 'connection',
    },
    {
      label: 'a broker error code',
      error: new KafkaJSProtocolError('UNKNOWN_TOPIC_OR_PARTITION'),
      kind: 'request',
    },
    {
      label: 'retries exhausted on a broker error code',
      error: new KafkaJSNumberOfRetriesExceeded(new KafkaJSProtocolError('UNKNOWN_TOPIC_OR_PARTITION'), {
        retryCount: 1,
        retryTime: 100,
      }),
      kind: 'request',
    },
    { label: 'SASL refused', error: saslError, kind: 'authentication' },
    { label: 'anything else', error: new Error('socket hang up'), kind: 'connection' },
  ])('$label -> $kind', ({ error, kind }) => {
    expect(failureKind(error)).toBe(kind);
  });
});
