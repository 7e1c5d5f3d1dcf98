// docs/security.md class 9: freshness trusts only signed facts. Over real mTLS sockets with JWS verification on and
// the default configuration otherwise: the protected header must carry Date equal to the Date header
// (JWS_REQUIRE_SIGNED_DATE=true), replay protection is on by default (memory store in one process, the
// shared Redis across replicas), and body-less GETs get the Date window on the header only.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { signRequest } from '../../src/jws/sign.js';
import { fspiopHeaders, httpDate, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { newRsa, TRANSFER } from '../helpers/jws.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const payer = newRsa();

/** A signed POST /transfers: `signedDate` goes into the protected header (undefined: none), `httpDate` on the wire. */
function signed(o: { signedDate?: string | undefined; wireDate: string; transferId?: string }) {
  const json = { ...TRANSFER, transferId: o.transferId ?? TRANSFER.transferId };
  const base = { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp', ...(o.signedDate !== undefined ? { date: o.signedDate } : {}) };
  const out = signRequest({ method: 'POST', url: '/transfers', headers: base, json }, payer.signing, { addDate: false });
  return { body: out.body, headers: { ...fspiopHeaders('transfers', 'payerfsp', { 'fspiop-destination': 'payeefsp' }), date: o.wireDate, ...out.headers } };
}

describe('freshness over mTLS (defaults: signed Date required, replay protection on, memory store)', () => {
  let pki: TestPki;
  let t: TestGateway;
  let legacy: TestGateway;
  const post = (g: TestGateway, r: ReturnType<typeof signed>) =>
    send(g.gw.inbound.port, { method: 'POST', path: '/transfers', headers: r.headers, body: r.body, cert: g.cert('payerfsp'), ca: pki.ca.certPem });
  const err = (r: { json(): any }) => r.json().errorInformation as { errorCode: string; errorDescription: string };
  before(async () => {
    pki = makeTestPki();
    const keys = join(pki.dir, 'jws');
    mkdirSync(keys);
    writeFileSync(join(keys, 'payerfsp.pem'), payer.publicPem);
    t = await startTestGateway({ pki, env: { VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keys } });
    legacy = await startTestGateway({ pki, env: { VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keys, JWS_REQUIRE_SIGNED_DATE: 'false' } });
  });
  after(async () => {
    await t.close();
    await legacy.close();
    pki.cleanup();
  });

  test('a correctly signed request passes once; the same request again → 3105 (replay, on by default), not forwarded', async () => {
    const d = httpDate();
    const r = signed({ signedDate: d, wireDate: d, transferId: 'a1' });
    assert.equal((await post(t, r)).status, 202);
    const n = t.stub.requests.length;
    const again = await post(t, r);
    assert.equal(again.status, 400);
    assert.equal(err(again).errorCode, '3105');
    assert.match(err(again).errorDescription, /already seen/);
    assert.equal(t.stub.requests.length, n);
  });

  test('protected header without Date → 3105, not forwarded; JWS_REQUIRE_SIGNED_DATE=false accepts it (legacy signers)', async () => {
    const n = t.stub.requests.length;
    const r = await post(t, signed({ signedDate: undefined, wireDate: httpDate(), transferId: 'a2' }));
    assert.equal(r.status, 400);
    assert.equal(err(r).errorCode, '3105');
    assert.match(err(r).errorDescription, /lacks Date/);
    assert.equal(t.stub.requests.length, n);
    assert.equal((await post(legacy, signed({ signedDate: undefined, wireDate: httpDate(), transferId: 'a2' }))).status, 202);
  });

  test('a stale signed request re-dated in the header only (protected Date ≠ Date header) → 3105', async () => {
    const old = httpDate(Date.now() - 3600_000);
    const r = await post(t, signed({ signedDate: old, wireDate: httpDate(), transferId: 'a3' }));
    assert.equal(r.status, 400);
    assert.equal(err(r).errorCode, '3105');
    // and with the old Date everywhere, the window refuses it
    const stale = await post(t, signed({ signedDate: old, wireDate: old, transferId: 'a3' }));
    assert.equal(err(stale).errorCode, '3105');
  });

  test('a body-less GET is not signed: the window applies to its Date header alone, and repeating it is allowed', async () => {
    const get = (date: string) =>
      send(t.gw.inbound.port, {
        path: '/parties/MSISDN/123',
        headers: { ...fspiopHeaders('parties', 'payerfsp', { 'fspiop-destination': 'payeefsp' }), date },
        cert: t.cert('payerfsp'),
        ca: pki.ca.certPem,
      });
    const d = httpDate();
    assert.equal((await get(d)).status, 202);
    assert.equal((await get(d)).status, 202);
    assert.equal(err(await get(httpDate(Date.now() - 3600_000))).errorCode, '3105');
  });
});

describe('replay protection across two replicas sharing the real Redis (default on)', () => {
  let pki: TestPki;
  const gws: TestGateway[] = [];
  const prefix = `sgtest:b-state:${randomBytes(5).toString('hex')}:`;
  before(async () => {
    pki = makeTestPki();
    const keys = join(pki.dir, 'jws');
    mkdirSync(keys);
    writeFileSync(join(keys, 'payerfsp.pem'), payer.publicPem);
    for (let i = 0; i < 2; i++)
      gws.push(
        await startTestGateway({ pki, env: { VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keys, REDIS_URL, REDIS_KEY_PREFIX: prefix } }),
      );
  });
  after(async () => {
    for (const g of gws) await g.close();
    const raw = new Redis(REDIS_URL);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
    pki.cleanup();
  });

  test('a request accepted by replica A is refused as a replay by replica B; the record lives about one window, not two', async () => {
    const d = httpDate();
    const r = signed({ signedDate: d, wireDate: d, transferId: 'b1' });
    const go = (g: TestGateway) =>
      send(g.gw.inbound.port, { method: 'POST', path: '/transfers', headers: r.headers, body: r.body, cert: g.cert('payerfsp'), ca: pki.ca.certPem });
    assert.equal((await go(gws[0]!)).status, 202);
    const b = await go(gws[1]!);
    assert.equal(b.status, 400);
    assert.equal(b.json().errorInformation.errorCode, '3105');
    const raw = new Redis(REDIS_URL);
    try {
      const [key] = await raw.keys(`${prefix}jws-replay:*`);
      const ttl = await raw.pttl(key!);
      assert.ok(ttl > 0 && ttl <= 302_000, `pttl ${ttl}`);
    } finally {
      await raw.quit();
    }
  });
});

describe('replay records cost a verified signature: junk signatures never take store capacity', () => {
  let pki: TestPki;
  let t: TestGateway;
  before(async () => {
    pki = makeTestPki();
    const keys = join(pki.dir, 'jws');
    mkdirSync(keys);
    writeFileSync(join(keys, 'payerfsp.pem'), payer.publicPem);
    t = await startTestGateway({ pki, env: { VALIDATE_INBOUND_JWS: 'true', JWS_VERIFICATION_KEYS_DIRECTORY: keys, MEMORY_STORE_MAX_ENTRIES: '100' } });
  });
  after(async () => {
    await t.close();
    pki.cleanup();
  });

  test('150 requests with unverifiable signatures (known and unknown source, POST and GET) → 3105, then a signed request still passes', async () => {
    const junk = () =>
      JSON.stringify({
        protectedHeader: Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url'),
        signature: randomBytes(256).toString('base64url'),
      });
    for (let i = 0; i < 150; i++) {
      const source = i % 3 === 0 ? 'evilfsp' : 'payerfsp';
      const get = i % 5 === 0;
      const headers = {
        ...fspiopHeaders('transfers', source, { 'fspiop-destination': 'payeefsp' }),
        'fspiop-signature': junk(),
        'fspiop-uri': '/transfers',
        'fspiop-http-method': 'POST',
      };
      const r = get
        ? await send(t.gw.inbound.port, {
            method: 'GET',
            path: `/transfers/j${i}`,
            headers: Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'content-type')),
            cert: t.cert(source),
            ca: pki.ca.certPem,
          })
        : await send(t.gw.inbound.port, {
            method: 'POST',
            path: '/transfers',
            headers,
            body: JSON.stringify({ ...TRANSFER, transferId: `j${i}` }),
            cert: t.cert(source),
            ca: pki.ca.certPem,
          });
      if (!get) assert.equal(r.json().errorInformation.errorCode, '3105', `request ${i}`);
    }
    const d = httpDate();
    const ok = await send(t.gw.inbound.port, {
      method: 'POST',
      path: '/transfers',
      ...signed({ signedDate: d, wireDate: d, transferId: 'after-junk' }),
      cert: t.cert('payerfsp'),
      ca: pki.ca.certPem,
    });
    assert.equal(ok.status, 202, ok.body.toString());
  });
});
