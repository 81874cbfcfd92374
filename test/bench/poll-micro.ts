// Poll cost without the API server: N ScaledObjects in the controller's in-memory fakes
// (test/controller/fakes.ts), one cron trigger each at pollingInterval 1 (half in an open
// window), the Prometheus observer attached. Prints CPU µs per poll over --duration seconds
// after a warm-up; run with --cpu-prof to see where a poll's CPU goes.
//   node --import tsx test/bench/poll-micro.ts --objects 10000 [--scaler constant] [--duration 15]
import { createScalerDeps } from '../../scalers/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { silentLogger } from '../../src/logging.ts';
import { EbbMetrics, ebbBuildInfo } from '../../src/observability/metrics.ts';
import {
  FakeEvents,
  FakeScaleTarget,
  FakeSource,
  FakeStatusWriter,
  scaledObject,
} from '../controller/fakes.ts';
import { closedWindow, openWindow } from '../controller/manifests.ts';
import { sleep } from './common.ts';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : (process.argv[i + 1] ?? fallback);
};
const objects = Number(arg('--objects', '1000'));
const duration = Number(arg('--duration', '15'));
const constant = arg('--scaler', 'cron') === 'constant';

const source = new FakeSource();
const target = new FakeScaleTarget();
const writer = new FakeStatusWriter(source);
const metrics = new EbbMetrics(ebbBuildInfo());
const deps = createScalerDeps();
const controller = new Controller({
  source,
  scaleTarget: target,
  status: writer,
  finalizers: writer,
  events: new FakeEvents(),
  log: silentLogger,
  observer: metrics,
  createScaler: (resolved) =>
    constant
      ? {
          metric: resolved.metric,
          read: async () => ({ ok: true, value: { value: 0, active: false } }),
          close: async () => {},
        }
      : resolved.create(deps),
});
for (let i = 0; i < objects; i++) {
  const name = `app-${i}`;
  target.set(`Deployment/ns/${name}`, i % 2 === 0 ? 1 : 0);
  source.put(
    scaledObject(name, {
      triggers: [{ type: 'cron', metadata: i % 2 === 0 ? openWindow(1) : closedWindow(1) }],
    }),
  );
}
await controller.start();
while (controller.polling < objects) await sleep(100);
await sleep(5000);
writer.patches.length = 0;
const polls0 = controller.stats.polls;
const cpu0 = process.cpuUsage();
await sleep(duration * 1000);
const cpu = process.cpuUsage(cpu0);
const polls = controller.stats.polls - polls0;
const page = Buffer.byteLength(await metrics.render());
const seconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(
  `${JSON.stringify({
    objects,
    scaler: constant ? 'constant' : 'cron',
    polls,
    user_us_per_poll: Math.round(cpu.user / polls),
    system_us_per_poll: Math.round(cpu.system / polls),
    cpu_us_per_poll: Math.round((seconds / polls) * 1e7) / 10,
    polls_per_cpu_second: Math.round(polls / seconds),
    status_writes: writer.patches.length,
    metrics_bytes_per_object: Math.round(page / objects),
  })}\n`,
);
await controller.stop();
