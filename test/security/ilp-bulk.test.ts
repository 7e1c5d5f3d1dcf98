// docs/security.md class 6, bulk transfers: get the same ILP checks as single ones in the hub role, over real
// mTLS: every individual transfer's condition, packet, amount and the bulk's expiration are checked at
// POST /bulkTransfers; only the bulk's payee may answer it (PUT /bulkTransfers/{ID} and …/error); every
// fulfilment is checked before any is consumed, each transfer is fulfilled once, and a bad item burns
// nothing. Quote binding is on (the default): every bulk executes a bulk quote the payee answered through the hub.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { fspiopHeaders, send, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { issuedTransfer } from '../helpers/ilp.js';

type Json = Record<string, unknown>;
let t: TestGateway;
before(async () => {
  t = await startTestGateway({ env: { GATEWAY_ROLE: 'hub', ILP_CHECK: 'true' } });
});
after(async () => {
  await t.close();
});

const call = (fsp: string, method: string, path: string, body: Json) =>
  send(t.gw.inbound.port, {
    method,
    path,
    body: JSON.stringify(body),
    cert: t.cert(fsp),
    ca: t.pki.ca.certPem,
    headers: fspiopHeaders(path.split('/')[1]!, fsp, { 'fspiop-destination': fsp === 'payerfsp' ? 'payeefsp' : 'payerfsp' }),
  });
const code = (r: { status: number; json(): any }) => (r.status >= 400 ? String(r.json().errorInformation.errorCode) : String(r.status));

/** The POST /bulkTransfers body from payerfsp to payeefsp executing `xs` under `bulkQuoteId`. */
function bulkBody(xs: ReturnType<typeof issuedTransfer>[], bulkQuoteId: string) {
  const individualTransfers: Json[] = xs.map((x) => ({
    transferId: x.transferId,
    transferAmount: x.prepare.amount,
    ilpPacket: x.prepare.ilpPacket,
    condition: x.prepare.condition,
  }));
  return {
    bulkTransferId: randomUUID(),
    bulkQuoteId,
    payerFsp: 'payerfsp',
    payeeFsp: 'payeefsp',
    individualTransfers,
    expiration: new Date(Date.now() + 30_000).toISOString(),
  };
}

/** payerfsp asks payeefsp for a bulk quote of n individual quotes through the hub: only then is an answer kept. */
const ask = async (bulkQuoteId: string, n: number) =>
  assert.equal(
    code(await call('payerfsp', 'POST', '/bulkQuotes', { bulkQuoteId, individualQuotes: Array.from({ length: n }, () => ({ quoteId: randomUUID() })) })),
    '202',
  );

/** n transfers of a bulk quote that payeefsp answers through the hub (PUT /bulkQuotes), then `over` to spoil items. */
async function bulk(n: number, over: (items: Json[]) => void = () => {}) {
  const xs = Array.from({ length: n }, () => issuedTransfer('1', Date.now()));
  const bulkQuoteId = randomUUID();
  const answer = {
    individualQuoteResults: xs.map((x) => ({ quoteId: x.quoteRequest.quoteId, ilpPacket: x.ilp.ilpPacket, condition: x.ilp.condition })),
    expiration: new Date(Date.now() + 60_000).toISOString(),
  };
  await ask(bulkQuoteId, n);
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkQuotes/${bulkQuoteId}`, answer)), '202');
  const body = bulkBody(xs, bulkQuoteId);
  over(body.individualTransfers);
  return { body, xs, id: body.bulkTransferId };
}
/** How many bulk transfer messages reached the upstream (the bulk quote answers each test sends first are not counted). */
const forwardedBulks = () => t.stub.requests.filter((r) => r.url.startsWith('/bulkTransfers')).length;
const results = (xs: ReturnType<typeof issuedTransfer>[], f = (x: ReturnType<typeof issuedTransfer>) => x.ilp.fulfilment) => ({
  bulkTransferState: 'COMPLETED',
  completedTimestamp: new Date().toISOString(),
  individualTransferResults: xs.map((x) => ({ transferId: x.transferId, fulfilment: f(x) })),
});

test('a bulk prepare with a bad item (condition, packet, amount, past expiration, repeated id) is refused whole, nothing forwarded', async () => {
  const n = forwardedBulks();
  const cases: [string, (items: Json[]) => void, string][] = [
    [
      'malformed condition',
      (i) => {
        i[1]!.condition = 'not-a-condition';
      },
      '3100',
    ],
    [
      'garbage packet',
      (i) => {
        i[2]!.ilpPacket = 'garbage';
      },
      '3100',
    ],
    [
      'amount differs from the packet',
      (i) => {
        i[0]!.transferAmount = { currency: 'USD', amount: '999' };
      },
      '3100',
    ],
    [
      'repeated transfer id',
      (i) => {
        i[1]!.transferId = i[0]!.transferId;
      },
      '3101',
    ],
    [
      'percent-encoded id',
      (i) => {
        i[0]!.transferId = '%41bc';
      },
      '3101',
    ],
  ];
  for (const [name, over, want] of cases) assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', (await bulk(3, over)).body)), want, name);
  const past = await bulk(2);
  past.body.expiration = '2000-01-01T00:00:00.000Z';
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', past.body)), '3100');
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', { ...(await bulk(1)).body, individualTransfers: [] })), '3101');
  assert.equal(forwardedBulks(), n);
});

test('only the payee answers a bulk; each transfer is fulfilled once; a bad item burns nothing', async () => {
  const b = await bulk(3);
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', b.body)), '202');
  const n = t.stub.requests.length;
  // another DFSP, and the payer, cannot answer or end it
  assert.equal(code(await call('otherfsp', 'PUT', `/bulkTransfers/${b.id}`, results(b.xs))), '3100');
  assert.equal(code(await call('otherfsp', 'PUT', `/bulkTransfers/${b.id}/error`, { errorInformation: { errorCode: '5100', errorDescription: 'x' } })), '3100');
  // one wrong fulfilment among right ones: refused whole, nothing consumed
  assert.equal(
    code(
      await call(
        'payeefsp',
        'PUT',
        `/bulkTransfers/${b.id}`,
        results(b.xs, (x) => (x === b.xs[2] ? randomBytes(32).toString('base64url') : x.ilp.fulfilment)),
      ),
    ),
    '3100',
  );
  assert.equal(t.stub.requests.length, n, 'nothing forwarded');
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkTransfers/${b.id}`, results(b.xs))), '202');
  // every transfer was consumed: neither the bulk answer nor a single-transfer fulfilment works again
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkTransfers/${b.id}`, results(b.xs))), '3106');
  const single = await send(t.gw.inbound.port, {
    method: 'PUT',
    path: `/transfers/${b.xs[0]!.transferId}`,
    cert: t.cert('payeefsp'),
    ca: t.pki.ca.certPem,
    body: JSON.stringify({ fulfilment: b.xs[0]!.ilp.fulfilment, completedTimestamp: new Date().toISOString(), transferState: 'COMMITTED' }),
    headers: fspiopHeaders('transfers', 'payeefsp', { 'fspiop-destination': 'payerfsp' }),
  });
  assert.equal(code(single), '3106');
});

test('a bulk answer for an unknown bulk id → 3208; a resent bulk prepare passes, with other terms → 3106', async () => {
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkTransfers/${randomUUID()}`, { bulkTransferState: 'REJECTED' })), '3208');
  const b = await bulk(2);
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', b.body)), '202');
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', b.body)), '202');
  const other = await bulk(2);
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', { ...other.body, bulkTransferId: b.id })), '3106');
});

test('a bulk answer repeating a transfer id is refused whole and burns nothing (second review)', async () => {
  const b = await bulk(2);
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', b.body)), '202');
  const dup = results([b.xs[0]!, b.xs[1]!, b.xs[0]!]);
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkTransfers/${b.id}`, dup)), '3101');
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkTransfers/${b.id}`, results(b.xs))), '202', 'nothing was consumed');
});

test('a bulk answer the upstream never got (connection refused) gives every transfer back: resent, it passes once', async () => {
  const b = await bulk(3);
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', b.body)), '202');
  await t.stub.stop();
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(code(await call('payeefsp', 'PUT', `/bulkTransfers/${b.id}`, results(b.xs))), '1001');
  } finally {
    await t.stub.listen();
  }
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkTransfers/${b.id}`, results(b.xs))), '202');
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkTransfers/${b.id}`, results(b.xs))), '3106');
});

test('quote binding holds for bulks: items the payee did not issue for the bulk quote → 3100, a second bulk of one bulk quote → 3106, neither forwarded', async () => {
  const n = forwardedBulks();
  const b = await bulk(2);
  const own = issuedTransfer('1', Date.now(), 'payer-made-secret-0123456789abcdefghij');
  const spoiled = {
    ...b.body,
    individualTransfers: [
      (b.body.individualTransfers as Json[])[0],
      { ...(b.body.individualTransfers as Json[])[1], ilpPacket: own.ilp.ilpPacket, condition: own.ilp.condition },
    ],
  };
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', spoiled)), '3100');
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', b.body)), '202');
  const again = {
    ...b.body,
    bulkTransferId: randomUUID(),
    individualTransfers: (b.body.individualTransfers as Json[]).map((it) => ({ ...it, transferId: randomUUID() })),
  };
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', again)), '3106');
  assert.equal(forwardedBulks(), n + 1, 'only the bound bulk reached the switch');
});

test('a bulk quote answer the switch never got (connection refused) is not kept: the payee’s retry, with another packet, passes and binds', async () => {
  // Third review of 2026-12-01: the first answer stood although it never left the hub, so the payee's retry (a packet
  // built anew, with a fresh expiration inside it) was refused with 3106 and the quote was lost.
  const first = issuedTransfer('1', Date.now());
  const retry = issuedTransfer('1', Date.now() + 1000, undefined, { quote: { quoteId: first.quoteRequest.quoteId, transactionId: first.transferId } });
  assert.notEqual(retry.ilp.condition, first.ilp.condition);
  const bulkQuoteId = randomUUID();
  const answer = (x: ReturnType<typeof issuedTransfer>) => ({
    individualQuoteResults: [{ quoteId: x.quoteRequest.quoteId, ilpPacket: x.ilp.ilpPacket, condition: x.ilp.condition }],
    expiration: x.quoteResponse.expiration,
  });
  await ask(bulkQuoteId, 1);
  await t.stub.stop();
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(code(await call('payeefsp', 'PUT', `/bulkQuotes/${bulkQuoteId}`, answer(first))), '1001');
  } finally {
    await t.stub.listen();
  }
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkQuotes/${bulkQuoteId}`, answer(retry))), '202');
  assert.equal(code(await call('payeefsp', 'PUT', `/bulkQuotes/${bulkQuoteId}`, answer(first))), '3106', 'once forwarded, the retry stands');
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', bulkBody([first], bulkQuoteId))), '3100');
  assert.equal(code(await call('payerfsp', 'POST', '/bulkTransfers', bulkBody([retry], bulkQuoteId))), '202');
});
