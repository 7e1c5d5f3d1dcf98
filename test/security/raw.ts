// A raw HTTP/1.1 client over TLS or TCP for adversarial tests: writes the request bytes exactly as
// given (node's http client refuses or rewrites many hostile request targets) and reads one response.
import { connect as netConnect, type Socket } from 'node:net';
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
