// What the controller bench's two processes share: its arguments and the objects' namespace
// (controller.bench.ts creates the objects, controller-child.ts runs the controller).
import type { KubeClient } from '../../src/platform/kubernetes/client.ts';
import { idleDeployment } from './common.ts';

export const NAMESPACE = 'bench';
/** The hostile neighbour, and its trigger (whose source never answers; LARGE_FORMULA reads it). */
export const HOSTILE = 'hostile';
export const HOSTILE_TRIGGER = 'q';

export interface Args {
  objects: number;
  duration: number;
  scaler: 'cron' | 'constant';
  maxConcurrentPolls: number;
  pollingInterval: number;
  createConcurrency: number;
  /** A container memory limit (MB) to size the child's heap from, as the image does; 0: none. */
  containerMemoryMb: number;
  /** Wall ms when the parent finished creating the objects (the child's reconcile_all_s origin). */
  createdAt: number;
  child: boolean;
  kubeconfig: string;
}

export const parseArgs = (argv: readonly string[]): Args => {
  const args: Args = {
    objects: 1000,
    duration: 30,
    scaler: 'cron',
    maxConcurrentPolls: 256,
    pollingInterval: 1,
    createConcurrency: 48,
    containerMemoryMb: 0,
    createdAt: 0,
    child: false,
    kubeconfig: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    if (flag === '--objects') args.objects = Number(value);
    else if (flag === '--duration') args.duration = Number(value);
    else if (flag === '--scaler') args.scaler = value === 'constant' ? 'constant' : 'cron';
    else if (flag === '--max-concurrent-polls') args.maxConcurrentPolls = Number(value);
    else if (flag === '--kubeconfig') args.kubeconfig = value;
    else if (flag === '--polling-interval') args.pollingInterval = Number(value);
    else if (flag === '--create-concurrency') args.createConcurrency = Number(value);
    else if (flag === '--container-memory-mb') args.containerMemoryMb = Number(value);
    else if (flag === '--created-at') args.createdAt = Number(value);
    else if (flag === '--child') {
      args.child = true;
      continue;
    } else continue;
    i++;
  }
  if (!Number.isInteger(args.objects) || args.objects < 1)
    throw new Error('--objects must be a whole number >= 1');
  if (!(args.duration > 0)) throw new Error('--duration must be > 0');
  if (!Number.isInteger(args.pollingInterval) || args.pollingInterval < 1)
    throw new Error('--polling-interval must be a whole number of seconds >= 1');
  if (!Number.isInteger(args.createConcurrency) || args.createConcurrency < 1)
    throw new Error('--create-concurrency must be a whole number >= 1');
  if (!Number.isInteger(args.containerMemoryMb) || args.containerMemoryMb < 0)
    throw new Error('--container-memory-mb must be a whole number >= 0');
  return args;
};

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
/** POSTs `body` to `path` through ebb's own client; throws on failure (pool() retries). */
export const post = async (client: KubeClient, path: string, body: unknown): Promise<void> => {
  const res = await client.request('POST', path, { body, discardBody: true });
  if (!res.ok) throw new Error(res.error.message);
};

/** A Deployment at 0 replicas named `name` (each ScaledObject needs its own target). */
export const createDeployment = (client: KubeClient, name: string): Promise<void> =>
  post(client, `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`, idleDeployment(name));
