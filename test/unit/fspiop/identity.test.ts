// The identity relations (src/fspiop/identity.ts) over every message that has one: honest messages as the API's
// flows send them pass; every FSP id the body carries is covered by a relation; each relation, broken alone, is
// reported alone; reversed headers break every relation; ISO 20022 bodies written by Mojaloop's transformer are
// read through the same table (the oracle for what an SDK in ISO mode sends).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatewayError } from '../../../src/errors.js';
import { type IdentityHeaders, identityMismatches, RELATIONS } from '../../../src/fspiop/identity.js';
import { fspiopView } from '../../../src/fspiop/iso20022.js';
import type { JsonObject } from '../../../src/fspiop/message.js';
import type { RouteTemplate } from '../../../src/fspiop/resources.js';
import { quoteRequest, quoteResponse } from '../../helpers/ilp.js';
import { toIso } from '../../helpers/iso20022.js';

const NONE: ReadonlySet<string> = new Set();
const party = (fspId: string, id = '27713803912') => ({ partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: id, fspId } });
const money = { amount: '100', currency: 'USD' };
const future = new Date(Date.now() + 60_000).toISOString();
const conversionTerms = {
  conversionId: 'c1',
  determiningTransferId: 't1',
  initiatingFsp: 'payerfsp',
  counterPartyFsp: 'fxpfsp',
  amountType: 'SEND',
  sourceAmount: { amount: '100', currency: 'USD' },
  targetAmount: { amount: '150', currency: 'EUR' },
  expiration: future,
};
const prepare = { transferId: 't1', payerFsp: 'payerfsp', payeeFsp: 'payeefsp', amount: money, ilpPacket: 'AYIB', condition: 'c', expiration: future };

interface Fixture {
  readonly headers: IdentityHeaders;
  readonly body: JsonObject;
}
const from = (source: string, destination?: string) => ({ source, destination });

/**
 * One honest FSPIOP message per template with relations, with the headers of the API's flow (API Definition v1.1 §6,
 * v2.0 for FX): who sends it to whom, written here independently of the relation table.
 */
const FSPIOP: Record<string, Fixture> = {
  'POST /participants': {
    headers: from('payerfsp'),
    body: { requestId: 'r1', partyList: [party('payerfsp').partyIdInfo, party('payerfsp', '2').partyIdInfo], currency: 'USD' },
  },
  'POST /participants/{Type}/{ID}': { headers: from('payerfsp', 'hub'), body: { fspId: 'payerfsp', currency: 'USD' } },
  'POST /participants/{Type}/{ID}/{SubId}': { headers: from('payerfsp'), body: { fspId: 'payerfsp' } },
  'PUT /parties/{Type}/{ID}': { headers: from('payeefsp', 'payerfsp'), body: { party: { ...party('payeefsp'), name: 'Jo' } } },
  'PUT /parties/{Type}/{ID}/{SubId}': { headers: from('payeefsp', 'payerfsp'), body: { party: party('payeefsp') } },
  // FSPIOP error bodies name no FSP; the relations are acmt.024's assignment (ISO 20022, below)
  'PUT /parties/{Type}/{ID}/error': { headers: from('payeefsp', 'payerfsp'), body: { errorInformation: { errorCode: '3204', errorDescription: 'x' } } },
  'PUT /parties/{Type}/{ID}/{SubId}/error': { headers: from('payeefsp', 'payerfsp'), body: { errorInformation: { errorCode: '3204', errorDescription: 'x' } } },
  'POST /transactionRequests': {
    headers: from('payeefsp', 'payerfsp'),
    body: {
      transactionRequestId: 'tr1',
      payee: party('payeefsp'),
      payer: { partyIdType: 'MSISDN', partyIdentifier: '1', fspId: 'payerfsp' },
      amount: money,
      transactionType: { scenario: 'PAYMENT', initiator: 'PAYEE', initiatorType: 'BUSINESS' },
    },
  },
  'POST /quotes': { headers: from('payerfsp', 'payeefsp'), body: quoteRequest() },
  'PUT /quotes/{ID}': { headers: from('payeefsp', 'payerfsp'), body: { ...quoteResponse(Date.now()), ilpPacket: 'AYIB', condition: 'c' } },
  'POST /bulkQuotes': {
    headers: from('payerfsp', 'payeefsp'),
    body: {
      bulkQuoteId: 'b1',
      payer: party('payerfsp'),
      individualQuotes: [1, 2].map((i) => ({ quoteId: `q${i}`, transactionId: `t${i}`, payee: party('payeefsp', `${i}`), amountType: 'SEND', amount: money })),
    },
  },
  'PUT /bulkQuotes/{ID}': {
    headers: from('payeefsp', 'payerfsp'),
    body: { individualQuoteResults: [1, 2].map((i) => ({ quoteId: `q${i}`, payee: party('payeefsp', `${i}`), transferAmount: money })), expiration: future },
  },
  'POST /fxQuotes': { headers: from('payerfsp', 'fxpfsp'), body: { conversionRequestId: 'cr1', conversionTerms } },
  'PUT /fxQuotes/{ID}': { headers: from('fxpfsp', 'payerfsp'), body: { condition: 'c', conversionTerms } },
  'POST /transfers': { headers: from('payerfsp', 'payeefsp'), body: prepare },
  'POST /bulkTransfers': {
    headers: from('payerfsp', 'payeefsp'),
    body: {
      bulkTransferId: 'b1',
      bulkQuoteId: 'b1',
      payerFsp: 'payerfsp',
      payeeFsp: 'payeefsp',
      individualTransfers: [{ transferId: 't1' }],
      expiration: future,
    },
  },
  'POST /fxTransfers': {
    headers: from('payerfsp', 'fxpfsp'),
    body: { commitRequestId: 'cr1', initiatingFsp: 'payerfsp', counterPartyFsp: 'fxpfsp', sourceAmount: money, targetAmount: money, condition: 'c' },
  },
};

const FSP_ID_MEMBER = /(^|\.)(fspId|payerFsp|payeeFsp|initiatingFsp|counterPartyFsp)$/;

/** Every path in `o` to a member that names an FSP, arrays written `[]` (the relation table's notation). */
function fspIdPaths(o: unknown, prefix = ''): Set<string> {
  const out = new Set<string>();
  if (Array.isArray(o)) for (const e of o) for (const p of fspIdPaths(e, `${prefix}[]`)) out.add(p);
  else if (o !== null && typeof o === 'object') {
    for (const [k, v] of Object.entries(o)) {
      const path = prefix === '' ? k : `${prefix}.${k}`;
      if (FSP_ID_MEMBER.test(path) && typeof v === 'string') out.add(path);
      for (const p of fspIdPaths(v, path)) out.add(p);
    }
  }
  return out;
}

/** Sets a member path (`a[].b` sets `b` of the last element of `a`) on a copy. */
function withMember(body: JsonObject, member: string, value: unknown): JsonObject {
  const copy = structuredClone(body);
  let at: unknown = copy;
  const parts = member.split('.');
  for (const [i, raw] of parts.entries()) {
    const isArray = raw.endsWith('[]');
    const key = isArray ? raw.slice(0, -2) : raw;
    const o = at as Record<string, unknown>;
    if (i === parts.length - 1) o[key] = value;
    else at = isArray ? (o[key] as unknown[]).at(-1) : o[key];
  }
  return copy;
}

const templates = Object.keys(RELATIONS).sort();

describe('identity relations, FSPIOP', () => {
  test('every template with relations has an honest fixture here, and nothing else does', () => {
    assert.deepEqual(Object.keys(FSPIOP).sort(), templates);
  });

  for (const t of templates) {
    const { headers, body } = FSPIOP[t]!;
    const template = t as RouteTemplate;

    test(`${t}: the honest message passes, and every FSP id it carries is covered by a relation`, () => {
      assert.deepEqual(identityMismatches(template, body, headers, NONE), []);
      const covered = new Set(RELATIONS[template]!.map(([m]) => m));
      for (const p of fspIdPaths(body)) assert.ok(covered.has(p), `${t}: ${p} has no relation`);
    });

    for (const [member, header] of RELATIONS[template]!) {
      if (!fspIdPaths(body).has(member)) {
        // PUT /quotes/{ID}: FSPIOP carries no party (Table 23); only its ISO 20022 form does (below). Likewise acmt.024's
        // assigner and assignee (headers.*), which have no FSPIOP member.
        test(`${t}: ${member} is absent from the FSPIOP message, so it is not checked`, () => {
          assert.ok(t === 'PUT /quotes/{ID}' || member.startsWith('headers.'), member);
          assert.deepEqual(
            identityMismatches(template, body, from('x', 'y'), NONE).filter((m) => m.member === member),
            [],
          );
        });
        continue;
      }
      test(`${t}: ${member} ≠ FSPIOP-${header === 'source' ? 'Source' : 'Destination'} is reported alone`, () => {
        // array fixtures have two elements; withMember changes the last one
        const expected = member.includes('[]') ? { member, header, index: 1 } : { member, header };
        assert.deepEqual(identityMismatches(template, withMember(body, member, 'evilfsp'), headers, NONE), [expected]);
        // the header's absence or a relay in it leaves the relation unchecked; a non-string value is a mismatch
        const h = { ...headers, [header]: undefined };
        assert.deepEqual(identityMismatches(template, withMember(body, member, 'evilfsp'), h, NONE), []);
        assert.deepEqual(identityMismatches(template, withMember(body, member, 'evilfsp'), headers, new Set([headers[header]!])), []);
        assert.equal(identityMismatches(template, withMember(body, member, 42), headers, NONE).length, 1);
        assert.equal(identityMismatches(template, withMember(body, member, null), headers, NONE).length, 1);
        assert.equal(identityMismatches(template, withMember(body, member, headers[header]!.toUpperCase()), headers, NONE).length, 1, 'exact comparison');
      });
    }

    if (headers.destination !== undefined && fspIdPaths(body).size > 0) {
      test(`${t}: the same body with FSPIOP-Source and FSPIOP-Destination swapped breaks every relation it carries`, () => {
        const swapped = { source: headers.destination, destination: headers.source };
        const carried = RELATIONS[template]!.filter(([m]) => fspIdPaths(body).has(m));
        assert.deepEqual(
          identityMismatches(template, body, swapped, NONE).map((x) => x.member),
          carried.map(([m]) => m),
        );
      });
    }
  }

  test('the hub as FSPIOP-Destination (API Definition v1.1 §3.2.3.6: "or set to the Switch\'s ID") leaves only the source relations', () => {
    const r = identityMismatches('POST /transfers', { ...prepare, payerFsp: 'evilfsp', payeeFsp: 'otherfsp' }, from('payerfsp', 'hub'), new Set(['hub']));
    assert.deepEqual(r, [{ member: 'payerFsp', header: 'source' }]);
  });

  test('messages without relations are never read: PUT /transfers/{ID}, error callbacks, PUT /participants', () => {
    for (const t of ['PUT /transfers/{ID}', 'PUT /quotes/{ID}/error', 'PUT /participants/{Type}/{ID}'] as const) {
      assert.deepEqual(identityMismatches(t, { fspId: 'evilfsp', payerFsp: 'evilfsp' }, from('payerfsp', 'payeefsp'), NONE), []);
    }
  });

  test('an array member that is not an array, or elements that are not objects, name no FSP', () => {
    assert.deepEqual(identityMismatches('POST /participants', { partyList: { fspId: 'evilfsp' } }, from('payerfsp'), NONE), []);
    assert.deepEqual(identityMismatches('POST /participants', { partyList: ['evilfsp', null, 3] }, from('payerfsp'), NONE), []);
    const list = [{ fspId: 'payerfsp' }, { partyIdType: 'MSISDN' }, { fspId: 'evilfsp' }, { fspId: 'evilfsp' }];
    assert.deepEqual(identityMismatches('POST /participants', { partyList: list }, from('payerfsp'), NONE), [
      { member: 'partyList[].fspId', header: 'source', index: 2 },
    ]);
  });
});

/** ISO 20022 bodies as an SDK in ISO mode writes them (the transformer), with the headers it sends. */
async function isoMessages(): Promise<{ name: string; template: RouteTemplate; headers: IdentityHeaders; body: JsonObject; paths: [string, string][] }[]> {
  const qr = quoteRequest();
  const isoPost = await toIso.postQuotes(qr);
  const isoPut = await toIso.putQuotes(qr.quoteId as string, { ...quoteResponse(Date.now()), ilpPacket: 'AYIB', condition: 'c' }, isoPost);
  return [
    {
      name: 'acmt.024',
      template: 'PUT /parties/{Type}/{ID}',
      headers: from('payeefsp', 'payerfsp'),
      body: await toIso.putParties('MSISDN', '27713803912', { party: party('payeefsp') }),
      paths: [
        ['Rpt.UpdtdPtyAndAcctId.Agt.FinInstnId.Othr.Id', 'party.partyIdInfo.fspId'],
        // The assigner and assignee are the sender and receiver; the transformer reads the headers from them (review of 2026-12-01).
        ['Assgnmt.Assgnr.Agt.FinInstnId.Othr.Id', 'headers.fspiop-source'],
        ['Assgnmt.Assgne.Agt.FinInstnId.Othr.Id', 'headers.fspiop-destination'],
      ],
    },
    {
      name: 'acmt.024, error form',
      template: 'PUT /parties/{Type}/{ID}/error',
      headers: from('payeefsp', 'payerfsp'),
      body: await toIso.putPartiesError('MSISDN', '27713803912', { errorInformation: { errorCode: '3204', errorDescription: 'Party not found' } }),
      paths: [
        ['Assgnmt.Assgnr.Agt.FinInstnId.Othr.Id', 'headers.fspiop-source'],
        ['Assgnmt.Assgne.Agt.FinInstnId.Othr.Id', 'headers.fspiop-destination'],
      ],
    },
    {
      name: 'pacs.081',
      template: 'POST /quotes',
      headers: from('payerfsp', 'payeefsp'),
      body: isoPost,
      paths: [
        ['CdtTrfTxInf.DbtrAgt.FinInstnId.Othr.Id', 'payer.partyIdInfo.fspId'],
        ['CdtTrfTxInf.CdtrAgt.FinInstnId.Othr.Id', 'payee.partyIdInfo.fspId'],
      ],
    },
    {
      name: 'pacs.082',
      template: 'PUT /quotes/{ID}',
      headers: from('payeefsp', 'payerfsp'),
      body: isoPut,
      paths: [
        ['CdtTrfTxInf.CdtrAgt.FinInstnId.Othr.Id', 'payee.partyIdInfo.fspId'],
        ['CdtTrfTxInf.DbtrAgt.FinInstnId.Othr.Id', 'payer.partyIdInfo.fspId'],
      ],
    },
    {
      name: 'pacs.008',
      template: 'POST /transfers',
      headers: from('payerfsp', 'payeefsp'),
      body: await toIso.postTransfers(prepare, isoPut),
      paths: [
        ['CdtTrfTxInf.DbtrAgt.FinInstnId.Othr.Id', 'payerFsp'],
        ['CdtTrfTxInf.CdtrAgt.FinInstnId.Othr.Id', 'payeeFsp'],
      ],
    },
    {
      name: 'pacs.091',
      template: 'POST /fxQuotes',
      headers: from('payerfsp', 'fxpfsp'),
      body: await toIso.postFxQuotes({ conversionRequestId: 'cr1', conversionTerms }),
      paths: [
        ['CdtTrfTxInf.Dbtr.FinInstnId.Othr.Id', 'conversionTerms.initiatingFsp'],
        ['CdtTrfTxInf.Cdtr.FinInstnId.Othr.Id', 'conversionTerms.counterPartyFsp'],
      ],
    },
    {
      name: 'pacs.092',
      template: 'PUT /fxQuotes/{ID}',
      headers: from('fxpfsp', 'payerfsp'),
      body: await toIso.putFxQuotes('cr1', { condition: 'f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA', conversionTerms }),
      paths: [
        ['CdtTrfTxInf.Cdtr.FinInstnId.Othr.Id', 'conversionTerms.counterPartyFsp'],
        ['CdtTrfTxInf.Dbtr.FinInstnId.Othr.Id', 'conversionTerms.initiatingFsp'],
      ],
    },
    {
      name: 'pacs.009',
      template: 'POST /fxTransfers',
      headers: from('payerfsp', 'fxpfsp'),
      body: await toIso.postFxTransfers({
        commitRequestId: 'cr1',
        determiningTransferId: 't1',
        initiatingFsp: 'payerfsp',
        counterPartyFsp: 'fxpfsp',
        sourceAmount: money,
        targetAmount: { amount: '150', currency: 'EUR' },
        condition: 'f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA',
        expiration: future,
      }),
      paths: [
        ['CdtTrfTxInf.Dbtr.FinInstnId.Othr.Id', 'initiatingFsp'],
        ['CdtTrfTxInf.Cdtr.FinInstnId.Othr.Id', 'counterPartyFsp'],
      ],
    },
  ];
}

describe('identity relations, ISO 20022 (bodies written by @mojaloop/ml-schema-transformer-lib)', () => {
  test('every ISO 20022 message that names FSPs: honest passes; each agent changed alone is reported as its FSPIOP member; swapped headers break both', async () => {
    const messages = await isoMessages();
    for (const { name, template, headers, body, paths } of messages) {
      const read = (b: JsonObject, h = headers) => identityMismatches(template, fspiopView('iso20022', template, b), h, NONE);
      assert.deepEqual(read(body), [], `${name} honest`);
      for (const [isoPath, member] of paths) {
        const tampered = withMember(body, isoPath, 'evilfsp');
        const relation = RELATIONS[template]!.find(([m]) => m === member);
        assert.ok(relation, `${name}: ${member} has a relation`);
        assert.deepEqual(read(tampered), [{ member, header: relation[1] }], `${name}: ${isoPath}`);
      }
      assert.equal(read(body, { source: headers.destination, destination: headers.source }).length, paths.length, `${name} swapped`);
    }
  });

  test('a mapped path running through an array, a scalar or null is refused (3101), never read as absent: the transformer reads through arrays (review of 2026-12-01)', async () => {
    for (const { name, template, body, paths } of await isoMessages()) {
      for (const [isoPath] of paths) {
        const segments = isoPath.split('.');
        for (let cut = 1; cut < segments.length; cut++) {
          const prefix = segments.slice(0, cut).join('.');
          const original = prefix.split('.').reduce<unknown>((o, k) => (o as JsonObject)[k], body);
          for (const wrapped of [[original], 'x', null]) {
            assert.throws(
              () => fspiopView('iso20022', template, withMember(body, prefix, wrapped)),
              (e: unknown) => e instanceof GatewayError && e.code === 'GW_BODY_MALFORMED',
              `${name}: ${prefix} as ${JSON.stringify(wrapped)?.slice(0, 20)}`,
            );
          }
        }
      }
    }
  });

  test('the same table serves both API types: an ISO body and its FSPIOP original break the same relations', async () => {
    const pacs008 = await toIso.postTransfers(
      { ...prepare, payerFsp: 'evilfsp' },
      await toIso.putQuotes('q1', { ...quoteResponse(Date.now()), ilpPacket: 'AYIB' }, await toIso.postQuotes(quoteRequest())),
    );
    const iso = identityMismatches('POST /transfers', fspiopView('iso20022', 'POST /transfers', pacs008), from('payerfsp', 'payeefsp'), NONE);
    const fspiop = identityMismatches('POST /transfers', { ...prepare, payerFsp: 'evilfsp' }, from('payerfsp', 'payeefsp'), NONE);
    assert.deepEqual(iso, fspiop);
    assert.deepEqual(iso, [{ member: 'payerFsp', header: 'source' }]);
  });
});
