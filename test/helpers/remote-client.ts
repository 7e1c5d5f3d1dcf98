// An HTTPS/HTTP client in a child process, for tests that measure the gateway's own event loop: the
// client's TLS encryption and body handling then cost the measured process nothing. Requests go over
// IPC with structured-clone serialisation (Buffers stay binary).
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Issued } from '../../src/pki/forge-pki.js';
import { type Reply, send } from './gateway.js';

export type RemoteRequest = Parameters<typeof send>[1] & { port: number };

interface Wire {
  id: number;
  status?: number;
  headers?: Reply['headers'];
  body?: Buffer;
  error?: string;
}

export interface RemoteClient {
  /** Sends the request from the child; `sent` runs once the request has been handed to the child. */
  send(r: RemoteRequest, sent?: () => void): Promise<Reply>;
  close(): void;
}

if (process.argv[2] === 'sg-remote-client-child') {
  process.on('message', (m: { id: number; r: RemoteRequest }) => {
    const { port, cert, ...rest } = m.r;
    const c = cert ? ({ certPem: cert.certPem, keyPem: cert.keyPem } as Issued) : undefined;
    send(port, { ...rest, ...(c ? { cert: c } : {}), body: m.r.body === undefined ? undefined : Buffer.from(m.r.body as Uint8Array) }).then(
      (reply) => process.send!({ id: m.id, status: reply.status, headers: reply.headers, body: reply.body } satisfies Wire),
      (e: Error) => process.send!({ id: m.id, error: e.message } satisfies Wire),
    );
  });
}

export async function startRemoteClient(): Promise<RemoteClient> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['sg-remote-client-child'], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  child.on('message', (m: Wire) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error !== undefined) {
      p.reject(new Error(m.error));
      return;
    }
    const body = Buffer.from(m.body!);
    p.resolve({ status: m.status!, headers: m.headers!, body, json: () => JSON.parse(body.toString('utf8')) });
  });
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('remote client exited'));
    pending.clear();
  });
  let next = 0;
  return {
    send(r, sent) {
      const id = ++next;
      return new Promise<Reply>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        const { cert, ...rest } = r;
        child.send({ id, r: { ...rest, ...(cert ? { cert: { certPem: cert.certPem, keyPem: cert.keyPem } } : {}) } }, () => sent?.());
      });
    },
    close() {
      child.kill();
    },
  };
}
