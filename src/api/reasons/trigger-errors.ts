// Why a trigger read failed (a scaler's ReadError, the poll's and the formula's failures): each
// `export const` here is one member of `ReadErrorReason` (derived in src/api/reasons.ts).
/** Trigger read errors (a scaler's ReadError reason): the source failed or refused the read. */
export const KafkaError = 'KafkaError' as const;
export const RabbitMQError = 'RabbitMQError' as const;
/** http trigger: no activator feed is bound, or no activator has reported the route. */
export const HttpMetricsUnavailable = 'HttpMetricsUnavailable' as const;
/** http trigger: the route's latest counters are older than the staleness limit. */
export const HttpMetricsStale = 'HttpMetricsStale' as const;
/** A poll's trigger reads did not all answer within the poll's time budget. */
export const ScalerTimeout = 'ScalerTimeout' as const;
/** A trigger read, or the scalingModifiers formula, gave NaN or an infinity: a failed read, never 0. */
export const MetricNotFinite = 'MetricNotFinite' as const;
/** The scalingModifiers formula ran past its evaluation budget (steps per evaluation). */
export const FormulaCostExceeded = 'FormulaCostExceeded' as const;
/** A scaler's read threw instead of returning an error value (a bug in the scaler or its client). */
export const ScalerError = 'ScalerError' as const;
/** The metrics adapter: the latest poll has neither a value nor an error for the trigger. */
export const NoValue = 'NoValue' as const;
