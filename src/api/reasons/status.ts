// The reasons of a ScaledObject's conditions and Events: each `export const` here is one member
// of `Reason` (src/api/reasons.ts derives the union from this module, so a reason is listed once).
/** Reasons for the `Ready` condition and for Events about a ScaledObject's spec or target. */
export const ScaledObjectReady = 'ScaledObjectReady' as const;
export const ScaledObjectCheckFailed = 'ScaledObjectCheckFailed' as const;
export const InvalidSpec = 'InvalidSpec' as const;
export const UnsupportedTriggerType = 'UnsupportedTriggerType' as const;
export const InvalidTriggerMetadata = 'InvalidTriggerMetadata' as const;
export const TriggerError = 'TriggerError' as const;
export const ScaleTargetNotFound = 'ScaleTargetNotFound' as const;
export const ScaleTargetNotScalable = 'ScaleTargetNotScalable' as const;
export const ScaleTargetInUse = 'ScaleTargetInUse' as const;
/** The scale target's API did not answer a poll's read or write within the poll's deadline. */
export const ScaleTargetTimeout = 'ScaleTargetTimeout' as const;
export const AuthenticationError = 'AuthenticationError' as const;
/** HPA mode: another HPA (not ebb's for this object) targets the workload; ebb leaves it alone. */
export const HPAConflict = 'HPAConflict' as const;
/** HPA mode: the HPA could not be created, updated or deleted (RBAC, API errors). */
export const HPAFailed = 'HPAFailed' as const;
/** An http trigger's host + path prefix is also claimed by another ScaledObject, which keeps it. */
export const RouteConflict = 'RouteConflict' as const;
/** An http trigger's named port is not a port of its Service (as the activators see it). */
export const ServicePortUnresolved = 'ServicePortUnresolved' as const;

/** Reasons for the `Active` condition. */
export const ScalerActive = 'ScalerActive' as const;
export const ScalerNotActive = 'ScalerNotActive' as const;
export const ScalerCooldown = 'ScalerCooldown' as const;

/** Reasons for the `Fallback` condition. */
export const FallbackExists = 'FallbackExists' as const;
export const NoFallbackFound = 'NoFallbackFound' as const;

/** Reasons for the `Paused` condition. */
export const ScaledObjectPaused = 'ScaledObjectPaused' as const;
export const ScaledObjectUnpaused = 'ScaledObjectUnpaused' as const;

/** Event reasons (KEDA's names with the ebb prefix where KEDA uses its own). */
export const ScaleTargetActivated = 'ScaleTargetActivated' as const;
export const ScaleTargetDeactivated = 'ScaleTargetDeactivated' as const;
export const ScaleTargetScaled = 'ScaleTargetScaled' as const;
export const ScaleTargetRestored = 'ScaleTargetRestored' as const;
export const ScalerFailed = 'ScalerFailed' as const;
export const ScalerRecovered = 'ScalerRecovered' as const;
export const HPACreated = 'HPACreated' as const;
export const HPAUpdated = 'HPAUpdated' as const;
export const HPADeleted = 'HPADeleted' as const;
