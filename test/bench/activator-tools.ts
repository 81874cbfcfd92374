// The activator benchmark's tools on the parent's side (test/bench/activator.bench.ts): starting
// and driving the children of test/activator/bench-processes.ts, a raw keep-alive HTTP/1.1
// client, and autocannon in its own process.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import type { Endpoint } from '../../src/activator/ports.ts';
import {
  type Child,
  type FromActivator,
  HOST,
  type StartChild,
  type ToActivator,
} from '../activator/bench-processes.ts';

/**
 * Starts children of bench-processes.ts, whose JavaScript as tsc compiles it is `script`
 * (common.ts compileForBench: the activator runs as shipped), with NODE_ENV=production as the
 * image sets; every role but `backend` with `activatorNodeFlags` (`bare` too: its memory is the
 * baseline the activator's is compared with, under the same heap).
 */
export const childStarter =
  (activatorNodeFlags: readonly string[], script: string): StartChild =>
  (role, extra = []) =>
    new Promise((resolve, reject) => {
      const nodeFlags = role === 'backend' ? [] : activatorNodeFlags;
      const proc = spawn(process.execPath, [...nodeFlags, '--expose-gc', script, '--role', role, ...extra], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
        env: { ...process.env, NODE_ENV: 'production' },
      });
      const queued: FromActivator[] = [];
      const waiting: { type: string; resolve: (m: FromActivator) => void }[] = [];
      proc.on('message', (m: FromActivator) => {
        const i = waiting.findIndex((w) => w.type === m.type);
        if (i >= 0) waiting.splice(i, 1)[0]?.resolve(m);
        else queued.push(m);
      });
      proc.on('error', reject);
      proc.on('exit', (code) => {
        if (code !== 0 && code !== null) reject(new Error(`${role} exited with ${code}`));
      });
      const child = {
        proc,
        port: 0,
        next: <T extends FromActivator['type']>(type: T): Promise<Extract<FromActivator, { type: T }>> => {
          const i = queued.findIndex((m) => m.type === type);
          if (i >= 0) return Promise.resolve(queued.splice(i, 1)[0] as Extract<FromActivator, { type: T }>);
          return new Promise((res) =>
            waiting.push({ type, resolve: (m) => res(m as Extract<FromActivator, { type: T }>) }),
          );
        },
        send: (m: ToActivator) => {
          proc.send(m);
        },
      };
      void child.next('ready').then((m) => resolve({ ...child, port: m.port }));
    });

/** A keep-alive HTTP/1.1 client on one raw socket: one request at a time, Content-Length answers. */
export class RawClient {
  private buf = '';
  private want = -1;
  private pending: ((response: string) => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(request: string): Promise<string> {
    return new Promise((resolve) => {
      this.pending = resolve;
      this.socket.write(request);
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    if (this.want < 0) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length: *(\d+)/i.exec(this.buf.slice(0, end));
      this.want = end + 4 + Number(m?.[1] ?? 0);
    }
    if (this.buf.length < this.want) return;
    const response = this.buf.slice(0, this.want);
    this.buf = this.buf.slice(this.want);
    this.want = -1;
    const p = this.pending;
    this.pending = undefined;
    p?.(response);
  }
}

export const requestFor = (path: string, host = HOST): string =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

export const sortedCopy = (xs: readonly number[] | Float64Array): Float64Array =>
  Float64Array.from(xs).sort();

export const nsToMs = (ns: bigint): number => Number(ns) / 1e6;

export interface CannonResult {
  readonly requests: number;
  readonly rps: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
}

export const autocannon = (port: number, seconds: number): Promise<CannonResult> =>
  new Promise((resolve, reject) => {
    const bin = createRequire(import.meta.url).resolve('autocannon');
    const proc = spawn(
      process.execPath,
      [bin, '-j', '-c', '64', '-d', String(seconds), '-H', `host=${HOST}`, `http://127.0.0.1:${port}/`],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    proc.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    proc.on('error', reject);
    proc.on('exit', () => {
      try {
        const j = JSON.parse(out) as {
          requests: { total: number; average: number };
          non2xx: number;
          errors: number;
          latency: { p50: number; p99: number };
        };
        resolve({
          requests: j.requests.total,
          rps: j.requests.average,
          non2xx: j.non2xx,
          errors: j.errors,
          p50: j.latency.p50,
          p99: j.latency.p99,
        });
      } catch (err) {
        reject(new Error(`autocannon: ${String(err)}: ${out.slice(0, 200)}`));
      }
    });
  });

export const cpuSeconds = async (a: Child): Promise<number> => {
  a.send({ type: 'cpu' });
  const u = await a.next('cpu');
  return (u.user + u.system) / 1e6;
};

export const setEndpoints = async (a: Child, service: string, endpoints: Endpoint[]): Promise<bigint> => {
  a.send({ type: 'set', service, endpoints });
  return (await a.next('set')).at;
};
