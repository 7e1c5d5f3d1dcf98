// ISO 20022 bodies read and written through the FSPIOP member names the gateway's checks use, so that every
// check is written once, against FSPIOP names, and runs on either API type (docs/ilp.md "ISO 20022 mode").
// The paths are Mojaloop's own mapping: @mojaloop/ml-schema-transformer-lib 2.10,
// src/mappings/fspiopiso20022/{discovery,quotes,fxQuotes,transfers,fxTransfers}.ts (ISO → FSPIOP direction).
// Only the members some check reads are mapped; the rest of the body is forwarded as received.
import { GatewayError } from '../errors.js';
import type { ApiType } from './headers.js';
import type { JsonObject } from './message.js';
import { hasIso20022Form, type RouteTemplate, resourceOf } from './resources.js';

/** FSPIOP member path (dotted) → ISO 20022 path (dotted), per message. */
type Paths = Readonly<Record<string, string>>;

const AMOUNT = (fspiop: string, iso: string, isoAmount: string): Record<string, string> => ({
  [`${fspiop}.currency`]: `${iso}.Ccy`,
  [`${fspiop}.amount`]: `${iso}.${isoAmount}`,
});

/** pacs.008 (POST /transfers). The condition is not a member: it is the packet's executionCondition. */
const PACS_008: Paths = {
  transferId: 'CdtTrfTxInf.PmtId.TxId',
  payeeFsp: 'CdtTrfTxInf.CdtrAgt.FinInstnId.Othr.Id',
  payerFsp: 'CdtTrfTxInf.DbtrAgt.FinInstnId.Othr.Id',
  ...AMOUNT('amount', 'CdtTrfTxInf.IntrBkSttlmAmt', 'ActiveCurrencyAndAmount'),
  ilpPacket: 'CdtTrfTxInf.VrfctnOfTerms.IlpV4PrepPacket',
  expiration: 'GrpHdr.PmtInstrXpryDtTm',
};

/** pacs.002 answering a transfer (PUT, PATCH); `state` is transferState or conversionState. */
const pacs002 = (state: string): Paths => ({
  fulfilment: 'TxInfAndSts.ExctnConf',
  completedTimestamp: 'TxInfAndSts.PrcgDt.DtTm',
  [state]: 'TxInfAndSts.TxSts',
});

/** Both sides of a conversion (pacs.091/092/009): the FXP is the creditor agent of the conversion. */
const CONVERSION = (prefix: string): Record<string, string> => ({
  [`${prefix}initiatingFsp`]: 'CdtTrfTxInf.Dbtr.FinInstnId.Othr.Id',
  [`${prefix}counterPartyFsp`]: 'CdtTrfTxInf.Cdtr.FinInstnId.Othr.Id',
  [`${prefix}determiningTransferId`]: 'CdtTrfTxInf.PmtId.EndToEndId',
  ...AMOUNT(`${prefix}sourceAmount`, 'CdtTrfTxInf.UndrlygCstmrCdtTrf.InstdAmt', 'ActiveOrHistoricCurrencyAndAmount'),
  ...AMOUNT(`${prefix}targetAmount`, 'CdtTrfTxInf.IntrBkSttlmAmt', 'ActiveCurrencyAndAmount'),
});

const PARTY = (fspiop: string, party: string, agent: string): Record<string, string> => ({
  [`${fspiop}.partyIdInfo.partyIdType`]: `CdtTrfTxInf.${party}.Id.OrgId.Othr.SchmeNm.Prtry|CdtTrfTxInf.${party}.Id.PrvtId.Othr.SchmeNm.Prtry`,
  [`${fspiop}.partyIdInfo.partyIdentifier`]: `CdtTrfTxInf.${party}.Id.OrgId.Othr.Id|CdtTrfTxInf.${party}.Id.PrvtId.Othr.Id`,
  [`${fspiop}.partyIdInfo.partySubIdOrType`]: `CdtTrfTxInf.${agent}.FinInstnId.ClrSysMmbId.MmbId`,
  [`${fspiop}.partyIdInfo.fspId`]: `CdtTrfTxInf.${agent}.FinInstnId.Othr.Id`,
});

/**
 * acmt.024's assignment: the assigner "is also the sender of the message" and the assignee its receiver (ISO 20022
 * IdentificationAssignment3, @mojaloop/api-snippets), and the transformer reads FSPIOP-Source and -Destination from
 * them (discovery.ts parties.put and putError). No FSPIOP body has these members; in the view they carry the names the
 * transformer gives them, so that the identity relations bind them to the headers (review of 2026-12-01).
 */
const ASSIGNMENT: Paths = {
  'headers.fspiop-source': 'Assgnmt.Assgnr.Agt.FinInstnId.Othr.Id',
  'headers.fspiop-destination': 'Assgnmt.Assgne.Agt.FinInstnId.Othr.Id',
};

/**
 * Per message: FSPIOP member → ISO path. `a|b` reads the first path present (the transformer's `$alt`:
 * a party is identified as a person or as an organisation).
 */
const MESSAGES: Partial<Record<RouteTemplate, Paths>> = {
  // acmt.024, and its error form
  'PUT /parties/{Type}/{ID}': { 'party.partyIdInfo.fspId': 'Rpt.UpdtdPtyAndAcctId.Agt.FinInstnId.Othr.Id', ...ASSIGNMENT },
  'PUT /parties/{Type}/{ID}/{SubId}': { 'party.partyIdInfo.fspId': 'Rpt.UpdtdPtyAndAcctId.Agt.FinInstnId.Othr.Id', ...ASSIGNMENT },
  'PUT /parties/{Type}/{ID}/error': ASSIGNMENT,
  'PUT /parties/{Type}/{ID}/{SubId}/error': ASSIGNMENT,
  // pacs.081
  'POST /quotes': {
    quoteId: 'CdtTrfTxInf.PmtId.TxId',
    transactionId: 'CdtTrfTxInf.PmtId.EndToEndId',
    transactionRequestId: 'CdtTrfTxInf.PmtId.InstrId',
    expiration: 'GrpHdr.PmtInstrXpryDtTm',
    ...PARTY('payee', 'Cdtr', 'CdtrAgt'),
    ...PARTY('payer', 'Dbtr', 'DbtrAgt'),
    ...AMOUNT('amount', 'CdtTrfTxInf.IntrBkSttlmAmt', 'ActiveCurrencyAndAmount'),
    'transactionType.scenario': 'CdtTrfTxInf.Purp.Prtry',
  },
  // pacs.082: like pacs.008, the condition is the packet's.
  'PUT /quotes/{ID}': {
    expiration: 'GrpHdr.PmtInstrXpryDtTm',
    ...AMOUNT('transferAmount', 'CdtTrfTxInf.IntrBkSttlmAmt', 'ActiveCurrencyAndAmount'),
    ...AMOUNT('payeeReceiveAmount', 'CdtTrfTxInf.InstdAmt', 'ActiveOrHistoricCurrencyAndAmount'),
    ...AMOUNT('payeeFspFee', 'CdtTrfTxInf.ChrgsInf.Amt', 'ActiveOrHistoricCurrencyAndAmount'),
    ilpPacket: 'CdtTrfTxInf.VrfctnOfTerms.IlpV4PrepPacket',
    'payee.partyIdInfo.fspId': 'CdtTrfTxInf.CdtrAgt.FinInstnId.Othr.Id',
    'payer.partyIdInfo.fspId': 'CdtTrfTxInf.DbtrAgt.FinInstnId.Othr.Id',
  },
  // pacs.091
  'POST /fxQuotes': {
    conversionRequestId: 'CdtTrfTxInf.PmtId.TxId',
    'conversionTerms.conversionId': 'CdtTrfTxInf.PmtId.InstrId',
    'conversionTerms.expiration': 'GrpHdr.PmtInstrXpryDtTm',
    ...CONVERSION('conversionTerms.'),
  },
  // pacs.092
  'PUT /fxQuotes/{ID}': {
    condition: 'CdtTrfTxInf.VrfctnOfTerms.Sh256Sgntr',
    'conversionTerms.conversionId': 'CdtTrfTxInf.PmtId.InstrId',
    'conversionTerms.expiration': 'GrpHdr.PmtInstrXpryDtTm',
    'conversionTerms.amountType': 'CdtTrfTxInf.InstrForCdtrAgt.InstrInf',
    ...CONVERSION('conversionTerms.'),
  },
  'POST /transfers': PACS_008,
  'PUT /transfers/{ID}': pacs002('transferState'),
  'PATCH /transfers/{ID}': pacs002('transferState'),
  // pacs.009
  'POST /fxTransfers': {
    commitRequestId: 'CdtTrfTxInf.PmtId.TxId',
    expiration: 'GrpHdr.PmtInstrXpryDtTm',
    condition: 'CdtTrfTxInf.VrfctnOfTerms.Sh256Sgntr',
    ...CONVERSION(''),
  },
  'PUT /fxTransfers/{ID}': pacs002('conversionState'),
  'PATCH /fxTransfers/{ID}': pacs002('conversionState'),
};

/** The ISO 20022 path Mojaloop reads an FSPIOP member from in this message (the first of `a|b`), when it maps one. */
export function isoPathOf(template: RouteTemplate, member: string): string | undefined {
  return MESSAGES[template]?.[member]?.split('|')[0];
}

/** The messages whose condition is carried only inside the ILP v4 packet (no member of its own). */
export const CONDITION_IN_PACKET: ReadonlySet<RouteTemplate> = new Set<RouteTemplate>(['POST /transfers', 'PUT /quotes/{ID}']);

/** FSPIOP transferState ↔ ISO TxSts (the transformer's fspiopToIsoTransferStateMap). */
const STATES: Readonly<Record<string, string>> = { RECV: 'RECEIVED', RESV: 'RESERVED', COMM: 'COMMITTED', ABOR: 'ABORTED' };
const ISO_STATES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(STATES).map(([k, v]) => [v, k]));
const STATE_MEMBERS: ReadonlySet<string> = new Set(['transferState', 'conversionState']);

/** A path whose way runs through a present value that is no object (an array, a scalar, null). */
const INTERRUPTED: unique symbol = Symbol('interrupted');

function get(o: unknown, path: string): unknown {
  let v: unknown = o;
  for (const p of path.split('.')) {
    if (v === undefined) return undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return INTERRUPTED;
    v = Object.hasOwn(v, p) ? (v as JsonObject)[p] : undefined;
  }
  return v;
}

/** Sets a dotted path on a copy-on-write tree: the objects along the path are copied, never mutated. */
function set(o: JsonObject, path: readonly string[], value: unknown): JsonObject {
  const [head, ...rest] = path as [string, ...string[]];
  if (rest.length === 0) return { ...o, [head]: value };
  const child = o[head];
  const next = child !== null && typeof child === 'object' && !Array.isArray(child) ? (child as JsonObject) : {};
  return { ...o, [head]: set(next, rest, value) };
}

/**
 * A body of one form only: the form its Content-Type names. The two forms share no top-level member name: ISO
 * 20022 message elements are UpperCamelCase (GrpHdr, CdtTrfTxInf, TxInfAndSts, Assgnmt, Rpt, SplmtryData: ISO
 * 20022 naming rules, and every ISO member the transformer maps), FSPIOP members lowerCamelCase (API Definition
 * v1.1 §7). The gateway reads a body through the form its Content-Type names; a switch service may read it
 * through its deployment's API type instead (quoting-service picks the form of `/fxQuotes` by its API_TYPE
 * setting, not by the header), so a body that carries both forms could be checked in one and acted on in the
 * other (hostile review of 2026-12-02). On the resources that have both forms, a member of the other form is
 * refused.
 * @throws GatewayError GW_BODY_MALFORMED naming the first member of the other form.
 */
export function checkBodyForm(apiType: ApiType, template: RouteTemplate, body: JsonObject): void {
  if (apiType === 'fspiop' && !hasIso20022Form(resourceOf(template))) return;
  const iso = apiType === 'iso20022';
  for (const name in body) {
    const upper = name.charCodeAt(0) >= 65 && name.charCodeAt(0) <= 90; // A-Z
    if (upper !== iso)
      throw new GatewayError('GW_BODY_MALFORMED', {
        detail: `${name}: ${iso ? 'an FSPIOP member in an ISO 20022 body' : 'an ISO 20022 member in an FSPIOP body'} (one form per body, as its Content-Type names)`,
      });
  }
}

/**
 * The FSPIOP-named members the gateway reads of an ISO 20022 body (absent ISO fields stay absent; a TxSts
 * outside the four known states reads as itself, which no check accepts). For FSPIOP bodies, the body itself.
 */
export function fspiopView(apiType: ApiType, template: RouteTemplate, body: JsonObject): JsonObject {
  if (apiType === 'fspiop') return body;
  const paths = MESSAGES[template];
  let view: JsonObject = {};
  if (paths === undefined) return view;
  for (const [member, isoPaths] of Object.entries(paths)) {
    let v: unknown;
    for (const p of isoPaths.split('|')) {
      v = get(body, p);
      // Mojaloop's transformer reads through arrays (an agent wrapped in one still names its FSP there), where this
      // reading would find the member absent and leave its checks undone: refused (review of 2026-12-01).
      if (v === INTERRUPTED) throw new GatewayError('GW_BODY_MALFORMED', { detail: `${p}: a member on this path is not an object` });
      if (v !== undefined) break;
    }
    if (v === undefined) continue;
    if (STATE_MEMBERS.has(member) && typeof v === 'string') v = STATES[v] ?? `ISO:${v}`;
    view = set(view, member.split('.'), v);
  }
  return view;
}

/**
 * The body with FSPIOP-named members set, written where the body's API type keeps them (an ISO 20022
 * message through the same paths the view reads). Members `skip` lists are not written (an ISO message
 * whose condition is inside the packet has none of its own).
 * @throws Error when an ISO 20022 message has no place for a member: a programming error, never input.
 */
export function withMembers(apiType: ApiType, template: RouteTemplate, body: JsonObject, members: JsonObject): JsonObject {
  if (apiType === 'fspiop') return { ...body, ...members };
  const paths = MESSAGES[template] ?? {};
  let out = body;
  for (const [member, value] of Object.entries(members)) {
    if (member === 'condition' && CONDITION_IN_PACKET.has(template)) continue;
    const iso = paths[member];
    if (iso === undefined) throw new Error(`${template} has no ISO 20022 place for ${member}`);
    const v = STATE_MEMBERS.has(member) && typeof value === 'string' ? (ISO_STATES[value] ?? value) : value;
    out = set(out, iso.split('|')[0]!.split('.'), v);
  }
  return out;
}
