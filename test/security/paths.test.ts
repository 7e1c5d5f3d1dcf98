// Class 1 of the security issue: the path forwarded is byte for byte the path that routing, the JWS
// FSPIOP-URI check and the ILP stage decided on. Hostile request targets are refused before anything
// else (3101/400 or 3002/404) over real sockets, inbound (mTLS) and outbound (under a PEER_ENDPOINT
// base path), and a property test over generated paths proves "matched ⇒ forwarded == matched, never
// outside the base".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { isGatewayError } from '../../src/errors.js';
import { matchRoute, ROUTE_TEMPLATES } from '../../src/fspiop/routes.js';
import { targetOf } from '../../src/http/forward.js';
import { fspiopHeaders, type Stub, startStub, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { type RawReply, rawRequest } from './raw.js';

/** Attack targets with the FSPIOP code and HTTP status they must get. */
const REFUSED: [string, string, number][] = [
  ['PUT /parties/../transfers/abc', '3101', 400],
  ['GET /participants/%2e%2e/%2E%2E/admin', '3101', 400],
  ['GET /parties/MSISDN/./1', '3101', 400],
  ['GET /parties/MSISDN/...', '3101', 400],
  ['GET /parties/MSISDN/..;/x', '3101', 400],
  ['GET /parties/MSISDN/.%2e', '3101', 400],
  ['GET /parties/MSISDN/1%2F2', '3101', 400],
  ['GET /parties/MSISDN/1%2f..%2ftransfers', '3101', 400],
  ['GET /parties/MSISDN/1%5C2', '3101', 400],
  ['GET /parties/MSISDN/1\\..\\x', '3101', 400],
  ['GET /parties/MSISDN/%252e%252e', '3101', 400],
  ['GET /parties/MSISDN/1%3Fa', '3101', 400],
  ['GET /parties/MSISDN/1%23a', '3101', 400],
  ['GET /parties/MSISDN/1%00', '3101', 400],
  ['GET /parties/MSISDN/1%0d%0a', '3101', 400],
  ['GET /parties/MSISDN/%zz', '3101', 400],
  ['GET /parties/MSISDN/%4', '3101', 400],
  ['GET /parties/MSISDN/%', '3101', 400],
  ['GET /parties/MSISDN/%C3', '3101', 400],
  ['GET /parties/MSISDN/%C3%28', '3101', 400],
  ['GET /%70arties/MSISDN/1', '3101', 400],
  ['GET /parties/MSISDN/%31', '3101', 400],
  ['GET /parties/MSISDN/a"b', '3101', 400],
  ['GET /parties/MSISDN/a{b}', '3101', 400],
  ['GET /parties/MSISDN/1?x=%zz', '3101', 400],
  ['GET /parties/MSISDN/1?x=a"b', '3101', 400],
  ['GET /parties/MSISDN//1', '3002', 404],
  ['GET /parties/MSISDN/1/', '3002', 404],
  ['GET //parties/MSISDN/1', '3002', 404],
  ['GET http://evil.example/parties/MSISDN/1', '3002', 404],
  ['GET /Parties/MSISDN/1', '3002', 404],
];

/** Targets that are routed and must arrive at the upstream exactly as sent. */
const ACCEPTED = [
  '/parties/MSISDN/123456789',
  '/parties/EMAIL/alice@example.com',
  '/parties/ALIAS/caf%C3%A9/sub;1',
  '/parties/MSISDN/%2B254700000000?currency=USD&x=%2F',
  "/parties/BUSINESS/a!$&'()*+,;=:@b",
];

const resourceOf = (target: string) => (/^\/([^/?]*)/.exec(target)?.[1] ?? 'parties').replace(/%../g, '') || 'parties';

function assertRefused(r: RawReply, code: string, status: number, what: string): void {
  assert.equal(r.status, status, `${what}: status ${r.status} ${r.body}`);
  assert.equal(r.json().errorInformation.errorCode, code, what);
}

describe('inbound: hostile request targets are refused before anything else, nothing reaches the upstream', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway();
  });
  after(async () => {
    await t.close();
  });

  for (const [line, code, status] of REFUSED) {
    test(`${line} → ${code}/${status}`, async () => {
      const [method, target] = line.split(' ') as [string, string];
      const before = t.stub.requests.length;
      const headers = Object.entries(fspiopHeaders('parties', 'payerfsp'));
      const r = await rawRequest(
        { port: t.gw.inbound.port, ca: t.pki.ca.certPem, cert: t.cert('payerfsp') },
        `${method} ${target} HTTP/1.1`,
        method === 'PUT' ? headers : headers.filter(([k]) => k !== 'content-type'),
        method === 'PUT' ? '{}' : '',
      );
      assertRefused(r, code, status, line);
      assert.equal(t.stub.requests.length, before, `${line} reached the upstream`);
    });
  }

  test('the path reaches the upstream byte for byte as routed and checked', async () => {
    for (const target of ACCEPTED) {
      const headers = Object.entries(fspiopHeaders(resourceOf(target), 'payerfsp')).filter(([k]) => k !== 'content-type');
      const r = await rawRequest({ port: t.gw.inbound.port, ca: t.pki.ca.certPem, cert: t.cert('payerfsp') }, `GET ${target} HTTP/1.1`, headers);
      assert.equal(r.status, 202, `${target}: ${r.body}`);
      assert.equal(t.stub.requests.at(-1)!.url, target);
    }
  });
});

describe('outbound under a PEER_ENDPOINT base path', () => {
  const BASE = '/switch/fspiop';
  let t: TestGateway;
  let peer: Stub;
  before(async () => {
    peer = await startStub();
    t = await startTestGateway({ env: { PEER_ENDPOINT: `${peer.url}${BASE}` } });
  });
  after(async () => {
    await t.close();
    await peer.close();
  });
  const out = () => ({ port: t.gw.outbound.port, tls: false });

  test('hostile targets are refused with the same codes; the peer receives nothing', async () => {
    for (const [line, code, status] of REFUSED) {
      const [method, target] = line.split(' ') as [string, string];
      const headers = Object.entries(fspiopHeaders('parties', 'payeefsp')).filter(([k]) => k !== 'content-type');
      const r = await rawRequest(
        out(),
        `${method} ${target} HTTP/1.1`,
        method === 'PUT' ? Object.entries(fspiopHeaders('parties', 'payeefsp')) : headers,
        method === 'PUT' ? '{}' : '',
      );
      assertRefused(r, code, status, line);
    }
    assert.equal(peer.requests.length, 0);
  });

  test('a routed target is forwarded as base + the exact path', async () => {
    for (const target of ACCEPTED) {
      const headers = Object.entries(fspiopHeaders(resourceOf(target), 'payeefsp')).filter(([k]) => k !== 'content-type');
      const r = await rawRequest(out(), `GET ${target} HTTP/1.1`, headers);
      assert.equal(r.status, 202, `${target}: ${r.body}`);
      assert.equal(peer.requests.at(-1)!.url, BASE + target);
    }
  });

  test('property over real sockets: whatever reaches the peer is base + the sent target, under the base', async () => {
    await fc.assert(
      fc.asyncProperty(hostileTarget(), async ({ method, target }) => {
        const before = peer.requests.length;
        const resource = resourceOf(target);
        const headers = Object.entries(fspiopHeaders(resource, 'payeefsp')).filter(([k]) => method !== 'GET' || k !== 'content-type');
        const r = await rawRequest(out(), `${method} ${target} HTTP/1.1`, headers, method === 'GET' ? '' : '{}');
        if (peer.requests.length > before) {
          const url = peer.requests.at(-1)!.url;
          assert.equal(url, BASE + target);
          assert.ok(url.startsWith(`${BASE}/`));
          assert.equal(new URL(url, 'http://x').pathname, url.split('?')[0], 'an upstream URL parser would normalise the path');
        } else {
          assert.ok([400, 404, 405, 406].includes(r.status), `${target}: ${r.status}`);
          assert.match(r.json().errorInformation.errorCode, /^3\d{3}$/);
        }
      }),
      { numRuns: 150 },
    );
  });
});

/** Hostile path material: FSPIOP templates filled with tricky segments and separators. */
const TOKENS = [
  '1',
  'abc',
  'MSISDN',
  'error',
  'FXP',
  'USD',
  'transfers',
  'quotes',
  '.',
  '..',
  '...',
  '..;',
  '%2e',
  '%2E%2e',
  '%2f',
  '%2F',
  '%5c',
  '\\',
  '%25',
  '%252e',
  '%',
  '%zz',
  '%C3%A9',
  '%C3',
  '%00',
  '%3F',
  '%23',
  ';x',
  '@',
  ':',
  '+',
  '',
  '%20',
  'a b'.replace(' ', '%20'),
];
function hostileTarget() {
  const tokenSeq = fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 3 }).map((a) => a.join(''));
  return fc
    .record({
      template: fc.constantFrom(...ROUTE_TEMPLATES),
      fill: fc.array(tokenSeq, { minLength: 4, maxLength: 4 }),
      extra: fc.option(fc.array(fc.constantFrom('/', '//', '/..', '/./', '%2f', '?q=1', '?q=%zz', '#f', '/error'), { maxLength: 2 }).map((a) => a.join(''))),
    })
    .map(({ template, fill, extra }) => {
      const [method, path] = template.split(' ') as [string, string];
      let i = 0;
      const target = path.replace(/\{[^}]+\}/g, () => fill[i++]!) + (extra ?? '');
      return { method, target };
    });
}

test('property: matched ⇒ forwarded path == matched path, never outside the base; nothing but GatewayError is thrown', () => {
  for (const base of ['https://peer.example', 'https://peer.example/base', 'https://peer.example/a/b/']) {
    const t = targetOf(new URL(base), 'x');
    fc.assert(
      fc.property(hostileTarget(), ({ method, target }) => {
        let route: ReturnType<typeof matchRoute>;
        try {
          route = matchRoute(method, target);
        } catch (e) {
          assert.ok(isGatewayError(e), String(e));
          return;
        }
        const forwarded = t.basePath + route.path + route.query;
        assert.equal(forwarded, t.basePath + target);
        assert.ok(forwarded.startsWith(`${t.basePath}/`));
        assert.equal(new URL(forwarded, 'http://x').pathname, t.basePath + route.path);
        for (const seg of route.path.split('/').slice(1)) {
          const decoded = decodeURIComponent(seg);
          assert.ok(!decoded.includes('/') && !decoded.includes('\\') && !/^\.+$/.test(decoded.split(';')[0]!), seg);
        }
      }),
      { numRuns: 3000 },
    );
  }
});
