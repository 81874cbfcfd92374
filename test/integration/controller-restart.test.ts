// kube-apiserver restarts under a running controller: its watches fail and are restarted with
// backoff, and a change made after the restart is acted on.
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type RunningController, runController } from '../../src/cli/controller-wiring.ts';
import { silentLogger } from '../../src/logging.ts';
import {
  createDeployment,
  createScaledObject,
  deploymentReplicas,
  installCrd,
  patchScaledObject,
} from '../controller/cluster.ts';
import { closedWindow, openWindow } from '../controller/manifests.ts';
import { kubeConfig, kubeConnection, restartApiServer, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const ns = useNamespace('restart');
let running: RunningController;

beforeAll(async () => {
  await installCrd(kc);
  running = await runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
  });
});

afterAll(async () => {
  await running?.stop();
});

it('carries on after the API server restarts', async () => {
  await createDeployment(kc, ns.name, 'app', 0);
  await createScaledObject(kc, ns.name, 'app', { triggers: [{ type: 'cron', metadata: openWindow(2) }] });
  await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'app')).toBe(2), {
    timeout: 15_000,
  });

  await restartApiServer();

  // A change to an existing object, and a new object, both made after the restart.
  await patchScaledObject(kc, ns.name, 'app', {
    spec: { triggers: [{ type: 'cron', metadata: closedWindow(2) }] },
  });
  await createDeployment(kc, ns.name, 'late', 0);
  await createScaledObject(kc, ns.name, 'late', { triggers: [{ type: 'cron', metadata: openWindow(1) }] });
  await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'app')).toBe(0), {
    timeout: 40_000,
    interval: 250,
  });
  await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'late')).toBe(1), {
    timeout: 40_000,
    interval: 250,
  });
});
