// Why the controller refused an activator's report: each `export const` here is one member of
// `ReportRefusal` (derived in src/api/reasons.ts) and one label of the refusals metric.
/**
 * Why the controller refused an activator's report (src/controller/activator-reports.ts): the
 * label of ebb_activator_reports_refused_total, with the HTTP status each is answered with.
 */
export const Unauthenticated = 'Unauthenticated' as const; // 401: no, malformed, invalid or expired token
export const ForbiddenReporter = 'ForbiddenReporter' as const; // 403: a valid token of a ServiceAccount not allowed
export const TokenReviewUnavailable = 'TokenReviewUnavailable' as const; // 503: the API server could not review it
export const InvalidReport = 'InvalidReport' as const; // 400: a field missing, of the wrong type or out of bounds
export const ClockSkew = 'ClockSkew' as const; // 400: `at` too far from the controller's clock
export const UnknownRoute = 'UnknownRoute' as const; // 400: a poke for a route no ScaledObject has
export const TooManyActivators = 'TooManyActivators' as const; // 503: a new activator id beyond the cap
export const ReportTooLarge = 'ReportTooLarge' as const; // 413: a body over 1 MiB
