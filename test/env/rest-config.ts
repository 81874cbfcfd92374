// ebb's RestConfig (src/platform/kubernetes/kubeconfig.ts) for a server a test runs: built from a
// kubeconfig document the way a file would be read, so tests go through the loader's checks too.
import { configFromDocument, type RestConfig } from '../../src/platform/kubernetes/kubeconfig.ts';

export interface TestCluster {
  readonly server: string;
  readonly token?: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly caData?: string;
}

/** A kubeconfig document with one context `test` for `cluster`. */
export const kubeconfigDocument = (cluster: TestCluster): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [
    {
      name: 'test',
      cluster: {
        server: cluster.server,
        ...(cluster.caData === undefined
          ? {}
          : { 'certificate-authority-data': Buffer.from(cluster.caData).toString('base64') }),
      },
    },
  ],
  users: [{ name: 'test', user: cluster.token === undefined ? {} : { token: cluster.token } }],
  contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }],
  'current-context': 'test',
});

export const restConfigFor = (cluster: TestCluster): RestConfig =>
  configFromDocument(kubeconfigDocument(cluster), '(test kubeconfig)');
