// Real Mojaloop sdk-scheme-adapters (18.0.2, with sdk-standard-components 17.4: ILP v1 packets, RS256 JWS, FSPIOP
// 1.0 content types) paying each other through the gateway, in both directions (test/helpers/sdk-topology.ts):
// payerfsp and payeefsp straight on a hub-role gateway in front of a test switch, edgefsp behind a DFSP-role
// gateway. Every journey starts at an SDK's outbound "simple" API (POST /transfers with AUTO_ACCEPT_PARTY and
// AUTO_ACCEPT_QUOTES): party lookup, quote, transfer, fulfilment; mTLS between SDKs and gateways (plain HTTP on
// loopback only between edgefsp's SDK and its own gateway), JWS signed by the SDKs and verified by every gateway and
// SDK (PUT /parties included), and the ILP checks of each role on. Issue 11, "Interop tests".
//
// edgefsp's SDK shares its ILP secret with its DFSP-role gateway: its 17.4 packets carry no quote expiration, so the
// gateway dates them by the SDK's PUT /quotes leaving through its outbound listener (docs/ilp.md, DFSP role); without
// that record the transfer into edgefsp is refused 3302 ("payerfsp pays edgefsp" below fails).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { send } from '../../helpers/gateway.js';
import type { InteropTopology, JsonReply } from '../../helpers/sdk-topology.js';
import { type Dfsp, startInteropTopology } from '../../helpers/sdk-topology.js';
import type { SwitchMessage } from '../../helpers/test-switch.js';

/**
 * MSISDN prefixes of each FSP's customers. Every journey pays a payee of its own (registered with the switch's
 * lookup service as it starts). Two lookups of one party by one payer in the same second give byte-identical
 * signed PUT /parties callbacks (no id in the path or body, a Date of 1 s resolution, deterministic RS256): the
 * gateways exempt lookup answers from the replay check for that reason (src/jws/middleware.ts REPLAY_EXEMPT).
 */
const MSISDN: Record<Dfsp, string> = { payerfsp: '2771', payeefsp: '2772', edgefsp: '2773' };
let parties = 0;

let topo: InteropTopology;

before(async () => {
  topo = await startInteropTopology();
  void topo.rogue().catch(() => {}); // its start-up overlaps the journeys; the wrong-certificate test awaits it
});

after(async () => {
  await topo?.close();
});

interface Journey {
  /** The payee's MSISDN. */
  readonly party: string;
  readonly reply: JsonReply;
  /** What the switch received (and sent) for this journey, in order. */
  readonly messages: SwitchMessage[];
  readonly transferId: string | undefined;
}

/**
 * One POST /transfers on `from`'s SDK to the party of `to`; waits until every relay of the switch has been
 * answered. Journeys may run side by side: the switch's messages are attributed by the journey's lookup (party
 * and payer) and by its transfer and quote ids.
 */
async function pay(from: Dfsp | 'rogue', to: Dfsp, amount: string, note = 'interop'): Promise<Journey> {
  const n = topo.sw.messages.length;
  const payer = from === 'rogue' ? 'payerfsp' : from;
  const party = `${MSISDN[to]}${String(++parties).padStart(7, '0')}`;
  topo.sw.parties.set(`MSISDN/${party}`, to);
  const reply = await topo.transfer(from, {
    homeTransactionId: randomUUID(),
    from: { idType: 'MSISDN', idValue: `${MSISDN[payer]}0000000`, displayName: 'Payer Person' },
    to: { idType: 'MSISDN', idValue: party },
    amountType: 'SEND',
    currency: 'USD',
    amount,
    transactionType: 'TRANSFER',
    note,
  });
  await topo.sw.settled();
  const state = reply.body?.transferState ?? reply.body;
  const transferId: string | undefined = state?.transferId;
  const ids = [transferId, state?.quoteId].filter((x): x is string => typeof x === 'string');
  topo.remember(...ids);
  const mine = (m: SwitchMessage) => {
    if (m.path.startsWith('/parties/')) {
      return m.path.startsWith(`/parties/MSISDN/${party}`) && m.headers[m.method === 'GET' ? 'fspiop-source' : 'fspiop-destination'] === payer;
    }
    const text = m.path + m.body.toString('utf8');
    return ids.some((id) => text.includes(id));
  };
  return { party, reply, messages: topo.sw.messages.slice(n).filter(mine), transferId };
}

const route = (m: SwitchMessage) => `${m.method} ${m.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '{ID}')}`;
/** The Mojaloop error code the payer SDK reports for a failed transfer (its lastError). */
const errorCodeOf = (r: JsonReply): string | undefined => r.body?.transferState?.lastError?.mojaloopError?.errorInformation?.errorCode;
/** The error behind a failed transfer, wherever the SDK put it: an error callback, a refused request, a socket error. */
function sdkError(r: JsonReply): string {
  const raw = r.body?.transferState?.lastError;
  let last = raw;
  try {
    if (typeof raw === 'string') last = JSON.parse(raw); // a refused request: the SDK keeps its HTTPResponseError as JSON text
  } catch {}
  const info = last?.mojaloopError?.errorInformation ?? last?.res?.data?.errorInformation;
  if (info) return `${info.errorCode} ${info.errorDescription}`;
  return String(last?.code ?? r.body?.message ?? '');
}
const explain = (j: Journey) =>
  `reply ${j.reply.status} (${sdkError(j.reply)}): ${JSON.stringify(j.reply.body).slice(0, 600)}…\nswitch saw: ${j.messages
    .map((m) => `${route(m)} → ${m.relay ? `${m.relay.status} ${m.relay.body.slice(0, 160)}` : m.relayError}`)
    .join('\n  ')}`;

/** The journey reached COMMITTED at the payer SDK, through the six FSPIOP messages, every relay accepted. */
function assertCommitted(j: Journey, from: Dfsp, to: Dfsp, amount: string): void {
  const { reply } = j;
  assert.equal(reply.status, 200, explain(j));
  assert.equal(reply.body.currentState, 'COMPLETED', explain(j));
  assert.equal(reply.body.fulfil.body.transferState, 'COMMITTED', explain(j));
  assert.equal(reply.body.to.fspId, to);
  assert.equal(reply.body.quoteResponse.body.transferAmount.amount, amount);
  assert.deepEqual(j.messages.map(route), [
    `GET /parties/MSISDN/${j.party}`,
    `PUT /parties/MSISDN/${j.party}`,
    'POST /quotes',
    'PUT /quotes/{ID}',
    'POST /transfers',
    'PUT /transfers/{ID}',
  ]);
  for (const m of j.messages) {
    // The hub gateway bound every sender from its certificate (x-client-id), and each delivery was accepted.
    const sender = m.method === 'PUT' ? to : from;
    assert.equal(m.headers['x-client-id'], sender, `${route(m)} bound to ${m.headers['x-client-id']}`);
    assert.equal(m.headers['fspiop-source'], sender);
    assert.ok(m.relay && m.relay.status >= 200 && m.relay.status < 300, `${route(m)} delivered: ${m.relay?.status} ${m.relay?.body ?? m.relayError}`);
  }
  const prepare = j.messages.find((m) => route(m) === 'POST /transfers')!;
  assert.equal(JSON.parse(prepare.body.toString('utf8')).amount.amount, amount, 'the prepare carries the quoted amount');
}

// --- hub role: payerfsp and payeefsp straight on the hub gateway ---

test('hub: lookup, quote and transfer between two SDKs commit, with the hub ILP record consumed by the fulfilment', async () => {
  const j = await pay('payerfsp', 'payeefsp', '10');
  assertCommitted(j, 'payerfsp', 'payeefsp', '10');
  // The payee's backend was told about the transfer the payer committed.
  assert.ok(topo.backends.payeefsp.calls.some((c) => c.method === 'POST' && c.path === '/transfers' && c.body.transferId === j.transferId));
  // The hub checked the prepare (record written) and the fulfilment (record consumed by its payee).
  const record = await topo.hub.store.get(`ilp:hub:{${j.transferId}}`);
  assert.match(record ?? '', /^used:/, `hub ILP record: ${record}`);
  // Every message with a body crossed the hub with the DFSP's own signature, PUT /parties included: SDK 18.0.2
  // signs its PUT /parties callbacks whatever JWS_SIGN_PUT_PARTIES says (its InboundTransfersModel does not pass
  // the flag on), and both gateways verify them (VALIDATE_INBOUND_PUT_PARTIES_JWS=true in sdk-topology.ts).
  for (const m of j.messages.filter((x) => x.method !== 'GET')) assert.ok(m.headers['fspiop-signature'], `${route(m)} is signed`);
});

// SDK 17.4 writes `${Number(amount) * 100}` into its v1 packet: 19.99 * 100 = 1998.9999999999998, which its
// ilp-packet 2.2 encodes as 19989999999998 (1.1 → 1100000000001, 2.55 → 2549999999997, 4.35 → 4349999999994).
test('hub: 19.99 USD commits', async () => {
  const j = await pay('payerfsp', 'payeefsp', '19.99');
  assertCommitted(j, 'payerfsp', 'payeefsp', '19.99');
});

test('hub: everyday amounts commit', async (t) => {
  for (const amount of ['0.01', '1.1', '2.55', '4.35', '5', '12.5', '99.99', '123.45', '1000']) {
    await t.test(`${amount} USD`, async () => {
      const j = await pay('payerfsp', 'payeefsp', amount);
      assertCommitted(j, 'payerfsp', 'payeefsp', amount);
    });
  }
});

test('hub: error callbacks from the payee SDK reach the payer SDK (party not found, quote and transfer rejected)', async (t) => {
  await t.test('PUT /parties/…/error: 3204 from the payee backend', async () => {
    topo.backends.payeefsp.use((c) =>
      c.method === 'GET' && c.path.startsWith('/parties/') ? { status: 404, body: { statusCode: '3204', message: 'no such party' } } : undefined,
    );
    try {
      const j = await pay('payerfsp', 'payeefsp', '7');
      assert.equal(errorCodeOf(j.reply), '3204', explain(j));
      assert.deepEqual(j.messages.map(route), [`GET /parties/MSISDN/${j.party}`, `PUT /parties/MSISDN/${j.party}/error`]);
      assert.equal(j.messages[1]!.relay?.status, 200, explain(j));
    } finally {
      topo.backends.payeefsp.reset();
    }
  });
  await t.test('PUT /quotes/{ID}/error: 5101 from the payee backend', async () => {
    topo.backends.payeefsp.use((c) =>
      c.path === '/quoterequests' ? { status: 500, body: { statusCode: '5101', message: 'payee rejected quote' } } : undefined,
    );
    try {
      const j = await pay('payerfsp', 'payeefsp', '7');
      assert.equal(errorCodeOf(j.reply), '5101', explain(j));
      assert.deepEqual(j.messages.map(route).slice(2), ['POST /quotes', 'PUT /quotes/{ID}/error']);
      assert.equal(j.messages[3]!.headers['x-client-id'], 'payeefsp');
      assert.equal(j.messages[3]!.relay?.status, 200, explain(j));
    } finally {
      topo.backends.payeefsp.reset();
    }
  });
  await t.test('PUT /transfers/{ID}/error: 5104 from the payee backend; the hub record stays unconsumed', async () => {
    topo.backends.payeefsp.use((c) =>
      c.method === 'POST' && c.path === '/transfers' ? { status: 500, body: { statusCode: '5104', message: 'payee rejected transaction' } } : undefined,
    );
    try {
      const j = await pay('payerfsp', 'payeefsp', '7');
      assert.equal(errorCodeOf(j.reply), '5104', explain(j));
      assert.deepEqual(j.messages.map(route).slice(4), ['POST /transfers', 'PUT /transfers/{ID}/error']);
      assert.equal(j.messages[5]!.relay?.status, 200, explain(j));
      const record = await topo.hub.store.get(`ilp:hub:{${j.transferId}}`);
      assert.match(record ?? '', /^\{"p":"payeefsp"/, `hub ILP record after an error callback: ${record}`);
    } finally {
      topo.backends.payeefsp.reset();
    }
  });
});

test("hub: a payee SDK's signed fulfilment, altered or replayed on its way to the hub gateway, is refused with 3105", async () => {
  const j = await pay('payerfsp', 'payeefsp', '3');
  assertCommitted(j, 'payerfsp', 'payeefsp', '3');
  const fulfil = j.messages.find((m) => route(m) === 'PUT /transfers/{ID}')!;
  const headers: Record<string, string> = {};
  for (const h of ['accept', 'content-type', 'date', 'fspiop-source', 'fspiop-destination', 'fspiop-signature', 'fspiop-uri', 'fspiop-http-method']) {
    headers[h] = fulfil.headers[h] as string;
  }
  const body = JSON.parse(fulfil.body.toString('utf8'));
  const n = topo.sw.messages.length;
  const audited = topo.audit.hub.length;
  const resend = (b: string) =>
    send(topo.hub.inbound.port, { method: 'PUT', path: fulfil.path, headers, body: b, cert: topo.material.certs.payeefsp!, ca: topo.material.pki.ca.certPem });
  const altered = await resend(JSON.stringify({ ...body, completedTimestamp: '2020-01-01T00:00:00.000Z' }));
  assert.equal(altered.status, 400);
  assert.equal(altered.json().errorInformation.errorCode, '3105');
  const replayed = await resend(fulfil.body.toString('utf8'));
  assert.equal(replayed.status, 400);
  assert.equal(replayed.json().errorInformation.errorCode, '3105');
  assert.deepEqual(
    topo.audit.hub.slice(audited).map((e) => `${e.event} ${e.reason}`),
    ['signature_failed GW_JWS_BAD_SIGNATURE', 'signature_failed GW_JWS_REPLAY'],
  );
  assert.equal(topo.sw.messages.length, n, 'nothing reached the switch');
});

test('hub: an SDK presenting a certificate from an untrusted CA is refused in the TLS handshake', async () => {
  const audited = topo.audit.hub.length;
  const j = await pay('rogue', 'payeefsp', '10');
  assert.equal(j.reply.status, 500, explain(j));
  assert.equal(j.reply.body.transferState.lastError.code, 'ECONNRESET', explain(j));
  assert.equal(j.reply.body.transferState.currentState, 'ERROR_OCCURRED');
  assert.equal(j.messages.length, 0, 'nothing reached the switch');
  assert.ok(
    topo.audit.hub.slice(audited).some((e) => e.event === 'peer_rejected' && e.reason === 'tls_unknown_ca'),
    JSON.stringify(topo.audit.hub.slice(audited)),
  );
});

// --- DFSP role: edgefsp's SDK behind a DFSP-role gateway ---

test("dfsp: edgefsp's SDK pays through its gateway's outbound listener; the callbacks come back through its inbound listener", async () => {
  const j = await pay('edgefsp', 'payeefsp', '10');
  assertCommitted(j, 'edgefsp', 'payeefsp', '10');
  // The hub bound the edge gateway's client certificate to edgefsp; the callbacks to edgefsp were delivered to
  // the edge gateway, which verified them and passed them to the SDK.
  assert.ok(j.messages.filter((m) => m.method === 'PUT').every((m) => m.relay?.destination === 'edgefsp'));
});

test('dfsp: payerfsp pays edgefsp: the DFSP-role gateway in front of the payee SDK lets its quote and transfer through', async () => {
  const j = await pay('payerfsp', 'edgefsp', '10');
  assertCommitted(j, 'payerfsp', 'edgefsp', '10');
});

test('dfsp: 19.99 USD from edgefsp to payeefsp commits', async () => {
  const j = await pay('edgefsp', 'payeefsp', '19.99');
  assertCommitted(j, 'edgefsp', 'payeefsp', '19.99');
});

test('dfsp: a quote rejection from the payee reaches edgefsp through its gateway (PUT /quotes/{ID}/error verified)', async () => {
  topo.backends.payeefsp.use((c) => (c.path === '/quoterequests' ? { status: 500, body: { statusCode: '5101', message: 'payee rejected quote' } } : undefined));
  try {
    const j = await pay('edgefsp', 'payeefsp', '8');
    assert.equal(errorCodeOf(j.reply), '5101', explain(j));
    const err = j.messages.find((m) => route(m) === 'PUT /quotes/{ID}/error');
    assert.equal(err?.relay?.destination, 'edgefsp');
    assert.equal(err?.relay?.status, 200, explain(j));
  } finally {
    topo.backends.payeefsp.reset();
  }
});

// --- tampering by the switch: it alters signed messages on their way to a DFSP ---

test('tampered messages: refused end to end, nothing is committed', { concurrency: true }, async (t) => {
  topo.sw.tamper((m) => {
    const quoteCallback = m.method === 'PUT' && /^\/quotes\/[^/]+$/.test(m.path);
    const quoteToEdge = m.method === 'POST' && m.path === '/quotes' && m.headers['fspiop-destination'] === 'edgefsp';
    if (!quoteCallback && !quoteToEdge) return undefined;
    const b = JSON.parse(m.body.toString('utf8'));
    if (quoteCallback) b.transferAmount.amount = '1';
    else b.amount.amount = '1';
    return Buffer.from(JSON.stringify(b));
  });
  const audited = topo.audit.edge.length;
  const noTransfer = (j: Journey, payeeCallsBefore: number, payee: Dfsp) => {
    assert.ok(!j.messages.some((m) => m.method === 'POST' && m.path === '/transfers'), 'no transfer was prepared');
    assert.ok(!topo.backends[payee].calls.slice(payeeCallsBefore).some((c) => c.path === '/transfers'), 'the payee backend saw no transfer');
  };
  try {
    await Promise.all([
      t.test('PUT /quotes to payerfsp: the hub gateway relays it with the payee signature unverified, the payer SDK refuses it (3105)', async () => {
        const before = topo.backends.payeefsp.calls.length;
        const j = await pay('payerfsp', 'payeefsp', '11');
        assert.equal(j.reply.status, 504, explain(j));
        assert.match(j.reply.body.message, /Timeout requesting quote/);
        const quote = j.messages.find((m) => route(m) === 'PUT /quotes/{ID}')!;
        assert.equal(quote.relay?.tampered, true);
        assert.equal(quote.relay?.status, 400, explain(j));
        assert.equal(JSON.parse(quote.relay!.body).errorInformation.errorCode, '3105');
        noTransfer(j, before, 'payeefsp');
      }),
      t.test("PUT /quotes to edgefsp: edgefsp's DFSP-role gateway refuses it (3105) before the SDK sees it", async () => {
        const before = topo.backends.payeefsp.calls.length;
        const j = await pay('edgefsp', 'payeefsp', '12');
        assert.equal(j.reply.status, 504, explain(j));
        const quote = j.messages.find((m) => route(m) === 'PUT /quotes/{ID}')!;
        assert.equal(quote.relay?.tampered, true);
        assert.equal(quote.relay?.status, 400, explain(j));
        assert.equal(JSON.parse(quote.relay!.body).errorInformation.errorCode, '3105');
        assert.ok(
          topo.audit.edge.slice(audited).some((e) => e.event === 'signature_failed' && e.reason === 'GW_JWS_BAD_SIGNATURE' && e.fspId === 'hub'),
          JSON.stringify(topo.audit.edge.slice(audited)),
        );
        noTransfer(j, before, 'payeefsp');
      }),
      t.test("POST /quotes to edgefsp: its gateway refuses it (3105), the payer SDK gets the switch's hub-signed error callback", async () => {
        const before = topo.backends.edgefsp.calls.length;
        const j = await pay('payerfsp', 'edgefsp', '13');
        assert.equal(errorCodeOf(j.reply), '3105', explain(j));
        assert.deepEqual(j.messages.map(route).slice(2), ['POST /quotes', 'PUT /quotes/{ID}/error']);
        const [quote, error] = [j.messages[2]!, j.messages[3]!];
        assert.equal(quote.relay?.tampered, true);
        assert.equal(quote.relay?.status, 400);
        assert.equal(error.generated, true);
        assert.equal(error.relay?.status, 200, explain(j)); // the payer SDK verified the hub gateway's signature
        assert.ok(!topo.backends.edgefsp.calls.slice(before).some((c) => c.path === '/quoterequests'), "edgefsp's backend was never asked");
        noTransfer(j, before, 'edgefsp');
      }),
    ]);
  } finally {
    topo.sw.tamper(undefined);
  }
});
