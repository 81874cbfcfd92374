// TLS to a workload end to end: `ebb activator` (controller + activator, its backendTls CA as
// --backend-ca-file gives it) against the real API server, an https backend inside the test
// network namespace serving a `selfsigned` certificate for `billing.<ns>.svc`, and Services
// whose port says `appProtocol: https` with EndpointSlices naming that backend. The Service the
// certificate names gets 200 over TLS (SNI billing.<ns>.svc); another Service on the same
// backend gets 502 UpstreamTlsFailed naming its own name.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RunningActivator, runActivatorController } from '../../src/cli/activator-with-controller.ts';
import { silentLogger } from '../../src/logging.ts';
import { SERVICE_NAME_LABEL } from '../../src/platform/kubernetes/endpoints.ts';
import { makeCert } from '../activator/tls-certs.ts';
import { createDeployment, createScaledObject, installCrd } from '../controller/cluster.ts';
import { useNetns } from '../env/netns.ts';
import { type ManagedProcess, makeTempDir, removeDir, startProcess, waitUntil } from '../env/proc.ts';
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';
import { ClientRequests } from './activator-setup.ts';

const kc = kubeConfig();
const ns = useNamespace('backend-tls');
const net = useNetns();
const WAIT = { timeout: 20_000, interval: 50 };
const BACKEND_PORT = 8443;

/** An https server that answers `tls <SNI> <Host>`; its readiness is the log line. */
const SERVER = `
const { createServer } = require('node:https');
const { readFileSync } = require('node:fs');
const [address, port, cert, key] = process.argv.slice(1);
createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) =>
  res.end('tls ' + req.socket.servername + ' ' + req.headers.host),
).listen(Number(port), address, () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
`;

let running: RunningActivator | undefined;
let backend: ManagedProcess | undefined;
let address = '';
let dir = '';
const clients = new ClientRequests();

beforeAll(async () => {
  await installCrd(kc);
  dir = await makeTempDir('ebb-backend-tls-');
  const cert = await makeCert(`billing.${ns.name}.svc`, [`billing.${ns.name}.svc`]);
  writeFileSync(join(dir, 'tls.crt'), cert.cert);
  writeFileSync(join(dir, 'tls.key'), cert.key);
  address = net.current.claimAddress() ?? '';
  const cmd = net.current.exec(process.execPath, [
    '-e',
    SERVER,
    address,
    String(BACKEND_PORT),
    join(dir, 'tls.crt'),
    join(dir, 'tls.key'),
  ]);
  backend = startProcess({
    name: 'tls-backend',
    command: cmd.command,
    args: cmd.args,
    logFile: join(dir, 'backend.log'),
  });
  await waitUntil(async () => backend?.logTail().includes('listening') ?? false, {
    timeoutMs: 20_000,
    what: 'the https backend to listen',
    ...(backend === undefined ? {} : { process: backend }),
  });
  running = await runActivatorController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
    port: 0,
    address: '127.0.0.1',
    // What --backend-ca-file reads: the CA the backend's certificate chains to (here, itself).
    backendTls: { ca: cert.cert },
  });
}, 60_000);

afterAll(async () => {
  clients.destroyAll();
  await running?.stop();
  await backend?.stop(2_000);
  if (address !== '') net.current.releaseAddress(address);
  if (dir !== '') await removeDir(dir);
});

/** A Deployment at 0, a Service (443 → 8443, appProtocol https), its slice naming the backend,
 * and an http-triggered ScaledObject for host `<name>.example.test`. */
const tlsApp = async (name: string): Promise<void> => {
  await createDeployment(kc, ns.name, name, 0);
  await kc.makeApiClient(CoreV1Api).createNamespacedService({
    namespace: ns.name,
    body: {
      metadata: { name },
      spec: {
        ports: [
          { name: 'https', port: 443, targetPort: BACKEND_PORT, protocol: 'TCP', appProtocol: 'https' },
        ],
      },
    },
  });
  await kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: ns.name,
    body: {
      metadata: { name, labels: { [SERVICE_NAME_LABEL]: name } },
      addressType: 'IPv4',
      ports: [{ name: 'https', port: BACKEND_PORT, protocol: 'TCP', appProtocol: 'https' }],
      endpoints: [{ addresses: [address], conditions: { ready: true } }],
    },
  });
  await createScaledObject(kc, ns.name, name, {
    spec: { pollingInterval: 30, cooldownPeriod: 300 },
    triggers: [{ type: 'http', metadata: { hosts: `${name}.example.test`, service: name, port: '443' } }],
  });
  await vi.waitFor(
    () => expect(running?.routes().routes.map((r) => r.key)).toContain(`${ns.name}/${name}`),
    WAIT,
  );
  await vi.waitFor(
    () => expect(running?.endpoints.ready({ namespace: ns.name, name, port: 443 })).toHaveLength(1),
    WAIT,
  );
};

const get = (host: string) =>
  clients.start(`http://127.0.0.1:${running?.port}`, host, { timeoutMs: 15_000 }).answer;

describe('ebb activator to an https endpoint behind a real EndpointSlice', () => {
  it('the Service the certificate names: 200 over TLS with SNI <svc>.<ns>.svc', async () => {
    await tlsApp('billing');
    const got = await get('billing.example.test');
    expect(got.status).toBe(200);
    expect(got.body).toBe(`tls billing.${ns.name}.svc billing.example.test`);
  }, 60_000);

  it('another Service on the same backend: 502 UpstreamTlsFailed naming the name checked', async () => {
    await tlsApp('ledger');
    const got = await get('ledger.example.test');
    expect(got.status).toBe(502);
    expect(got.headers['x-ebb-reason']).toBe('UpstreamTlsFailed');
    expect(got.body).toContain(`as ledger.${ns.name}.svc failed`);
    expect(got.body).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
  }, 60_000);
});
