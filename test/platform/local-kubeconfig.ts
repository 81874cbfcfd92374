// A kubeconfig for an API server stand-in on 127.0.0.1 (plain http, no credentials).
import { KubeConfig } from '@kubernetes/client-node';

export const configFor = (server: string): KubeConfig => {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
};
