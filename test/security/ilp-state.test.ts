// docs/security.md class 6 (ILP state) over real mTLS sockets: only the payee fulfils and a wrong FSP consumes
// nothing; a re-prepare with other terms is refused; RESERVED/COMMITTED need a fulfilment; the DFSP role
// lets one quote serve one transfer and keeps only the needed quote fields for a capped time; a full
// memory store refuses (2003) and never evicts a live condition. Hub cases run on memory and real Redis.

import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { quoteKey } from '../../src/ilp/records.js';
import { fspiopHeaders, httpDate, type Stub, send, startStub, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { issuedTransfer, quoteRequest, quoteResponse, SECRET } from '../helpers/ilp.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type Json = Record<string, unknown>;
const v2 = (resource: string, source: string, extra: Record<string, string> = {}) => ({
  ...fspiopHeaders(resource, source, extra),
  accept: `application/vnd.interoperability.${resource}+json;version=2.0`,
  'content-type': `application/vnd.interoperability.${resource}+json;version=2.0`,
});

function client(t: TestGateway) {
  return (fsp: string, method: string, path: string, body: Json, headers: Record<string, string>) =>
    send(t.gw.inbound.port, { method, path, body: JSON.stringify(body), headers, cert: t.cert(fsp), ca: t.pki.ca.certPem });
}
const code = (r: { json(): any; status: number }) => (r.status >= 400 ? (r.json().errorInformation.errorCode as string) : String(r.status));

for (const kind of ['memory', 'redis'] as const) {
  describe(`hub ILP state over mTLS (${kind} store)`, () => {
    let t: TestGateway;
    const prefix = `sgtest:b-state:${randomBytes(5).toString('hex')}:`;
    before(async () => {
      t = await startTestGateway({
        env: {
          GATEWAY_ROLE: 'hub',
          ILP_CHECK: 'true',
          ILP_QUOTE_BINDING: 'off',
          ...(kind === 'redis' ? { REDIS_URL, REDIS_KEY_PREFIX: prefix } : { STORE: 'memory' }),
        },
      });
    });
    after(async () => {
      await t.close();
      if (kind === 'redis') {
        const raw = new Redis(REDIS_URL);
        const keys = await raw.keys(`${prefix}*`);
        if (keys.length) await raw.del(...keys);
        await raw.quit();
      }
    });
    const call = (...a: Parameters<ReturnType<typeof client>>) => client(t)(...a);
    const prepare = async (x = issuedTransfer('1', Date.now())) => {
      const r = await call('payerfsp', 'POST', '/transfers', x.prepare, fspiopHeaders('transfers', 'payerfsp', { 'fspiop-destination': 'payeefsp' }));
      assert.equal(r.status, 202);
      return x;
    };
    const fulfil = (fsp: string, id: string, body: Json) =>
      call(fsp, 'PUT', `/transfers/${id}`, body, fspiopHeaders('transfers', fsp, { 'fspiop-destination': 'payerfsp' }));
    const committed = (f: unknown) => ({ fulfilment: f, completedTimestamp: new Date().toISOString(), transferState: 'COMMITTED' });

    test('a fulfilment from another DFSP is refused with 3100, reaches nobody and consumes nothing; the payee then fulfils once', async () => {
      const x = await prepare();
      const before = t.stub.requests.length;
      const wrong = await fulfil('otherfsp', x.transferId, committed(x.ilp.fulfilment));
      assert.equal(code(wrong), '3100');
      assert.match(wrong.json().errorInformation.errorDescription, /payee/);
      // the payer itself (who knows the id) cannot burn it either, not even with a wrong fulfilment
      assert.equal(code(await fulfil('payerfsp', x.transferId, committed(randomBytes(32).toString('base64url')))), '3100');
      assert.equal(t.stub.requests.length, before, 'nothing forwarded');
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '202');
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '3106');
      assert.equal(code(await fulfil('otherfsp', x.transferId, committed(x.ilp.fulfilment))), '3106');
    });

    test('a fulfilment the upstream never got (connection refused) is given back: the payee resends it, it passes once', async () => {
      const x = await prepare();
      await t.stub.stop();
      try {
        await new Promise((r) => setTimeout(r, 50)); // the gateway's pooled connections see the close
        assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '1001');
      } finally {
        await t.stub.listen();
      }
      const before = t.stub.requests.length;
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '202');
      assert.equal(t.stub.requests.length, before + 1);
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '3106');
    });

    test('a fulfilment the upstream read before the connection dropped stays consumed (it may have it): the resend is 3106', async () => {
      const x = await prepare();
      const before = t.stub.requests.length;
      t.stub.behave('reset');
      try {
        assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '1001');
      } finally {
        t.stub.behave({ status: 202 });
      }
      assert.equal(t.stub.requests.length, before + 1, 'the upstream got it');
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '3106');
    });

    test('a fulfilment refused as invalid by the gateway is not given back whatever follows (the switch aborts it too)', async () => {
      const x = await prepare();
      await t.stub.stop();
      try {
        await new Promise((r) => setTimeout(r, 50));
        assert.equal(code(await fulfil('payeefsp', x.transferId, committed(randomBytes(32).toString('base64url')))), '3100');
      } finally {
        await t.stub.listen();
      }
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '3106');
    });

    test('a fulfilment body with duplicate member names is refused with 3101 and consumes nothing (parsers disagree on which wins)', async () => {
      const x = await prepare();
      const before = t.stub.requests.length;
      const wrongFirst = `{"transferState":"COMMITTED","completedTimestamp":"${new Date().toISOString()}","fulfilment":"${randomBytes(32).toString('base64url')}","fulfilment":"${x.ilp.fulfilment}"}`;
      const r = await send(t.gw.inbound.port, {
        method: 'PUT',
        path: `/transfers/${x.transferId}`,
        body: wrongFirst,
        headers: fspiopHeaders('transfers', 'payeefsp', { 'fspiop-destination': 'payerfsp' }),
        cert: t.cert('payeefsp'),
        ca: t.pki.ca.certPem,
      });
      assert.equal(code(r), '3101');
      assert.equal(t.stub.requests.length, before);
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '202');
    });

    test('ids that could name another record upstream or in the store are refused (3101), nothing forwarded', async () => {
      const n = t.stub.requests.length;
      for (const id of ['%C3%A943761a00', 'a:b', 'ilp*', 'x'.repeat(129), 'a{b}', 'é43761a00']) {
        const x = issuedTransfer('1', Date.now());
        const r = await call(
          'payerfsp',
          'POST',
          '/transfers',
          { ...x.prepare, transferId: id },
          fspiopHeaders('transfers', 'payerfsp', { 'fspiop-destination': 'payeefsp' }),
        );
        assert.equal(code(r), '3101', id);
      }
      const x = await prepare();
      // the path form of an id: percent-encoding would be decoded by the upstream into another id
      const r = await send(t.gw.inbound.port, {
        method: 'PUT',
        path: `/transfers/%C3%A9${x.transferId.slice(2)}`,
        body: JSON.stringify(committed(x.ilp.fulfilment)),
        headers: fspiopHeaders('transfers', 'payeefsp', { 'fspiop-destination': 'payerfsp' }),
        cert: t.cert('payeefsp'),
        ca: t.pki.ca.certPem,
      });
      assert.equal(code(r), '3101');
      assert.equal(t.stub.requests.length, n + 1, 'only the valid prepare was forwarded');
    });

    test('only the payee may abort or send the error callback of a transfer: another FSP gets 3100, nothing forwarded; unknown ids 3208', async () => {
      const x = await prepare();
      const n = t.stub.requests.length;
      const aborted = { transferState: 'ABORTED', completedTimestamp: new Date().toISOString() };
      const err = { errorInformation: { errorCode: '5100', errorDescription: 'rejected' } };
      assert.equal(code(await fulfil('otherfsp', x.transferId, aborted)), '3100');
      assert.equal(
        code(
          await call('otherfsp', 'PUT', `/transfers/${x.transferId}/error`, err, fspiopHeaders('transfers', 'otherfsp', { 'fspiop-destination': 'payerfsp' })),
        ),
        '3100',
      );
      assert.equal(
        code(
          await call('otherfsp', 'PUT', `/transfers/${randomUUID()}/error`, err, fspiopHeaders('transfers', 'otherfsp', { 'fspiop-destination': 'payerfsp' })),
        ),
        '3208',
      );
      assert.equal(t.stub.requests.length, n);
      assert.equal(
        code(
          await call('payeefsp', 'PUT', `/transfers/${x.transferId}/error`, err, fspiopHeaders('transfers', 'payeefsp', { 'fspiop-destination': 'payerfsp' })),
        ),
        '202',
      );
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment))), '202', 'nothing was consumed');
    });

    test('20 concurrent fulfilments from a wrong DFSP racing the payee: the payee wins exactly once', async () => {
      const x = await prepare();
      const results = await Promise.all([
        ...Array.from({ length: 10 }, () => fulfil('otherfsp', x.transferId, committed(x.ilp.fulfilment))),
        fulfil('payeefsp', x.transferId, committed(x.ilp.fulfilment)),
      ]);
      assert.deepEqual(results.slice(0, 10).map(code), Array(10).fill('3100'));
      assert.equal(code(results[10]!), '202');
    });

    test('a second POST /transfers with a known id and another condition is refused (3106); an identical resend passes, before and after the fulfilment', async () => {
      const x = await prepare();
      const other = issuedTransfer('1', Date.now());
      const h = fspiopHeaders('transfers', 'payerfsp', { 'fspiop-destination': 'payeefsp' });
      const changed = await call('payerfsp', 'POST', '/transfers', { ...other.prepare, transferId: x.transferId }, h);
      assert.equal(code(changed), '3106');
      assert.equal(
        code(await call('payerfsp', 'POST', '/transfers', { ...x.prepare, payeeFsp: 'otherfsp' }, { ...h, 'fspiop-destination': 'otherfsp' })),
        '3106',
      );
      assert.equal(code(await call('payerfsp', 'POST', '/transfers', x.prepare, h)), '202', 'identical resend');
      // the original condition still rules
      assert.equal(code(await fulfil('payeefsp', x.transferId, committed(other.ilp.fulfilment))), '3100');
      const y = await prepare();
      assert.equal(code(await fulfil('payeefsp', y.transferId, committed(y.ilp.fulfilment))), '202');
      assert.equal(code(await call('payerfsp', 'POST', '/transfers', y.prepare, h)), '202', 'resend after use');
      assert.equal(code(await call('payerfsp', 'POST', '/transfers', { ...issuedTransfer('1', Date.now()).prepare, transferId: y.transferId }, h)), '3106');
    });

    test('a prepare whose FSPIOP-Destination is not its payeeFsp is refused (3100)', async () => {
      const x = issuedTransfer('1', Date.now());
      const r = await call('payerfsp', 'POST', '/transfers', x.prepare, fspiopHeaders('transfers', 'payerfsp', { 'fspiop-destination': 'otherfsp' }));
      assert.equal(code(r), '3100');
    });

    test('PUT /transfers RESERVED or COMMITTED with a null or absent fulfilment → 3102, nothing forwarded; ABORTED without one passes', async () => {
      const x = await prepare();
      const before = t.stub.requests.length;
      for (const transferState of ['RESERVED', 'COMMITTED', 'RECEIVED', undefined]) {
        for (const f of [null, undefined]) {
          const r = await fulfil('payeefsp', x.transferId, {
            transferState,
            completedTimestamp: new Date().toISOString(),
            ...(f === null ? { fulfilment: null } : {}),
          });
          assert.equal(code(r), '3102', `${transferState} ${f}`);
        }
      }
      assert.equal(t.stub.requests.length, before);
      assert.equal(code(await fulfil('payeefsp', x.transferId, { transferState: 'ABORTED', completedTimestamp: new Date().toISOString() })), '202');
      assert.equal(
        code(await fulfil('payeefsp', x.transferId, { ...committed(x.ilp.fulfilment), transferState: 'RESERVED' })),
        '202',
        'the abort consumed nothing',
      );
    });

    test('FX (2.0): only the counter-party FXP fulfils; other terms under a known commitRequestId are refused; no conversionState bypass', async () => {
      const x = issuedTransfer('4', Date.now());
      const id = randomUUID();
      const body = {
        commitRequestId: id,
        determiningTransferId: randomUUID(),
        initiatingFsp: 'payerfsp',
        counterPartyFsp: 'fxpfsp',
        sourceAmount: { currency: 'USD', amount: '100' },
        targetAmount: { currency: 'ZMW', amount: '2650' },
        condition: x.ilp.condition,
        expiration: new Date(Date.now() + 30_000).toISOString(),
      };
      const h = v2('fxTransfers', 'payerfsp', { 'fspiop-destination': 'fxpfsp' });
      assert.equal(code(await call('payerfsp', 'POST', '/fxTransfers', body, h)), '202');
      assert.equal(code(await call('payerfsp', 'POST', '/fxTransfers', { ...body, condition: issuedTransfer('4', Date.now()).ilp.condition }, h)), '3106');
      const put = (fsp: string, b: Json) => call(fsp, 'PUT', `/fxTransfers/${id}`, b, v2('fxTransfers', fsp, { 'fspiop-destination': 'payerfsp' }));
      assert.equal(code(await put('otherfsp', { conversionState: 'RESERVED', fulfilment: x.ilp.fulfilment })), '3100');
      assert.equal(code(await put('fxpfsp', { conversionState: 'RESERVED' })), '3102');
      assert.equal(code(await put('fxpfsp', { conversionState: 'RESERVED', fulfilment: x.ilp.fulfilment })), '202');
      assert.equal(code(await put('fxpfsp', { conversionState: 'RESERVED', fulfilment: x.ilp.fulfilment })), '3106');
    });
  });
}

describe('hub, memory store full (MEMORY_STORE_MAX_ENTRIES=100)', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({ env: { GATEWAY_ROLE: 'hub', ILP_CHECK: 'true', ILP_QUOTE_BINDING: 'off', STORE: 'memory', MEMORY_STORE_MAX_ENTRIES: '100' } });
  });
  after(() => t.close());

  test('the 101st live condition is refused with 2003/503 and not forwarded; all 100 earlier ones stay fulfillable', async () => {
    const call = client(t);
    const h = fspiopHeaders('transfers', 'payerfsp', { 'fspiop-destination': 'payeefsp' });
    const xs = [];
    for (let i = 0; i < 100; i++) {
      const x = issuedTransfer('1', Date.now());
      assert.equal(code(await call('payerfsp', 'POST', '/transfers', x.prepare, h)), '202');
      xs.push(x);
    }
    const before = t.stub.requests.length;
    const over = await call('payerfsp', 'POST', '/transfers', issuedTransfer('1', Date.now()).prepare, h);
    assert.equal(over.status, 503);
    assert.equal(code(over), '2003');
    assert.equal(t.stub.requests.length, before);
    const metrics = await (await t.gw.adminFetch(new Request('http://admin/metrics'))).text();
    assert.match(metrics, /^switchguard_store_full_total 1$/m);
    for (const x of xs) {
      const r = await call(
        'payeefsp',
        'PUT',
        `/transfers/${x.transferId}`,
        { fulfilment: x.ilp.fulfilment, completedTimestamp: new Date().toISOString(), transferState: 'COMMITTED' },
        fspiopHeaders('transfers', 'payeefsp', { 'fspiop-destination': 'payerfsp' }),
      );
      assert.equal(code(r), '202');
    }
  });
});

describe('DFSP role over mTLS: one quote, one transfer; only the needed quote fields, for a capped time (real Redis)', () => {
  let t: TestGateway;
  let peer: Stub;
  const prefix = `sgtest:b-state:${randomBytes(5).toString('hex')}:`;
  before(async () => {
    peer = await startStub();
    t = await startTestGateway({
      env: {
        GATEWAY_ROLE: 'dfsp',
        DFSP_ID: 'payeefsp',
        ILP_CHECK: 'true',
        ILP_SECRET: SECRET,
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        ILP_QUOTE_MAX_TTL_SECONDS: '120',
        MAX_BODY_BYTES: String(6 * 1024 * 1024),
        PEER_ENDPOINT: peer.url,
      },
    });
  });
  after(async () => {
    await t.close();
    await peer.close();
    const raw = new Redis(REDIS_URL);
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length) await raw.del(...keys);
    await raw.quit();
  });

  test('a 4 MB quote request with expiration 2099 is kept as its five needed members for at most ILP_QUOTE_MAX_TTL_SECONDS + grace', async () => {
    const qr = quoteRequest({
      expiration: '2099-01-01T00:00:00.000Z',
      note: 'x'.repeat(4 * 1024 * 1024),
      extensionList: { extension: [{ key: 'k', value: 'v' }] },
    });
    const r = await client(t)('hub', 'POST', '/quotes', qr, fspiopHeaders('quotes', 'payerfsp', { 'fspiop-destination': 'payeefsp' }));
    assert.equal(r.status, 202);
    const raw = new Redis(REDIS_URL);
    try {
      const key = `${prefix}${quoteKey(qr.quoteId as string)}`;
      const stored = JSON.parse((await raw.get(key))!) as Json;
      assert.deepEqual(Object.keys(stored).sort(), ['payee', 'payer', 'quoteId', 'transactionId', 'transactionType']);
      assert.ok((await raw.strlen(key)) < 2000);
      const ttl = await raw.pttl(key);
      assert.ok(ttl > 0 && ttl <= (120 + t.config.ilpGraceSeconds) * 1000, `pttl ${ttl}`);
    } finally {
      await raw.quit();
    }
  });

  test('a quote whose payer or payee is megabytes large is refused (3104) and nothing is stored or forwarded', async () => {
    const qr = quoteRequest({ expiration: '2099-01-01T00:00:00.000Z' });
    (qr.payer as Json).name = 'x'.repeat(4 * 1024 * 1024);
    const n = t.stub.requests.length;
    const r = await client(t)('hub', 'POST', '/quotes', qr, fspiopHeaders('quotes', 'payerfsp', { 'fspiop-destination': 'payeefsp' }));
    assert.equal(r.status, 400);
    assert.equal(r.json().errorInformation.errorCode, '3104');
    assert.equal(t.stub.requests.length, n);
    const raw = new Redis(REDIS_URL);
    try {
      assert.equal(await raw.exists(`${prefix}${quoteKey(qr.quoteId as string)}`), 0);
    } finally {
      await raw.quit();
    }
  });

  test('the condition of one quote serves one transfer: a second transfer id with it → 3106, not forwarded; a resend of the first passes', async () => {
    const qr = quoteRequest();
    const qres = await client(t)('hub', 'POST', '/quotes', qr, fspiopHeaders('quotes', 'payerfsp', { 'fspiop-destination': 'payeefsp' }));
    assert.equal(qres.status, 202, qres.body.toString());
    const resp = quoteResponse(Date.now());
    const out = await send(t.gw.outbound.port, {
      tls: false,
      method: 'PUT',
      path: `/quotes/${qr.quoteId}`,
      body: JSON.stringify(resp),
      ca: '',
      headers: { ...fspiopHeaders('quotes', 'payeefsp'), 'fspiop-destination': 'payerfsp' },
    });
    assert.equal(out.status, 202, out.body.toString());
    const sent = JSON.parse(peer.requests.at(-1)!.body.toString()) as Json;
    const prepare = {
      transferId: qr.transactionId,
      payerFsp: 'payerfsp',
      payeeFsp: 'payeefsp',
      amount: resp.transferAmount,
      ilpPacket: sent.ilpPacket,
      condition: sent.condition,
      expiration: new Date(Date.now() + 30_000).toISOString(),
    };
    const h = fspiopHeaders('transfers', 'payerfsp', { 'fspiop-destination': 'payeefsp', date: httpDate() });
    assert.equal(code(await client(t)('hub', 'POST', '/transfers', prepare, h)), '202');
    const before = t.stub.requests.length;
    assert.equal(code(await client(t)('hub', 'POST', '/transfers', { ...prepare, transferId: randomUUID() }, h)), '3106');
    assert.equal(t.stub.requests.length, before);
    assert.equal(code(await client(t)('hub', 'POST', '/transfers', prepare, h)), '202', 'resend of the same transfer');
  });
});
