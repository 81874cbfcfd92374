// The JSON objects of the external.metrics.k8s.io/v1beta1 API and of Kubernetes discovery, as
// plain data. Field names follow k8s.io/metrics and k8s.io/apimachinery's meta/v1 types.

import { quantity } from './quantity.ts';
import type { MetricReading } from './readings.ts';

export const GROUP = 'external.metrics.k8s.io';
export const VERSION = 'v1beta1';
export const GROUP_VERSION = `${GROUP}/${VERSION}`;
/** The label the HPA's metric selector names the ScaledObject by. */
export const SCALED_OBJECT_LABEL = 'autoscaling.ebb.dev/scaledobject';

const groupVersion = { groupVersion: GROUP_VERSION, version: VERSION } as const;

export const apiGroup = () => ({
  kind: 'APIGroup',
  apiVersion: 'v1',
  name: GROUP,
  versions: [groupVersion],
  preferredVersion: groupVersion,
});

export const apiGroupList = () => {
  const { kind: _kind, apiVersion: _apiVersion, ...group } = apiGroup();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
};

/** Every metric name currently known, as a namespaced resource with the verb `get`. */
export const apiResourceList = (metricNames: readonly string[]) => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: GROUP_VERSION,
  resources: metricNames.map((name) => ({
    name,
    singularName: '',
    namespaced: true,
    kind: 'ExternalMetricValueList',
    verbs: ['get'],
  })),
});

/** metav1.Time: RFC 3339 in UTC, whole seconds. */
export const metaTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface MetricItem {
  readonly scaledObject: string;
  readonly reading: MetricReading & { readonly value: number };
}

export const externalMetricValueList = (items: readonly MetricItem[]) => ({
  kind: 'ExternalMetricValueList',
  apiVersion: GROUP_VERSION,
  metadata: {},
  items: items.map(({ scaledObject, reading }) => ({
    metricName: reading.metricName,
    metricLabels: { [SCALED_OBJECT_LABEL]: scaledObject },
    timestamp: metaTime(reading.at),
    value: quantity(reading.value),
  })),
});

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'ServiceUnavailable'
  | 'InternalError';

/** meta/v1 Status, what Kubernetes clients parse from a failed request. */
export const status = (
  code: number,
  reason: StatusReason,
  message: string,
  details?: { name?: string; group?: string; kind?: string },
) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details === undefined ? {} : { details }),
  code,
});
