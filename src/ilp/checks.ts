// The ILP checks of both roles as pure functions over parsed message bodies (docs/ilp.md).
// No Hono, no Store: middleware.ts reads the store once and passes what it read.
import { createHash, timingSafeEqual } from 'node:crypto';
import { GatewayError, type GatewayErrorCode } from '../errors.js';
import { decode32, fulfils } from './crypto.js';
import { normaliseAmount } from './currency.js';
import type { IlpKeyring, IlpVersion } from './keyring.js';
import { type DecodedPacket, decodePacket, fulfilmentMessage, sdkV4Message } from './packet.js';
import { moneyOf, packetAmountMatches } from './packet-amount.js';
import {
  type DfspTransferRecord,
  type HubTransferRecord,
  type IssuedAnswerRecord,
  isTombstoneOf,
  isUsedTombstone,
  parseDfspRecord,
  parseHubRecord,
} from './records.js';
import { has, type JsonObject, pick } from './transaction.js';

/**
 * An FSPIOP DateTime (API Definition v1.1 §7.2.14: ISO 8601 with a zone, `Z` or ±hh:mm) or an ISO 20022
 * ISODateTime with one; fractions of a second optional (ISO 20022 bodies may carry none).
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

const daysIn = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;

/**
 * Epoch ms of an FSPIOP DateTime, or undefined when it is not one: a zone is required (Date.parse reads a date
 * without one in the process's own zone) and the calendar date must exist (Date.parse rolls 31 February over to
 * March). Review finding of 2026-12-01.
 */
export function parseDateTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = DATE_TIME.exec(v);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second, offH, offM] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysIn(year!, month!)) return undefined;
  if (hour! > 23 || minute! > 59 || second! > 59 || offH! > 23 || offM! > 59) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** An absent mandatory member: 3102 (see requiredString). */
const missingMember = (path: string) => new GatewayError('GW_BODY_MEMBER_MISSING', { detail: `${path} is missing` });

/** How far ahead an expiration may lie, and the setting that says so (named in the error). */
export interface AheadLimit {
  readonly seconds: number;
  readonly setting: 'ILP_TRANSFER_MAX_TTL_SECONDS' | 'ILP_QUOTE_MAX_TTL_SECONDS';
}

/**
 * The furthest ahead a quote answer may expire (hub role, quote binding): no further than its record is kept,
 * the lower of ILP_QUOTE_MAX_TTL_SECONDS and ILP_TRANSFER_MAX_TTL_SECONDS, so no answer outlives its record and is
 * resent, still valid, once the record has gone (fifth review of 2026-12-01).
 */
export function answerAheadLimit(quoteMaxTtlSeconds: number, transferMaxTtlSeconds: number): AheadLimit {
  return quoteMaxTtlSeconds <= transferMaxTtlSeconds
    ? { seconds: quoteMaxTtlSeconds, setting: 'ILP_QUOTE_MAX_TTL_SECONDS' }
    : { seconds: transferMaxTtlSeconds, setting: 'ILP_TRANSFER_MAX_TTL_SECONDS' };
}

/**
 * A transfer expiration that parses, lies in the future (central-ledger's prepare validation) and at most
 * `maxAheadSeconds` ahead (`setting`: ILP_TRANSFER_MAX_TTL_SECONDS, or answerAheadLimit's for a quote answer): what is kept for a transfer lives as long as the
 * operator allows, not as long as its sender asks (a year-9999 expiration otherwise pinned a record per message
 * for ever, and filled a memory store for every DFSP).
 */
function futureExpiration(v: unknown, now: number, maxAheadSeconds: number, setting: AheadLimit['setting'] = 'ILP_TRANSFER_MAX_TTL_SECONDS'): number {
  if (v === undefined) throw missingMember('expiration');
  const t = parseDateTime(v);
  if (t === undefined) throw new GatewayError('GW_ILP_EXPIRATION_INVALID', { detail: 'expiration is not a DateTime' });
  if (t <= now) throw new GatewayError('GW_ILP_EXPIRATION_INVALID', { detail: 'expiration is in the past' });
  if (t - now > maxAheadSeconds * 1000) {
    throw new GatewayError('GW_ILP_EXPIRATION_INVALID', { detail: `expiration is more than ${maxAheadSeconds} s ahead (${setting})` });
  }
  return t;
}

/** The 32 condition bytes of a body, strictly decoded. */
/**
 * A body member the API makes mandatory, as a non-empty string. Absent: 3102 Missing mandatory element, as the switch's
 * own validation answers a `required` failure (central-services-error-handling src/factory.js,
 * createFSPIOPErrorFromOpenapiError / createFSPIOPErrorFromJoiError 'any.required' → MISSING_ELEMENT); present in
 * another form: `otherwise`, the code of the check that reads it.
 * @throws GatewayError GW_BODY_MEMBER_MISSING or `otherwise`.
 */
export function requiredString(v: unknown, path: string, otherwise: GatewayErrorCode): string {
  if (v === undefined) throw missingMember(path);
  if (typeof v !== 'string' || v === '') throw new GatewayError(otherwise, { detail: `${path} is not a non-empty string` });
  return v;
}

function conditionBytes(v: unknown): Buffer {
  if (v === undefined) throw missingMember('condition');
  const c = decode32(v);
  if (c === undefined) throw new GatewayError('GW_ILP_CONDITION_MALFORMED', { detail: 'condition is not 43 base64url characters' });
  return c;
}

/** The 32 fulfilment bytes of a body, strictly decoded. */
export function fulfilmentBytes(v: unknown): Buffer {
  const f = decode32(v);
  if (f === undefined) throw new GatewayError('GW_ILP_FULFILMENT_MALFORMED', { detail: 'fulfilment is not 43 base64url characters' });
  return f;
}

const mismatch = (detail: string) => new GatewayError('GW_ILP_PACKET_MISMATCH', { detail });

/** Packet amount against the body amount and the packet's own transaction amount (packet-amount.ts, docs/ilp.md "Packet amounts"). */
function checkAmount(decoded: DecodedPacket, amount: unknown): void {
  let matches: boolean;
  try {
    const body = { amount: String(pick(amount, ['amount'])), currency: String(pick(amount, ['currency'])) };
    matches = packetAmountMatches(decoded.amount, decoded.version, body, moneyOf(decoded.transaction.amount));
  } catch {
    throw mismatch('amount cannot be carried in an ILP packet');
  }
  if (!matches) throw mismatch('packet amount differs from amount');
}

/**
 * The transaction object inside the packet carries the amount the quote agreed (the SDK's transactionObjectDto:
 * `amount` = the quote's transferAmount); the body must transfer that currency and amount. The packet's
 * binary amount alone cannot tell currencies of the same scale apart (19.99 USD and 19.99 EUR are both 1999).
 */
function checkTransactionAmount(decoded: DecodedPacket, amount: unknown): void {
  const agreed = decoded.transaction.amount;
  if (pick(agreed, ['currency']) !== pick(amount, ['currency'])) throw mismatch('currency differs from the packet');
  const a = normaliseAmount(pick(amount, ['amount']));
  if (a === undefined || a !== normaliseAmount(pick(agreed, ['amount']))) throw mismatch('amount differs from the packet');
}

function checkPacketCondition(decoded: DecodedPacket, condition: Buffer): void {
  if (decoded.condition !== undefined && !timingSafeEqual(decoded.condition, condition)) {
    throw mismatch('packet condition differs from condition');
  }
}

export interface PreparedTransfer {
  readonly transferId: string;
  /** payeeFsp of the body. */
  readonly payee: string;
  readonly condition: string;
  readonly expiresAt: number;
  /** DFSP role: when the quote inside the packet expires (epoch ms). */
  readonly quoteExpiresAt?: number;
  /** DFSP role: the quote id inside the packet this DFSP issued, when it carries one. */
  readonly quoteId?: string;
  readonly decoded: DecodedPacket;
}

/**
 * The payee FSP of a prepare: the body member `field` (payeeFsp, counterPartyFsp), which must equal
 * FSPIOP-Destination when that header is sent. Recorded at prepare time; only it may fulfil.
 */
function payeeOf(body: JsonObject, field: 'payeeFsp' | 'counterPartyFsp', destination: string | undefined): string {
  const p = requiredString(body[field], field, 'GW_ILP_PACKET_MISMATCH');
  if (destination !== undefined && destination !== '' && destination !== p) throw mismatch(`${field} differs from FSPIOP-Destination`);
  return p;
}

/** What a hub prepare is checked against besides its body: the clock, the expiration bound and its headers. */
export interface PrepareContext {
  readonly now: number;
  /** ILP_TRANSFER_MAX_TTL_SECONDS: how far ahead an expiration may lie. */
  readonly maxAheadSeconds: number;
  /** FSPIOP-Destination, when sent: the payee (counter-party FXP) must be it. */
  readonly destination?: string;
  /** FSPIOP-Source: the payer (initiating FSP) must be it. */
  readonly source?: string;
}

/**
 * The payer FSP of a prepare: the body member `field` (payerFsp, initiatingFsp), which must equal FSPIOP-Source
 * when that header is sent (it always is: src/fspiop/headers.ts requires it, and src/http/stages.ts binds it to
 * the certificate unless a TRUSTED_PROXY_PEERS relay forwards it unchanged). The ledger debits this member, and
 * central-ledger's own Source = payer check does not run for every route (transfers through a proxy), so the
 * hub's ILP stage binds it whatever IDENTITY_CHECK says: a DFSP holding a payee's packet and condition cannot
 * prepare the transfer in another payer's name (docs/security.md class 11).
 */
function checkPayer(body: JsonObject, field: 'payerFsp' | 'initiatingFsp', source: string | undefined): void {
  const p = requiredString(body[field], field, 'GW_ILP_PACKET_MISMATCH');
  if (source !== undefined && source !== '' && source !== p) throw mismatch(`${field} differs from FSPIOP-Source`);
}

function transferIdOf(body: JsonObject): string {
  return requiredString(body.transferId, 'transferId', 'GW_ILP_PACKET_MISMATCH');
}

/**
 * Hub role, POST /transfers: condition form, expiration in the future (and within the bound), packet of the peer's version,
 * for v4 the packet condition equals the body condition, and the packet amount equals the body amount.
 */
export function checkHubPrepare(body: JsonObject, version: IlpVersion, at: PrepareContext): PreparedTransfer {
  const transferId = transferIdOf(body);
  const payee = payeeOf(body, 'payeeFsp', at.destination);
  checkPayer(body, 'payerFsp', at.source);
  const cond = conditionBytes(body.condition);
  const expiresAt = futureExpiration(body.expiration, at.now, at.maxAheadSeconds);
  const decoded = decodePacket(body.ilpPacket, version);
  checkPacketCondition(decoded, cond);
  checkPacketParties(decoded, body);
  checkTransactionAmount(decoded, body.amount);
  checkAmount(decoded, body.amount);
  return { transferId, payee, condition: cond.toString('base64url'), expiresAt, decoded };
}

/**
 * Hub role: the payer FSP the packet's transaction names, when it names one, is the body's payerFsp (as the DFSP
 * role's checkAgainstIssued holds it). Without it, a DFSP that got hold of another payer's packet could prepare it
 * in its own name and use up that payer's quote at the hub (fourth review of 2026-12-01); the payee refuses such a
 * transfer, but only after the hub has claimed the quote. The payee is not compared: an intermediary that answers
 * quotes in its own name (the SDK's USE_QUOTE_SOURCE_FSP_AS_TRANSFER_PAYEE_FSP) is the transfer's payeeFsp while
 * the packet names the payee it looked up (fifth review).
 */
function checkPacketParties(decoded: DecodedPacket, body: JsonObject): void {
  const payer = pick(decoded.transaction, ['payer', 'partyIdInfo', 'fspId']);
  if (payer !== undefined && payer !== body.payerFsp) throw mismatch('payerFsp differs from the packet');
}

/** What the hub keeps of a payee's PUT /quotes/{ID}: the condition it issued and a digest of its packet. */
export interface IssuedQuote {
  readonly c: string;
  readonly h: string;
  /**
   * Set when the payee answered this quote inside a bulk quote (its id): the record then only reserves the quote id
   * for that bulk quote, so that one quote is answered in one place (src/ilp/middleware.ts bulkQuoteIssued).
   */
  readonly b?: string;
  /** When the quote expires (epoch ms): how long its one-use mark must live. Records of an earlier version may lack it. */
  readonly x?: number;
}
const packetDigest = (packet: string): string => createHash('sha256').update(packet, 'utf8').digest('base64url');

/**
 * Hub role, PUT /quotes/{ID} from the payee (quote binding): the packet decodes and names this quote, and a
 * v4 packet's condition is the body's. Returns what to keep and when the quote expires. Every answer's expiration
 * (here, bulk and FX alike) is checked as a transfer's, at most `limit` ahead (the lower of ILP_QUOTE_MAX_TTL_SECONDS and ILP_TRANSFER_MAX_TTL_SECONDS):
 * the answer's record lives that long and its use mark until then, so no answer can renew a quote while it runs
 * (reviews of 2026-12-01).
 */
export function checkHubQuoteResponse(body: JsonObject, quoteId: string, now: number, limit: AheadLimit): { issued: IssuedQuote; expiresAt: number } {
  const decoded = decodePacket(body.ilpPacket);
  const cond = conditionBytes(body.condition);
  checkPacketCondition(decoded, cond);
  if (decoded.transaction.quoteId !== quoteId) throw mismatch('the packet names another quote');
  const expiresAt = futureExpiration(has(body, 'expiration') ? body.expiration : decoded.transaction.expiration, now, limit.seconds, limit.setting);
  return { issued: { c: cond.toString('base64url'), h: packetDigest(body.ilpPacket as string), x: expiresAt }, expiresAt };
}

/** The quote a prepared transfer's packet names (the only link from a transfer to its quote). */
export function quoteIdOf(p: PreparedTransfer): string {
  const q = p.decoded.transaction.quoteId;
  if (typeof q !== 'string' || q === '') throw mismatch('the packet names no quote');
  return q;
}

/** A stored answer, parsed: none → 3205 GW_ILP_QUOTE_UNKNOWN (`unknown` says why), unreadable → 2003. */
function storedAnswer<T>(stored: string | undefined, unknown: string, what: string): T {
  if (stored === undefined) throw new GatewayError('GW_ILP_QUOTE_UNKNOWN', { detail: unknown });
  try {
    return JSON.parse(stored) as T;
  } catch (cause) {
    throw new GatewayError('GW_STORE_UNAVAILABLE', { detail: `${what} unreadable`, cause });
  }
}

/**
 * Hub role, POST /transfers with quote binding: the condition and packet are the ones the payee issued for the
 * quote the packet names (`stored`, read under that quote id and the transfer's payee).
 */
export function checkIssuedByPayee(p: PreparedTransfer, packet: string, stored: string | undefined): IssuedQuote {
  const issued = storedAnswer<IssuedQuote>(stored, "the payee answered no quote with this packet's quoteId through this gateway", 'quote record');
  if (issued.b !== undefined) throw new GatewayError('GW_ILP_QUOTE_UNKNOWN', { detail: 'the payee answered this quote inside a bulk quote' });
  if (issued.c !== p.condition || issued.h !== packetDigest(packet)) throw mismatch('condition and packet are not the ones the payee issued for this quote');
  return issued;
}

/**
 * The conversion terms an fxTransfer must repeat (FSPIOP API 2.0 FxTransfer against the FxQuote's ConversionTerms):
 * the two FSPs, both amounts and, when the terms name one, the determining transfer. The same members in ISO 20022
 * mode through Message.view (pacs.092 and pacs.009 map them alike: src/fspiop/iso20022.ts CONVERSION).
 */
export interface ConversionTerms {
  readonly initiatingFsp?: unknown;
  readonly counterPartyFsp?: unknown;
  readonly sourceAmount?: unknown;
  readonly targetAmount?: unknown;
  readonly determiningTransferId?: unknown;
}

/** The members of ConversionTerms an fxTransfer is compared with, and nothing else of them. */
const termsOf = (t: JsonObject | undefined): ConversionTerms => ({
  initiatingFsp: t?.initiatingFsp,
  counterPartyFsp: t?.counterPartyFsp,
  sourceAmount: t?.sourceAmount,
  targetAmount: t?.targetAmount,
  determiningTransferId: t?.determiningTransferId,
});

/** An fxTransfer body against the conversion terms it executes: FSPs exactly, amounts numerically. */
function checkConversionTerms(body: JsonObject, terms: ConversionTerms | undefined): void {
  if (body.initiatingFsp !== terms?.initiatingFsp) throw mismatch('initiatingFsp differs from the conversion terms');
  if (body.counterPartyFsp !== terms?.counterPartyFsp) throw mismatch('counterPartyFsp differs from the conversion terms');
  if (!sameAmount(body.sourceAmount, terms?.sourceAmount)) throw mismatch('sourceAmount differs from the conversion terms');
  if (!sameAmount(body.targetAmount, terms?.targetAmount)) throw mismatch('targetAmount differs from the conversion terms');
  if (typeof terms?.determiningTransferId === 'string' && body.determiningTransferId !== terms.determiningTransferId) {
    throw mismatch('determiningTransferId differs from the conversion terms');
  }
}

/** What the hub keeps of an FXP's PUT /fxQuotes/{ID}: the condition it issued and the terms it issued it for. */
export interface IssuedFxQuote {
  readonly c: string;
  readonly t: ConversionTerms;
  /** When the conversion terms expire (epoch ms), when known: how long the fxTransfer's record must live. */
  readonly x?: number;
}

/** Hub role, PUT /fxQuotes/{ID} from the FXP (quote binding): the conversion it answers, the condition and the terms it issued. */
export function checkHubFxQuoteResponse(body: JsonObject, now: number, limit: AheadLimit): { conversionId: string; issued: IssuedFxQuote; expiresAt: number } {
  const conversionId = requiredString(pick(body, ['conversionTerms', 'conversionId']), 'conversionTerms.conversionId', 'GW_BODY_MALFORMED');
  const condition = conditionBytes(body.condition).toString('base64url');
  const terms = body.conversionTerms as JsonObject;
  const expiresAt = futureExpiration(terms.expiration, now, limit.seconds, limit.setting);
  return { conversionId, issued: { c: condition, t: termsOf(terms), x: expiresAt }, expiresAt };
}

/**
 * Hub role, POST /fxTransfers with quote binding: the condition is the one the FXP issued for this conversion,
 * and the transfer repeats the terms it was issued for, so that the payer cannot execute the FXP's condition at
 * a rate or for amounts of its own making. A record of an earlier version holds the condition alone (a bare
 * string): checked as such until it expires (at most ILP_QUOTE_MAX_TTL_SECONDS after an upgrade). Returns what the
 * record says of the terms' expiration.
 */
export function checkFxIssuedByFxp(body: JsonObject, condition: string, stored: string | undefined): { readonly x?: number } {
  if (stored === undefined)
    throw new GatewayError('GW_ILP_QUOTE_UNKNOWN', { detail: 'the FXP answered no FX quote for this commitRequestId through this gateway' });
  let issued: IssuedFxQuote | undefined;
  if (stored.startsWith('{')) {
    try {
      issued = JSON.parse(stored) as IssuedFxQuote;
    } catch (cause) {
      throw new GatewayError('GW_STORE_UNAVAILABLE', { detail: 'FX quote record unreadable', cause });
    }
  }
  if ((issued?.c ?? stored) !== condition) throw mismatch('condition is not the one the FXP issued for this conversion');
  if (issued === undefined) return {};
  checkConversionTerms(body, issued.t);
  return issued;
}

/** FSPIOP API Definition 1.1 §7.4 (BulkTransfer): individualTransfers and individualTransferResults hold 1..1000 items. */
const MAX_BULK_ITEMS = 1000;

/** The items of a bulk list, each a JSON object; 1..MAX_BULK_ITEMS of them. */
export function bulkItems(
  body: JsonObject,
  member: 'individualQuotes' | 'individualTransfers' | 'individualTransferResults' | 'individualQuoteResults',
): JsonObject[] {
  const a = body[member];
  if (!Array.isArray(a) || a.length === 0 || a.length > MAX_BULK_ITEMS || !a.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
    throw new GatewayError('GW_BODY_MALFORMED', { detail: `${member} must hold 1 to ${MAX_BULK_ITEMS} objects` });
  }
  return a as JsonObject[];
}

/**
 * Hub role, POST /bulkTransfers: every individual transfer passes the POST /transfers checks with the bulk's
 * payer, payee and expiration, and no transfer id repeats.
 */
export function checkHubBulkPrepare(
  body: JsonObject,
  version: IlpVersion,
  at: PrepareContext,
): { bulkId: string; payee: string; expiresAt: number; transfers: PreparedTransfer[] } {
  const bulkId = requiredString(body.bulkTransferId, 'bulkTransferId', 'GW_BODY_MALFORMED');
  const transfers = bulkItems(body, 'individualTransfers').map((it) =>
    checkHubPrepare(
      {
        transferId: it.transferId,
        payerFsp: body.payerFsp,
        payeeFsp: body.payeeFsp,
        amount: it.transferAmount,
        ilpPacket: it.ilpPacket,
        condition: it.condition,
        expiration: body.expiration,
      },
      version,
      at,
    ),
  );
  if (new Set(transfers.map((t) => t.transferId)).size !== transfers.length)
    throw new GatewayError('GW_BODY_MALFORMED', { detail: 'a transferId repeats in the bulk' });
  return { bulkId, payee: transfers[0]!.payee, expiresAt: transfers[0]!.expiresAt, transfers };
}

/**
 * What the hub keeps of a payee's PUT /bulkQuotes/{ID}: for each individual quote it issued, the condition and a
 * digest of the packet (`i`, condition → digest), and when the bulk quote expires (`x`, epoch ms, when known).
 */
export interface IssuedBulkQuote {
  readonly i: Readonly<Record<string, string>>;
  readonly x?: number;
}

/**
 * Hub role, PUT /bulkQuotes/{ID} from the payee (quote binding): every individual result that carries a packet or a
 * condition carries both, its packet decodes and names that result's quoteId (sdk-scheme-adapter builds each with
 * getQuoteResponseIlp for the individual quote: src/lib/model/InboundTransfersModel.js bulkQuoteRequest), a v4
 * packet's condition is the result's. Results without either (an errorInformation, fees
 * only) issue nothing; an answer that issues nothing returns undefined (nothing to keep). `individualQuoteResults` holds 0..1000 results (API Definition 2.0 BulkQuotesIDPutResponse).
 */
export function checkHubBulkQuoteResponse(
  body: JsonObject,
  now: number,
  limit: AheadLimit,
): { issued: IssuedBulkQuote; expiresAt: number; items: { quoteId: string; c: string; h: string }[] } | undefined {
  const i: Record<string, string> = {};
  const items: { quoteId: string; c: string; h: string }[] = [];
  const list = body.individualQuoteResults;
  const results = list === undefined || list === null || (Array.isArray(list) && list.length === 0) ? [] : bulkItems(body, 'individualQuoteResults');
  for (const [k, r] of results.entries()) {
    if (!has(r, 'ilpPacket') && !has(r, 'condition')) continue;
    const quoteId = requiredString(r.quoteId, `individualQuoteResults[${k}].quoteId`, 'GW_BODY_MALFORMED');
    const decoded = decodePacket(r.ilpPacket);
    const cond = conditionBytes(r.condition);
    checkPacketCondition(decoded, cond);
    if (decoded.transaction.quoteId !== quoteId) throw mismatch(`individualQuoteResults[${k}]: the packet names another quote`);
    const item = { quoteId, c: cond.toString('base64url'), h: packetDigest(r.ilpPacket as string) };
    i[item.c] = item.h;
    items.push(item);
  }
  if (items.length === 0) return undefined;
  const expiresAt = futureExpiration(body.expiration, now, limit.seconds, limit.setting);
  return { issued: { i, x: expiresAt }, expiresAt, items };
}

/**
 * Hub role, POST /bulkTransfers with quote binding: every individual transfer carries a condition and packet the
 * payee issued in its answer to the bulk quote the bulk names (`stored`, read under bulkQuoteId and the payee),
 * and no two carry the same one (one individual quote, one transfer → 3106). `packets` are the items' packets,
 * in the order of `transfers`.
 */
export function checkBulkIssuedByPayee(transfers: readonly PreparedTransfer[], packets: readonly string[], stored: string | undefined): IssuedBulkQuote {
  const issued = storedAnswer<IssuedBulkQuote>(stored, 'the payee answered no bulk quote with this bulkQuoteId through this gateway', 'bulk quote record');
  const seen = new Set<string>();
  for (const [k, t] of transfers.entries()) {
    const digest = issued.i !== null && typeof issued.i === 'object' && Object.hasOwn(issued.i, t.condition) ? issued.i[t.condition] : undefined;
    if (digest === undefined || digest !== packetDigest(packets[k]!))
      throw mismatch(`individualTransfers[${k}]: condition and packet are not ones the payee issued for this bulk quote`);
    if (seen.has(t.condition)) throw new GatewayError('GW_ILP_CONDITION_USED', { detail: "two items carry one individual quote's condition" });
    seen.add(t.condition);
  }
  return issued;
}

/**
 * Hub role, POST /fxTransfers (FSPIOP 2.0): the body carries no packet, so condition form and expiration
 * are all there is to check.
 */
export function checkHubFxPrepare(body: JsonObject, at: PrepareContext): { id: string; payee: string; condition: string; expiresAt: number } {
  const id = requiredString(body.commitRequestId, 'commitRequestId', 'GW_BODY_MALFORMED');
  const payee = payeeOf(body, 'counterPartyFsp', at.destination);
  checkPayer(body, 'initiatingFsp', at.source);
  const cond = conditionBytes(body.condition);
  return { id, payee, condition: cond.toString('base64url'), expiresAt: futureExpiration(body.expiration, at.now, at.maxAheadSeconds) };
}

/**
 * Hub role, a POST whose id was already prepared (save nx refused): `existing` is what the store holds.
 * An identical resend (same payee, condition and expiration; or, once fulfilled, the same condition)
 * passes as the duplicate Mojaloop treats it as; anything else is refused, and the record is never touched.
 */
export function checkHubResend(existing: string | undefined, prepared: HubTransferRecord): void {
  const dup = () => new GatewayError('GW_ILP_TRANSFER_DUPLICATE', { detail: 'transfer id already prepared with other terms' });
  if (existing === undefined) throw new GatewayError('GW_ILP_TRANSFER_DUPLICATE', { detail: 'transfer record ended while it was compared; retry' }); // fail closed, the sender may retry
  if (isUsedTombstone(existing)) {
    if (!isTombstoneOf(existing, prepared.c)) throw dup();
    return;
  }
  const r = parseHubRecord(existing);
  if (r.p !== prepared.p || r.c !== prepared.c || r.e !== prepared.e) throw dup();
}

/**
 * Hub role, PUT /transfers/{ID} and PUT /fxTransfers/{ID}: judges what the atomic take returned (the take
 * consumed the record only if it belongs to `source`). Unknown → 3208, already used → 3106, from another
 * FSP than the payee → 3100 (nothing consumed), past expiration → 3303, SHA-256(fulfilment) ≠ condition
 * → 3100 invalid fulfilment.
 */
export function checkHubFulfil(taken: string | undefined, fulfilment: Buffer, now: number, source: string | undefined): void {
  if (taken === undefined) throw new GatewayError('GW_ILP_TRANSFER_UNKNOWN', { detail: 'no condition stored for this transfer' });
  if (isUsedTombstone(taken)) throw new GatewayError('GW_ILP_FULFILMENT_REUSED', { detail: 'transfer already fulfilled' });
  const record = parseHubRecord(taken);
  if (source === undefined || record.p !== source) throw new GatewayError('GW_ILP_NOT_PAYEE', { detail: 'fulfilment not from the payee of this transfer' });
  if (now >= record.e) throw new GatewayError('GW_ILP_TRANSFER_EXPIRED', { detail: 'fulfilment after expiration' });
  const cond = decode32(record.c);
  if (cond === undefined || !fulfils(fulfilment, cond)) throw new GatewayError('GW_ILP_FULFILMENT_INVALID', { detail: 'invalid fulfilment' });
}

/**
 * Hub role, an abort (PUT …/{ID} ABORTED without a fulfilment) or an error callback (PUT …/{ID}/error):
 * only the payee recorded at prepare time may end a transfer, as only it may fulfil one; nothing is
 * consumed. An unknown id (never prepared here, or expired) and a fulfilled one are refused.
 */
export function checkHubAbort(stored: string | undefined, source: string | undefined): void {
  if (stored === undefined) throw new GatewayError('GW_ILP_TRANSFER_UNKNOWN', { detail: 'no transfer prepared under this id' });
  if (isUsedTombstone(stored)) throw new GatewayError('GW_ILP_FULFILMENT_REUSED', { detail: 'transfer already fulfilled' });
  if (source === undefined || parseHubRecord(stored).p !== source)
    throw new GatewayError('GW_ILP_NOT_PAYEE', { detail: 'only the payee of this transfer may abort it' });
}

/**
 * DFSP (payee) role, POST /transfers: the condition must be one this DFSP issued (the HMAC of the packet
 * under one of the keyring's secrets), the quote inside it unexpired (3302), and the packet must agree
 * with the body (payer, payee, amount, currency). Returns the record to keep for the commit.
 */
export function checkDfspTransfer(body: JsonObject, version: IlpVersion, keyring: IlpKeyring, now: number, maxAheadSeconds: number): PreparedTransfer {
  const transferId = transferIdOf(body);
  const cond = conditionBytes(body.condition);
  const expiresAt = futureExpiration(body.expiration, now, maxAheadSeconds);
  const decoded = decodePacket(body.ilpPacket, version);
  checkPacketCondition(decoded, cond);
  if (keyring.find(fulfilmentMessage(body.ilpPacket as string, decoded), cond) === undefined) {
    throw mismatch('condition was not issued by this DFSP');
  }
  const quoteExpiry = checkAgainstIssued(decoded, body, body.amount, now);
  const quoteId = issuedQuoteId(decoded);
  return {
    transferId,
    payee: body.payeeFsp as string,
    condition: cond.toString('base64url'),
    expiresAt,
    quoteExpiresAt: quoteExpiry,
    ...(quoteId === undefined ? {} : { quoteId }),
    decoded,
  };
}

/** The quote id of the transaction inside a packet this DFSP issued (getQuoteResponseIlp puts it there), if any. */
function issuedQuoteId(decoded: DecodedPacket): string | undefined {
  const q = decoded.transaction.quoteId;
  return typeof q === 'string' && q.length > 0 ? q : undefined;
}

/**
 * DFSP role: a transfer (single, or an item of a bulk with the bulk's parties) against the packet this DFSP issued
 * for it: the quote unexpired (3302), the payer and payee those of the packet, the amount and currency those it
 * agreed (3100). Returns the quote's expiration (undefined for SDK 17.x packets without one).
 */
function checkAgainstIssued(decoded: DecodedPacket, parties: JsonObject, amount: unknown, now: number): number | undefined {
  const tx = decoded.transaction;
  const quoteExpiry = unexpiredQuote(tx, now);
  if (parties.payeeFsp !== pick(tx, ['payee', 'partyIdInfo', 'fspId'])) throw mismatch('payeeFsp differs from the packet');
  if (parties.payerFsp !== pick(tx, ['payer', 'partyIdInfo', 'fspId'])) throw mismatch('payerFsp differs from the packet');
  checkTransactionAmount(decoded, amount);
  checkAmount(decoded, amount);
  return quoteExpiry;
}

/**
 * The expiration of the quote inside a packet this DFSP issued, refused (3302) when it has passed or does not
 * parse. sdk-standard-components 17.x leaves `expiration` out of the transaction object (src/lib/ilp/index.js
 * getQuoteResponseIlp): undefined then, and the quote's life is the stored quote record's (see dfspIlpInbound).
 */
function unexpiredQuote(tx: JsonObject, now: number): number | undefined {
  if (tx.expiration === undefined) return undefined;
  const at = parseDateTime(tx.expiration);
  if (at === undefined || at <= now) throw new GatewayError('GW_ILP_QUOTE_EXPIRED', { detail: 'quote expired' });
  return at;
}

/** A packet this DFSP issued (a keyring secret shared with the backend) in an answer, with its quote. */
export interface IssuedAnswerPacket {
  readonly condition: string;
  readonly quoteId: string;
  /** The quote expiration inside the packet (epoch ms; NaN when it does not parse), undefined when it has none. */
  readonly expiresAt: number | undefined;
}

/**
 * DFSP role, an answer its backend sent with a packet already in it (PUT /quotes/{ID}, or an individualQuoteResults
 * item of PUT /bulkQuotes/{ID}): the condition, quote id and quote expiration when the packet is one this DFSP issued
 * (a keyring secret shared with the backend) and names its quote; otherwise undefined (a packet of the backend's own
 * secret is left to what checks the transfer). Without an expiration of its own, the answer must date it.
 */
export function issuedAnswer(item: JsonObject, version: IlpVersion, keyring: IlpKeyring): IssuedAnswerPacket | undefined {
  if (typeof item.ilpPacket !== 'string' || typeof item.condition !== 'string') return undefined;
  const cond = decode32(item.condition);
  if (cond === undefined) return undefined;
  let decoded: DecodedPacket;
  try {
    decoded = decodePacket(item.ilpPacket, version);
  } catch {
    return undefined;
  }
  const { quoteId, expiration } = decoded.transaction;
  if (typeof quoteId !== 'string') return undefined;
  if (keyring.find(fulfilmentMessage(item.ilpPacket, decoded), cond) === undefined) return undefined;
  return { condition: cond.toString('base64url'), quoteId, expiresAt: expiration === undefined ? undefined : (parseDateTime(expiration) ?? Number.NaN) };
}

/**
 * DFSP role: when the quote of a packet without a quote expiration expires, from the answer that issued it (its
 * `issuedAnswerKey` record, written only by the payee's side). None (the answer never passed this gateway, or its record
 * ended), or an expiration passed → 3302; answered in another bulk quote than `bulkQuoteId` → 3100. (The record is found
 * by the condition, which only the packet it was written for has: its quote is the packet's.)
 */
export function answeredQuoteExpiry(record: IssuedAnswerRecord | undefined, bulkQuoteId: unknown, now: number): number {
  if (record === undefined || record.x <= now)
    throw new GatewayError('GW_ILP_QUOTE_EXPIRED', {
      detail: 'quote expired (its packet carries no expiration, and the answer that issued it has expired or never passed this gateway)',
    });
  if (record.b !== undefined && record.b !== bulkQuoteId) throw mismatch('the quote was answered in another bulk quote');
  return record.x;
}

/** A bulk transfer's item that carries a condition this DFSP issued (a quote it answered, or its backend under a shared secret). */
export interface IssuedBulkItem {
  readonly transferId: string;
  readonly condition: string;
  /** When the quote inside the packet expires (epoch ms); undefined for packets without one (SDK 17.x, the SDK's bulk quotes). */
  readonly quoteExpiresAt?: number;
  /** The quote id inside the packet, when it carries one. */
  readonly quoteId?: string;
}

/**
 * DFSP role, inbound POST /bulkTransfers: the bulk's expiration (as a single transfer's: a DateTime in the future,
 * within ILP_TRANSFER_MAX_TTL_SECONDS, else 3100) and the items whose packet and condition this DFSP issued (HMAC
 * under a keyring secret), each checked as POST /transfers is (checkAgainstIssued, with the bulk's payer and payee
 * and the item's transferAmount), so that neither "one quote serves one transfer" nor the quote's terms can be
 * walked around through a bulk (issued items include the SDK's bulk quotes when it shares the keyring's secret). Any
 * other item (a backend's own bulk quote under a secret of its own, a packet of another version or form) is left to
 * the backend as before; an item without a packet or with a condition not in the IlpCondition form → 3100.
 */
export function checkDfspBulk(
  body: JsonObject,
  version: IlpVersion,
  keyring: IlpKeyring,
  now: number,
  maxAheadSeconds: number,
): { items: IssuedBulkItem[]; expiresAt: number } {
  const expiresAt = futureExpiration(body.expiration, now, maxAheadSeconds);
  const out: IssuedBulkItem[] = [];
  for (const it of bulkItems(body, 'individualTransfers')) {
    // Every item carries a packet and a condition (API Definition 2.0 IndividualTransfer), the condition in its one
    // form (IlpCondition: 43 base64url characters), whoever issued it: one in another form was passed to the backend
    // as "not issued", and a backend reading it leniently could take it for a quote this DFSP issued.
    const ilpPacket = requiredString(it.ilpPacket, 'individualTransfers[].ilpPacket', 'GW_ILP_PACKET_MALFORMED');
    const cond = conditionBytes(it.condition);
    let decoded: DecodedPacket;
    try {
      decoded = decodePacket(ilpPacket, version);
    } catch {
      // Not in the form this DFSP issues. A payee SDK that decodes leniently (Buffer.from(…, 'base64')) and
      // derives a v4 fulfilment from the packet's data would still fulfil an issued quote sent in another
      // alphabet, with padding or as the other version: refused, so no bulk goes around one-use that way.
      if (issuedInAnotherForm(ilpPacket, cond, keyring)) throw anotherForm();
      continue; // not a packet this DFSP could have issued
    }
    if (keyring.find(fulfilmentMessage(ilpPacket, decoded), cond) === undefined) {
      // A v4 packet whose data holds the issued transaction re-encoded (whitespace or escapes in its JSON, padding in
      // its data) decodes, but is not the packet this DFSP issued; the SDK reads it as the issued one (seventh review).
      if (issuedInAnotherForm(ilpPacket, cond, keyring)) throw anotherForm();
      continue;
    }
    const transferId = requiredString(it.transferId, 'individualTransfers[].transferId', 'GW_BODY_MALFORMED');
    const quoteExpiresAt = checkAgainstIssued(decoded, body, it.transferAmount, now);
    const quoteId = issuedQuoteId(decoded);
    out.push({
      transferId,
      condition: cond.toString('base64url'),
      ...(quoteExpiresAt === undefined ? {} : { quoteExpiresAt }),
      ...(quoteId === undefined ? {} : { quoteId }),
    });
  }
  return { items: out, expiresAt };
}

const anotherForm = () => new GatewayError('GW_ILP_PACKET_MALFORMED', { detail: 'an item carries a packet this DFSP issued, in another form or version' });

/**
 * Whether `text`, read leniently (either base64 alphabet, padding) and as either version, is a packet `keyring` issued
 * for `cond`; or, as v4, whether the transaction its data holds is, read the way sdk-standard-components derives a v4
 * fulfilment (sdkV4Message).
 */
function issuedInAnotherForm(text: string, cond: Buffer, keyring: IlpKeyring): boolean {
  const sdk = sdkV4Message(text);
  if (sdk !== undefined && keyring.find(sdk, cond) !== undefined) return true;
  const canonical = Buffer.from(text, 'base64').toString('base64url');
  try {
    const decoded = decodePacket(canonical);
    return keyring.find(fulfilmentMessage(canonical, decoded), cond) !== undefined;
  } catch {
    return false;
  }
}

/**
 * DFSP role, outbound PUT /transfers/{ID} committing without a fulfilment: the fulfilment of the stored
 * packet under whichever secret issued its condition.
 */
export function deriveFulfilment(record: DfspTransferRecord, keyring: IlpKeyring): string {
  const decoded = decodePacket(record.p);
  const cond = decode32(record.c);
  const f = cond && keyring.find(fulfilmentMessage(record.p, decoded), cond);
  if (!f) throw new GatewayError('GW_ILP_NO_SECRET', { detail: 'no ILP secret derives this condition' });
  return f.toString('base64url');
}

const sameAmount = (a: unknown, b: unknown): boolean => {
  if (pick(a, ['currency']) !== pick(b, ['currency'])) return false;
  const x = normaliseAmount(pick(a, ['amount']));
  return x !== undefined && x === normaliseAmount(pick(b, ['amount']));
};

/**
 * DFSP role with an FXP behind it, inbound POST /fxTransfers (FSPIOP 2.0), first half, before any store
 * access: commitRequestId present, condition form, expiration in the future (and within the bound). Returns the id and the condition bytes.
 */
export function checkFxpTransferForm(body: JsonObject, now: number, maxAheadSeconds: number): { id: string; condition: Buffer; expiresAt: number } {
  const id = requiredString(body.commitRequestId, 'commitRequestId', 'GW_BODY_MALFORMED');
  const condition = conditionBytes(body.condition);
  const expiresAt = futureExpiration(body.expiration, now, maxAheadSeconds);
  return { id, condition, expiresAt };
}

/**
 * Second half: the body carries no packet, so the condition must be the one this gateway attached to the
 * PUT /fxQuotes whose conversionId is the commitRequestId (`stored`, read from the store; `condition` from the
 * first half), the conversion
 * terms unexpired (3302), and the body must agree with the terms inside the issued packet (FSPs, source
 * and target amounts, determining transfer).
 */
export function checkFxpTransfer(body: JsonObject, condition: Buffer, stored: string | undefined, now: number): void {
  if (stored === undefined)
    throw new GatewayError('GW_ILP_QUOTE_UNKNOWN', { detail: 'no FX quote was answered through this gateway for this commitRequestId' });
  const record = parseDfspRecord(stored);
  const issued = decode32(record.c);
  if (issued === undefined || !timingSafeEqual(issued, condition)) throw mismatch('condition was not issued by this FXP for this conversion');
  const terms = pick(decodePacket(record.p).transaction, ['conversionTerms']) as JsonObject | undefined;
  const termsExpiry = parseDateTime(terms?.expiration);
  if (termsExpiry === undefined || termsExpiry <= now) throw new GatewayError('GW_ILP_QUOTE_EXPIRED', { detail: 'FX quote expired' });
  checkConversionTerms(body, termsOf(terms));
}
