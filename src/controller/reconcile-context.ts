// What reconcile and its steps work with: the cache, the platform ports, the controller's shared
// state (tracked objects, target claims, scheduler) and its callbacks (status writes, re-queues).
import type { ResolvedTrigger } from '../../scalers/index.ts';
import type { Logger } from '../logging.ts';
import type { TriggerAuthResolver } from '../platform/auth.ts';
import type {
  EventRecorder,
  FinalizerWriter,
  HpaWriter,
  ScaledObjectSource,
  ScaleTarget,
} from '../platform/ports.ts';
import type { Scaler } from '../scaler.ts';
import type { ControllerObserver } from './observer.ts';
import type { RouteClaims } from './route-claims.ts';
import type { PollScheduler } from './scheduler.ts';
import type { StatusChange } from './status.ts';
import type { TargetClaims } from './target-claims.ts';
import type { Tracked } from './tracked.ts';

export interface ReconcileContext {
  readonly source: ScaledObjectSource;
  readonly scaleTarget: ScaleTarget;
  readonly finalizers: FinalizerWriter;
  readonly events: EventRecorder;
  readonly scheduler: PollScheduler;
  readonly claims: TargetClaims;
  readonly tracked: Map<string, Tracked>;
  readonly log: Logger;
  readonly now: () => number;
  /** Builds a trigger's scaler; default `resolved.create(scalerDeps)` (tests substitute scripted scalers). */
  readonly createScaler: (resolved: ResolvedTrigger) => Scaler;
  /** Resolves triggers' authenticationRefs; without it they are built unresolved (unit tests). */
  readonly triggerAuth?: TriggerAuthResolver | undefined;
  /** HPA mode's HorizontalPodAutoscalers; without it HPA mode is refused (unit tests, local mode). */
  readonly hpa?: HpaWriter | undefined;
  readonly observer: ControllerObserver;
  /** This controller's http route claims, made on first use from everything in its cache. */
  routeClaims(): RouteClaims;
  writeStatus(t: Tracked, change: StatusChange): Promise<void>;
  /** Reconcile these keys again (ownership of a target moved). */
  enqueue(key: string): void;
  /** Reconcile this key again after a backoff (a write conflicted or failed). */
  retry(key: string): void;
}
