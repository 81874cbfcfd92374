// The behavioural differences between KEDA and ebb that apply to one manifest, for `ebb migrate`
// (the cron-window rule is scalers/cron/disagreement.ts's, shared with `ebb validate`). Each rule reads the plain object and names
// the field; the caller turns the field into a line. Sources: docs/architecture.md "Deliberate
// choices", docs/migrating-from-keda.md, and KEDA 2.21's code where the rule is KEDA's.
import { cronWindowWarning } from '../../scalers/cron/disagreement.ts';

export type Severity =
  /** ebb would refuse or cannot serve this: the manifest is not converted (exit 1). */
  | 'error'
  /** Converted; behaves differently from KEDA in the way the message says. */
  | 'difference'
  /** A KEDA annotation or field ebb does not act on; left as it is. */
  | 'ignored';

export interface Finding {
  /** Path of the field, as ebb's problems write it: `spec.triggers[0].metadata.start`. */
  readonly field: string;
  /** The same path as YAML keys, to find its line. */
  readonly keys: readonly (string | number)[];
  readonly severity: Severity;
  readonly message: string;
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

const fieldOf = (keys: readonly (string | number)[]): string =>
  keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
const finding = (keys: readonly (string | number)[], severity: Severity, message: string): Finding => ({
  field: fieldOf(keys),
  keys,
  severity,
  message,
});

/** The HPA controller's default --horizontal-pod-autoscaler-sync-period (KEDA's HPA re-reads then). */
const HPA_SYNC_SECONDS = 15;
const KEDA_DEFAULT_POLLING_SECONDS = 30;

const triggerRules = (trigger: Obj, i: number, now: number): Finding[] => {
  const type = text(trigger.type);
  const metadata = obj(trigger.metadata);
  const at = (...keys: (string | number)[]) => ['spec', 'triggers', i, ...keys];
  const out: Finding[] = [];
  if (type === 'cron') {
    const warning = cronWindowWarning(metadata, now);
    if (warning !== undefined) out.push(finding(at('metadata', 'start'), 'difference', warning));
    if (text(metadata.desiredReplicas)?.trim() === '0') {
      out.push(
        finding(
          at('metadata', 'desiredReplicas'),
          'error',
          'desiredReplicas "0" does not scale to zero outside a window: KEDA refuses it when it builds the scaler ("no desiredReplicas specified") and ebb refuses it at admission; set minReplicaCount: 0 and a window for the hours replicas are wanted',
        ),
      );
    }
  }
  if (type === 'kafka' || type === 'apache-kafka') {
    const idle = text(metadata.allowIdleConsumers)?.trim().toLowerCase() === 'true';
    if (!idle) {
      const withLag = text(metadata.limitToPartitionsWithLag)?.trim().toLowerCase() === 'true';
      out.push(
        finding(
          at('metadata', withLag ? 'limitToPartitionsWithLag' : 'lagThreshold'),
          'difference',
          `the partition cap is exact in ebb: lag is capped at ${withLag ? 'partitions with lag' : 'partitions'} × lagThreshold, so replicas never exceed ${withLag ? 'those partitions' : 'the partition count'}; KEDA caps only when floor(lag / lagThreshold) exceeds that bound (lag 16 over 3 partitions × 5 gives KEDA 4 replicas, ebb 3)`,
        ),
      );
    }
  }
  // Without an authenticationRef, admission refuses a *FromEnv key KEDA would read (the
  // validate errors the report adds); with one, that is decided when the auth is resolved.
  const ref = text(obj(trigger.authenticationRef).name);
  if (type === 'rabbitmq' && ref !== undefined) {
    for (const key of ['host', 'username', 'password']) {
      if (metadata[`${key}FromEnv`] !== undefined && (key !== 'host' || text(metadata.host) === undefined)) {
        out.push(
          finding(
            at('metadata', `${key}FromEnv`),
            'difference',
            `${key}FromEnv: ebb has no container environment to read it from; the trigger is refused (InvalidTriggerMetadata) unless TriggerAuthentication "${ref}" provides ${key}: put the value in a Secret and reference it there`,
          ),
        );
      }
    }
  }
  if (trigger.useCachedMetrics !== undefined) {
    out.push(
      finding(
        at('useCachedMetrics'),
        'ignored',
        'ebb always answers the HPA from its latest poll; useCachedMetrics changes nothing',
      ),
    );
  }
  return out;
};

/** Findings for a KEDA ScaledObject (after its apiVersion and annotations were rewritten). */
export const scaledObjectFindings = (so: Obj, now: number): Finding[] => {
  const spec = obj(so.spec);
  const name = text(obj(so.metadata).name) ?? '<name>';
  const out: Finding[] = [];
  const polling =
    typeof spec.pollingInterval === 'number' ? spec.pollingInterval : KEDA_DEFAULT_POLLING_SECONDS;
  if (polling > HPA_SYNC_SECONDS) {
    out.push(
      finding(
        spec.pollingInterval === undefined ? ['spec'] : ['spec', 'pollingInterval'],
        'difference',
        `pollingInterval ${polling}${spec.pollingInterval === undefined ? " (KEDA's default)" : ''}: in KEDA it governs only 0 ↔ 1, while its HPA re-reads the metrics every ${HPA_SYNC_SECONDS} s for 1 ↔ N; ebb decides 0 ↔ 1 ↔ N at every poll, so 1 ↔ N reacts every ${polling} s here. Set pollingInterval: ${HPA_SYNC_SECONDS} to react as often as KEDA's HPA did`,
      ),
    );
  }
  const hpaName = text(obj(obj(spec.advanced).horizontalPodAutoscalerConfig).name);
  out.push(
    finding(
      hpaName === undefined
        ? ['metadata', 'name']
        : ['spec', 'advanced', 'horizontalPodAutoscalerConfig', 'name'],
      'difference',
      hpaName === undefined
        ? `KEDA's HPA keda-hpa-${name} is not adopted: in direct mode (the default) ebb scales the target itself and needs no HPA; in HPA mode it makes ebb-hpa-${name} and refuses (HPAConflict) while keda-hpa-${name} exists. Pausing KEDA's ScaledObject deletes keda-hpa-${name}. External metric names stay KEDA's (s<index>-<trigger>-…); ebb's HPA selects them by autoscaling.ebb.dev/scaledobject=${name}, not scaledobject.keda.sh/name`
        : `horizontalPodAutoscalerConfig.name "${hpaName}" is KEDA's HPA too: in HPA mode ebb refuses it (HPAConflict) until KEDA's HPA of that name is gone (pausing KEDA's ScaledObject deletes it); metric names stay KEDA's`,
    ),
  );
  if (obj(obj(spec.advanced).horizontalPodAutoscalerConfig).behavior === undefined) {
    out.push(
      finding(
        ['spec'],
        'difference',
        "no horizontalPodAutoscalerConfig.behavior: KEDA's HPA then takes the HPA's legacy scale-up cap (max(2 × current, 4)); ebb applies the autoscaling/v2 default behavior (up by max(4 pods, 100%) per 15 s, down 100% per 15 s after a 300 s stabilization)",
      ),
    );
  }
  const fallback = obj(spec.fallback);
  if (isObj(spec.fallback)) {
    out.push(
      finding(
        ['spec', 'fallback', 'failureThreshold'],
        'difference',
        `fallback counting: ebb counts one failure per failed poll; KEDA also counts its HPA's metric reads (every ${HPA_SYNC_SECONDS} s), so with failureThreshold ${text(fallback.failureThreshold) ?? '?'} KEDA falls back roughly twice as early; lower failureThreshold to keep KEDA's timing`,
      ),
    );
    if (fallback.replicas === 0) {
      out.push(
        finding(
          ['spec', 'fallback', 'replicas'],
          'difference',
          'fallback.replicas 0: ebb never scales to zero on a failed read (the fallback is applied, the scale to zero is not); KEDA falls through to zero',
        ),
      );
    }
  }
  const triggers = Array.isArray(spec.triggers) ? spec.triggers : [];
  triggers.forEach((t, i) => {
    out.push(...triggerRules(obj(t), i, now));
  });
  return out;
};

/** KEDA annotations: what `ebb migrate` renames, and those it reports as not acted on. */
export const RENAMED_ANNOTATIONS: Readonly<Record<string, string>> = {
  'autoscaling.keda.sh/paused': 'autoscaling.ebb.dev/paused',
  'autoscaling.keda.sh/paused-replicas': 'autoscaling.ebb.dev/paused-replicas',
  'autoscaling.keda.sh/paused-scale-in': 'autoscaling.ebb.dev/paused-scale-in',
  'autoscaling.keda.sh/paused-scale-out': 'autoscaling.ebb.dev/paused-scale-out',
};

export const IGNORED_ANNOTATIONS: Readonly<Record<string, string>> = {
  'validations.keda.sh/hpa-ownership':
    'ebb never takes over an HPA it did not create: in HPA mode a foreign HPA on the target is refused (HPAConflict)',
  'scaledobject.keda.sh/transfer-hpa-ownership':
    "ebb does not adopt an existing HPA: delete it first (pausing KEDA's ScaledObject deletes keda-hpa-<name>)",
  'scaledobject.keda.sh/hpa-excluded-labels': "ebb's HPA carries only its own labels",
  'autoscaling.keda.sh/force-activation':
    'ebb has no forced activation; use minReplicaCount or paused-replicas',
};

/** Findings for a KEDA TriggerAuthentication or ClusterTriggerAuthentication. */
export const triggerAuthFindings = (ta: Obj, cluster: boolean): Finding[] => {
  const spec = obj(ta.spec);
  const out: Finding[] = [];
  for (const key of Object.keys(spec)) {
    if (key === 'secretTargetRef') continue;
    if (key === 'podIdentity' && text(obj(spec.podIdentity).provider) === 'none') continue;
    out.push(
      finding(
        ['spec', key],
        'error',
        key === 'env'
          ? "env: ebb runs outside the workload's pod and cannot read its environment; use secretTargetRef"
          : `${key}: ebb resolves only secretTargetRef (and podIdentity provider none); this source is not supported`,
      ),
    );
  }
  if (cluster && Array.isArray(spec.secretTargetRef)) {
    out.push(
      finding(
        ['spec', 'secretTargetRef'],
        'difference',
        "ClusterTriggerAuthentication Secrets are read from ebb's --cluster-object-namespace (default ebb-system; KEDA's is its own namespace, usually keda): copy the Secrets there or run ebb with --cluster-object-namespace keda",
      ),
    );
  }
  return out;
};
