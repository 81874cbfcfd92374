// Why a platform adapter failed (the API server, a file, the metrics API's answers): each
// `export const` here is one member of `PlatformReason` (derived in src/api/reasons.ts). The
// API server's own Status reason is never passed on: the adapters map its HTTP status to these.
/** 409 from the API server: the object changed since it was read (an update lost a race). */
export const Conflict = 'Conflict' as const;
/** 404 from the API server. */
export const NotFound = 'NotFound' as const;
/** No answer: the API server could not be reached (status 0). */
export const Unreachable = 'Unreachable' as const;
/** Any other failed answer, or one ebb could not read. */
export const ApiError = 'ApiError' as const;
/** A Lease the API server returned that is not a coordination.k8s.io/v1 Lease. */
export const InvalidLease = 'InvalidLease' as const;
/** The extension-apiserver-authentication ConfigMap is missing a field or is not one. */
export const InvalidConfigMap = 'InvalidConfigMap' as const;
/** The leader's advertised endpoint is not `host:port`. */
export const InvalidEndpoint = 'InvalidEndpoint' as const;
/** --adapter-cert-dir: tls.crt or tls.key cannot be read or does not parse. */
export const InvalidServingCert = 'InvalidServingCert' as const;
/** The metrics API's 400 (a bad labelSelector), Kubernetes' StatusReasonBadRequest. */
export const BadRequest = 'BadRequest' as const;
