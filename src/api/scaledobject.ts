// The ScaledObject resource model. `spec` is KEDA's ScaledObject spec field by field (a KEDA
// manifest is accepted with only `apiVersion` changed); the schemas describe what a user may
// write, without defaults, so that "omitted" stays distinguishable from "0" (KEDA's webhook
// relies on that for idleReplicaCount). Defaults are applied in `defaults.ts`.
//
// These schemas are the source of truth for `crds/` (see `crd.ts`) and parse every object
// that reaches ebb: from the API server, from `ebb validate`, from `ebb simulate`.
import { z } from 'zod';

export const GROUP = 'autoscaling.ebb.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ScaledObject';
export const PLURAL = 'scaledobjects';
/** KEDA's apiVersion, accepted by `ebb validate` and `ebb simulate` for migration. */
export const KEDA_API_VERSION = 'keda.sh/v1alpha1';

const int32 = z.int32();
const nonNegative = int32.min(0);

// ---- autoscaling/v2 HorizontalPodAutoscalerBehavior, as the HPA defines it ----

export const HPAScalingPolicySchema = z.object({
  type: z
    .enum(['Pods', 'Percent'])
    .describe('Pods: a number of pods; Percent: a share of the current replicas.'),
  value: int32.min(1).describe('The amount of change the policy permits; > 0.'),
  periodSeconds: int32
    .min(1)
    .max(1800)
    .describe('The window over which past scale events count against the policy (1..1800).'),
});

export const HPAScalingRulesSchema = z.object({
  stabilizationWindowSeconds: int32
    .min(0)
    .max(3600)
    .optional()
    .describe('Past recommendations considered when scaling (0..3600).'),
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']).optional(),
  policies: z.array(HPAScalingPolicySchema).optional(),
  tolerance: z
    .string()
    .regex(/^(0|0?\.\d+|[1-9]\d*(\.\d+)?)(m)?$/, 'must be a non-negative quantity such as "0.1" or "100m"')
    .optional()
    .describe('Tolerance on the usage ratio before scaling, as a quantity ("0.1" = 10%).'),
});

export const HPABehaviorSchema = z.object({
  scaleUp: HPAScalingRulesSchema.optional(),
  scaleDown: HPAScalingRulesSchema.optional(),
});

// ---- ScaledObject spec ----

export const ScaleTargetRefSchema = z.object({
  apiVersion: z.string().optional().describe('Defaults to apps/v1.'),
  kind: z.string().optional().describe('Defaults to Deployment; any kind with a /scale subresource.'),
  name: z.string().min(1).describe('The target in the ScaledObject namespace.'),
  envSourceContainerName: z.string().optional(),
});

export const AuthenticationRefSchema = z.object({
  name: z.string().min(1),
  kind: z.enum(['TriggerAuthentication', 'ClusterTriggerAuthentication']).optional(),
});

export const METRIC_TYPES = ['AverageValue', 'Value', 'Utilization'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];

export const TriggerSchema = z.object({
  type: z.string().min(1).max(63).describe('The scaler: cron, kafka, rabbitmq, http, ...'),
  name: z.string().max(253).optional().describe('Unique within the ScaledObject; formulas refer to it.'),
  metadata: z.record(z.string(), z.string()).describe("The scaler's parameters, every value a string."),
  metricType: z.enum(METRIC_TYPES).optional(),
  useCachedMetrics: z.boolean().optional(),
  authenticationRef: AuthenticationRefSchema.optional(),
});

export const FALLBACK_BEHAVIORS = [
  'static',
  'currentReplicas',
  'currentReplicasIfHigher',
  'currentReplicasIfLower',
  'scalingModifiers',
] as const;
export type FallbackBehavior = (typeof FALLBACK_BEHAVIORS)[number];

export const FallbackSchema = z.object({
  failureThreshold: nonNegative,
  replicas: nonNegative,
  behavior: z.enum(FALLBACK_BEHAVIORS).optional(),
});

/**
 * scalingModifiers.formula's length limit, also the CRD's maxLength, so the API server refuses a
 * longer one before it is stored (src/scaling/formula.ts gives the reasons and the other limits).
 */
export const MAX_FORMULA_LENGTH = 4096;

export const ScalingModifiersSchema = z.object({
  formula: z
    .string()
    .max(MAX_FORMULA_LENGTH)
    .optional()
    .describe(
      "KEDA's expression subset over trigger names: numbers, + - * / %, comparisons, && || !, ?:, ??, max/min/abs/ceil/floor/round/int/float; at most 1000 evaluation steps.",
    ),
  target: z.string().optional().describe('The composite metric target, a number written as a string.'),
  activationTarget: z.string().optional(),
  metricType: z.enum(['AverageValue', 'Value']).optional(),
});

export const AdvancedSchema = z.object({
  horizontalPodAutoscalerConfig: z
    .object({ name: z.string().optional(), behavior: HPABehaviorSchema.optional() })
    .optional(),
  restoreToOriginalReplicaCount: z.boolean().optional(),
  scalingModifiers: ScalingModifiersSchema.optional(),
});

export const MAX_TRIGGERS = 100;

export const ScaledObjectSpecSchema = z.object({
  scaleTargetRef: ScaleTargetRefSchema,
  pollingInterval: int32.min(1).optional().describe('Seconds between polls; default 30.'),
  initialCooldownPeriod: nonNegative
    .optional()
    .describe('Seconds after creation before a first scale to zero.'),
  cooldownPeriod: nonNegative.optional().describe('Seconds after the last activity before scaling to zero.'),
  idleReplicaCount: nonNegative.optional(),
  minReplicaCount: nonNegative.optional().describe('Default 0.'),
  maxReplicaCount: nonNegative.optional().describe('Default 100.'),
  advanced: AdvancedSchema.optional(),
  fallback: FallbackSchema.optional(),
  triggers: z.array(TriggerSchema).min(1).max(MAX_TRIGGERS),
});

// ---- status ----

export const CONDITION_TYPES = ['Ready', 'Active', 'Fallback', 'Paused'] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** metav1.Condition's shape (with observedGeneration and lastTransitionTime, unlike KEDA's). */
export const ConditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().optional(),
  message: z.string().optional(),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: z.string().optional(),
});

export const HealthStatusSchema = z.object({
  numberOfFailures: int32.optional(),
  status: z.enum(['Happy', 'Failing']).optional(),
});

export const ScaledObjectStatusSchema = z.object({
  scaleTargetKind: z
    .string()
    .optional()
    .describe('The resolved target as KEDA writes it, group/version.kind: apps/v1.Deployment.'),
  originalReplicaCount: int32.optional(),
  lastActiveTime: z.string().optional(),
  externalMetricNames: z.array(z.string()).optional(),
  health: z.record(z.string(), HealthStatusSchema).optional(),
  pausedReplicaCount: int32.optional(),
  currentReplicas: int32.optional(),
  desiredReplicas: int32.optional(),
  activeTriggers: z
    .string()
    .optional()
    .describe('The triggers active at the last poll, comma-separated (trigger name or metric name).'),
  hpaName: z.string().optional(),
  conditions: z.array(ConditionSchema).optional(),
});

export const ObjectMetaSchema = z.object({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

export const ScaledObjectSchema = z.object({
  apiVersion: z.string(),
  kind: z.literal(KIND),
  metadata: ObjectMetaSchema,
  spec: ScaledObjectSpecSchema,
  status: ScaledObjectStatusSchema.optional(),
});

export type HPAScalingPolicy = z.infer<typeof HPAScalingPolicySchema>;
export type HPAScalingRules = z.infer<typeof HPAScalingRulesSchema>;
export type HPABehavior = z.infer<typeof HPABehaviorSchema>;
export type ScaleTargetRef = z.infer<typeof ScaleTargetRefSchema>;
export type AuthenticationRef = z.infer<typeof AuthenticationRefSchema>;
export type Trigger = z.infer<typeof TriggerSchema>;
export type Fallback = z.infer<typeof FallbackSchema>;
export type ScalingModifiers = z.infer<typeof ScalingModifiersSchema>;
export type ScaledObjectSpec = z.infer<typeof ScaledObjectSpecSchema>;
export type Condition = z.infer<typeof ConditionSchema>;
export type HealthStatus = z.infer<typeof HealthStatusSchema>;
export type ScaledObjectStatus = z.infer<typeof ScaledObjectStatusSchema>;
export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;
export type ScaledObject = z.infer<typeof ScaledObjectSchema>;
