// A raw HTTP/1.1 client over TLS or TCP for adversarial tests: writes the request bytes exactly as
// given (node's http client refuses or rewrites many hostile request targets) and reads one response.
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Issued } from '../../src/pki/forge-pki.js';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
  json(): any;
}

export interface RawTarget {
  port: number;
  ca?: string;
  cert?: Issued;
  tls?: boolean;
}

/** Sends `head` (request line + headers, CRLF-separated, without the blank line) and `body`; resolves the first response. */
export function rawRequest(t: RawTarget, requestLine: string, headers: [string, string][], body: Buffer | string = ''): Promise<RawReply> {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = [
    requestLine,
    'host: localhost',
    ...headers.map(([k, v]) => `${k}: ${v}`),
    ...(b.length || /^(POST|PUT|PATCH)/.test(requestLine) ? [`content-length: ${b.length}`] : []),
    'connection: close',
    '',
    '',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const socket: Socket =
      t.tls === false
        ? netConnect({ host: '127.0.0.1', port: t.port })
        : tlsConnect({ host: '127.0.0.1', port: t.port, servername: 'localhost', ca: t.ca, ...(t.cert ? { cert: t.cert.certPem, key: t.cert.keyPem } : {}) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('raw request timed out'));
    }, 10_000);
    socket.once(t.tls === false ? 'connect' : 'secureConnect', () => {
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), b]));
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m || end < 0) {
        reject(new Error(`no HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
        return;
      }
      const hdrs: Record<string, string> = {};
      for (const line of text.slice(0, end).split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        hdrs[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      let payload = text.slice(end + 4);
      if (hdrs['transfer-encoding'] === 'chunked') payload = dechunk(payload);
      resolve({ status: Number(m[1]), headers: hdrs, body: payload, json: () => JSON.parse(payload) });
    });
  });
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const nl = s.indexOf('\r\n', i);
    if (nl < 0) return out;
    const n = parseInt(s.slice(i, nl), 16);
    if (!n) return out;
    out += s.slice(nl + 2, nl + 2 + n);
    i = nl + 2 + n + 2;
  }
}

/** The side of a test gateway a raw exchange goes to: outbound (plain TCP) or inbound (mTLS). */
export interface GatewaySide {
  readonly side: 'outbound' | 'inbound';
  /** Inbound: the FSP whose client certificate is presented (default payerfsp). */
  readonly fspId?: string;
  readonly gw: { gw: { inbound: { port: number }; outbound: { port: number } }; pki: { ca: { certPem: string } }; cert(fspId: string): Issued };
}

/**
 * Writes `write(socket)`'s bytes on a fresh connection to one side of a gateway and collects everything it answers
 * until the gateway closes the connection (or `giveUpMs`, when the client closes it). Resolves what was read and when
 * the connection closed (ms after it opened).
 */
export function exchange(t: GatewaySide, write: (s: Socket) => void, giveUpMs = 4000): Promise<{ answer: string; closedAfterMs: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const cert = t.gw.cert(t.fspId ?? 'payerfsp');
    const s =
      t.side === 'outbound'
        ? netConnect({ host: '127.0.0.1', port: t.gw.gw.outbound.port })
        : tlsConnect({ host: '127.0.0.1', port: t.gw.gw.inbound.port, servername: 'localhost', ca: t.gw.pki.ca.certPem, cert: cert.certPem, key: cert.keyPem });
    let answer = '';
    s.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    s.once(t.side === 'outbound' ? 'connect' : 'secureConnect', () => write(s));
    s.on('error', reject);
    const timer = setTimeout(() => s.destroy(), giveUpMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closedAfterMs: performance.now() - t0 });
    });
  });
}

/** A peer (upstream) on loopback that reads each request whole, counts it, then answers with `answer(socket)`. */
export async function recordingPeer(answer: (s: Socket) => void): Promise<{ url: string; seen: () => number; close(): void; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  let seen = 0;
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    let d = '';
    s.on('data', (c: Buffer) => {
      d += c.toString('latin1');
      const end = d.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /content-length: (\d+)/i.exec(d.slice(0, end));
      if (m && d.length - end - 4 < Number(m[1])) return;
      d = '';
      seen++;
      answer(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen: () => seen,
    sockets,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
