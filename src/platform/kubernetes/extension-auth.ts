// The aggregation layer's request-header settings, as kube-apiserver publishes them in ConfigMap
// kube-system/extension-apiserver-authentication (what an aggregated API server such as the
// external-metrics adapter uses to trust the aggregator's front-proxy client certificate).
// Reading it needs the Role `extension-apiserver-authentication-reader` in kube-system.
import { z } from 'zod';
import { InvalidConfigMap } from '../../api/reasons.ts';
import type { PlatformResult } from '../ports.ts';
import type { KubeClient } from './client.ts';

export const EXTENSION_AUTH_NAMESPACE = 'kube-system';
export const EXTENSION_AUTH_CONFIGMAP = 'extension-apiserver-authentication';

export interface RequestHeaderSettings {
  /** PEM bundle: key `requestheader-client-ca-file`. */
  readonly clientCA: string;
  /** `requestheader-allowed-names` (empty: any CN the CA signed). */
  readonly allowedNames: readonly string[];
  /** `requestheader-username-headers`. */
  readonly usernameHeaders: readonly string[];
  /** `requestheader-group-headers`. */
  readonly groupHeaders: readonly string[];
  /** `requestheader-extra-headers-prefix`. */
  readonly extraHeadersPrefix: readonly string[];
}

const ConfigMapSchema = z.object({ data: z.record(z.string(), z.string()).optional() });
const StringList = z.array(z.string());

/** Reads the request-header settings; an error names the ConfigMap and the key. */
export const readRequestHeaderSettings = async (
  client: KubeClient,
): Promise<PlatformResult<RequestHeaderSettings>> => {
  const where = `ConfigMap ${EXTENSION_AUTH_NAMESPACE}/${EXTENSION_AUTH_CONFIGMAP}`;
  const res = await client.request(
    'GET',
    `/api/v1/namespaces/${EXTENSION_AUTH_NAMESPACE}/configmaps/${EXTENSION_AUTH_CONFIGMAP}`,
    { timeoutMs: 10_000 },
  );
  if (!res.ok) return res;
  const cm = ConfigMapSchema.safeParse(res.value);
  if (!cm.success)
    return { ok: false, error: { reason: InvalidConfigMap, message: `${where}: not a ConfigMap` } };
  const data = cm.data.data ?? {};
  const clientCA = data['requestheader-client-ca-file'];
  if (clientCA === undefined || !clientCA.includes('BEGIN CERTIFICATE')) {
    return {
      ok: false,
      error: {
        reason: InvalidConfigMap,
        message: `${where}: key requestheader-client-ca-file is missing or holds no certificate (is kube-apiserver run with --requestheader-client-ca-file?)`,
      },
    };
  }
  const lists: Record<string, readonly string[]> = {};
  for (const key of [
    'requestheader-allowed-names',
    'requestheader-username-headers',
    'requestheader-group-headers',
    'requestheader-extra-headers-prefix',
  ]) {
    const raw = data[key];
    if (raw === undefined || raw === '') {
      lists[key] = [];
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    const list = StringList.safeParse(parsed);
    if (!list.success) {
      return {
        ok: false,
        error: {
          reason: InvalidConfigMap,
          message: `${where}: key ${key} = ${raw}, must be a JSON list of strings`,
        },
      };
    }
    lists[key] = list.data;
  }
  return {
    ok: true,
    value: {
      clientCA,
      allowedNames: lists['requestheader-allowed-names'] ?? [],
      usernameHeaders: lists['requestheader-username-headers'] ?? [],
      groupHeaders: lists['requestheader-group-headers'] ?? [],
      extraHeadersPrefix: lists['requestheader-extra-headers-prefix'] ?? [],
    },
  };
};
