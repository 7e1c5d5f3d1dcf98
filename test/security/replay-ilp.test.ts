// docs/security.md class 9 with class 6: the replay record of a verified signature is written with the
// message's first store operation (src/store/first-use.ts), or alone just before forwarding, never after.
// Over real mTLS, JWS verification and the hub's ILP checks, on the memory store and on the real Redis: a
// replayed prepare or fulfilment is refused 3105, forwarded never, and leaves the ILP state as the first
// message left it; two copies at once give one 202 and one 3105; on a Redis node the record and the
// ILP operation are one round trip.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { hubTransferKey } from '../../src/ilp/records.js';
import { signRequest } from '../../src/jws/sign.js';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { fulfilBody, issuedTransfer } from '../helpers/ilp.js';
import { newRsa } from '../helpers/jws.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { deleteKeysUnder, REDIS_URL } from '../helpers/redis-procs.js';

const KEYS = { payerfsp: newRsa(), payeefsp: newRsa() };

type Json = Record<string, unknown>;
/** A signed message as it goes on the wire: the same bytes and headers every time it is sent. */
function signed(fsp: keyof typeof KEYS, to: string, method: string, path: string, json: Json) {
  const resource = path.split('/')[1]!;
  const base = fspiopHeaders(resource, fsp, { 'fspiop-destination': to });
  const out = signRequest({ method, url: path, headers: base, json }, KEYS[fsp].signing);
  return { fsp, method, path, body: out.body, headers: { ...base, ...out.headers } };
}
const code = (r: { json(): any; status: number }) => (r.status >= 400 ? (r.json().errorInformation.errorCode as string) : String(r.status));

for (const kind of ['memory', 'redis'] as const) {
  describe(`replayed ILP messages (hub, JWS and ILP on, ${kind} store)`, () => {
    let pki: TestPki;
    let t: TestGateway;
    const prefix = `sgtest:replay-ilp:${randomBytes(5).toString('hex')}:`;
    before(async () => {
      pki = makeTestPki();
      const dir = join(pki.dir, 'jws');
      mkdirSync(dir);
      for (const [id, k] of Object.entries(KEYS)) writeFileSync(join(dir, `${id}.pem`), k.publicPem);
      t = await startTestGateway({
        pki,
        env: {
          GATEWAY_ROLE: 'hub',
          ILP_CHECK: 'true',
          ILP_QUOTE_BINDING: 'off',
          VALIDATE_INBOUND_JWS: 'true',
          JWS_VERIFICATION_KEYS_DIRECTORY: dir,
          ...(kind === 'redis' ? { REDIS_URL, REDIS_KEY_PREFIX: prefix } : { STORE: 'memory' }),
        },
      });
    });
    after(async () => {
      await t.close();
      if (kind === 'redis') await deleteKeysUnder(prefix);
      pki.cleanup();
    });
    const go = (m: ReturnType<typeof signed>) =>
      send(t.gw.inbound.port, { method: m.method, path: m.path, headers: m.headers, body: m.body, cert: t.cert(m.fsp), ca: pki.ca.certPem });
    const forwarded = (m: ReturnType<typeof signed>) => t.stub.requests.filter((r) => r.url === m.path && r.body.equals(Buffer.from(m.body))).length;
    const journey = () => {
      const x = issuedTransfer('1', Date.now());
      return {
        x,
        prepare: signed('payerfsp', 'payeefsp', 'POST', '/transfers', x.prepare),
        fulfil: signed('payeefsp', 'payerfsp', 'PUT', `/transfers/${x.transferId}`, fulfilBody(x.ilp.fulfilment)),
      };
    };

    test('a replayed prepare and a replayed fulfilment: 3105, forwarded once, the record as the first left it', async () => {
      const j = journey();
      assert.equal(code(await go(j.prepare)), '202');
      assert.equal(code(await go(j.prepare)), '3105');
      assert.equal(forwarded(j.prepare), 1);
      assert.equal(code(await go(j.fulfil)), '202');
      const again = await go(j.fulfil);
      assert.equal(code(again), '3105');
      assert.match(again.json().errorInformation.errorDescription, /already seen/);
      assert.equal(forwarded(j.fulfil), 1);
      // The fulfilment's replay did not reach the record: a differently signed copy of the same fulfilment
      // (new Date, so a new signature) is refused by the ILP state, as spent (3106) by the first one.
      await new Promise((r) => setTimeout(r, 1100));
      const resent = signed('payeefsp', 'payerfsp', 'PUT', `/transfers/${j.x.transferId}`, fulfilBody(j.x.ilp.fulfilment));
      assert.equal(code(await go(resent)), '3106');
    });

    test('the same fulfilment twice at once: one 202 and one 3105, forwarded once', async () => {
      const j = journey();
      assert.equal(code(await go(j.prepare)), '202');
      const both = await Promise.all([go(j.fulfil), go(j.fulfil)]);
      assert.deepEqual(both.map(code).sort(), ['202', '3105']);
      assert.equal(forwarded(j.fulfil), 1);
    });

    test('a message without ILP state (POST /quotes) is recorded before forwarding: its replay gets 3105', async () => {
      const j = journey();
      const q = signed('payerfsp', 'payeefsp', 'POST', '/quotes', j.x.quoteRequest);
      assert.equal(code(await go(q)), '202');
      assert.equal(code(await go(q)), '3105');
      assert.equal(forwarded(q), 1);
    });

    test('a message refused before it touches the store is refused the same way when sent again (no record, nothing forwarded)', async () => {
      const j = journey();
      const late = signed('payerfsp', 'payeefsp', 'POST', '/transfers', { ...j.x.prepare, expiration: new Date(Date.now() - 1000).toISOString() });
      const first = code(await go(late));
      assert.notEqual(first, '202');
      assert.notEqual(first, '3105');
      assert.equal(code(await go(late)), first);
      assert.equal(forwarded(late), 0);
    });

    if (kind === 'redis') {
      test('one Redis round trip for a fulfilment: the replay record and the take are one script', async () => {
        // Scripts are loaded on first use (EVALSHA, then EVAL on NOSCRIPT): one journey first.
        const warm = journey();
        assert.equal(code(await go(warm.prepare)), '202');
        assert.equal(code(await go(warm.fulfil)), '202');
        const j = journey();
        assert.equal(code(await go(j.prepare)), '202');
        const client = new Redis(REDIS_URL);
        const monitor = await client.monitor();
        const seen: string[][] = [];
        monitor.on('monitor', (_time: string, args: string[]) => {
          if (args.some((a) => a.startsWith(prefix))) seen.push(args);
        });
        try {
          await new Promise((r) => setTimeout(r, 50));
          assert.equal(code(await go(j.fulfil)), '202');
          await new Promise((r) => setTimeout(r, 100));
        } finally {
          monitor.disconnect();
          client.disconnect();
        }
        // MONITOR shows a script's own commands too (after the script): the script is the only call from outside.
        const calls = seen.filter((a) => !['set', 'get', 'exists', 'del'].includes(a[0]!.toLowerCase()));
        assert.equal(calls.length, 1, JSON.stringify(seen));
        assert.equal(calls[0]![0]!.toLowerCase(), 'evalsha');
        assert.ok(calls[0]!.includes(prefix + hubTransferKey(j.x.transferId)));
        assert.ok(calls[0]!.some((a) => a.startsWith(`${prefix}jws-replay:`)));
      });
    }
  });
}
