// What the activator answers by itself: each `export const` here is one member of
// `ActivatorReason` (derived in src/api/reasons.ts), sent as `X-Ebb-Reason`.
/**
 * What the activator answers by itself (its `X-Ebb-Reason` header), each with a one-line body
 * naming the route and the limit that was hit.
 */
export const NoRoute = 'NoRoute' as const;
export const RouteHoldLimit = 'RouteHoldLimit' as const;
export const GlobalHoldLimit = 'GlobalHoldLimit' as const;
export const HoldTimeout = 'HoldTimeout' as const;
/** A hold timed out after the backend's endpoints flapped or refused connections (504). */
export const BackendUnstable = 'BackendUnstable' as const;
export const UpstreamFailed = 'UpstreamFailed' as const;
/** The TLS handshake with an endpoint whose port says https failed (502; backend-tls.ts). */
export const UpstreamTlsFailed = 'UpstreamTlsFailed' as const;
export const UpstreamTimeout = 'UpstreamTimeout' as const;
export const Draining = 'Draining' as const;
export const RouteRemoved = 'RouteRemoved' as const;
export const ScaledToZero = 'ScaledToZero' as const;
/** A browser asked while the route was cold and its route shows a placeholder page (503). */
export const ColdStartPlaceholder = 'ColdStartPlaceholder' as const;
/**
 * Requests the activator refuses before routing them (each answered with `Connection: close`;
 * RFC 9110/9112 sections in src/activator/request-target.ts, headers.ts, paths.ts).
 */
/** Bytes node's HTTP parser refused (bad framing, obs-fold, bare CR/LF, …): 400, or 431/408/413. */
export const MalformedRequest = 'MalformedRequest' as const;
/** Not origin-form, absolute-form http(s) or `OPTIONS *` (e.g. `ftp://`, userinfo, `GET *`): 400. */
export const InvalidRequestTarget = 'InvalidRequestTarget' as const;
/** No Host on HTTP/1.1, two Host lines, or a Host that is not `host[:port]`: 400. */
export const InvalidHost = 'InvalidHost' as const;
/** A path with a bad percent-encoding, a `\`, or a `..` above the root: 400. */
export const InvalidPath = 'InvalidPath' as const;
/** Transfer-Encoding in HTTP/1.0, or an Upgrade request with a body: 400. */
export const InvalidFraming = 'InvalidFraming' as const;
/** A Connection header naming a header the activator sets, or 10 or more options: 400. */
export const InvalidConnectionHeader = 'InvalidConnectionHeader' as const;
/** A transfer coding other than chunked: 501. */
export const UnsupportedTransferCoding = 'UnsupportedTransferCoding' as const;
/** CONNECT: the activator is no tunnel: 501. */
export const UnsupportedMethod = 'UnsupportedMethod' as const;
/** An HTTP major version other than 1 on the HTTP/1 port: 505. */
export const UnsupportedHttpVersion = 'UnsupportedHttpVersion' as const;
/** An Upgrade to a protocol the route does not relay (403; its allowedUpgrades). */
export const UpgradeRefused = 'UpgradeRefused' as const;
/** A forwarded request's body stopped arriving for requestBodyTimeout (408). */
export const RequestBodyTimeout = 'RequestBodyTimeout' as const;
/** The activator holds as many client connections as its open-file budget allows (503). */
export const ConnectionLimit = 'ConnectionLimit' as const;
