// Who the body says the parties are, against who the headers say sent and receives the message: the FSP ids a
// message carries in its body agree with FSPIOP-Source and FSPIOP-Destination wherever the API defines the
// relation (docs/security.md "Class 11"; mojaloop/project#4510). One table, written against FSPIOP member
// names; an ISO 20022 body is read through the same names (Message.view(), iso20022.ts), so every relation
// holds for both API types without a second table.
//
// The relations, per message (FSPIOP API Definition v1.1 §6; v2.0 for FX, @mojaloop/api-snippets
// fspiop/v2_0 schemas; ISO 20022 paths from @mojaloop/ml-schema-transformer-lib 2.10):
// - the sender of a request is the party the API says decides it: the Payer FSP sends POST /quotes
//   (§6.5.3.2, Table 22: quoteId "decided by the Payer FSP"), POST /transfers (§6.7.3.2, Table 29) and
//   POST /bulkQuotes and /bulkTransfers (§6.9.2, §6.10.2: "divide the bulk based on Payee FSP", one request
//   per Payee FSP); the Payee FSP sends POST /transactionRequests (§6.4.3.2, Table 18: "decided by the Payee
//   FSP") and every callback with terms (PUT /quotes/{ID}, PUT /bulkQuotes/{ID}, PUT /parties); the FSP that
//   requests a conversion is `initiatingFsp` and the FXP `counterPartyFsp` (v2.0 FxConversion,
//   FxTransfersPostRequest); an FSP registers its own parties with the account lookup service (§6.2.2.2:
//   "the FSPs … provide FSP information regarding its accounts and account holders");
// - the receiver is the other party of the same transaction.
// PUT /quotes/{ID} has no FSP id in FSPIOP (Table 23); its ISO 20022 form (pacs.082) names both agents, the
// transformer copying them from the pacs.081 (CdtrAgt = payee FSP, DbtrAgt = payer FSP).
import type { JsonObject } from './message.js';
import type { RouteTemplate } from './resources.js';

/** Which header a body member must equal. */
export type IdentityHeader = 'source' | 'destination';

/**
 * One relation: a dotted FSPIOP member path (`a[].b` reads member `b` of every element of array `a`) and the
 * header it must equal.
 */
export type Relation = readonly [member: string, header: IdentityHeader];

const PARTY_FSP = 'partyIdInfo.fspId';

/** acmt.024's sender and receiver (its error form too): ISO 20022 members, absent from every FSPIOP body. */
const ASSIGNMENT: readonly Relation[] = [
  ['headers.fspiop-source', 'source'],
  ['headers.fspiop-destination', 'destination'],
];

/** Every relation, per route template. Templates without an entry carry no FSP id the API ties to a header. */
export const RELATIONS: Readonly<Partial<Record<RouteTemplate, readonly Relation[]>>> = {
  // account lookup: an FSP registers its own parties (mojaloop/project#4510)
  'POST /participants': [['partyList[].fspId', 'source']],
  'POST /participants/{Type}/{ID}': [['fspId', 'source']],
  'POST /participants/{Type}/{ID}/{SubId}': [['fspId', 'source']],
  // the Payee FSP answers a party lookup (acmt.024 Rpt.UpdtdPtyAndAcctId.Agt); an acmt.024 also names its sender and
  // receiver (Assgnmt.Assgnr, Assgnmt.Assgne: ISO 20022 only, read as the transformer reads them, iso20022.ts)
  'PUT /parties/{Type}/{ID}': [[`party.${PARTY_FSP}`, 'source'], ...ASSIGNMENT],
  'PUT /parties/{Type}/{ID}/{SubId}': [[`party.${PARTY_FSP}`, 'source'], ...ASSIGNMENT],
  'PUT /parties/{Type}/{ID}/error': ASSIGNMENT,
  'PUT /parties/{Type}/{ID}/{SubId}/error': ASSIGNMENT,
  // the Payee FSP asks the Payer FSP (payer is a PartyIdInfo here)
  'POST /transactionRequests': [
    [`payee.${PARTY_FSP}`, 'source'],
    ['payer.fspId', 'destination'],
  ],
  // pacs.081: DbtrAgt, CdtrAgt
  'POST /quotes': [
    [`payer.${PARTY_FSP}`, 'source'],
    [`payee.${PARTY_FSP}`, 'destination'],
  ],
  // pacs.082 only (FSPIOP has no parties here): CdtrAgt, DbtrAgt
  'PUT /quotes/{ID}': [
    [`payee.${PARTY_FSP}`, 'source'],
    [`payer.${PARTY_FSP}`, 'destination'],
  ],
  'POST /bulkQuotes': [
    [`payer.${PARTY_FSP}`, 'source'],
    [`individualQuotes[].payee.${PARTY_FSP}`, 'destination'],
  ],
  'PUT /bulkQuotes/{ID}': [[`individualQuoteResults[].payee.${PARTY_FSP}`, 'source']],
  // pacs.091 / pacs.092: CdtTrfTxInf.Dbtr (initiating FSP), CdtTrfTxInf.Cdtr (FXP)
  'POST /fxQuotes': [
    ['conversionTerms.initiatingFsp', 'source'],
    ['conversionTerms.counterPartyFsp', 'destination'],
  ],
  'PUT /fxQuotes/{ID}': [
    ['conversionTerms.counterPartyFsp', 'source'],
    ['conversionTerms.initiatingFsp', 'destination'],
  ],
  // pacs.008: DbtrAgt, CdtrAgt
  'POST /transfers': [
    ['payerFsp', 'source'],
    ['payeeFsp', 'destination'],
  ],
  'POST /bulkTransfers': [
    ['payerFsp', 'source'],
    ['payeeFsp', 'destination'],
  ],
  // pacs.009: CdtTrfTxInf.Dbtr, CdtTrfTxInf.Cdtr
  'POST /fxTransfers': [
    ['initiatingFsp', 'source'],
    ['counterPartyFsp', 'destination'],
  ],
};

/** A body member that names another FSP than its header. */
export interface Mismatch {
  readonly member: string;
  readonly header: IdentityHeader;
  /** The element of the array the member path goes through, when it does. */
  readonly index?: number;
}

export interface IdentityHeaders {
  readonly source: string | undefined;
  /** Left out when the sender does not know it (FSPIOP API v1.1 §3.2.1.1 Table 1): its relations are then not checked. */
  readonly destination: string | undefined;
}

/** The templates that have relations: only their bodies need reading. */
export const hasRelations = (template: RouteTemplate): boolean => RELATIONS[template] !== undefined;

function child(o: unknown, key: string): unknown {
  if (o === null || typeof o !== 'object' || Array.isArray(o) || !Object.hasOwn(o, key)) return undefined;
  return (o as JsonObject)[key];
}

const at = (o: unknown, path: string): unknown => (path === '' ? o : path.split('.').reduce(child, o));

/** The present values of a member path: [element index or undefined, value]. Absent members yield nothing. */
function valuesOf(view: JsonObject, member: string): [number | undefined, unknown][] {
  const split = member.indexOf('[].');
  if (split < 0) {
    const v = at(view, member);
    return v === undefined ? [] : [[undefined, v]];
  }
  const list = at(view, member.slice(0, split));
  if (!Array.isArray(list)) return [];
  const rest = member.slice(split + 3);
  const out: [number | undefined, unknown][] = [];
  list.forEach((element, i) => {
    const v = at(element, rest);
    if (v !== undefined) out.push([i, v]);
  });
  return out;
}

/**
 * The relations of `template` that the message breaks: a member present in the body (any JSON value but
 * absent) that is not exactly the header's FSP id (FSP ids compare as the switch compares them, exactly:
 * central-ledger src/handlers/transfers/validator.js validateFspiopSourceMatchesPayer). A relation is not
 * checked when its header is absent, or names one of `relays`, the hub (HUB_ID) and TRUSTED_PROXY_PEERS: such
 * a message is addressed to the switch for it to route ("FSPIOP-Destination will in that case be empty (or set
 * to the Switch's ID)", API Definition v1.1 §3.2.3.6), or sent by an intermediary in its own name, and the FSP
 * the body names is behind it. One mismatch per relation (the first element that breaks it). Pure; `view` is
 * Message.view().
 */
export function identityMismatches(template: RouteTemplate, view: JsonObject, headers: IdentityHeaders, relays: ReadonlySet<string>): Mismatch[] {
  const relations = RELATIONS[template];
  if (relations === undefined) return [];
  const out: Mismatch[] = [];
  for (const [member, header] of relations) {
    const expected = headers[header];
    if (expected === undefined || relays.has(expected)) continue;
    const broken = valuesOf(view, member).find(([, v]) => v !== expected);
    if (broken !== undefined) out.push(broken[0] === undefined ? { member, header } : { member, header, index: broken[0] });
  }
  return out;
}
