// Class 2 of the security issue: one FSPIOP resource table. Every route of FSPIOP 1.1 and 2.0 that
// carries a body can be signed by the gateway, verified by the gateway and by both SDK validators, and
// a signature never verifies on any other route (unit level over every pair, and over real sockets:
// outbound signing → inbound verification, then each signature replayed onto other routes).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isGatewayError } from '../../src/errors.js';
import { ROUTES, type RouteDef } from '../../src/fspiop/resources.js';
import { matchRoute } from '../../src/fspiop/routes.js';
import { ALGORITHMS } from '../../src/jws/algorithms.js';
import { signRequest } from '../../src/jws/sign.js';
import { headerGetter, type VerifyPolicy, verifyRequest } from '../../src/jws/verify.js';
import { fspiopHeaders, type Stub, startStub, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { KEYS, PRIVATE_KEYS, PUBLIC_KEYS, SDK_RELEASES, sdkLogger, staticKeys } from '../helpers/jws.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { rawRequest } from './raw.js';

const SDKS = SDK_RELEASES;
const logger = sdkLogger;
const POLICY: VerifyPolicy = { algorithms: new Set(['RS256', 'ES256']), forms: ['raw', 'sorted', 'insertion'] };
const keys = staticKeys({ payerfsp: [PUBLIC_KEYS.payerfsp!] });

const PARAM: Record<string, string> = {
  ID: '7c23e80c-d078-4077-8263-2c047876fcf6',
  Type: 'MSISDN',
  SubId: 'sub1',
  SourceCurrency: 'USD',
  TargetCurrency: 'EUR',
};
/** A concrete path for a route, with a suffix on its first parameter to make variants. */
const pathOf = (d: RouteDef, variant = '') =>
  `/${d.segments.map((s, i) => (s.startsWith('{') ? PARAM[s.slice(1, -1)]! + (i === d.segments.findIndex((x) => x.startsWith('{')) ? variant : '') : s)).join('/')}`;

const BODY_ROUTES = ROUTES.filter((d) => d.hasBody);
/** Every concrete request: each body route, each with a variant of its first parameter. */
const REQUESTS = BODY_ROUTES.flatMap((d) => [
  { d, method: d.method, path: pathOf(d) },
  ...(d.segments.some((s) => s.startsWith('{')) ? [{ d, method: d.method, path: pathOf(d, 'x') }] : []),
]);
const BODY = { note: 'resource table', amount: { currency: 'USD', amount: '1' } };

const sign = (method: string, url: string) => {
  const headers = { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp', date: new Date().toUTCString() };
  const out = signRequest({ method, url, headers, json: BODY }, { key: PRIVATE_KEYS.payerfsp!, alg: ALGORITHMS.RS256 });
  return { headers: { ...headers, ...out.headers } as Record<string, string>, body: out.body };
};

describe('every body-carrying route: signed by the gateway, verified by the gateway and by both SDK validators', () => {
  test('the table covers FSPIOP 1.1 and 2.0, including transactions and services', () => {
    assert.ok(BODY_ROUTES.some((d) => d.template === 'PUT /transactions/{ID}'));
    assert.ok(BODY_ROUTES.some((d) => d.template === 'PUT /services/FXP'));
    assert.ok(BODY_ROUTES.some((d) => d.template === 'PATCH /fxTransfers/{ID}'));
    assert.equal(BODY_ROUTES.length, 44);
  });

  for (const { d, method, path } of REQUESTS.filter((_, i) => i % 2 === 0)) {
    test(d.template, async () => {
      const s = sign(method, path);
      assert.equal(s.headers['fspiop-uri'], path, 'FSPIOP-URI is the whole routed path');
      const r = await verifyRequest({ method, path, header: headerGetter(s.headers), body: s.body }, keys, POLICY);
      assert.equal(r.form, 'raw');
      // With a base path in front, the URI still starts at the resource.
      assert.equal(sign(method, `https://switch.example/base${path}?a=1`).headers['fspiop-uri'], `${path}?a=1`);
      for (const [release, Jws] of SDKS) {
        const v = new Jws.validator({ validationKeys: { payerfsp: KEYS.payerfspPublicKeyPem! }, logger });
        assert.equal(v.validate({ headers: s.headers, body: JSON.parse(s.body.toString()) }), true, release);
      }
    });
  }

  test('requests the SDK signers sign verify with the gateway; where the SDK derives a wrong FSPIOP-URI (transactions, services) the gateway refuses', async () => {
    for (const [release, Jws] of SDKS) {
      const signer = new Jws.signer({ signingKey: KEYS.payerfspPrivateKeyPem!, logger });
      const wrong = new Set<string>();
      for (const { d, method, path } of REQUESTS) {
        const req = {
          method,
          url: `https://switch.example${path}`,
          headers: { 'fspiop-source': 'payerfsp', date: new Date().toUTCString() } as Record<string, string>,
          body: structuredClone(BODY),
        };
        try {
          signer.sign(req);
        } catch {
          wrong.add(d.resource);
          continue;
        } // "URI not valid for protected header"
        const check = verifyRequest({ method, path, header: headerGetter(req.headers), body: Buffer.from(req.body as unknown as string) }, keys, POLICY);
        if (req.headers['fspiop-uri'] !== path) {
          // The SDK regex's empty branch matches at '//switch.example/…' for resources it does not list.
          wrong.add(d.resource);
          await assert.rejects(check, (e: unknown) => isGatewayError(e) && e.code === 'GW_JWS_HEADER_MISMATCH');
          continue;
        }
        assert.equal((await check).source, 'payerfsp', `${release} ${d.template}`);
      }
      assert.deepEqual([...wrong].sort(), ['services', 'transactions'], release);
    }
  });
});

test('a signature never verifies on any other route (every pair of concrete requests)', async () => {
  const signed = REQUESTS.map((r) => ({ ...r, ...sign(r.method, r.path) }));
  let pairs = 0;
  for (const a of signed) {
    for (const b of REQUESTS) {
      if (a.method === b.method && a.path === b.path) continue;
      await assert.rejects(
        verifyRequest({ method: b.method, path: b.path, header: headerGetter(a.headers), body: a.body }, keys, POLICY),
        (e: unknown) => isGatewayError(e) && e.fspiopCode === '3105',
        `${a.method} ${a.path} verified as ${b.method} ${b.path}`,
      );
      pairs++;
    }
  }
  // The path the old first-resource search confused with /quotes/{ID}: /services/FXP/quotes/{ID}.
  const q = signed.find((s) => s.d.template === 'PUT /quotes/{ID}')!;
  const confusable = `/services/FXP/quotes/${PARAM.ID}`;
  assert.equal(matchRoute('PUT', confusable).template, 'PUT /services/FXP/{SourceCurrency}/{TargetCurrency}');
  await assert.rejects(
    verifyRequest({ method: 'PUT', path: confusable, header: headerGetter(q.headers), body: q.body }, keys, POLICY),
    (e: unknown) => isGatewayError(e) && e.code === 'GW_JWS_HEADER_MISMATCH',
  );
  assert.equal(pairs, signed.length * (REQUESTS.length - 1));
});

describe('over real sockets: the outbound gateway signs every route, the inbound gateway verifies it and nothing else', () => {
  let signer: TestGateway, verifier: TestGateway, peer: Stub, pki: TestPki;
  const captured: { method: string; path: string; headers: Record<string, string>; body: Buffer }[] = [];
  before(async () => {
    peer = await startStub();
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    pki = makeTestPki();
    const keyPath = pki.write('sign.key', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    signer = await startTestGateway({
      pki,
      env: {
        GATEWAY_ROLE: 'dfsp',
        DFSP_ID: 'payeefsp',
        PEER_ENDPOINT: peer.url,
        JWS_SIGN: 'true',
        JWS_SIGN_PUT_PARTIES: 'true',
        JWS_SIGNING_KEY_PATH: keyPath,
      },
    });
    const dir = join(signer.pki.dir, 'verify-keys');
    mkdirSync(dir);
    writeFileSync(join(dir, 'payeefsp.pem'), publicKey.export({ type: 'spki', format: 'pem' }).toString());
    verifier = await startTestGateway({
      pki: signer.pki,
      // The switch relays payeefsp's signed messages to payerfsp's gateway: the hub's certificate may carry any source,
      // and the switch-only PATCH routes (test/security/switch-only.test.ts) come from it too.
      env: {
        GATEWAY_ROLE: 'dfsp',
        DFSP_ID: 'payerfsp',
        HUB_ID: 'hub',
        VALIDATE_INBOUND_JWS: 'true',
        VALIDATE_INBOUND_PUT_PARTIES_JWS: 'true',
        JWS_VERIFICATION_KEYS_DIRECTORY: dir,
      },
    });
  });
  after(async () => {
    await verifier?.close();
    await signer?.close();
    await peer.close();
    pki.cleanup();
  });

  test('every body route is signed outbound (no 500) and verifies inbound (202)', async () => {
    for (const { d, method, path } of REQUESTS.filter((_, i) => i % 2 === 0)) {
      const r = await rawRequest(
        { port: signer.gw.outbound.port, tls: false },
        `${method} ${path} HTTP/1.1`,
        Object.entries(fspiopHeaders(d.resource, 'payeefsp', { 'fspiop-destination': 'payerfsp' })),
        JSON.stringify(BODY),
      );
      assert.equal(r.status, 202, `${d.template}: ${r.body}`);
      const seen = peer.requests.at(-1)!;
      assert.equal(seen.url, path);
      assert.equal(seen.headers['fspiop-uri'], path);
      const headers: Record<string, string> = {};
      for (const k of ['accept', 'content-type', 'date', 'fspiop-source', 'fspiop-destination', 'fspiop-signature', 'fspiop-uri', 'fspiop-http-method'])
        if (typeof seen.headers[k] === 'string') headers[k] = seen.headers[k] as string;
      captured.push({ method, path, headers, body: seen.body });
      const v = await rawRequest(
        { port: verifier.gw.inbound.port, ca: verifier.pki.ca.certPem, cert: verifier.cert('hub') },
        `${method} ${path} HTTP/1.1`,
        Object.entries(headers),
        seen.body,
      );
      assert.equal(v.status, 202, `${d.template} inbound: ${v.body}`);
    }
  });

  test('each captured signature replayed onto other routes is refused with 3105 and not forwarded', async () => {
    assert.ok(captured.length > 20);
    const n = verifier.stub.requests.length;
    for (let i = 0; i < captured.length; i++) {
      const a = captured[i]!;
      for (const b of [captured[(i + 1) % captured.length]!, captured[(i + 7) % captured.length]!]) {
        if (a.path === b.path && a.method === b.method) continue;
        const headers = { ...a.headers, 'fspiop-uri': a.headers['fspiop-uri']!, accept: b.headers.accept!, 'content-type': b.headers['content-type']! };
        const r = await rawRequest(
          { port: verifier.gw.inbound.port, ca: verifier.pki.ca.certPem, cert: verifier.cert('hub') },
          `${b.method} ${b.path} HTTP/1.1`,
          Object.entries(headers),
          a.body,
        );
        assert.equal(r.status, 400, `${a.method} ${a.path} as ${b.method} ${b.path}: ${r.body}`);
        assert.equal(r.json().errorInformation.errorCode, '3105');
      }
    }
    assert.equal(verifier.stub.requests.length, n);
  });
});

test('a protected header that repeats a member is refused (3105), even when the last values match the request', async () => {
  const { sign: cryptoSign } = await import('node:crypto');
  const date = new Date().toUTCString();
  const phText = `{"alg":"RS256","FSPIOP-URI":"/quotes","FSPIOP-HTTP-Method":"POST","FSPIOP-Source":"victimfsp","FSPIOP-Source":"payerfsp","Date":${JSON.stringify(date)}}`;
  const body = Buffer.from(JSON.stringify(BODY));
  const ph = Buffer.from(phText).toString('base64url');
  const sig = cryptoSign('sha256', Buffer.from(`${ph}.${body.toString('base64url')}`), PRIVATE_KEYS.payerfsp!).toString('base64url');
  const headers = {
    'fspiop-source': 'payerfsp',
    date,
    'fspiop-uri': '/quotes',
    'fspiop-http-method': 'POST',
    'fspiop-signature': JSON.stringify({ protectedHeader: ph, signature: sig }),
  };
  await assert.rejects(
    verifyRequest({ method: 'POST', path: '/quotes', header: headerGetter(headers), body }, keys, POLICY),
    (e: unknown) => isGatewayError(e) && e.code === 'GW_JWS_MALFORMED' && e.fspiopCode === '3105',
  );
});
