// The shape of any Kubernetes object as ebb reads it off the wire (plain JSON, never classes):
// the metadata the informers key and version their caches by; everything else is parsed with zod
// by the adapter that reads it.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubernetesObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

export interface KubernetesListObject<T extends KubernetesObject> {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: T[];
}
