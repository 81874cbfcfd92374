// Two controllers with leader election on a short lease (4 s / renew 3 s / retry 1 s): only the
// leader scales; when it dies without releasing the lease, the standby takes over and scales.
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
import { kubeConfig, kubeConnection, useNamespace } from '../env/testing.ts';

const kc = kubeConfig();
const ns = useNamespace('leader');
const controllers: RunningController[] = [];

const start = (identity: string) =>
  runController({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: ns.name,
    log: silentLogger,
    leaderElect: true,
    leaseName: 'ebb-test-leader',
    leaseDurationMs: 4000,
    renewDeadlineMs: 3000,
    retryPeriodMs: 1000,
    identity,
    // A killed process does not release its lease: the standby must wait it out.
    releaseOnStop: false,
  });

beforeAll(async () => {
  await installCrd(kc);
});

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
});

it('only the leader scales; a standby takes over within the lease duration when the leader dies', async () => {
  controllers.push(await start('ebb-a'), await start('ebb-b'));
  await vi.waitFor(() => expect(controllers.filter((c) => c.isLeader())).toHaveLength(1), {
    timeout: 10_000,
  });
  const leader = controllers.find((c) => c.isLeader()) as RunningController;
  const standby = controllers.find((c) => !c.isLeader()) as RunningController;

  await createDeployment(kc, ns.name, 'app', 0);
  await createScaledObject(kc, ns.name, 'app', { triggers: [{ type: 'cron', metadata: openWindow(1) }] });
  await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'app')).toBe(1), {
    timeout: 15_000,
  });
  expect(leader.controller()?.polling).toBe(1);
  expect(standby.controller()).toBeUndefined();

  await leader.stop(); // dies: no release
  const died = Date.now();
  await patchScaledObject(kc, ns.name, 'app', {
    spec: { triggers: [{ type: 'cron', metadata: openWindow(3) }] },
  });
  await vi.waitFor(() => expect(standby.isLeader()).toBe(true), { timeout: 10_000, interval: 100 });
  const tookOverAfter = Date.now() - died;
  expect(tookOverAfter).toBeLessThan(8_000); // lease 4 s + a retry period, with slack
  await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'app')).toBe(3), {
    timeout: 15_000,
  });

  // And it keeps acting on changes.
  await patchScaledObject(kc, ns.name, 'app', {
    spec: { triggers: [{ type: 'cron', metadata: closedWindow(3) }] },
  });
  await vi.waitFor(async () => expect(await deploymentReplicas(kc, ns.name, 'app')).toBe(0), {
    timeout: 15_000,
  });
});
