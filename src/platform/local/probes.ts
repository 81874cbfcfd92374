// What the supervisor asks of the machine about a replica: a free port on 127.0.0.1 for it, and
// whether it is ready (an HTTP GET of its readiness path answers 2xx/3xx, or its port accepts).
import { request } from 'node:http';
import { connect, createServer } from 'node:net';

export const LOCALHOST = '127.0.0.1';

/** A port nothing listens on now (the kernel's pick); the replica binds it moments later. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOCALHOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });

/** GET http://127.0.0.1:port/path answers 2xx or 3xx within `timeoutMs`. */
export const probeHttp = (port: number, path: string, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const req = request(
      { host: LOCALHOST, port, path, method: 'GET', agent: false, timeout: timeoutMs },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });

/** 127.0.0.1:port accepts a TCP connection within `timeoutMs`. */
export const probeTcp = (port: number, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: LOCALHOST, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });

/** Signals a whole process group (its leader's pid); false when it is gone already. */
export const signalGroup = (pid: number, signal: NodeJS.Signals | 0): boolean => {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
};
