// Inbound pipeline over real mTLS: happy path, every FSPIOP check, handshake refusals, upstream faults.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { makeTestPki } from '../../helpers/pki.js';

let t: TestGateway;
before(async () => {
  const pki = makeTestPki();
  t = await startTestGateway({ pki, env: { IN_CRL_PATH: pki.crlPath, MAX_BODY_BYTES: '65536', UPSTREAM_HEADERS_TIMEOUT_MS: '400' } });
});
after(async () => {
  await t.close();
  t.pki.cleanup();
});

const port = () => t.gw.inbound.port;
const call = (o: Omit<Parameters<typeof send>[1], 'ca'>) => send(port(), { ...o, ca: t.pki.ca.certPem });
const quoteBody = (size: number) => {
  const base = {
    quoteId: 'b51ec534-ee48-4575-b6a9-ead2955b8069',
    transactionId: 'a8323bc6-c228-4df2-ae82-e5a997baf899',
    amountType: 'SEND',
    amount: { amount: '100.5', currency: 'USD' },
    note: '',
  };
  const pad = size - JSON.stringify(base).length;
  return JSON.stringify({ ...base, note: 'x'.repeat(Math.max(0, pad)) });
};
const expectFspiopError = (r: { status: number; json(): any }, status: number, code: string) => {
  assert.equal(r.status, status);
  assert.equal(r.json().errorInformation.errorCode, code);
};

describe('happy path', () => {
  test('a 10 kB POST /quotes reaches the upstream byte-identical and the answer is relayed unchanged', async () => {
    const body = quoteBody(10 * 1024).replace('"SEND"', '"SEND" '); // odd whitespace must survive: no re-serialisation
    assert.equal(Buffer.byteLength(body) >= 10 * 1024, true);
    t.stub.behave({ status: 202, body: '{"echo":"yes"}', headers: { 'x-upstream': 'stub', 'content-type': 'application/json' } });
    const before = t.stub.requests.length;
    const headers = fspiopHeaders('quotes', 'dfsp-a', {
      'fspiop-destination': 'dfsp-b',
      'fspiop-signature': '{"signature":"abc","protectedHeader":"def"}',
      'fspiop-uri': '/quotes',
      'fspiop-http-method': 'POST',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-client-id': 'spoofed',
      connection: 'keep-alive, x-hop',
      'x-hop': 'drop-me',
    });
    const r = await call({ method: 'POST', path: '/quotes', headers, body, cert: t.cert('dfsp-a') });
    assert.equal(r.status, 202);
    assert.equal(r.body.toString(), '{"echo":"yes"}');
    assert.equal(r.headers['x-upstream'], 'stub');
    const seen = t.stub.requests[before]!;
    assert.ok(seen.body.equals(Buffer.from(body)), 'body bytes must be unchanged');
    assert.equal(seen.url, '/quotes');
    for (const h of [
      'fspiop-signature',
      'fspiop-uri',
      'fspiop-http-method',
      'fspiop-source',
      'fspiop-destination',
      'date',
      'content-type',
      'accept',
      'traceparent',
    ]) {
      assert.equal(seen.headers[h], headers[h], `${h} must pass untouched`);
    }
    assert.equal(seen.headers['x-client-id'], 'dfsp-a', 'verified peer id replaces any caller value');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-hop'], undefined, 'headers named by Connection are hop-by-hop');
  });

  test('query strings and callback paths are forwarded as received', async () => {
    t.stub.behave({ status: 200 });
    const before = t.stub.requests.length;
    const r = await call({
      method: 'PUT',
      path: '/parties/MSISDN/123/error?x=1',
      headers: { ...fspiopHeaders('parties', 'dfsp-a'), accept: undefined as unknown as string },
      body: '{"errorInformation":{"errorCode":"3204","errorDescription":"x"}}',
      cert: t.cert('dfsp-a'),
    });
    assert.equal(r.status, 200);
    assert.equal(t.stub.requests[before]!.url, '/parties/MSISDN/123/error?x=1');
  });
});

describe('mTLS handshake', () => {
  const handshake = (o: { cert?: { certPem: string; keyPem: string } }) =>
    new Promise<string>((resolve) => {
      const s = connect({
        host: '127.0.0.1',
        port: port(),
        ca: t.pki.ca.certPem,
        servername: 'localhost',
        ...(o.cert ? { cert: o.cert.certPem, key: o.cert.keyPem } : {}),
      });
      // TLS 1.3: the server's verdict on the client certificate arrives after the client's Finished; read to see it.
      s.on('secureConnect', () => {
        s.write('GET /health HTTP/1.1\r\nhost: x\r\n\r\n');
      });
      s.on('data', () => {
        resolve('accepted');
        s.destroy();
      });
      s.on('error', (e: Error & { code?: string }) => resolve(`refused:${e.code}`));
      s.on('close', () => resolve('refused:closed'));
    });
  test('no client certificate is refused', async () => assert.match(await handshake({}), /^refused/));
  test('a certificate from another CA is refused', async () => assert.match(await handshake({ cert: t.pki.foreignClient('dfsp-a') }), /^refused/));
  test('an expired certificate is refused', async () => assert.match(await handshake({ cert: t.pki.client('dfsp-a', { expired: true }) }), /^refused/));
  test('a revoked certificate (CRL) is refused, and the CRL is reloaded live', async () => {
    const victim = t.pki.client('dfsp-revoked');
    assert.equal(await handshake({ cert: victim }), 'accepted');
    t.pki.revoke(victim);
    assert.equal(t.gw.tls.reload(), 'ok');
    assert.match(await handshake({ cert: victim }), /^refused/);
    assert.equal(await handshake({ cert: t.cert('dfsp-a') }), 'accepted');
  });
  test('TLS 1.2 is refused by default', async () => {
    const r = await new Promise<string>((resolve) => {
      const s = connect({
        host: '127.0.0.1',
        port: port(),
        ca: t.pki.ca.certPem,
        servername: 'localhost',
        maxVersion: 'TLSv1.2',
        cert: t.cert('dfsp-a').certPem,
        key: t.cert('dfsp-a').keyPem,
      });
      s.on('secureConnect', () => {
        resolve('accepted');
        s.destroy();
      });
      s.on('error', (e: Error & { code?: string }) => resolve(`refused:${e.code}`));
    });
    assert.match(r, /^refused/);
  });
});

describe('FSPIOP request checks (nothing forwarded)', () => {
  const rejected = async (o: Omit<Parameters<typeof send>[1], 'ca'>, status: number, code: string) => {
    const n = t.stub.requests.length;
    const r = await call({ cert: t.cert('dfsp-a'), ...o });
    expectFspiopError(r, status, code);
    assert.equal(t.stub.requests.length, n, 'must not be forwarded');
    return r;
  };
  const post = (headers: Record<string, string>, body = '{"a":1}') => ({ method: 'POST', path: '/quotes', headers, body });
  const h = (extra: Record<string, string | undefined> = {}) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...fspiopHeaders('quotes', 'dfsp-a'), ...extra })) if (v !== undefined) out[k] = v;
    return out;
  };

  test('certificate CN ≠ FSPIOP-Source → 3100/400', async () => {
    const r = await rejected(post(h({ 'fspiop-source': 'dfsp-b' })), 400, '3100');
    assert.match(r.json().errorInformation.errorDescription, /Invalid FSPIOP-Source/);
  });
  test('declared body over the limit → 3104/400', async () => {
    await rejected(post(h(), 'x'.repeat(70_000)), 400, '3104');
  });
  test('a declared Content-Length over the limit is refused before any body byte is awaited', async () => {
    const c = t.cert('dfsp-a');
    const answer = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: port(), ca: t.pki.ca.certPem, servername: 'localhost', cert: c.certPem, key: c.keyPem }, () => {
        const head = Object.entries(h())
          .map(([k, v]) => `${k}: ${v}`)
          .join('\r\n');
        // Declares 1 MB, sends 10 bytes, keeps the request open: only the declared-length check can answer now.
        s.write(`POST /quotes HTTP/1.1\r\nhost: localhost\r\n${head}\r\ncontent-length: 1000000\r\n\r\n0123456789`);
      });
      let got = '';
      const timer = setTimeout(() => {
        s.destroy();
        resolve(`no answer: ${got}`);
      }, 3000);
      s.on('data', (d: Buffer) => {
        got += d;
        if (got.includes('errorInformation')) {
          clearTimeout(timer);
          s.destroy();
          resolve(got);
        }
      });
      s.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400/);
    assert.match(answer, /"errorCode":"3104"/);
  });
  test('streamed (chunked) body over the limit → 3104/400 without buffering it all', async () => {
    const n = t.stub.requests.length;
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1',
        port: port(),
        method: 'POST',
        path: '/quotes',
        ca: t.pki.ca.certPem,
        servername: 'localhost',
        agent: false,
        cert: t.cert('dfsp-a').certPem,
        key: t.cert('dfsp-a').keyPem,
        headers: { ...h(), 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let b = '';
        res.on('data', (c) => {
          b += c;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      });
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < 1_000_000) {
          sent += 16384;
          if (!req.write(randomBytes(16384))) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      req.on('error', () => {});
      pump();
    }).catch(() => ({ status: -1, body: '' }));
    if (r.status !== -1) {
      assert.equal(r.status, 400);
      assert.equal(JSON.parse(r.body).errorInformation.errorCode, '3104');
    } else assert.fail('connection dropped before the 3104 answer');
    assert.equal(t.stub.requests.length, n);
  });
  test('missing Date → 3102', async () => {
    await rejected(post(h({ date: undefined })), 400, '3102');
  });
  test('missing FSPIOP-Source → 3102', async () => {
    await rejected(post(h({ 'fspiop-source': undefined })), 400, '3102');
  });
  test('missing Content-Type on a POST → 3102', async () => {
    await rejected(post(h({ 'content-type': undefined })), 400, '3102');
  });
  test('missing Accept on a POST → 3102', async () => {
    await rejected(post(h({ accept: undefined })), 400, '3102');
  });
  test('malformed Date → 3101', async () => {
    await rejected(post(h({ date: '2026-11-22T10:00:00Z' })), 400, '3101');
  });
  test('Date with a wrong weekday → 3101', async () => {
    await rejected(post(h({ date: 'Mon, 22 Nov 2026 10:00:00 GMT' })), 400, '3101');
  });
  test('malformed FSPIOP-Source → 3101', async () => {
    await rejected(post(h({ 'fspiop-source': 'has space' })), 400, '3101');
  });
  test('Content-Type for another resource → 3101', async () => {
    await rejected(post(h({ 'content-type': 'application/vnd.interoperability.transfers+json;version=1.1' })), 400, '3101');
  });
  test('malformed Accept → 3101', async () => {
    await rejected(post(h({ accept: 'application/json' })), 400, '3101');
  });
  test('unsupported version → 3001/406 with the supported versions', async () => {
    const r = await rejected(post(h({ 'content-type': 'application/vnd.interoperability.quotes+json;version=3.0' })), 406, '3001');
    assert.deepEqual(r.json().errorInformation.extensionList.extension, [
      { key: '1', value: '0' },
      { key: '1', value: '1' },
      { key: '2', value: '0' },
    ]);
    await rejected(post(h({ accept: 'application/vnd.interoperability.quotes+json;version=7' })), 406, '3001');
  });
  test('unknown path → 3002/404', async () => {
    await rejected({ method: 'GET', path: '/nothing/here', headers: h() }, 404, '3002');
  });
  test('wrong method on a known path → 3000/405 with Allow', async () => {
    const r = await rejected({ method: 'DELETE', path: '/quotes/abc', headers: h() }, 405, '3000');
    assert.equal(r.headers.allow, 'GET, PUT');
  });
  test('the error description never echoes header values', async () => {
    const r = await rejected(post(h({ 'fspiop-source': 'secret-value-xyz' })), 400, '3100');
    assert.doesNotMatch(r.body.toString(), /secret-value-xyz/);
  });
});

describe('upstream faults', () => {
  test('upstream not answering within the timeout → 2004', async () => {
    t.stub.behave('hang');
    const r = await call({ method: 'POST', path: '/quotes', headers: fspiopHeaders('quotes', 'dfsp-a'), body: '{"a":1}', cert: t.cert('dfsp-a') });
    expectFspiopError(r, 500, '2004');
    t.stub.behave({ status: 202 });
  });
  test('an upstream status outside 100–599 → 1001/503, not relayed', async () => {
    t.stub.behave({ status: 600 });
    try {
      const r = await call({ method: 'POST', path: '/quotes', headers: fspiopHeaders('quotes', 'dfsp-a'), body: '{"a":1}', cert: t.cert('dfsp-a') });
      expectFspiopError(r, 503, '1001');
    } finally {
      t.stub.behave({ status: 202 });
    }
  });
  // Until 2026-11-30 the body stream's abort past the limit was an 'error' event with no listener left: an
  // uncaught exception that ended the gateway process (src/proxy/upstream.ts BufferedAnswer).
  test('an answer over MAX_BODY_BYTES → 1000/503, and the gateway keeps serving', async () => {
    t.stub.behave({ status: 200, body: `{"pad":"${'x'.repeat(200_000)}"}` });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await call({ method: 'POST', path: '/quotes', headers: fspiopHeaders('quotes', 'dfsp-a'), body: '{"a":1}', cert: t.cert('dfsp-a') });
        expectFspiopError(r, 503, '1000');
      }
    } finally {
      t.stub.behave({ status: 202 });
    }
    const ok = await call({ method: 'POST', path: '/quotes', headers: fspiopHeaders('quotes', 'dfsp-a'), body: '{"a":1}', cert: t.cert('dfsp-a') });
    assert.equal(ok.status, 202);
  });
});

describe('upstream refusing connections', () => {
  test('→ 1001/503', async () => {
    const dead = await startTestGateway({ env: { INBOUND_UPSTREAM_URL: 'http://127.0.0.1:1' } });
    try {
      const r = await send(dead.gw.inbound.port, {
        method: 'POST',
        path: '/quotes',
        headers: fspiopHeaders('quotes', 'dfsp-a'),
        body: '{"a":1}',
        cert: dead.cert('dfsp-a'),
        ca: dead.pki.ca.certPem,
      });
      expectFspiopError(r, 503, '1001');
    } finally {
      await dead.close();
    }
  });
});
