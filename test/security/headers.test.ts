// Class 3 of the security issue: hop-by-hop handling never removes an end-to-end FSPIOP or entity
// header (such a request is refused before any crypto), method/URL override headers are refused, and
// caller-sent forwarding headers are dropped and replaced. Real sockets, inbound (mTLS) and outbound.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fspiopHeaders, type Stub, startStub, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type RawTarget, rawRequest } from './raw.js';

const QUOTE = JSON.stringify({ quoteId: 'q1', transactionId: 't1', amount: { currency: 'USD', amount: '1' } });

const FORBIDDEN: [string, string][] = [
  ['connection', 'fspiop-signature, fspiop-source, fspiop-uri, fspiop-http-method'],
  ['connection', 'keep-alive, FSPIOP-Signature'],
  ['connection', 'fspiop-destination'],
  ['connection', 'date'],
  ['connection', 'content-type'],
  ['connection', 'Content-Length'],
  ['connection', 'accept'],
  ['connection', 'host'],
  ['x-http-method-override', 'DELETE'],
  ['x-http-method', 'GET'],
  ['x-method-override', 'PATCH'],
  ['x-original-url', '/participants/admin'],
  ['x-rewrite-url', '/transfers/x'],
  ['content-encoding', 'gzip'],
  ['fspiop_source', 'victimfsp'],
  ['FSPIOP_Destination', 'victimfsp'],
  ['x_client_id', 'victimfsp'],
  ['X_Forwarded_For', '10.9.9.9'],
  ['content_type', 'text/plain'],
  ['x_http_method_override', 'DELETE'],
  ['content-encoding', 'identity, br'],
];

function suite(name: string, target: () => RawTarget, stub: () => Stub, source: string, setup: () => Promise<void>, teardown: () => Promise<void>) {
  describe(name, () => {
    before(setup);
    after(teardown);
    for (const [k, v] of FORBIDDEN) {
      test(`${k}: ${v} → 3101/400, nothing forwarded`, async () => {
        const n = stub().requests.length;
        const r = await rawRequest(target(), 'POST /quotes HTTP/1.1', [...Object.entries(fspiopHeaders('quotes', source)), [k, v]], QUOTE);
        assert.equal(r.status, 400, r.body);
        assert.equal(r.json().errorInformation.errorCode, '3101');
        assert.equal(stub().requests.length, n);
      });
    }

    test('a body on a message that has none (GET, DELETE) is refused with 3101, nothing forwarded', async () => {
      const n = stub().requests.length;
      for (const [method, path, resource] of [
        ['GET', '/quotes/q1', 'quotes'],
        ['DELETE', '/participants/MSISDN/1', 'participants'],
      ] as const) {
        const r = await rawRequest(target(), `${method} ${path} HTTP/1.1`, Object.entries(fspiopHeaders(resource, source)), QUOTE);
        assert.equal(r.status, 400, r.body);
        assert.equal(r.json().errorInformation.errorCode, '3101');
      }
      assert.equal(stub().requests.length, n);
    });

    test('a body that is not UTF-8, or starts with a byte-order mark, is refused with 3101, nothing forwarded', async () => {
      const n = stub().requests.length;
      for (const body of [
        Buffer.concat([Buffer.from('{"quoteId":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(QUOTE)]),
        Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
      ]) {
        const r = await rawRequest(target(), 'POST /quotes HTTP/1.1', Object.entries(fspiopHeaders('quotes', source)), body);
        assert.equal(r.status, 400, r.body);
        assert.equal(r.json().errorInformation.errorCode, '3101');
      }
      assert.equal(stub().requests.length, n);
    });

    test('a body that is valid UTF-8 but not a JSON object (UTF-16 JSON without a BOM, a JSON array, text) is refused with 3101, nothing forwarded', async () => {
      // Review finding (2026-12-01): UTF-16LE JSON of ASCII characters is valid UTF-8 (its zero bytes are), and went
      // through the stages that never parse a body to an upstream that detects the encoding (RFC 4627 §3).
      const n = stub().requests.length;
      for (const body of [Buffer.from(QUOTE, 'utf16le'), Buffer.from(`[${QUOTE}]`), Buffer.from('quoteId=1'), Buffer.from('"text"'), Buffer.alloc(0)]) {
        const r = await rawRequest(target(), 'POST /quotes HTTP/1.1', Object.entries(fspiopHeaders('quotes', source)), body);
        assert.equal(r.status, 400, r.body);
        assert.equal(r.json().errorInformation.errorCode, '3101');
      }
      assert.equal(stub().requests.length, n);
    });

    test('other underscore headers pass (they name nothing the gateway checks or owns)', async () => {
      const r = await rawRequest(target(), 'POST /quotes HTTP/1.1', [...Object.entries(fspiopHeaders('quotes', source)), ['x_trace_id', 'abc']], QUOTE);
      assert.equal(r.status, 202, r.body);
      assert.equal(stub().requests.at(-1)!.headers.x_trace_id, 'abc');
    });

    test('Connection naming an ordinary extension header still works (RFC 9110 §7.6.1): that header is dropped, FSPIOP headers kept', async () => {
      const r = await rawRequest(
        target(),
        'POST /quotes HTTP/1.1',
        [...Object.entries(fspiopHeaders('quotes', source)), ['connection', 'x-trace-hop'], ['x-trace-hop', '1']],
        QUOTE,
      );
      assert.equal(r.status, 202, r.body);
      const seen = stub().requests.at(-1)!;
      assert.equal(seen.headers['x-trace-hop'], undefined);
      assert.equal(seen.headers['fspiop-source'], source);
      assert.equal(seen.body.toString(), QUOTE);
    });

    test('caller-sent X-Forwarded-*, Forwarded, X-Real-IP and x-client-id are dropped and replaced', async () => {
      const r = await rawRequest(
        target(),
        'POST /quotes HTTP/1.1',
        [
          ...Object.entries(fspiopHeaders('quotes', source)),
          ['x-forwarded-for', '203.0.113.7'],
          ['x-forwarded-host', 'evil.example'],
          ['x-forwarded-proto', 'gopher'],
          ['x-forwarded-port', '1'],
          ['x-forwarded-prefix', '/admin'],
          ['forwarded', 'for=203.0.113.7;host=evil.example'],
          ['x-real-ip', '203.0.113.7'],
          ['x-client-id', 'hub'],
        ],
        QUOTE,
      );
      assert.equal(r.status, 202, r.body);
      const h = stub().requests.at(-1)!.headers;
      assert.equal(h['x-forwarded-for'], '127.0.0.1');
      assert.equal(h['x-forwarded-host'], 'localhost');
      assert.match(String(h['x-forwarded-proto']), /^https?$/);
      assert.notEqual(h['x-forwarded-port'], '1');
      assert.equal(h['x-forwarded-prefix'], undefined);
      assert.equal(h.forwarded, undefined);
      assert.equal(h['x-real-ip'], undefined);
      assert.notEqual(h['x-client-id'], 'hub');
    });
  });
}

let inbound: TestGateway;
suite(
  'inbound (mTLS)',
  () => ({ port: inbound.gw.inbound.port, ca: inbound.pki.ca.certPem, cert: inbound.cert('payerfsp') }),
  () => inbound.stub,
  'payerfsp',
  async () => {
    inbound = await startTestGateway();
  },
  async () => {
    await inbound.close();
  },
);

let outbound: TestGateway;
let peer: Stub;
suite(
  'outbound',
  () => ({ port: outbound.gw.outbound.port, tls: false }),
  () => peer,
  'payeefsp',
  async () => {
    peer = await startStub();
    outbound = await startTestGateway({ env: { PEER_ENDPOINT: peer.url } });
  },
  async () => {
    await outbound.close();
    await peer.close();
  },
);
