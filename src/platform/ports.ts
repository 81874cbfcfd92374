// The small ports the controller talks through. Adapters live beside this file:
// `kubernetes/` (the only code that talks to an API server) and, later, `local/`.
// Nothing here names a client-library type; every method returns errors as values.
import type { PlatformReason, Result, StatusReason } from '../api/reasons.ts';
import type { HPABehavior, ScaledObjectStatus } from '../api/scaledobject.ts';

/** A failure of the platform (API server, network), as a value. */
export interface PlatformError {
  /** CamelCase: `ScaleTargetNotFound`, `Conflict`, `Unreachable`, ... */
  readonly reason: PlatformReason;
  readonly message: string;
  /** The HTTP status when there was a response; 0 when the server could not be reached. */
  readonly status?: number;
}

export type PlatformResult<T> = Result<T, PlatformError>;

/** The adapters' own reasons (src/api/reasons/platform.ts), here for the adapters' imports. */
export { ApiError, Conflict, NotFound, Unreachable } from '../api/reasons.ts';

export interface ObjectKey {
  readonly namespace: string;
  readonly name: string;
}

/** `namespace/name`: the work queue's and the caches' key. */
export const keyOf = (o: ObjectKey): string => `${o.namespace}/${o.name}`;

/** The inverse of `keyOf`; undefined for a string that is not `namespace/name`. */
export const parseKey = (key: string): ObjectKey | undefined => {
  const slash = key.indexOf('/');
  if (slash <= 0 || slash === key.length - 1) return undefined;
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
};

/** What a ScaledObject scales: any kind with a `/scale` subresource, in the object's namespace. */
export interface TargetRef extends ObjectKey {
  /** `apps/v1`, `v1`, `example.com/v1`. */
  readonly apiVersion: string;
  readonly kind: string;
}

export const targetKeyOf = (t: TargetRef): string => `${t.apiVersion}/${t.kind}/${t.namespace}/${t.name}`;

/** Reads and writes replicas through the `/scale` subresource of any scalable kind. */
export interface ScaleTarget {
  /** The target's `spec.replicas` as its /scale reports it (served from a cache where possible). */
  replicas(ref: TargetRef): Promise<PlatformResult<number>>;
  /** Sets `spec.replicas` through /scale; returns the replicas the server now has. */
  scale(ref: TargetRef, replicas: number): Promise<PlatformResult<number>>;
  /** The target is no longer scaled by anything ebb watches: drop what is cached about it. */
  forget(ref: TargetRef): void;
}

/** One External metric of a managed HPA: the adapter serves `name` for the HPA's selector. */
export interface HpaMetric {
  readonly name: string;
  readonly metricType: 'AverageValue' | 'Value';
  /** Per replica (AverageValue) or in total (Value); rendered as a quantity (milli-units). */
  readonly target: number;
}

/** The autoscaling/v2 HPA ebb keeps for a ScaledObject in HPA mode, as plain data. */
export interface HpaDefinition {
  /** In the owner's namespace. */
  readonly name: string;
  /** The ScaledObject: the HPA's controller ownerReference. */
  readonly owner: EventRegarding;
  readonly target: TargetRef;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly metrics: readonly HpaMetric[];
  /** matchLabels of every External metric's selector. */
  readonly metricSelector: Readonly<Record<string, string>>;
  readonly behavior: HPABehavior | undefined;
}

/** An HPA found on the server, as far as ownership goes. */
export interface HpaInfo {
  readonly name: string;
  /** The uid of its controller ownerReference, if any. */
  readonly controllerUid: string | undefined;
}

export type HpaEnsured = 'created' | 'updated' | 'unchanged';

/** autoscaling/v2 HorizontalPodAutoscalers that ebb owns in HPA mode. */
export interface HpaWriter {
  /** HPAs in the target's namespace whose scaleTargetRef names the target. */
  findForTarget(target: TargetRef): Promise<PlatformResult<HpaInfo[]>>;
  /**
   * Creates the HPA or brings it to `hpa`, writing only when it differs; fails with reason
   * `HPAConflict` when an HPA of that name exists that `hpa.owner` does not control.
   */
  ensure(hpa: HpaDefinition): Promise<PlatformResult<HpaEnsured>>;
  /** Deletes the HPA if `ownerUid` controls it; ok(false) when there is none (or not ours). */
  delete(namespace: string, name: string, ownerUid: string): Promise<PlatformResult<boolean>>;
}

/** A ScaledObject as Events and status writes address it. */
export interface ScaledObjectRef extends ObjectKey {
  readonly uid: string;
}

/** A merge patch of `.status`: a field set to null is removed. */
export type StatusPatch = {
  [K in keyof ScaledObjectStatus]?: NonNullable<ScaledObjectStatus[K]> | null;
};

export interface StatusWriter {
  /**
   * Merge-patches the status subresource with what `build` returns, calling it once, when the
   * write may go (a paced writer waits for its turn first): a write waiting holds no patch or
   * request, and the patch is computed against the status as it is then. `build` returning
   * undefined means nothing to write (no request; the result is ok).
   */
  patchStatus(ref: ScaledObjectRef, build: () => StatusPatch | undefined): Promise<PlatformResult<void>>;
}

export interface FinalizerWriter {
  /**
   * Replaces `metadata.finalizers`, only if the object is still at `resourceVersion`
   * (optimistic concurrency: a `Conflict` error means "read again").
   */
  setFinalizers(
    ref: ScaledObjectRef,
    finalizers: readonly string[],
    resourceVersion: string,
  ): Promise<PlatformResult<void>>;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRegarding extends ScaledObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
}

export interface EventRecord {
  readonly type: EventType;
  /** CamelCase, from src/api/reasons.ts. */
  readonly reason: StatusReason;
  /** What ebb did or failed to do: `Scale`, `Poll`, `Validate`, `Restore`. */
  readonly action: string;
  /** Human-readable; names the field or trigger it is about. */
  readonly note: string;
}

/**
 * events.k8s.io/v1 Events with reportingController `ebb`. The same reason and note about the
 * same object within the adapter's window bump a series count instead of creating a new Event.
 * Recording never fails the caller: errors are logged by the adapter.
 */
export interface EventRecorder {
  record(regarding: EventRegarding, event: EventRecord): void;
  /** Writes pending series counts; resolves when every write has settled. */
  flush(): Promise<void>;
}

/** coordination.k8s.io/v1 Lease's spec, times in ms since the epoch. */
export interface LeaseRecord {
  /** '' when released. */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: number | undefined;
  readonly renewTime: number | undefined;
  readonly leaseTransitions: number;
}

export interface VersionedLease {
  readonly record: LeaseRecord;
  /** resourceVersion: `update` succeeds only against the version it was read at. */
  readonly version: string;
}

/**
 * The storage half of leader election (client-go's resourcelock.Interface); the election
 * itself (acquire when expired, renew, release) is src/controller/leader-election.ts.
 */
export interface LeaseLock {
  /** `namespace/name` of the lease, for logs. */
  readonly description: string;
  /** undefined: no lease yet. */
  get(): Promise<PlatformResult<VersionedLease | undefined>>;
  /** Fails with `Conflict` when someone created it first. */
  create(record: LeaseRecord): Promise<PlatformResult<VersionedLease>>;
  /** Fails with `Conflict` when the lease moved on since `version`. */
  update(record: LeaseRecord, version: string): Promise<PlatformResult<VersionedLease>>;
}

/** Where this process serves the external-metrics adapter, as one endpoint of a Service. */
export interface AdapterEndpoint {
  /** The selector-less Service the aggregator's APIService names, in `namespace`. */
  readonly namespace: string;
  readonly service: string;
  /** This process's lease identity: marks the endpoint as its own. */
  readonly holder: string;
  /** The pod's IP (IPv4 or IPv6). */
  readonly address: string;
  /** The adapter's port (the endpoint port named `https`). */
  readonly port: number;
  /** The pod, for the endpoint's targetRef; undefined: no targetRef. */
  readonly podName?: string | undefined;
}

export type EndpointPublished = 'created' | 'updated' | 'unchanged';

/**
 * The leader's hold on the adapter Service: while leading, its only endpoint is this process.
 * A new leader overwrites whatever is there; a leaving one removes only what is still its own,
 * so it never clobbers its successor's endpoint.
 */
export interface AdapterEndpointWriter {
  /** `namespace/service`, for logs. */
  readonly description: string;
  /** Points the Service at this process, writing only when something differs. */
  publish(): Promise<PlatformResult<EndpointPublished>>;
  /** Removes the endpoint if it is still this process's; ok(false) when it was not (or gone). */
  withdraw(): Promise<PlatformResult<boolean>>;
}

/** What the API server says of a bearer token (authentication.k8s.io/v1 TokenReview status). */
export type TokenReviewResult =
  | {
      readonly authenticated: true;
      /** `system:serviceaccount:<namespace>:<name>` for a ServiceAccount token. */
      readonly username: string;
      /** The requested audiences the token is valid for (empty when none were requested). */
      readonly audiences: readonly string[];
    }
  | { readonly authenticated: false; readonly error: string };

/** Verifies bearer tokens the way the API server does (the activators' reports). */
export interface TokenReviewer {
  /**
   * Reviews `token` for `audiences` (empty: the API server's own). An error value only when the
   * API server could not answer; an invalid token is `authenticated: false`.
   */
  review(token: string, audiences: readonly string[]): Promise<PlatformResult<TokenReviewResult>>;
}

export const ADD = 'add';
export type ADD = typeof ADD;
export const UPDATE = 'update';
export type UPDATE = typeof UPDATE;
export const DELETE = 'delete';
export type DELETE = typeof DELETE;
export type SourceVerb = ADD | UPDATE | DELETE;

/** List+watch of ScaledObjects, with a cache that serves the latest version of each. */
export interface ScaledObjectSource {
  /**
   * Starts listing and watching; `onChange` gets the key of every added, updated or deleted
   * object (it must only enqueue). Resolves once the first list is in the cache. Watch errors
   * and API-server restarts are recovered from inside (re-watch, re-list), never thrown.
   */
  start(onChange: (verb: SourceVerb, key: string) => void): Promise<void>;
  /** The latest raw object for `namespace/name` (parsed by admission), or undefined. */
  get(key: string): unknown;
  /** Every cached object's key. */
  keys(): string[];
  stop(): Promise<void>;
}
