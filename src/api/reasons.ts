// Every reason ebb can report, in one place (fastify-style coded errors). A reason is the
// CamelCase word that lands in a condition's `reason`, an Event's `reason`, a log line and a
// metric label; the message beside it names the field and says why.

/** Reasons for the `Ready` condition and for Events about a ScaledObject's spec or target. */
export const ScaledObjectReady = 'ScaledObjectReady';
export const ScaledObjectCheckFailed = 'ScaledObjectCheckFailed';
export const InvalidSpec = 'InvalidSpec';
export const UnsupportedTriggerType = 'UnsupportedTriggerType';
export const InvalidTriggerMetadata = 'InvalidTriggerMetadata';
export const TriggerError = 'TriggerError';
export const ScaleTargetNotFound = 'ScaleTargetNotFound';
export const ScaleTargetNotScalable = 'ScaleTargetNotScalable';
export const ScaleTargetInUse = 'ScaleTargetInUse';
/** The scale target's API did not answer a poll's read or write within the poll's deadline. */
export const ScaleTargetTimeout = 'ScaleTargetTimeout';
export const AuthenticationError = 'AuthenticationError';
/** HPA mode: another HPA (not ebb's for this object) targets the workload; ebb leaves it alone. */
export const HPAConflict = 'HPAConflict';
/** HPA mode: the HPA could not be created, updated or deleted (RBAC, API errors). */
export const HPAFailed = 'HPAFailed';
/** An http trigger's host + path prefix is also claimed by another ScaledObject, which keeps it. */
export const RouteConflict = 'RouteConflict';
/** An http trigger's named port is not a port of its Service (as the activators see it). */
export const ServicePortUnresolved = 'ServicePortUnresolved';

/** Reasons for the `Active` condition. */
export const ScalerActive = 'ScalerActive';
export const ScalerNotActive = 'ScalerNotActive';
export const ScalerCooldown = 'ScalerCooldown';

/** Reasons for the `Fallback` condition. */
export const FallbackExists = 'FallbackExists';
export const NoFallbackFound = 'NoFallbackFound';

/** Reasons for the `Paused` condition. */
export const ScaledObjectPaused = 'ScaledObjectPaused';
export const ScaledObjectUnpaused = 'ScaledObjectUnpaused';

/** Event reasons (KEDA's names with the ebb prefix where KEDA uses its own). */
export const ScaleTargetActivated = 'ScaleTargetActivated';
export const ScaleTargetDeactivated = 'ScaleTargetDeactivated';
export const ScaleTargetScaled = 'ScaleTargetScaled';
export const ScaleTargetRestored = 'ScaleTargetRestored';
export const ScalerFailed = 'ScalerFailed';
export const ScalerRecovered = 'ScalerRecovered';
export const HPACreated = 'HPACreated';
export const HPAUpdated = 'HPAUpdated';
export const HPADeleted = 'HPADeleted';

export type Reason =
  | typeof ScaledObjectReady
  | typeof ScaledObjectCheckFailed
  | typeof InvalidSpec
  | typeof UnsupportedTriggerType
  | typeof InvalidTriggerMetadata
  | typeof TriggerError
  | typeof ScaleTargetNotFound
  | typeof ScaleTargetNotScalable
  | typeof ScaleTargetInUse
  | typeof AuthenticationError
  | typeof HPAConflict
  | typeof HPAFailed
  | typeof RouteConflict
  | typeof ServicePortUnresolved
  | typeof ScalerActive
  | typeof ScalerNotActive
  | typeof ScalerCooldown
  | typeof FallbackExists
  | typeof NoFallbackFound
  | typeof ScaledObjectPaused
  | typeof ScaledObjectUnpaused
  | typeof ScaleTargetActivated
  | typeof ScaleTargetDeactivated
  | typeof ScaleTargetScaled
  | typeof ScaleTargetRestored
  | typeof ScalerFailed
  | typeof ScalerRecovered
  | typeof HPACreated
  | typeof HPAUpdated
  | typeof HPADeleted;

/** Trigger read errors (a scaler's ReadError reason): the source failed or refused the read. */
export const KafkaError = 'KafkaError';
export const RabbitMQError = 'RabbitMQError';
/** http trigger: no activator feed is bound, or no activator has reported the route. */
export const HttpMetricsUnavailable = 'HttpMetricsUnavailable';
/** http trigger: the route's latest counters are older than the staleness limit. */
export const HttpMetricsStale = 'HttpMetricsStale';
/** A trigger read did not answer within the poll's deadline (`--poll-timeout`). */
export const ScalerTimeout = 'ScalerTimeout';
/** A trigger read, or the scalingModifiers formula, gave NaN or an infinity: a failed read, never 0. */
export const MetricNotFinite = 'MetricNotFinite';
/** The scalingModifiers formula ran past its evaluation budget (steps per evaluation). */
export const FormulaCostExceeded = 'FormulaCostExceeded';

/**
 * What the activator answers by itself (its `X-Ebb-Reason` header), each with a one-line body
 * naming the route and the limit that was hit.
 */
export const NoRoute = 'NoRoute';
export const RouteHoldLimit = 'RouteHoldLimit';
export const GlobalHoldLimit = 'GlobalHoldLimit';
export const HoldTimeout = 'HoldTimeout';
export const UpstreamFailed = 'UpstreamFailed';
export const UpstreamTimeout = 'UpstreamTimeout';
export const Draining = 'Draining';
export const RouteRemoved = 'RouteRemoved';
export const ScaledToZero = 'ScaledToZero';
/**
 * Requests the activator refuses before routing them (each answered with `Connection: close`;
 * RFC 9110/9112 sections in src/activator/request-target.ts, headers.ts, paths.ts).
 */
/** Bytes node's HTTP parser refused (bad framing, obs-fold, bare CR/LF, …): 400, or 431/408/413. */
export const MalformedRequest = 'MalformedRequest';
/** Not origin-form, absolute-form http(s) or `OPTIONS *` (e.g. `ftp://`, userinfo, `GET *`): 400. */
export const InvalidRequestTarget = 'InvalidRequestTarget';
/** No Host on HTTP/1.1, two Host lines, or a Host that is not `host[:port]`: 400. */
export const InvalidHost = 'InvalidHost';
/** A path with a bad percent-encoding, a `\`, or a `..` above the root: 400. */
export const InvalidPath = 'InvalidPath';
/** Transfer-Encoding in HTTP/1.0, or an Upgrade request with a body: 400. */
export const InvalidFraming = 'InvalidFraming';
/** A Connection header naming a header the activator sets, or 10 or more options: 400. */
export const InvalidConnectionHeader = 'InvalidConnectionHeader';
/** A transfer coding other than chunked: 501. */
export const UnsupportedTransferCoding = 'UnsupportedTransferCoding';
/** CONNECT: the activator is no tunnel: 501. */
export const UnsupportedMethod = 'UnsupportedMethod';
/** An HTTP major version other than 1 on the HTTP/1 port: 505. */
export const UnsupportedHttpVersion = 'UnsupportedHttpVersion';
/** An Upgrade to a protocol the route does not relay (403; its allowedUpgrades). */
export const UpgradeRefused = 'UpgradeRefused';
/** A forwarded request's body stopped arriving for requestBodyTimeout (408). */
export const RequestBodyTimeout = 'RequestBodyTimeout';
/** The activator holds as many client connections as its open-file budget allows (503). */
export const ConnectionLimit = 'ConnectionLimit';
export type ActivatorReason =
  | typeof NoRoute
  | typeof RouteHoldLimit
  | typeof GlobalHoldLimit
  | typeof HoldTimeout
  | typeof UpstreamFailed
  | typeof UpstreamTimeout
  | typeof Draining
  | typeof RouteRemoved
  | typeof ScaledToZero
  | typeof MalformedRequest
  | typeof InvalidRequestTarget
  | typeof InvalidHost
  | typeof InvalidPath
  | typeof InvalidFraming
  | typeof InvalidConnectionHeader
  | typeof UnsupportedTransferCoding
  | typeof UnsupportedMethod
  | typeof UnsupportedHttpVersion
  | typeof UpgradeRefused
  | typeof RequestBodyTimeout
  | typeof ConnectionLimit;

/**
 * Why the controller refused an activator's report (src/controller/activator-reports.ts): the
 * label of ebb_activator_reports_refused_total, with the HTTP status each is answered with.
 */
export const Unauthenticated = 'Unauthenticated'; // 401: no, malformed, invalid or expired token
export const ForbiddenReporter = 'ForbiddenReporter'; // 403: a valid token of a ServiceAccount not allowed
export const TokenReviewUnavailable = 'TokenReviewUnavailable'; // 503: the API server could not review it
export const InvalidReport = 'InvalidReport'; // 400: a field missing, of the wrong type or out of bounds
export const ClockSkew = 'ClockSkew'; // 400: `at` too far from the controller's clock
export const UnknownRoute = 'UnknownRoute'; // 400: a poke for a route no ScaledObject has
export const TooManyActivators = 'TooManyActivators'; // 503: a new activator id beyond the cap
export const ReportTooLarge = 'ReportTooLarge'; // 413: a body over 1 MiB
export type ReportRefusal =
  | typeof Unauthenticated
  | typeof ForbiddenReporter
  | typeof TokenReviewUnavailable
  | typeof InvalidReport
  | typeof ClockSkew
  | typeof UnknownRoute
  | typeof TooManyActivators
  | typeof ReportTooLarge;
export const REPORT_REFUSALS: readonly ReportRefusal[] = [
  Unauthenticated,
  ForbiddenReporter,
  TokenReviewUnavailable,
  InvalidReport,
  ClockSkew,
  UnknownRoute,
  TooManyActivators,
  ReportTooLarge,
];

/** A problem found in user input: the field path (`spec.triggers[0].metadata.start`) and why. */
export interface Problem {
  readonly path: string;
  readonly reason: Reason;
  readonly message: string;
}

export type Result<T, E = Problem[]> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const fail = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });

/** `spec.triggers[0].metadata.lagThreshold: must be greater than 0` */
export const formatProblem = (p: Problem): string => `${p.path}: ${p.message}`;
