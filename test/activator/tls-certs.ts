// Certificates for the TLS tests, made with `selfsigned` (EC P-256: fast to make), a node:https
// client (callTls) that also reports the certificate it was served, and a
// node:tls client that reports what the activator's TLS port presented.
import { type Agent, request } from 'node:https';
import { text } from 'node:stream/consumers';
import { connect, type PeerCertificate, type TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';
import type { CertificatePem } from '../../src/activator/certificates.ts';
import type { Answer } from './helpers.ts';

export interface TestCert extends CertificatePem {
  readonly commonName: string;
}

const DAY = 86_400_000;

/** A self-signed certificate with subject CN `commonName` and DNS subjectAltNames `names`. */
export const makeCert = async (
  commonName: string,
  names: readonly string[],
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<TestCert> => {
  const notBeforeDate = validity.notBefore ?? new Date(Date.now() - DAY);
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: validity.notAfter ?? new Date(notBeforeDate.getTime() + 30 * DAY),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      ...(names.length === 0
        ? []
        : [
            {
              name: 'subjectAltName' as const,
              altNames: names.map((value) => ({ type: 2 as const, value })),
            },
          ]),
    ],
  });
  return { commonName, cert: pems.cert, key: pems.private };
};

/** The subject CN the TLS port at `port` presents for `servername` ('' sends no SNI). */
export const presented = (
  port: number,
  servername: string,
  opts: { minVersion?: 'TLSv1' | 'TLSv1.2'; maxVersion?: 'TLSv1.1' | 'TLSv1.3'; ciphers?: string } = {},
): Promise<{ cn: string; peer: PeerCertificate; socket: TLSSocket }> =>
  new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      // Self-signed: this test reads what is presented, it does not verify it.
      rejectUnauthorized: false,
      ...(servername === '' ? {} : { servername }),
      ...opts,
    });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      resolve({ cn: String(peer.subject?.CN ?? ''), peer, socket });
    });
    socket.once('error', reject);
  });

/** One HTTPS request to the TLS port; resolves with the answer and the certificate's CN. */
export const callTls = (
  port: number,
  servername: string,
  path = '/',
  agent: Agent | false = false,
): Promise<Answer & { cn: string }> =>
  new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername,
        headers: { host: servername },
        agent,
        rejectUnauthorized: false,
      },
      (res) => {
        const cn = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
        text(res).then(
          (body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cn }),
          reject,
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
