// The external metrics adapter's pieces of `runController` (src/cli/controller-wiring.ts): its
// request-header authentication and serving certificate, the pod `--adapter-service` names, and
// the keeper that points the adapter Service at this process while it leads.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { type Clock, realClock, type Timer } from '../clock.ts';
import { serialQueue } from '../lifecycle/serial.ts';
import type { Logger } from '../logging.ts';
import type { RequestHeaderAuth } from '../metrics/adapter.ts';
import { loadServingCert, type ServingCert } from '../metrics/serving-cert.ts';
import { readRequestHeaderSettings } from '../platform/kubernetes/extension-auth.ts';
import type { KubernetesPlatform } from '../platform/kubernetes/index.ts';
import type { AdapterEndpointWriter } from '../platform/ports.ts';

/** The fields of RunControllerOptions (src/cli/controller-wiring.ts) `adapterPodOf` reads. */
export interface AdapterPodOptions {
  readonly adapterService?: string | undefined;
  readonly adapterPort?: number | undefined;
  readonly podIP?: string | undefined;
  readonly podName?: string | undefined;
  readonly podNamespace?: string | undefined;
}

/** The adapter's request-header authentication: from a CA file, else from the cluster's ConfigMap. */
export const requestHeaderAuth = async (
  platform: KubernetesPlatform,
  caFile: string | undefined,
): Promise<RequestHeaderAuth> => {
  if (caFile !== undefined) {
    let clientCA: string;
    try {
      clientCA = await readFile(caFile, 'utf8');
    } catch (err) {
      throw new Error(
        `--requestheader-client-ca: cannot read ${caFile}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (!clientCA.includes('BEGIN CERTIFICATE'))
      throw new Error(`--requestheader-client-ca: ${caFile} holds no PEM certificate`);
    return { clientCA };
  }
  const settings = await readRequestHeaderSettings(platform.client);
  if (!settings.ok) {
    throw new Error(
      `external metrics adapter: cannot read the aggregator's request-header CA: ${settings.error.message} (pass --requestheader-client-ca FILE, or --adapter-port 0 to serve no adapter)`,
    );
  }
  return {
    clientCA: settings.value.clientCA,
    allowedNames: settings.value.allowedNames,
    ...(settings.value.usernameHeaders.length === 0
      ? {}
      : { usernameHeaders: settings.value.usernameHeaders }),
  };
};

/** The adapter's tls.crt and tls.key from `dir`; undefined: startMetricsAdapter makes a self-signed one. */
export const servingCert = async (dir: string | undefined): Promise<ServingCert | undefined> => {
  if (dir === undefined) return undefined;
  const loaded = await loadServingCert(dir);
  if (!loaded.ok) throw new Error(loaded.error.message);
  return loaded.value;
};

/** The adapter Service and the pod `--adapter-service` points it at. */
export interface AdapterPod {
  readonly service: string;
  readonly namespace: string;
  readonly address: string;
  readonly podName: string | undefined;
}

/** The pod's address and namespace for `--adapter-service`, checked before anything starts. */
export const adapterPodOf = (opts: AdapterPodOptions): AdapterPod | undefined => {
  const service = opts.adapterService;
  if (service === undefined) return undefined;
  if (opts.adapterPort === undefined) {
    throw new Error(`--adapter-service ${service}: the adapter is not served (--adapter-port is 0)`);
  }
  const address = opts.podIP ?? process.env.POD_IP;
  if (address === undefined || address === '') {
    throw new Error(`--adapter-service ${service}: POD_IP is not set (the downward API's status.podIP)`);
  }
  if (isIP(address) === 0) {
    throw new Error(`--adapter-service ${service}: POD_IP = "${address}", must be an IPv4 or IPv6 address`);
  }
  const namespace = opts.podNamespace ?? process.env.POD_NAMESPACE;
  if (namespace === undefined || namespace === '') {
    throw new Error(`--adapter-service ${service}: POD_NAMESPACE is not set (the Service's namespace)`);
  }
  const podName = opts.podName ?? process.env.POD_NAME;
  return { service, namespace, address, podName: podName === '' ? undefined : podName };
};

export interface AdapterEndpointKeeper {
  /** Publishes now and every resync period; resolves once the first publish settled. */
  lead(): Promise<void>;
  /** Stops publishing; `withdraw` false leaves the endpoint (a simulated crash). */
  follow(withdraw: boolean): Promise<void>;
}

/**
 * Keeps the adapter Service's endpoint on this process while it leads: publish on taking the
 * lead and every `resyncMs` (heals a failed write or a deleted slice), withdraw on leaving.
 * Steps run one at a time, in the order leadership changed.
 */
export const keepAdapterEndpoint = (
  writer: AdapterEndpointWriter,
  log: Logger,
  resyncMs: number,
  clock: Clock = realClock,
): AdapterEndpointKeeper => {
  const where = { service: writer.description };
  let leading = false;
  let timer: Timer | undefined;
  const steps = serialQueue((err) => {
    log.error(
      { ...where, err: err instanceof Error ? err.message : String(err) },
      'adapter endpoint step failed',
    );
  });
  const step = (run: () => Promise<void>): Promise<void> => steps.run(run);
  const publish = () =>
    step(async () => {
      if (!leading) return;
      const res = await writer.publish();
      if (!res.ok) log.warn({ ...where, err: res.error.message }, 'cannot point the adapter Service here');
      else if (res.value !== 'unchanged')
        log.info({ ...where, write: res.value }, 'adapter Service points here');
    });
  return {
    lead(): Promise<void> {
      leading = true;
      if (timer === undefined) {
        timer = clock.every(resyncMs, () => void publish());
        timer.unref();
      }
      return publish();
    },
    follow(withdraw: boolean): Promise<void> {
      leading = false;
      clock.cancel(timer);
      timer = undefined;
      return step(async () => {
        if (!withdraw) return;
        const res = await writer.withdraw();
        if (!res.ok)
          log.warn(
            { ...where, err: res.error.message },
            'cannot remove this process from the adapter Service',
          );
        else if (res.value) log.info(where, 'removed this process from the adapter Service');
      });
    },
  };
};
