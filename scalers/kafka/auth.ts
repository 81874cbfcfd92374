// TLS and SASL settings of a Kafka trigger, from its metadata and its authenticationRef's
// parameters in KEDA's order: `tls`, `sasl`, `saslTokenProvider` from the metadata first, then
// the authenticationRef; credentials and certificates from the authenticationRef only.
//
// At admission the authenticationRef is not resolved yet (authParams is empty): credentials it
// may provide are then listed in `pending` instead of reported; the controller's resolution at
// run time parses again with the resolved parameters and reports what is really missing.
import { fieldPath } from '../../src/api/parse.ts';
import { fail, InvalidTriggerMetadata, ok, type Problem, type Result } from '../../src/api/reasons.ts';
import type { TriggerContext } from '../../src/scaler.ts';

export interface KafkaTls {
  /** PEM, as in KEDA's TriggerAuthentication (`ca`, `cert`, `key`); undefined = system CAs / no client cert. */
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly keyPassword: string | undefined;
  /** Skip verifying the broker's certificate. */
  readonly unsafeSsl: boolean;
}

export type KafkaSasl =
  | {
      readonly mechanism: 'plaintext' | 'scram_sha256' | 'scram_sha512';
      readonly username: string;
      readonly password: string;
    }
  | {
      /** KEDA's `bearer` token provider: OAuth 2 client credentials (username = client id). */
      readonly mechanism: 'oauthbearer';
      readonly clientId: string;
      readonly clientSecret: string;
      readonly tokenEndpoint: string;
      readonly scopes: readonly string[];
      readonly extensions: Readonly<Record<string, string>>;
    };

export interface KafkaAuth {
  /** undefined: plaintext connection (`tls: disable`, the default). */
  readonly tls: KafkaTls | undefined;
  /** undefined: no SASL (`sasl: none`, the default). */
  readonly sasl: KafkaSasl | undefined;
  /** Parameters the unresolved authenticationRef still has to provide (admission only). */
  readonly pending: readonly string[];
}

type Source = 'metadata' | 'authParams';

const SASL_KAFKA = ['none', 'plaintext', 'scram_sha256', 'scram_sha512', 'oauthbearer', 'gssapi'] as const;
const SASL_APACHE_KAFKA = [
  'none',
  'plaintext',
  'scram_sha256',
  'scram_sha512',
  'gssapi',
  'aws_msk_iam',
] as const;

const quoteAll = (values: readonly string[]): string => values.map((v) => `"${v}"`).join(', ');

export const resolveKafkaAuth = (ctx: TriggerContext, unsafeSsl: boolean): Result<KafkaAuth, Problem[]> => {
  const { metadata, authenticationRef } = ctx.trigger;
  const authParams = ctx.authParams;
  const deferred = authenticationRef !== undefined && Object.keys(authParams).length === 0;
  const problems: Problem[] = [];
  const pending: string[] = [];
  const report = (key: string, message: string) =>
    problems.push({
      path: fieldPath(['spec', 'triggers', ctx.index, 'metadata', key]),
      reason: InvalidTriggerMetadata,
      message,
    });

  const fromAuth = (key: string): string | undefined => {
    const v = authParams[key]?.trim();
    return v === '' ? undefined : v;
  };
  const fromEither = (key: string): { value: string; source: Source } | undefined => {
    const m = metadata[key]?.trim();
    if (m !== undefined && m !== '') return { value: m, source: 'metadata' };
    const a = fromAuth(key);
    return a === undefined ? undefined : { value: a, source: 'authParams' };
  };
  const origin = (source: Source) => (source === 'authParams' ? ' (from the authenticationRef)' : '');
  /** A credential KEDA reads from the authenticationRef only. */
  const credential = (key: string, why: string): string => {
    const v = fromAuth(key);
    if (v !== undefined) return v;
    if (deferred) {
      pending.push(key);
      return '';
    }
    const where =
      authenticationRef === undefined
        ? "set it in a TriggerAuthentication and point the trigger's authenticationRef at it"
        : `the TriggerAuthentication "${authenticationRef.name}" does not provide it`;
    const inMetadata = metadata[key]?.trim() ? ' (it is never read from trigger metadata)' : '';
    report(key, `is required ${why}: ${where}${inMetadata}`);
    return '';
  };

  // tls: enable | disable (default disable)
  const tlsParam = fromEither('tls');
  let tls: KafkaTls | undefined;
  if (tlsParam !== undefined && tlsParam.value !== 'enable' && tlsParam.value !== 'disable') {
    report('tls', `must be "enable" or "disable", got "${tlsParam.value}"${origin(tlsParam.source)}`);
  } else if (tlsParam?.value === 'enable') {
    const cert = fromAuth('cert');
    const key = fromAuth('key');
    if (cert !== undefined && key === undefined)
      report('key', 'must be provided with cert (authenticationRef)');
    if (key !== undefined && cert === undefined)
      report('cert', 'must be provided with key (authenticationRef)');
    tls = { ca: fromAuth('ca'), cert, key, keyPassword: fromAuth('keyPassword'), unsafeSsl };
  }

  // sasl
  const allowed = ctx.trigger.type === 'apache-kafka' ? SASL_APACHE_KAFKA : SASL_KAFKA;
  const saslParam = fromEither('sasl');
  const mechanism = saslParam?.value ?? 'none';
  let sasl: KafkaSasl | undefined;
  const at = saslParam === undefined ? '' : origin(saslParam.source);
  if (!(allowed as readonly string[]).includes(mechanism)) {
    report('sasl', `must be one of ${quoteAll(allowed)}, got "${mechanism}"${at}`);
  } else if (mechanism === 'gssapi') {
    report(
      'sasl',
      `"gssapi" (Kerberos)${at} is not supported by ebb: its Kafka client has no GSSAPI mechanism`,
    );
  } else if (mechanism === 'aws_msk_iam') {
    report('sasl', `"aws_msk_iam"${at} (AWS MSK IAM) is not supported by ebb yet`);
  } else if (mechanism === 'plaintext' || mechanism === 'scram_sha256' || mechanism === 'scram_sha512') {
    const why = `for sasl "${mechanism}"`;
    sasl = { mechanism, username: credential('username', why), password: credential('password', why) };
  } else if (mechanism === 'oauthbearer') {
    sasl = oauthBearer(fromEither('saslTokenProvider'), fromAuth, credential, report, origin);
  }

  if (problems.length > 0) return fail(problems);
  return ok({ tls, sasl, pending });
};

/** KEDA's parseOAuthParams: the `bearer` provider (client credentials); `aws_msk_iam` is not supported. */
const oauthBearer = (
  provider: { value: string; source: Source } | undefined,
  fromAuth: (key: string) => string | undefined,
  credential: (key: string, why: string) => string,
  report: (key: string, message: string) => void,
  origin: (source: Source) => string,
): KafkaSasl | undefined => {
  const name = provider?.value ?? 'bearer';
  const at = provider === undefined ? '' : origin(provider.source);
  if (name === 'aws_msk_iam') {
    report('saslTokenProvider', `"aws_msk_iam"${at} (AWS MSK IAM) is not supported by ebb yet`);
    return undefined;
  }
  if (name !== 'bearer') {
    report('saslTokenProvider', `must be one of "bearer", "aws_msk_iam", got "${name}"${at}`);
    return undefined;
  }
  const why = 'for sasl "oauthbearer"';
  const clientId = credential('username', why);
  const clientSecret = credential('password', why);
  const tokenEndpoint = credential('oauthTokenEndpointUri', why);
  // Deliberately tidier than KEDA, which keeps " scope2" and "" from "scope1, scope2" / no scopes.
  const scopes = (fromAuth('scopes') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const extensions: Record<string, string> = {};
  const rawExtensions = fromAuth('oauthExtensions');
  for (const entry of rawExtensions === undefined ? [] : rawExtensions.split(',')) {
    const kv = entry.split('=');
    if (kv.length !== 2 || kv[0] === undefined || kv[1] === undefined || kv[0].trim() === '') {
      report('oauthExtensions', `"${entry}" (authenticationRef) is not of the form key=value`);
      return undefined;
    }
    extensions[kv[0].trim()] = kv[1].trim();
  }
  if (tokenEndpoint !== '' && !URL.canParse(tokenEndpoint)) {
    report('oauthTokenEndpointUri', `"${tokenEndpoint}" (authenticationRef) is not a URL`);
    return undefined;
  }
  return { mechanism: 'oauthbearer', clientId, clientSecret, tokenEndpoint, scopes, extensions };
};
