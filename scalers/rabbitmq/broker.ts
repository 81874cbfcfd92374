// Where a rabbitmq trigger reads from, resolved from its config and the parameters of its
// authenticationRef, the way KEDA looks them up: `host` from the metadata, then the auth;
// `protocol` and `vhostName` from the metadata, then the auth; username, password and TLS from
// the auth only. KEDA's last source for host, username and password is the container env
// (`hostFromEnv`, ...; rabbitmq_scaler.go `order=...;resolvedEnv`), which ebb does not have: a
// `*FromEnv` key KEDA would read (its key missing from the sources before it) is refused.
// Pure: no I/O. The endpoints it returns carry secrets (credentials, the Authorization header);
// their `display` never does and is what error messages use.
import { fieldPath } from '../../src/api/parse.ts';
import { fail, InvalidTriggerMetadata, ok, type Problem, type Result } from '../../src/api/reasons.ts';
import type { TriggerContext } from '../../src/scaler.ts';
import { FROM_ENV_TO_SECRET, fromEnvProblem, metadataProblem, paramValue } from '../kit/metadata.ts';
import {
  PROTOCOLS,
  type Protocol,
  type ProtocolSetting,
  parseRabbitMQMetadata,
  protocolProblems,
  type RabbitMQConfig,
} from './schema.ts';

/** The reason of every failed RabbitMQ read (the source answered badly or not at all). */
export { RabbitMQError } from '../../src/api/reasons.ts';

/** KEDA's GlobalHTTPTimeout default: a dead management API fails a poll within 3 s. */
export const DEFAULT_HTTP_TIMEOUT_MS = 3000;

export interface TlsSettings {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly passphrase?: string;
  /** false with `unsafeSsl: "true"`. */
  readonly rejectUnauthorized: boolean;
}

export interface AmqpEndpoint {
  readonly protocol: 'amqp';
  readonly scheme: 'amqp' | 'amqps';
  readonly hostname: string;
  readonly port: number;
  /** The vhost, unescaped (`/` by default). */
  readonly vhost: string;
  /** PLAIN credentials; undefined: SASL EXTERNAL with the TLS client certificate. */
  readonly credentials: { readonly username: string; readonly password: string } | undefined;
  /** Socket TLS options (amqps only). */
  readonly tls: TlsSettings | undefined;
  /** `amqp://127.0.0.1:5672 vhost "/"`, never with credentials. */
  readonly display: string;
}

export interface ManagementEndpoint {
  readonly protocol: 'http';
  /** `http://host:15672` plus any path prefix, without credentials. */
  readonly baseUrl: string;
  /** The vhost as one escaped path segment (`%2F` for the default vhost). */
  readonly vhostSegment: string;
  /** `Basic ...`, or undefined to send none. */
  readonly authorization: string | undefined;
  /** TLS options (https only). */
  readonly tls: TlsSettings | undefined;
  readonly timeoutMs: number;
  /** `http://127.0.0.1:15672 vhost "/"`, never with credentials. */
  readonly display: string;
}

export type Broker = AmqpEndpoint | ManagementEndpoint;

const decode = (text: string): string => {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
};

const HOST_REQUIRED =
  'is required: set host, or an authenticationRef whose TriggerAuthentication provides host (not hostFromEnv: ebb has no container environment to read it from)';

/**
 * Can the broker be checked now? Not at admission for a trigger with an authenticationRef:
 * `authParams` is empty there, and the auth may provide host, protocol, vhost and credentials.
 */
export const brokerIsKnowable = (config: RabbitMQConfig, authParams: Readonly<Record<string, string>>) =>
  config.authenticationRef === undefined || Object.keys(authParams).length > 0;

/**
 * KEDA's getVhostAndPathFromURL for the management API: the host URL's last path segment is the
 * vhost (still escaped), the segments before it a path prefix; `vhostName` overrides the vhost;
 * an empty vhost is the default one (`%2F`).
 *   /            -> vhost %2F, prefix ''        sub1/sub2/myVhost -> vhost myVhost, prefix /sub1/sub2
 *   sub1/        -> vhost %2F, prefix /sub1     myVhost + vhostName "other" -> vhost other
 */
export const managementPath = (
  rawPath: string,
  vhostName: string | undefined,
): { vhostSegment: string; prefix: string } => {
  const parts = rawPath.split('/');
  const last = parts.pop() ?? '';
  const prefix = parts.filter((p) => p !== '').join('/');
  // KEDA escapes vhostName with url.QueryEscape (a space becomes "+", wrong in a path).
  const segment = vhostName !== undefined ? encodeURIComponent(vhostName) : last;
  return { vhostSegment: segment === '' ? '%2F' : segment, prefix: prefix === '' ? '' : `/${prefix}` };
};

const basicAuth = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

const SCHEME_PROTOCOL: Readonly<Record<string, Protocol>> = {
  amqp: 'amqp',
  amqps: 'amqp',
  http: 'http',
  https: 'http',
};

/**
 * The broker a trigger reads, or every problem in the way (each with its field path). Checks
 * KEDA makes when it builds the scaler (protocol `auto` resolved from the host's scheme, HTTP-only
 * modes and options, username with password, TLS cert with key) plus a few of ebb's own: the
 * host must be a URL with a host name, an explicit protocol must match its scheme.
 */
export const resolveBroker = (config: RabbitMQConfig, ctx: TriggerContext): Result<Broker, Problem[]> => {
  const { index, authParams } = ctx;
  const problems: Problem[] = [];
  const auth = (key: string) => paramValue(authParams[key]);
  const ref = config.authenticationRef;
  const authProblem = (message: string) =>
    problems.push({
      path: fieldPath(['spec', 'triggers', index, 'authenticationRef']),
      reason: InvalidTriggerMetadata,
      message:
        ref === undefined
          ? `authentication parameters: ${message}`
          : `TriggerAuthentication "${ref}": ${message}`,
    });

  // ---- host ----
  const hostFromAuth = config.host === undefined ? auth('host') : undefined;
  const rawHost = config.host ?? hostFromAuth;
  const hostProblem = (message: string) =>
    hostFromAuth === undefined
      ? problems.push(metadataProblem(index, 'host', message))
      : authProblem(`host ${message}`);
  if (rawHost === undefined) {
    if (config.fromEnv.host !== undefined) {
      problems.push(fromEnvProblem(index, 'hostFromEnv', FROM_ENV_TO_SECRET));
    } else if (ref === undefined) {
      problems.push(metadataProblem(index, 'host', HOST_REQUIRED));
    } else {
      problems.push(
        metadataProblem(
          index,
          'host',
          `is required: neither the metadata nor TriggerAuthentication "${ref}" sets host`,
        ),
      );
    }
  }
  let url: URL | undefined;
  if (rawHost !== undefined) {
    try {
      url = new URL(rawHost);
    } catch {
      // Never echo the value: it may carry a password.
      hostProblem(
        'is not a valid URL (expected amqp://, amqps://, http:// or https://user:password@host:port/vhost)',
      );
    }
    if (url !== undefined && url.hostname === '') {
      hostProblem('has no host name');
      url = undefined;
    }
  }
  const scheme = url?.protocol.replace(/:$/, '').toLowerCase();

  // ---- protocol ----
  const authProtocol = config.protocol === undefined ? auth('protocol') : undefined;
  const setting = config.protocol ?? authProtocol ?? 'auto';
  if (!(PROTOCOLS as readonly string[]).includes(setting)) {
    authProblem(`protocol must be one of ${PROTOCOLS.map((p) => `"${p}"`).join(', ')}, got "${setting}"`);
  }
  let protocol: Protocol | undefined;
  if (setting === 'amqp' || setting === 'http') protocol = setting;
  else if (scheme !== undefined) {
    protocol = SCHEME_PROTOCOL[scheme];
    if (protocol === undefined) {
      hostProblem(`has an unknown URL scheme "${scheme}" (expected amqp, amqps, http or https)`);
    }
  }
  if (protocol !== undefined && scheme !== undefined && SCHEME_PROTOCOL[scheme] !== protocol) {
    hostProblem(
      `has scheme "${scheme}", which does not match protocol ${protocol as ProtocolSetting} (use ${
        protocol === 'amqp' ? 'amqp:// or amqps://' : 'http:// or https://'
      })`,
    );
  }
  if (protocol !== undefined) problems.push(...protocolProblems(config, protocol, index));

  // ---- credentials and TLS ----
  const username = auth('username');
  const password = auth('password');
  if (username === undefined && config.fromEnv.username !== undefined) {
    problems.push(fromEnvProblem(index, 'usernameFromEnv', FROM_ENV_TO_SECRET));
  }
  if (password === undefined && config.fromEnv.password !== undefined) {
    problems.push(fromEnvProblem(index, 'passwordFromEnv', FROM_ENV_TO_SECRET));
  }
  if ((username === undefined) !== (password === undefined)) {
    authProblem('username and password must be given together');
  }
  const tlsSetting = auth('tls') ?? 'disable';
  if (tlsSetting !== 'enable' && tlsSetting !== 'disable') {
    authProblem(`tls must be "enable" or "disable", got "${tlsSetting}"`);
  }
  const tlsEnabled = tlsSetting === 'enable';
  const ca = auth('ca');
  const cert = auth('cert');
  const key = auth('key');
  const passphrase = auth('keyPassword');
  if ((cert === undefined) !== (key === undefined)) authProblem('cert and key must be given together');
  if (
    auth('oauthTokenURI') !== undefined ||
    auth('clientID') !== undefined ||
    auth('clientSecret') !== undefined
  ) {
    authProblem(
      'OAuth2 (oauthTokenURI, clientID, clientSecret) is not supported by ebb yet; use username and password',
    );
  }
  if (auth('workloadIdentityResource') !== undefined) {
    authProblem('Azure Workload Identity (workloadIdentityResource) is not supported by ebb yet');
  }
  if (tlsEnabled && scheme !== undefined && scheme !== 'amqps' && scheme !== 'https') {
    // KEDA would silently connect without TLS.
    authProblem(`tls is "enable" but the host's scheme is "${scheme}" (use amqps:// or https://)`);
  }

  if (problems.length > 0 || url === undefined || protocol === undefined) return fail(problems);

  const tls: TlsSettings = {
    ...(tlsEnabled && ca !== undefined ? { ca } : {}),
    ...(tlsEnabled && cert !== undefined ? { cert } : {}),
    ...(tlsEnabled && key !== undefined ? { key } : {}),
    ...(tlsEnabled && passphrase !== undefined ? { passphrase } : {}),
    rejectUnauthorized: !config.unsafeSsl,
  };
  const vhostName = config.vhostName ?? auth('vhostName');

  if (protocol === 'amqp') {
    const secure = scheme === 'amqps';
    const vhost = vhostName ?? (decode(url.pathname.slice(1)) || '/');
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port === '' ? (secure ? 5671 : 5672) : Number(url.port);
    const fromUrl = url.username !== '' || url.password !== '';
    // KEDA's rule for SASL EXTERNAL: TLS with a client certificate and no password anywhere.
    const external = tlsEnabled && cert !== undefined && username === undefined && url.password === '';
    return ok({
      protocol: 'amqp',
      scheme: secure ? 'amqps' : 'amqp',
      hostname,
      port,
      vhost,
      credentials:
        username !== undefined && password !== undefined
          ? { username, password }
          : external
            ? undefined
            : fromUrl
              ? { username: decode(url.username), password: decode(url.password) }
              : { username: 'guest', password: 'guest' },
      tls: secure ? tls : undefined,
      display: `${secure ? 'amqps' : 'amqp'}://${url.host} vhost "${vhost}"`,
    });
  }

  const { vhostSegment, prefix } = managementPath(url.pathname, vhostName);
  const baseUrl = `${url.protocol}//${url.host}${prefix}`;
  return ok({
    protocol: 'http',
    baseUrl,
    vhostSegment,
    authorization:
      username !== undefined && password !== undefined
        ? basicAuth(username, password)
        : url.username !== '' || url.password !== ''
          ? basicAuth(decode(url.username), decode(url.password))
          : undefined,
    tls: scheme === 'https' ? tls : undefined,
    timeoutMs:
      config.timeoutMs === undefined || config.timeoutMs === 0 ? DEFAULT_HTTP_TIMEOUT_MS : config.timeoutMs,
    display: `${baseUrl} vhost "${decode(vhostSegment)}"`,
  });
};

/**
 * The definition's parse: the metadata (schema.ts), then the broker whenever it can be known. At
 * admission a trigger with an authenticationRef gets only the checks its own metadata decides
 * (an explicit protocol); the rest, `*FromEnv` keys included, when its TriggerAuthentication is
 * resolved (the controller parses again with its parameters).
 */
export const parseRabbitMQTrigger = (ctx: TriggerContext): Result<RabbitMQConfig, Problem[]> => {
  const parsed = parseRabbitMQMetadata(ctx);
  if (!parsed.ok) {
    // Do not let a metadata mistake hide a missing host (i23 with a typo elsewhere).
    const { trigger, authParams, index } = ctx;
    const has = (key: string) => paramValue(trigger.metadata[key]) !== undefined;
    const hostless =
      !has('host') &&
      !has('hostFromEnv') &&
      trigger.authenticationRef === undefined &&
      !paramValue(authParams.host);
    return hostless && !parsed.error.some((p) => p.path.endsWith('.host'))
      ? fail([...parsed.error, metadataProblem(index, 'host', HOST_REQUIRED)])
      : parsed;
  }
  const config = parsed.value;
  let problems: Problem[] = [];
  if (brokerIsKnowable(config, ctx.authParams)) {
    const broker = resolveBroker(config, ctx);
    if (!broker.ok) problems = broker.error;
  } else if (config.protocol === 'amqp' || config.protocol === 'http') {
    problems = protocolProblems(config, config.protocol, ctx.index);
  }
  return problems.length > 0 ? fail(problems) : ok(config);
};
