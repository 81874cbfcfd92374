// ScaledObject manifests and cron windows for tests against a real API server, without
// @kubernetes/client-node (the controller bench's child imports these and must not load it:
// its generated APIs cost ~75 MB of RSS that the controller does not pay).
import { GROUP, VERSION } from '../../src/api/scaledobject.ts';

/** Cron metadata whose window is open now (and until next 1 January 00:00 UTC). */
export const openWindow = (desiredReplicas: number): Record<string, string> => ({
  timezone: 'Etc/UTC',
  start: '* * * * *',
  end: '0 0 1 1 *',
  desiredReplicas: String(desiredReplicas),
});

/** Cron metadata whose window is closed now: it closes every minute, opens once a year. */
export const closedWindow = (desiredReplicas: number): Record<string, string> => ({
  timezone: 'Etc/UTC',
  start: '0 0 1 1 *',
  end: '* * * * *',
  desiredReplicas: String(desiredReplicas),
});

export interface SOOptions {
  target?: string;
  triggers?: unknown[];
  annotations?: Record<string, string>;
  spec?: Record<string, unknown>;
}

export const scaledObjectManifest = (namespace: string, name: string, o: SOOptions = {}) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'ScaledObject',
  metadata: { name, namespace, ...(o.annotations === undefined ? {} : { annotations: o.annotations }) },
  spec: {
    scaleTargetRef: { name: o.target ?? name },
    pollingInterval: 1,
    cooldownPeriod: 2,
    advanced: {
      horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 0 } } },
    },
    triggers: o.triggers ?? [{ type: 'cron', metadata: openWindow(2) }],
    ...o.spec,
  },
});
