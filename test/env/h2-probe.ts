// The test kubelet's readiness probe for an h2c backend (netns-grpc-backend.ts): GET /healthz
// over HTTP/2 with prior knowledge, as a kubelet's grpc/httpGet probe reaches an h2c pod.
import { connect } from 'node:http2';

/** The status of GET http://address:port/healthz over h2c; throws when nothing answers in time. */
export const probeH2c = (address: string, port: number, timeoutMs: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const session = connect(`http://${address}:${port}`);
    const timer = setTimeout(() => {
      session.destroy();
      reject(new Error('probe timed out'));
    }, timeoutMs);
    const done = (err: Error | undefined, status = 0): void => {
      clearTimeout(timer);
      session.close();
      if (err === undefined) resolve(status);
      else reject(err);
    };
    session.on('error', (err) => done(err));
    const stream = session.request({ ':path': '/healthz' });
    stream.on('response', (h) => {
      stream.resume();
      stream.on('end', () => done(undefined, Number(h[':status'])));
    });
    stream.on('error', (err) => done(err));
  });
