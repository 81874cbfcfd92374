import { describe, expect, it } from 'vitest';
import {
  type ControllerObserver,
  combineObservers,
  type PollObservation,
} from '../../src/controller/observer.ts';
import { harness, reading, ScriptedScaler, scaledObject } from './fakes.ts';

const KEY = 'ns/app';
const TARGET = 'Deployment/ns/app';

class Recorder implements ControllerObserver {
  readonly polls: PollObservation[] = [];
  readonly calls: string[] = [];
  polled(o: PollObservation): void {
    this.polls.push(o);
  }
  targetFailed(namespace: string, name: string, reason: string): void {
    this.calls.push(`targetFailed ${namespace}/${name} ${reason}`);
  }
  paused(namespace: string, name: string, paused: boolean): void {
    this.calls.push(`paused ${namespace}/${name} ${paused}`);
  }
  pollStarted(): void {}
  removed(namespace: string, name: string): void {
    this.calls.push(`removed ${namespace}/${name}`);
  }
}

describe('controller observer', () => {
  it('sees each poll with every trigger reading, replicas and activity', async () => {
    const observer = new Recorder();
    const h = harness({
      observer,
      script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(7)),
    });
    h.target.set(TARGET, 0);
    h.source.put(scaledObject('app', { spec: { maxReplicaCount: 5 } }));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    expect(observer.calls).toEqual(['paused ns/app false']);
    const poll = observer.polls.at(-1);
    expect(poll).toMatchObject({
      namespace: 'ns',
      name: 'app',
      currentReplicas: 1,
      desiredReplicas: 1,
      active: true,
      error: false,
    });
    expect(poll?.triggers).toEqual([
      expect.objectContaining({
        type: 'cron',
        index: 0,
        metricName: 's0-cron-Etc-UTC-06xxx-020xxx',
        value: 7,
      }),
    ]);
    // Measured around the read: a read that never settled reports the 10 s read timeout instead.
    expect(poll?.triggers[0]?.latencyMs).toBeLessThan(10_000);
  });

  it('reports a failing trigger as an error with its reason', async () => {
    const observer = new Recorder();
    const h = harness({
      observer,
      script: (resolved) =>
        new ScriptedScaler(resolved.metric, () => ({
          ok: false,
          error: { reason: 'KafkaError', message: 'broker down' },
        })),
    });
    h.target.set(TARGET, 2);
    h.source.put(scaledObject('app'));
    await h.controller.reconcileNow(KEY);
    await h.controller.pollNow(KEY);
    const poll = observer.polls.at(-1);
    expect(poll?.error).toBe(true);
    expect(poll?.triggers[0]?.error?.reason).toBe('KafkaError');
    expect(poll?.triggers[0]?.value).toBeUndefined();
  });

  it('is told about pauses and removals', async () => {
    const observer = new Recorder();
    const h = harness({
      observer,
      script: (resolved) => new ScriptedScaler(resolved.metric, () => reading(0)),
    });
    h.target.set(TARGET, 2);
    h.source.put(scaledObject('app', { annotations: { 'autoscaling.keda.sh/paused': 'true' } }));
    await h.controller.reconcileNow(KEY);
    h.source.remove(KEY);
    await h.controller.reconcileNow(KEY);
    expect(observer.calls).toEqual(['paused ns/app true', 'removed ns/app']);
  });

  it('combineObservers isolates a throwing observer', () => {
    const good = new Recorder();
    const bad: ControllerObserver = {
      polled: () => {
        throw new Error('boom');
      },
      targetFailed: () => {},
      paused: () => {},
      pollStarted: () => {},
      removed: () => {},
    };
    const both = combineObservers(bad, good);
    both.paused('ns', 'a', true);
    both.polled({
      namespace: 'ns',
      name: 'a',
      at: 0,
      triggers: [],
      currentReplicas: 0,
      desiredReplicas: 0,
      active: false,
      error: false,
    });
    expect(good.calls).toEqual(['paused ns/a true']);
    expect(good.polls).toHaveLength(1);
  });
});
