// The HTTP client of the remote key sources: one bounded request at a time over the gateway's outbound TLS
// material (OUT_CA_CERT_PATH trust, OUT_CLIENT_CERT_PATH/OUT_CLIENT_KEY_PATH presented: the same mTLS
// client as peer traffic, src/proxy/pools.ts outboundTlsMaterial). Each request gets a fresh connection, so
// a replaced client certificate is used from the next fetch on. The whole request (connect, headers,
// body) must finish within `timeoutMs`; the body may not exceed `maxBytes`; redirects are not followed.
// Failures reject with a Refusal: 'timeout', 'unreachable' or 'too_large'.
import { Agent, request } from 'undici';
import { Refusal } from './remote-key.js';

export interface TlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface FetchRequest {
  readonly url: URL;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export interface FetchResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export type KeyFetch = (r: FetchRequest) => Promise<FetchResponse>;

const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ABORT_ERR', 'UND_ERR_ABORTED']);

/** A KeyFetch over TLS material read at each request (so a reloaded client certificate takes effect). */
export function createKeyFetch(tls: () => TlsMaterial): KeyFetch {
  return async (r) => {
    const signal = AbortSignal.timeout(r.timeoutMs);
    const agent = new Agent({ connect: { timeout: r.timeoutMs, ...(r.url.protocol === 'https:' ? tls() : {}) }, pipelining: 0 });
    try {
      const res = await request(r.url, {
        method: r.method ?? 'GET',
        headers: { ...r.headers },
        ...(r.body !== undefined ? { body: r.body } : {}),
        dispatcher: agent,
        signal,
        headersTimeout: r.timeoutMs,
        bodyTimeout: r.timeoutMs,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res.body) {
        size += (c as Buffer).length;
        if (size > r.maxBytes) {
          res.body.destroy();
          throw new Refusal('too_large', `response over ${r.maxBytes} bytes`);
        }
        chunks.push(c as Buffer);
      }
      return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
    } catch (e) {
      if (e instanceof Refusal) throw e;
      const code = (e as { code?: string; name?: string }).code ?? (e as { name?: string }).name ?? '';
      if (signal.aborted || TIMEOUTS.has(code) || code === 'TimeoutError') throw new Refusal('timeout', `no complete answer within ${r.timeoutMs} ms`);
      throw new Refusal('unreachable', code ? `request failed (${code})` : 'request failed');
    } finally {
      agent.destroy().catch(() => {});
    }
  };
}
