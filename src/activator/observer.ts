// What the activator tells the outside about each request, as plain data (the Prometheus
// histograms in src/observability implement it). Calls are synchronous, cheap, never throw.

export interface ActivatorObserver {
  /** A request finished (answered, failed or aborted): its route (`namespace/name`, or `` when
   * none matched), the status sent (0 when the client went away first) and its duration. */
  requestDone(route: string, status: number, seconds: number): void;
  /** A held request left the hold queue: how long it waited, and why it left. */
  heldDone(route: string, seconds: number, outcome: 'forwarded' | 'timeout' | 'rejected' | 'aborted'): void;
  /** A cold start ended: first request held on a route with no endpoint → first one forwarded. */
  coldStart(route: string, seconds: number): void;
}

export const noopActivatorObserver: Readonly<ActivatorObserver> = {
  requestDone: () => {},
  heldDone: () => {},
  coldStart: () => {},
};
