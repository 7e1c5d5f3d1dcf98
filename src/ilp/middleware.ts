// The ILP stage of both pipelines (docs/ilp.md). Runs after JWS verification (inbound) / before signing
// (outbound) with `route`, `body` and `peer` set. Each ILP check makes exactly one store round trip, and the
// first also writes the message's replay record (src/store/first-use.ts); routes without ILP work never touch
// the store. The checks themselves live in checks.ts.
import { createHash, randomUUID } from 'node:crypto';
import { GatewayError, isGatewayError } from '../errors.js';
import { CONDITION_IN_PACKET } from '../fspiop/iso20022.js';
import { type Message, parseObject } from '../fspiop/message.js';
import type { GatewayContext, GatewayMiddleware } from '../http/context.js';
import { header } from '../http/context.js';
import { firstUse } from '../store/first-use.js';
import type { Store } from '../store/types.js';
import type { Telemetry } from '../telemetry/types.js';
import { nextTurn, YIELD_ABOVE_BYTES } from '../util/turns.js';
import type { BulkItemQuota } from './bulk-quota.js';
import {
  answerAheadLimit,
  answeredQuoteExpiry,
  bulkItems,
  checkBulkIssuedByPayee,
  checkDfspBulk,
  checkDfspTransfer,
  checkFxIssuedByFxp,
  checkFxpTransfer,
  checkFxpTransferForm,
  checkHubAbort,
  checkHubBulkPrepare,
  checkHubBulkQuoteResponse,
  checkHubFulfil,
  checkHubFxPrepare,
  checkHubFxQuoteResponse,
  checkHubPrepare,
  checkHubQuoteResponse,
  checkHubResend,
  checkIssuedByPayee,
  deriveFulfilment,
  fulfilmentBytes,
  issuedAnswer,
  type PrepareContext,
  parseDateTime,
  quoteIdOf,
  requiredString,
} from './checks.js';
import { conditionOf } from './crypto.js';
import type { IlpKeyring, IlpVersion } from './keyring.js';
import { buildIlp, decodePacket, fxQuoteResponseIlp } from './packet.js';
import {
  conditionUseKey,
  dfspTransferKey,
  fxpPreparedKey,
  fxpTransferKey,
  type HubTransferRecord,
  hubBulkKey,
  hubBulkQuoteKey,
  hubBulkQuoteRequestKey,
  hubBulkQuoteUseKey,
  hubFxQuoteKey,
  hubFxTransferKey,
  hubQuoteKey,
  hubQuoteUseKey,
  hubRecordText,
  hubTransferKey,
  issuedAnswerKey,
  issuedAnswerText,
  isTombstoneOf,
  isUsedTombstone,
  parseDfspRecord,
  parseHubRecord,
  parseIssuedAnswer,
  payeePrefix,
  quoteKey,
  quoteUseKey,
  usedTombstone,
} from './records.js';
import { has, type JsonObject, pick, transactionObjectOf } from './transaction.js';

/** What every ILP stage needs (each factory takes exactly these, src/stages.ts builds them from the config). */
export interface IlpOptions {
  readonly store: Store;
  readonly telemetry: Telemetry;
  /** ILP_EXPIRY_GRACE_SECONDS: how long a record outlives its expiration. */
  readonly graceSeconds: number;
  /** ILP_TRANSFER_MAX_TTL_SECONDS: the furthest ahead a transfer may expire, and the longest a record lives (plus the grace). */
  readonly transferMaxTtlSeconds: number;
  /** The ILP version a peer speaks (ILP_VERSION, ILP_VERSION_BY_PEER). */
  readonly versionFor: (fspId: string | undefined) => IlpVersion;
  /** Clock in epoch ms (tests). */
  readonly now?: () => number;
}

/** The hub keeps what payees issue for their quotes and refuses transfers that carry anything else. */
export interface HubIlpOptions extends IlpOptions {
  /** ILP_QUOTE_BINDING=enforce. */
  readonly quoteBinding: boolean;
  /** ILP_QUOTE_MAX_TTL_SECONDS: the longest a quote record is kept. */
  readonly quoteMaxTtlSeconds: number;
  /** ILP_BULK_ITEMS_MAX_PER_FSP: the bulk items each FSP's records may hold (bulk-quota.ts). */
  readonly bulkQuota: BulkItemQuota;
}

/** The DFSP (payee) role generates and recognises conditions: it has the keyring. */
export interface DfspIlpOptions extends IlpOptions {
  readonly keyring: IlpKeyring;
  /** QUOTE_EXPIRY_SECONDS: the expiration given to a quote that carries none. */
  readonly quoteExpirySeconds: number;
  /** ILP_QUOTE_MAX_TTL_SECONDS: the longest a stored quote lives, whatever the payer asked. */
  readonly quoteMaxTtlSeconds: number;
}

/**
 * One ILP check. A check that consumed state for the message (a fulfilment's hub record) returns its give-back,
 * which the stage runs when the message then certainly never reached the upstream (upstream error with
 * `context.notSent`, src/proxy/upstream.ts): the payee's resend can then be checked again instead of 3106.
 */
type Check = (c: GatewayContext, msg: JsonObject, store: Store) => Promise<GiveBack | undefined> | Promise<void>;
type GiveBack = () => Promise<unknown>;

/** The value of a settled promise, undefined when it was rejected. */
const settledValue = <T>(r: PromiseSettledResult<T>): T | undefined => (r.status === 'fulfilled' ? r.value : undefined);

/** The upstream certainly did not get the message (connection refused, unknown host, connect timeout, certificate). */
const notSent = (e: unknown): boolean => isGatewayError(e) && e.context?.notSent === true;

/**
 * Most characters of a stored quote record (ids, transaction type, payer and payee). An FSPIOP Party with
 * its name, merchant codes and a full extension list is a few kB; 16 KiB leaves room and bounds what a
 * payer can pin in the store for the quote's lifetime.
 */
const MAX_QUOTE_RECORD_CHARS = 16 * 1024;

/** message().json() for a large body, the parse in a turn of its own (docs/security.md class 10). */
async function parsedInTurns(c: GatewayContext): Promise<void> {
  await nextTurn();
  const m = c.get('message');
  m.adoptParsed(parseObject(m.text()));
}

/**
 * What the ILP checks read of a message: its FSPIOP-named members whatever the API type (Message.view), and
 * for an ISO 20022 message whose condition lives only in its ILP v4 packet (pacs.008, pacs.082), that
 * condition, so that every check is the FSPIOP one (docs/ilp.md "ISO 20022 mode").
 * @throws GatewayError GW_ILP_PACKET_MALFORMED when such a packet is not an ILPv4 Prepare.
 */
function ilpView(m: Message): JsonObject {
  const v = m.view();
  if (m.apiType !== 'iso20022' || m.template === undefined || !CONDITION_IN_PACKET.has(m.template) || !has(v, 'ilpPacket')) return v;
  return { ...v, condition: decodePacket(v.ilpPacket, '4').condition?.toString('base64url') };
}

/** ILP v4 is the only version ISO 20022 mode carries (the Prepare packet is `IlpV4PrepPacket`). */
const versionFor = (o: IlpOptions, m: Message, fspId: unknown): IlpVersion =>
  m.apiType === 'iso20022' ? '4' : o.versionFor(typeof fspId === 'string' ? fspId : undefined);

/**
 * A check's store: the one given, or, while the request still owes its replay record (src/jws/middleware.ts),
 * a view whose first operation writes that record in the same round trip (src/store/first-use.ts).
 */
function storeOf(c: GatewayContext, store: Store): Store {
  const pending = c.get('storeMark');
  return pending && !pending.claimed ? firstUse(store, pending) : store;
}

function stage(
  name: string,
  deps: { readonly store: Store; readonly telemetry: Telemetry },
  select: (c: GatewayContext, msg: () => JsonObject) => [string, Check] | undefined,
): GatewayMiddleware {
  const { telemetry } = deps;
  const named = {
    async [name](c: GatewayContext, next: () => Promise<void>) {
      const m = c.get('message');
      if (!m.parsed && m.bytes.length > YIELD_ABOVE_BYTES) await parsedInTurns(c);
      let view: JsonObject | undefined;
      const msg = () => {
        view ??= ilpView(m);
        return view;
      };
      const chosen = select(c, msg);
      let giveBack: GiveBack | undefined;
      if (chosen) {
        const [name, check] = chosen;
        const t = performance.now();
        try {
          giveBack = (await check(c, msg(), storeOf(c, deps.store))) ?? undefined;
          telemetry.ilp({ check: name, outcome: 'ok', seconds: (performance.now() - t) / 1000 });
        } catch (e) {
          // A replay, or the store failing on the replay record: reported by the JWS stage, not as this check's.
          if (c.get('storeMark')?.refusedWith(e)) throw e;
          const errorType = isGatewayError(e) ? e.code : 'GW_INTERNAL';
          telemetry.ilp({ check: name, outcome: 'failed', errorType, seconds: (performance.now() - t) / 1000 });
          throw e;
        }
      }
      await next();
      // A later stage's error is rendered by app.onError and left in c.error (src/http/stages.ts requestScope).
      // A failed give-back (store down) leaves the record spent, as before: counted by the store metrics.
      if (giveBack && notSent(c.error)) await giveBack().catch(() => {});
    },
  };
  return named[name] as GatewayMiddleware;
}

/** transferState / conversionState values with which a payee (FXP) accepts and releases the fulfilment. */
const FX_ACCEPTED: ReadonlySet<string> = new Set(['RESERVED', 'COMMITTED']);
/** The one state in which a PUT /transfers/{ID} or /fxTransfers/{ID} needs no fulfilment (the payee declines). */
const ABORTED = 'ABORTED';
/** A record's TTL: until `expiresAt` plus the grace (at least 1 s). */
const ttlUntil = (expiresAt: number, now: number, graceSeconds: number) => Math.max(1000, expiresAt - now + graceSeconds * 1000);
/**
 * The TTL of a record whose early end only makes a later step fail (a prepare, commit or fulfilment finds
 * nothing and is refused): never longer than ILP_TRANSFER_MAX_TTL_SECONDS plus the grace, however far ahead
 * the expiration it was written for lies, so no message pins state for years. Not for a one-use mark, whose
 * early end would let a second use through (the condition-use mark of dfspIlpInbound).
 */
const boundedTtl = (expiresAt: number, now: number, o: Pick<IlpOptions, 'graceSeconds' | 'transferMaxTtlSeconds'>) =>
  ttlUntil(Math.min(expiresAt, now + o.transferMaxTtlSeconds * 1000), now, o.graceSeconds);

/** A one-use mark held by another than `holder` (or its older form `legacy`) → 3106 GW_ILP_CONDITION_USED. */
function refuseIfHeldByOther(found: string | undefined, holder: string, legacy?: string): void {
  if (found !== undefined && found !== holder && found !== legacy)
    throw new GatewayError('GW_ILP_CONDITION_USED', { detail: "this quote's condition already served another transfer" });
}

/**
 * Claims the one-use mark `key` of a quote for `holder` (NX): true when this call wrote it, false when it already
 * held it (a resend); held by another → 3106. A mark that ended between the failed write and the read reads as
 * undefined: refused, never taken as free. `legacy`: the holder as an earlier version wrote it, also accepted.
 */
async function claimUse(store: Store, key: string, holder: string, ttl: number, legacy?: string): Promise<boolean> {
  if (await store.save(key, holder, ttl, 'nx')) return true;
  refuseIfHeldByOther((await store.get(key)) ?? '', holder, legacy);
  return false;
}

/** What a DFSP quote-use mark holds: the transfer id and the condition it executed the quote with. */
const quoteHolder = (p: { transferId: string; condition: string }): string => `${p.transferId} ${p.condition}`;

/**
 * What a hub quote-use mark holds: the transfer (bulk) id and the terms it was prepared with (its condition, or the
 * digest of a bulk's items, and its expiration), so that only an identical resend passes the claim. The same id
 * with other terms, racing the first or after its record has ended, would be a second execution of the quote → 3106.
 * Marks of an earlier version hold the bare id (accepted as such until they end). Review of 2026-12-01.
 */
const hubHolder = (id: string, terms: string, expiresAt: number): string => `${id} ${terms} ${expiresAt}`;

/**
 * Writes `record` under `key` unless the key holds one (NX): 'wrote' when this call wrote it, 'same' when it holds
 * this very record (a resend), 'other' when it holds another. A record that ended between the write and the read
 * is written as a first one would be, unless another got there first. The first writer wins.
 */
async function writeOnce(
  store: Store,
  key: string,
  record: string,
  ttl: number,
  same = (existing: string) => existing === record,
): Promise<'wrote' | 'same' | 'other'> {
  if (await store.save(key, record, ttl, 'nx')) return 'wrote';
  const existing = await store.get(key);
  if (existing !== undefined && same(existing)) return 'same';
  return existing === undefined && (await store.save(key, record, ttl, 'nx')) ? 'wrote' : 'other';
}

/**
 * Whether a stored answer record issues what `record` issues: the same members but its expiration (`x`). A payee
 * that answers a quote again (Mojaloop's quoting service forwards a resent POST /quotes; the SDK answers it anew)
 * stamps a fresh expiration on the same packet and condition (SDK 17.x packets carry none): that passes, and the first
 * record stands with its own expiration, so no answer prolongs a quote (sixth review of 2026-12-01).
 */
function sameAnswer(record: string): (existing: string) => boolean {
  const withoutExpiration = (text: string) => {
    const { x: _, ...issued } = JSON.parse(text) as Record<string, unknown>;
    return JSON.stringify(issued);
  };
  return (existing) => {
    try {
      return withoutExpiration(existing) === withoutExpiration(record);
    } catch {
      return false;
    }
  };
}

/**
 * Hub role, inbound: POST /transfers (/bulkTransfers, /fxTransfers) stores {payee, condition, expiration};
 * PUT …/{ID} with a fulfilment takes it atomically for the payee and validates it; an abort or error
 * callback is accepted from the payee only. The hub does nothing outbound.
 * @throws GatewayError GW_ILP_* for a failed check, GW_BODY_MALFORMED, GW_STORE_UNAVAILABLE.
 */
export function hubIlp(o: HubIlpOptions): GatewayMiddleware {
  const now = o.now ?? Date.now;
  const versionOf = (c: GatewayContext, msg: JsonObject) => versionFor(o, c.get('message'), msg.payerFsp);
  const prepareContext = (c: GatewayContext, t: number): PrepareContext => ({
    now: t,
    maxAheadSeconds: o.transferMaxTtlSeconds,
    destination: header(c, 'fspiop-destination'),
    source: header(c, 'fspiop-source'),
  });

  // NX: a resent prepare must not overwrite the record (or the 'used' tombstone) of the first one. When the id
  // is taken, a second read tells an identical resend (passes) from other terms (GW_ILP_TRANSFER_DUPLICATE).
  // Resolves true when it wrote the record, false for an identical resend.
  const saveHubRecord = async (store: Store, key: string, r: HubTransferRecord, t: number, ttl = boundedTtl(r.e, t, o)) => {
    if (await store.save(key, hubRecordText(r), ttl, 'nx')) return true;
    checkHubResend(await store.get(key), r);
    return false;
  };
  // Quote binding (ILP_QUOTE_BINDING): a payee's (FXP's) answer to a quote is kept under the quote id and its
  // own FSP id, until the quote expires (at most ILP_QUOTE_MAX_TTL_SECONDS); a prepare must carry exactly that.
  // The answer's expiration is in the future and at most answerMaxAhead (below) ahead, so the quote's use mark,
  // which lives until that expiration, always outlives the time an answer could renew the quote.
  const quoteTtl = (expiresAt: number, t: number) => Math.min(boundedTtl(expiresAt, t, o), o.quoteMaxTtlSeconds * 1000);
  // Until when a quote can be executed, for its use mark: its expiration; a record of an earlier version without one
  // could serve for ILP_QUOTE_MAX_TTL_SECONDS.
  const usableUntil = (x: number | undefined, t: number) => x ?? t + o.quoteMaxTtlSeconds * 1000;
  const answerMaxAhead = answerAheadLimit(o.quoteMaxTtlSeconds, o.transferMaxTtlSeconds);
  // The payee's first answer stands (NX): an identical resend passes, an answer with other terms (another packet, a
  // later expiration) → 3106, and an answer to a quote already executed cannot renew it once its record has ended.
  // Overwriting let a new answer outlive the quote's use mark, and a second transfer execute the same condition
  // (reviews of 2026-12-01). `records` are written NX together; `useKeys` mark the quote (and, for a bulk quote, its
  // individual quotes) executed, read beside the writes; `executed` judges what they hold. A refused answer takes back
  // what it wrote; one the upstream certainly never got gives it back when it wrote all of it (the stage runs the
  // give-back on `notSent`), so the payee's retry, with a new expiration, is recorded.
  const recordIssued = async (
    store: Store,
    records: readonly { key: string; text: string }[],
    useKeys: readonly string[],
    ttl: number,
    executed: (found: string) => boolean = () => true,
    undoCharge: () => void = () => {},
  ): Promise<GiveBack | undefined> => {
    const [settled, read] = await Promise.all([
      Promise.allSettled(records.map((r) => writeOnce(store, r.key, r.text, ttl, sameAnswer(r.text)))),
      Promise.allSettled(useKeys.map((k) => store.get(k))),
    ]);
    const mine = records.filter((_, k) => settledValue(settled[k]!) === 'wrote').map((r) => r.key);
    const takeBack = () => Promise.all(mine.map((k) => store.delete(k).catch(() => {})));
    const refuse = async (e: unknown) => {
      await takeBack();
      undoCharge();
      throw e;
    };
    // A write or read that failed (the store full or down part-way) refuses the answer, and what it wrote goes: a
    // refused answer leaves nothing behind (hostile review of 2026-12-02: a bulk refused with 2003 part-way kept
    // ~1000 records).
    const failed = [...settled, ...read].find((r) => r.status === 'rejected');
    if (failed !== undefined) await refuse(failed.reason);
    const duplicate = (detail: string) => refuse(new GatewayError('GW_ILP_QUOTE_DUPLICATE', { detail }));
    if (settled.some((r) => settledValue(r) === 'other')) await duplicate('the quote (or one of its individual quotes) was already answered with other terms');
    if (mine.length === 0) {
      undoCharge(); // an identical resend: nothing more is held
      return undefined;
    }
    if (
      read.some((r) => {
        const f = settledValue(r);
        return f !== undefined && executed(f);
      })
    )
      await duplicate('the quote was already executed; a new answer cannot renew it');
    // Given back only when this request wrote every record: part of them written by a concurrent identical answer
    // that may have reached the payer, a partial give-back would leave a bulk record without its reservations.
    return mine.length === records.length
      ? () => {
          undoCharge();
          return takeBack();
        }
      : undefined;
  };
  const quoteIssued: Check = async (c, msg, store) => {
    const source = header(c, 'fspiop-source')!;
    const quoteId = c.get('route').params[0]!;
    const t = now();
    const q = checkHubQuoteResponse(msg, quoteId, t, answerMaxAhead);
    const record = { key: hubQuoteKey(quoteId, source), text: JSON.stringify(q.issued) };
    return recordIssued(store, [record], [hubQuoteUseKey(quoteId, source)], quoteTtl(q.expiresAt, t));
  };
  // A bulk quote answer also reserves each individual quote id it answers, in the single quote's record key (`b`
  // names the bulk quote; such a record executes no single transfer): one quote is answered in one place, so the
  // one record that can execute it is the one whose expiration its use mark outlives. Answered in two places, a
  // quote's mark could end with the shorter-lived answer while the other still ran (fourth review of 2026-12-01).
  // An answer that issues nothing (no packet: the SDK's answer to GET /bulkQuotes/{ID}, errors only) is not kept.
  // POST /bulkQuotes: the hub keeps who asked whom for how many quotes, until the request's expiration (at most
  // ILP_QUOTE_MAX_TTL_SECONDS). Only the payee asked may then answer, to the payer who asked, with at most as many
  // individual quotes, and the records its answer keeps count against that payer (bulk-quota.ts): no FSP can have the
  // hub keep bulk answers nobody asked for, nor spend another FSP's share by asking it for quotes (re-review of
  // 2026-12-02). The first request stands (NX); an identical resend passes, other terms → 3106.
  const bulkQuoteRequested: Check = async (c, msg, store) => {
    const payer = header(c, 'fspiop-source')!;
    const payee = header(c, 'fspiop-destination');
    if (payee === undefined) throw new GatewayError('GW_HEADER_MISSING', { detail: 'FSPIOP-Destination (the payee asked) is required on POST /bulkQuotes' });
    const bulkQuoteId = requiredString(msg.bulkQuoteId, 'bulkQuoteId', 'GW_BODY_MALFORMED');
    const asked = bulkItems(msg, 'individualQuotes');
    const t = now();
    const proposed = msg.expiration === undefined ? undefined : parseDateTime(msg.expiration);
    const expiresAt = proposed !== undefined && proposed > t ? proposed : t + o.quoteMaxTtlSeconds * 1000;
    const ttl = quoteTtl(expiresAt, t);
    const key = hubBulkQuoteRequestKey(bulkQuoteId, payer);
    const text = JSON.stringify({ e: payee, n: asked.length, x: expiresAt });
    const undo = o.bulkQuota.charge(payer, 1, t + ttl);
    try {
      if (await store.save(key, text, ttl, 'nx')) return;
      undo();
      const stored = await store.get(key);
      const found = stored === undefined ? undefined : parseObject(stored);
      if (found?.e !== payee || found.n !== asked.length)
        throw new GatewayError('GW_ILP_QUOTE_DUPLICATE', {
          detail: 'this payer already asked a bulk quote under this bulkQuoteId, of another payee or for another number of quotes',
        });
    } catch (e) {
      undo();
      throw e;
    }
  };
  const bulkQuoteIssued: Check = async (c, msg, store) => {
    const source = header(c, 'fspiop-source')!;
    const bulkQuoteId = c.get('route').params[0]!;
    const t = now();
    const q = checkHubBulkQuoteResponse(msg, t, answerMaxAhead);
    if (q === undefined) return undefined;
    const payer = header(c, 'fspiop-destination');
    if (payer === undefined) throw new GatewayError('GW_HEADER_MISSING', { detail: 'FSPIOP-Destination (the payer who asked) is required on PUT /bulkQuotes' });
    const asked = await store.get(hubBulkQuoteRequestKey(bulkQuoteId, payer));
    const request = asked === undefined ? undefined : parseObject(asked);
    if (request === undefined)
      throw new GatewayError('GW_ILP_QUOTE_UNKNOWN', { detail: `${payer} asked no bulk quote with this bulkQuoteId through this gateway` });
    if (request.e !== source) throw new GatewayError('GW_ILP_NOT_PAYEE', { detail: 'the bulk quote was asked of another FSP' });
    if (typeof request.n !== 'number' || q.items.length > request.n)
      throw new GatewayError('GW_ILP_QUOTE_UNKNOWN', { detail: 'the answer issues more individual quotes than the payer asked for' });
    const records = [
      { key: hubBulkQuoteKey(bulkQuoteId, source), text: JSON.stringify(q.issued) },
      ...q.items.map((it) => ({ key: hubQuoteKey(it.quoteId, source), text: JSON.stringify({ c: it.c, h: it.h, x: q.expiresAt, b: bulkQuoteId }) })),
    ];
    const useKeys = [hubBulkQuoteUseKey(bulkQuoteId, source), ...q.items.map((it) => hubQuoteUseKey(it.quoteId, source))];
    const ttl = quoteTtl(q.expiresAt, t);
    // Counted, against the payer who asked, before anything is written: a bulk beyond its quota writes nothing.
    return recordIssued(store, records, useKeys, ttl, undefined, o.bulkQuota.charge(payer, records.length, t + ttl));
  };
  // An FX quote's use mark is the fxTransfer record itself (its id is the conversion's: hubFxPrepare). That id is
  // global, so only a record (or tombstone) of this very condition counts as executing this FXP's answer: another
  // FSP's fxTransfer under the same id does not make the FXP's answer fail.
  const fxQuoteIssued: Check = async (c, msg, store) => {
    const source = header(c, 'fspiop-source')!;
    const t = now();
    const q = checkHubFxQuoteResponse(msg, t, answerMaxAhead);
    const ofThisCondition = (found: string) => {
      if (isUsedTombstone(found)) return isTombstoneOf(found, q.issued.c);
      try {
        return parseHubRecord(found).c === q.issued.c;
      } catch {
        return true; // unreadable: fail closed
      }
    };
    const record = { key: hubFxQuoteKey(q.conversionId, source), text: JSON.stringify(q.issued) };
    return recordIssued(store, [record], [hubFxTransferKey(q.conversionId)], quoteTtl(q.expiresAt, t), ofThisCondition);
  };
  const hubPrepare: Check = async (c, msg, store) => {
    const t = now();
    const p = checkHubPrepare(msg, versionOf(c, msg), prepareContext(c, t));
    const key = hubTransferKey(p.transferId); // the id is checked (3101) before the quote is claimed
    const record = { p: p.payee, c: p.condition, e: p.expiresAt };
    if (o.quoteBinding) {
      // One quote, one transfer, as the payee's gateway holds it (dfspIlpInbound): the first transfer id to execute
      // the quote claims it (NX) once the quote checks have passed, until the quote or the transfer expires, whichever
      // is later; a resend of that transfer passes, another transfer (or this id with other terms) → 3106. Bulk items
      // claim the same marks (hubBulkPrepare). A claim is never given back (giving it back raced with an identical
      // resend that relied on it: reviews of 2026-12-01), so the transfer id is read beside the quote record, and a
      // prepare whose id already holds other terms is refused before it claims anything.
      const quoteId = quoteIdOf(p);
      const [stored, existing] = await Promise.all([store.get(hubQuoteKey(quoteId, p.payee)), store.get(key)]);
      if (existing !== undefined) checkHubResend(existing, record);
      const issued = checkIssuedByPayee(p, msg.ilpPacket as string, stored);
      const until = ttlUntil(Math.max(usableUntil(issued.x, t), p.expiresAt), t, o.graceSeconds);
      await claimUse(store, hubQuoteUseKey(quoteId, p.payee), hubHolder(p.transferId, p.condition, p.expiresAt), until, p.transferId);
    }
    await saveHubRecord(store, key, record, t);
  };
  const hubFxPrepare: Check = async (c, msg, store) => {
    const t = now();
    const p = checkHubFxPrepare(msg, prepareContext(c, t));
    let ttl = boundedTtl(p.expiresAt, t, o);
    if (o.quoteBinding) {
      const issued = checkFxIssuedByFxp(msg, p.condition, await store.get(hubFxQuoteKey(p.id, p.payee)));
      // The fxTransfer's id is the conversion's (commitRequestId = conversionId), so its record (and, once fulfilled,
      // its tombstone) is the conversion's one-use mark: it lives while the terms can still be executed, not only
      // until the fxTransfer's own expiration, or a second fxTransfer of the conversion would find the id free.
      ttl = Math.max(ttl, ttlUntil(usableUntil(issued.x, t), t, o.graceSeconds));
    }
    await saveHubRecord(store, hubFxTransferKey(p.id), { p: p.payee, c: p.condition, e: p.expiresAt }, t, ttl);
  };
  // One atomic step consumes the record only when it belongs to the sender (payee prefix): a fulfilment
  // from any other FSP reads it but leaves it in place, so nobody but the payee can burn a transfer.
  const hubFulfil =
    (key: (id: string) => string, stateField: 'transferState' | 'conversionState'): Check =>
    async (c, msg, store) => {
      if (!has(msg, 'fulfilment')) {
        throw new GatewayError('GW_ILP_FULFILMENT_MISSING', { detail: `fulfilment is required unless ${stateField} is ABORTED` });
      }
      const f = fulfilmentBytes(msg.fulfilment);
      const source = header(c, 'fspiop-source');
      if (source === undefined || source === '') throw new GatewayError('GW_ILP_NOT_PAYEE', { detail: 'fulfilment without FSPIOP-Source' });
      const k = key(c.get('route').params[0]!);
      const tombstone = usedTombstone(conditionOf(f), randomUUID());
      const taken = await store.take(k, tombstone, payeePrefix(source));
      checkHubFulfil(taken, f, now(), source);
      return () => store.untake(k, tombstone, taken as string);
    };
  const hubAbort =
    (key: (id: string) => string): Check =>
    async (c, _msg, store) => {
      checkHubAbort(await store.get(key(c.get('route').params[0]!)), header(c, 'fspiop-source'));
    };
  const hubTransferAbort = hubAbort(hubTransferKey);
  const hubFxAbort = hubAbort(hubFxTransferKey);
  // Bulk: the bulk record names the payee (who alone may answer the bulk) and a digest of its transfers'
  // terms (a resend with other terms is refused); each transfer has its own record under its transfer id,
  // checked and consumed exactly as a single transfer's.
  // With quote binding, a bulk executes a bulk quote as a transfer executes a quote: every item carries a packet and
  // condition the payee issued in its PUT /bulkQuotes for the bulk's bulkQuoteId; the first bulk transfer id claims
  // that bulk quote, and each item claims its individual quote's mark, the one a single transfer of that quote claims
  // (so one individual quote, answered in several bulk quotes or also as a single quote, is executed once).
  const hubBulkPrepare: Check = async (c, msg, store) => {
    const t = now();
    const b = checkHubBulkPrepare(msg, versionOf(c, msg), prepareContext(c, t));
    // Every id is checked (3101) before anything is claimed.
    const plan = bulkPlan(b);
    // Counted before anything is claimed or written (bulk-quota.ts). Given back for an identical resend (it writes
    // nothing) and for a bulk refused before its first write; once it has claimed or written, the count stays though
    // the bulk is refused, as what it wrote stays (claims are never given back, and records of a bulk refused part-way
    // live until they expire: re-review of 2026-12-02, a bulk refused for one colliding transfer id kept 999 records).
    const lastEnd = t + Math.max(...[plan.bulkRecord, ...plan.itemRecords].map((r) => boundedTtl(r.e, t, o)));
    const undo = o.bulkQuota.charge(header(c, 'fspiop-source')!, plan.itemRecords.length + 1, lastEnd);
    let claim: BulkClaim | undefined;
    try {
      if (o.quoteBinding) claim = await checkBulkQuote(store, b, plan, msg, t); // reads only
    } catch (e) {
      undo();
      throw e;
    }
    // Writes from here on: the charge stays whatever follows.
    if (claim) await claimBulkQuote(store, b, plan, claim);
    const wrote = await saveHubRecord(store, plan.bulkKey, plan.bulkRecord, t);
    await Promise.all(plan.itemRecords.map((r, k) => saveHubRecord(store, plan.itemKeys[k]!, r, t)));
    if (!wrote) undo();
  };
  type BulkPlan = {
    readonly bulkKey: string;
    readonly bulkRecord: HubTransferRecord;
    readonly itemKeys: readonly string[];
    readonly itemRecords: readonly HubTransferRecord[];
  };
  type BulkClaim = { readonly bulkQuoteId: string; readonly until: number };
  // The bulk record names the payee and a digest of its transfers' terms; each item has its own record.
  const bulkPlan = (b: ReturnType<typeof checkHubBulkPrepare>): BulkPlan => {
    const digest = createHash('sha256')
      .update(b.transfers.map((x) => `${x.transferId}:${x.condition}`).join(','))
      .digest('base64url');
    return {
      bulkKey: hubBulkKey(b.bulkId),
      bulkRecord: { p: b.payee, c: digest, e: b.expiresAt },
      itemKeys: b.transfers.map((x) => hubTransferKey(x.transferId)),
      itemRecords: b.transfers.map((x) => ({ p: x.payee, c: x.condition, e: x.expiresAt })),
    };
  };
  // As in hubPrepare, the ids are read beside the bulk quote record and refused before anything is claimed when one
  // holds other terms.
  const checkBulkQuote = async (store: Store, b: ReturnType<typeof checkHubBulkPrepare>, plan: BulkPlan, msg: JsonObject, t: number): Promise<BulkClaim> => {
    const bulkQuoteId = requiredString(msg.bulkQuoteId, 'bulkQuoteId', 'GW_BODY_MALFORMED');
    const packets = (msg.individualTransfers as JsonObject[]).map((it) => it.ilpPacket as string);
    const [stored, bulkExisting, ...itemsExisting] = await Promise.all([
      store.get(hubBulkQuoteKey(bulkQuoteId, b.payee)),
      store.get(plan.bulkKey),
      ...plan.itemKeys.map((k) => store.get(k)),
    ]);
    if (bulkExisting !== undefined) checkHubResend(bulkExisting, plan.bulkRecord);
    for (const [k, found] of itemsExisting.entries()) if (found !== undefined) checkHubResend(found, plan.itemRecords[k]!);
    const issued = checkBulkIssuedByPayee(b.transfers, packets, stored);
    return { bulkQuoteId, until: ttlUntil(Math.max(usableUntil(issued.x, t), b.expiresAt), t, o.graceSeconds) };
  };
  // Claims are never given back (a bulk refused for an individual quote another transfer holds leaves what it
  // claimed used).
  const claimBulkQuote = async (store: Store, b: ReturnType<typeof checkHubBulkPrepare>, plan: BulkPlan, claim: BulkClaim) => {
    await claimUse(store, hubBulkQuoteUseKey(claim.bulkQuoteId, b.payee), hubHolder(b.bulkId, plan.bulkRecord.c, b.expiresAt), claim.until);
    await Promise.all(
      b.transfers.map((x) =>
        claimUse(store, hubQuoteUseKey(quoteIdOf(x), x.payee), hubHolder(x.transferId, x.condition, x.expiresAt), claim.until, x.transferId),
      ),
    );
  };
  // Every fulfilment is checked first without consuming anything (read, payee, expiry, hash); only then are
  // they taken, each atomically for the payee: a bad item refuses the whole answer and burns nothing.
  const hubBulkFulfil: Check = async (c, msg, store) => {
    const source = header(c, 'fspiop-source');
    checkHubAbort(await store.get(hubBulkKey(c.get('route').params[0]!)), source);
    if (msg.individualTransferResults === undefined || msg.individualTransferResults === null) return; // a bulk-level answer only
    const results = bulkItems(msg, 'individualTransferResults');
    // A repeated id would pass the read-only checks twice and then burn the first take: refused up front.
    if (new Set(results.map((r) => r.transferId)).size !== results.length)
      throw new GatewayError('GW_BODY_MALFORMED', { detail: 'a transferId repeats in the results' });
    // Each result is a fulfilment or an error (API Definition v1.1 §7.4.14, IndividualTransferResult: the
    // fulfilment is mandatory when the transfer completed): one with neither → 3102, as a single PUT.
    const isError = (e: unknown) => e !== null && typeof e === 'object' && !Array.isArray(e) && typeof (e as JsonObject).errorCode === 'string';
    const bare = results.find((r) => !has(r, 'fulfilment') && !isError(r.errorInformation));
    if (bare)
      throw new GatewayError('GW_ILP_FULFILMENT_MISSING', {
        detail: 'an individual transfer result carries neither a fulfilment nor an errorInformation with an errorCode',
      });
    const items = results.filter((r) => has(r, 'fulfilment'));
    const checked = await Promise.all(
      items.map(async (r) => {
        const transferId = requiredString(r.transferId, 'individualTransferResults[].transferId', 'GW_BODY_MALFORMED');
        const f = fulfilmentBytes(r.fulfilment);
        const key = hubTransferKey(transferId);
        checkHubFulfil(await store.get(key), f, now(), source);
        return { key, f };
      }),
    );
    // Taken one after the other; when one fails (consumed meanwhile by a racing answer, the store down) the
    // answer is refused whole, so the ones already taken are given back.
    const taken: { key: string; tombstone: string; value: string }[] = [];
    const giveBack = () => Promise.all(taken.map((t) => store.untake(t.key, t.tombstone, t.value)));
    try {
      const prefix = payeePrefix(source!);
      for (const { key, f } of checked) {
        const tombstone = usedTombstone(conditionOf(f), randomUUID());
        const value = await store.take(key, tombstone, prefix);
        if (value?.startsWith(prefix)) taken.push({ key, tombstone, value }); // consumed (a tombstone never starts so)
        checkHubFulfil(value, f, now(), source);
      }
    } catch (e) {
      await giveBack().catch(() => {});
      throw e;
    }
    return giveBack;
  };
  const hubBulkAbort = hubAbort(hubBulkKey);
  const hubTransferFulfil = hubFulfil(hubTransferKey, 'transferState');
  const hubFxFulfil = hubFulfil(hubFxTransferKey, 'conversionState');

  return stage('hubIlp', o, (c, msg) => {
    const tpl = c.get('route').template;
    if (tpl === 'POST /transfers') return ['prepare', hubPrepare];
    if (tpl === 'PUT /quotes/{ID}' && o.quoteBinding) return ['quote_issued', quoteIssued];
    if (tpl === 'PUT /fxQuotes/{ID}' && o.quoteBinding) return ['fx_quote_issued', fxQuoteIssued];
    if (tpl === 'POST /bulkQuotes' && o.quoteBinding) return ['bulk_quote_request', bulkQuoteRequested];
    if (tpl === 'PUT /bulkQuotes/{ID}' && o.quoteBinding) return ['bulk_quote_issued', bulkQuoteIssued];
    // Every PUT but a fulfilment-less ABORTED goes through the fulfilment check (absent → 3102).
    if (tpl === 'PUT /transfers/{ID}')
      return has(msg(), 'fulfilment') || msg().transferState !== ABORTED ? ['fulfil', hubTransferFulfil] : ['abort', hubTransferAbort];
    if (tpl === 'PUT /transfers/{ID}/error') return ['abort', hubTransferAbort];
    if (tpl === 'POST /bulkTransfers') return ['bulk_prepare', hubBulkPrepare];
    if (tpl === 'PUT /bulkTransfers/{ID}') return ['bulk_fulfil', hubBulkFulfil];
    if (tpl === 'PUT /bulkTransfers/{ID}/error') return ['bulk_abort', hubBulkAbort];
    if (tpl === 'POST /fxTransfers') return ['fx_prepare', hubFxPrepare];
    if (tpl === 'PUT /fxTransfers/{ID}')
      return has(msg(), 'fulfilment') || msg().conversionState !== ABORTED ? ['fx_fulfil', hubFxFulfil] : ['fx_abort', hubFxAbort];
    if (tpl === 'PUT /fxTransfers/{ID}/error') return ['fx_abort', hubFxAbort];
    return undefined;
  });
}

/**
 * DFSP (payee) role, inbound: POST /quotes stores the needed quote fields; POST /transfers checks the
 * condition is one this DFSP issued, the quote is unexpired and the packet agrees with the body, and
 * stores the packet for the commit. FXP: POST /fxTransfers checks the condition is the one attached to the
 * PUT /fxQuotes of that conversion, the terms unexpired, and the body agrees with them.
 * @throws GatewayError GW_ILP_* for a failed check, GW_BODY_MALFORMED, GW_STORE_UNAVAILABLE.
 */
export function dfspIlpInbound(o: DfspIlpOptions): GatewayMiddleware {
  const { keyring } = o;
  const now = o.now ?? Date.now;
  const versionOf = (c: GatewayContext, msg: JsonObject) => versionFor(o, c.get('message'), msg.payerFsp);

  // Only the members the quote response needs (transactionObjectOf), never the whole body, and never
  // longer than ILP_QUOTE_MAX_TTL_SECONDS (+ grace) whatever expiration the payer asks for.
  const dfspQuote: Check = async (_c, msg, store) => {
    const quoteId = requiredString(msg.quoteId, 'quoteId', 'GW_BODY_MALFORMED');
    const t = now();
    const asked = parseDateTime(msg.expiration) ?? t + o.quoteExpirySeconds * 1000;
    const exp = Math.min(asked, t + o.quoteMaxTtlSeconds * 1000);
    const { transactionId, transactionType, payee, payer } = msg;
    const record = JSON.stringify({ quoteId, transactionId, transactionType, payee, payer });
    // The parties are the payer's to fill; what is kept for up to ILP_QUOTE_MAX_TTL_SECONDS is bounded.
    if (record.length > MAX_QUOTE_RECORD_CHARS)
      throw new GatewayError('GW_BODY_TOO_LARGE', { detail: `the quote's parties exceed ${MAX_QUOTE_RECORD_CHARS} characters` });
    // First writer wins (NX): a second POST /quotes under the same id, from whoever knows it, must not replace
    // the parties the payee's quote response (and so its packet) is built from. Mojaloop treats a resend with
    // the same content as a duplicate to answer again: an identical record passes; other terms are refused.
    if ((await writeOnce(store, quoteKey(quoteId), record, boundedTtl(exp, t, o))) !== 'other') return;
    throw new GatewayError('GW_ILP_QUOTE_DUPLICATE', { detail: 'quoteId already requested with other parties or transaction' });
  };
  // When the quote of a packet expires: the packet's own quote expiration, or for a packet without one (SDK 17.x, an
  // SDK's bulk quote, issued under a secret shared with this gateway) the expiration of the payee's answer that issued
  // it, kept by dfspIlpOutbound. Never the payer's request: a payer could ask for the quote id again once a record of
  // its request ended, and so date an expired quote anew (review of 2026-12-01). Already checked when it is the packet's.
  const quoteExpiry = async (store: Store, it: { quoteExpiresAt?: number | undefined; condition: string }, bulkQuoteId: unknown, t: number) => {
    if (it.quoteExpiresAt !== undefined) return it.quoteExpiresAt;
    const found = await store.get(issuedAnswerKey(it.condition));
    return answeredQuoteExpiry(found === undefined ? undefined : parseIssuedAnswer(found), bulkQuoteId, t);
  };
  // One quote, one transfer: the first transfer id to use an issued condition claims it (save nx) until the
  // quote and the transfer have expired; a resend of that transfer passes, another transfer id is refused.
  // The mark lives as long as the quote can still be used, never less: until the quote's expiration (the packet's,
  // or the answer's that dates it) and past the transfer's own expiration. Not bounded like the records: ending it
  // early would let a second transfer in.
  // The quote's own mark (by the quote id inside the issued packet) is claimed beside the condition's: each answer to one
  // quote issues another condition, so the condition's mark alone let a payer that asked again execute the quote once
  // per answer (hostile review of 2026-12-02). Both are claimed side by side; one held by another transfer refuses it,
  // and a mark this prepare wrote then stays (fail closed, as for a bulk).
  const claimCondition = async (
    store: Store,
    p: { transferId: string; condition: string; quoteId?: string | undefined },
    quoteExpiresAt: number,
    expiresAt: number,
    t: number,
  ) => {
    const useTtl = ttlUntil(Math.max(quoteExpiresAt, expiresAt), t, o.graceSeconds);
    // The quote's mark outlives every packet of the quote issued before it: their expirations are at most
    // ILP_QUOTE_MAX_TTL_SECONDS after their answer, so after this claim; later answers are refused while it lives
    // (dfspIlpOutbound quoteResponse). It holds the transfer id and the condition: the same transfer id under another
    // answer's packet (a bulk item, say) is another execution, not a resend (second re-review of 2026-12-02).
    const quoteTtl = ttlUntil(Math.max(quoteExpiresAt, expiresAt, t + o.quoteMaxTtlSeconds * 1000), t, o.graceSeconds);
    await Promise.all([
      claimUse(store, conditionUseKey(p.condition), p.transferId, useTtl),
      p.quoteId === undefined ? undefined : claimUse(store, quoteUseKey(p.quoteId), quoteHolder(p), quoteTtl),
    ]);
  };
  const dfspTransfer: Check = async (c, msg, store) => {
    const t = now();
    const p = checkDfspTransfer(msg, versionOf(c, msg), keyring, t, o.transferMaxTtlSeconds);
    const quoteExpiresAt = await quoteExpiry(store, p, undefined, t);
    // One transfer id, one quote (NX): a second prepare under the same id with another issued condition would
    // use up a second quote and have the commit attach that quote's fulfilment to the transfer the backend
    // approved under the first. A resend with the same packet and condition passes. The record comes before the
    // claim, so a prepare refused here leaves the other quote unused.
    const key = dfspTransferKey(p.transferId);
    // The transfer's expiration is kept for the commit (no fulfilment leaves after it); a resend is the same prepare
    // when its packet and condition are, and the first record stands with its expiration.
    const written = await writeOnce(
      store,
      key,
      JSON.stringify({ p: msg.ilpPacket, c: p.condition, e: p.expiresAt }),
      boundedTtl(p.expiresAt, t, o),
      (existing) => {
        try {
          const r = parseDfspRecord(existing);
          return r.p === msg.ilpPacket && r.c === p.condition;
        } catch {
          return false;
        }
      },
    );
    if (written === 'other')
      throw new GatewayError('GW_ILP_TRANSFER_DUPLICATE', { detail: 'transferId already prepared with another quote (condition or packet)' });
    try {
      await claimCondition(store, p, quoteExpiresAt, p.expiresAt, t);
    } catch (e) {
      // The quote serves another transfer: the record this prepare wrote goes, so the transfer id is free for a retry
      // with a quote of its own and no commit finds this packet. Not on a store failure: a resend of this very
      // prepare may have claimed the quote meanwhile, and its commit needs the record.
      if (written === 'wrote' && isGatewayError(e) && e.code === 'GW_ILP_CONDITION_USED') await store.delete(key).catch(() => {});
      throw e;
    }
  };

  // A condition this DFSP issued inside a bulk is claimed the same way, item by item, so that a bulk cannot be
  // the second transfer of a quote (nor two items of one bulk share one). Other items are the backend's (bulk
  // quotes are not answered here) and are left alone. Every item is checked read-only first (its quote still
  // usable, its mark free or already this transfer's), so a bulk refused for one item writes nothing; only a
  // concurrent claim landing between the reads and the writes can refuse a bulk part-way, and then the marks
  // it wrote stay (fail closed: a mark, once written, may already be what another request relied on).
  const dfspBulkTransfer: Check = async (c, msg, store) => {
    const t = now();
    const { items, expiresAt } = checkDfspBulk(msg, versionOf(c, msg), keyring, t, o.transferMaxTtlSeconds);
    if (items.length === 0) return;
    if (new Set(items.map((x) => x.condition)).size !== items.length)
      throw new GatewayError('GW_ILP_CONDITION_USED', { detail: "two items carry one quote's condition" });
    const quoteIds = items.flatMap((x) => (x.quoteId === undefined ? [] : [x.quoteId]));
    if (new Set(quoteIds).size !== quoteIds.length) throw new GatewayError('GW_ILP_CONDITION_USED', { detail: 'two items execute one quote' });
    const dated = await Promise.all(
      items.map(async (it) => {
        const quoteExpiresAt = await quoteExpiry(store, it, msg.bulkQuoteId, t);
        const [byCondition, byQuote] = await Promise.all([
          store.get(conditionUseKey(it.condition)),
          it.quoteId === undefined ? undefined : store.get(quoteUseKey(it.quoteId)),
        ]);
        refuseIfHeldByOther(byCondition, it.transferId);
        refuseIfHeldByOther(byQuote, quoteHolder(it));
        return quoteExpiresAt;
      }),
    );
    // Side by side: one pipelined burst, not a round trip per item after another.
    await Promise.all(items.map((it, i) => claimCondition(store, it, dated[i]!, expiresAt, t)));
  };

  // The accepted fxTransfer's expiration is kept for its commit (first writer wins: a resend dates nothing anew), so no
  // fulfilment leaves after it (second re-review of 2026-12-02).
  const fxpTransfer: Check = async (_c, msg, store) => {
    const t = now();
    const form = checkFxpTransferForm(msg, t, o.transferMaxTtlSeconds);
    checkFxpTransfer(msg, form.condition, await store.get(fxpTransferKey(form.id)), t);
    await store.save(fxpPreparedKey(form.id), String(form.expiresAt), boundedTtl(form.expiresAt, t, o), 'nx');
  };

  return stage('dfspIlpInbound', o, (c) => {
    const tpl = c.get('route').template;
    if (tpl === 'POST /quotes') return ['quote_request', dfspQuote];
    if (tpl === 'POST /transfers') return ['transfer_condition', dfspTransfer];
    if (tpl === 'POST /bulkTransfers') return ['bulk_transfer_condition', dfspBulkTransfer];
    if (tpl === 'POST /fxTransfers') return ['fx_transfer_condition', fxpTransfer];
    return undefined;
  });
}

/**
 * Outbound ILP work of the DFSP (payee) role: a PUT /quotes/{ID} without ilpPacket/condition gets them
 * (the SDK's getQuoteResponseIlp, from the stored quote request); a PUT /transfers/{ID} that commits
 * without a fulfilment gets the one derived from the stored packet. With an FXP behind the gateway, a
 * PUT /fxQuotes/{ID} without a condition gets one (getFxQuoteResponseIlp) and a PUT /fxTransfers/{ID}
 * that accepts (RESERVED/COMMITTED) without a fulfilment gets it. Sets `rewrittenJson` to a new object.
 * @throws GatewayError GW_ILP_QUOTE_UNKNOWN, GW_ILP_TRANSFER_UNKNOWN, GW_ILP_PACKET_MALFORMED, GW_STORE_UNAVAILABLE.
 */
export function dfspIlpOutbound(o: DfspIlpOptions): GatewayMiddleware {
  const { keyring } = o;
  const now = o.now ?? Date.now;

  // An answer to a quote already executed issues nothing (3106), and an answer's expiration is at most
  // ILP_QUOTE_MAX_TTL_SECONDS ahead, as the hub role bounds it: so every packet of a quote issued before its execution
  // expires within the life of its one-use mark (dfspIlpInbound claimCondition; re-reviews of 2026-12-02). Both rules
  // hold for the answers this gateway completes (quoteResponse) and those the backend builds (keepAnswers).
  const executedQuote = () => new GatewayError('GW_ILP_QUOTE_DUPLICATE', { detail: 'this quote was already executed; it is not answered again' });
  /** @throws GW_ILP_EXPIRATION_INVALID for an answer's quote expiration beyond the bound (or NaN: not a DateTime). */
  const boundAnswerExpiry = (at: number, t: number) => {
    if (!(at <= t + o.quoteMaxTtlSeconds * 1000))
      throw new GatewayError('GW_ILP_EXPIRATION_INVALID', {
        detail: `the quote expiration is more than ${o.quoteMaxTtlSeconds} s ahead (ILP_QUOTE_MAX_TTL_SECONDS), or not a DateTime`,
      });
  };
  const quoteResponse: Check = async (c, msg, store) => {
    const quoteId = c.get('route').params[0]!;
    const [stored, executed] = await Promise.all([store.get(quoteKey(quoteId)), store.get(quoteUseKey(quoteId))]);
    if (stored === undefined) throw new GatewayError('GW_ILP_QUOTE_UNKNOWN', { detail: 'no quote request stored for this quote' });
    if (executed !== undefined) throw executedQuote();
    // The packet carries the expiration as given, and the transfer is later checked against it: one this gateway
    // could not read back (no zone, a day that does not exist) would have every transfer of the quote refused.
    const asked = msg.expiration === undefined ? undefined : parseDateTime(msg.expiration);
    if (msg.expiration !== undefined && asked === undefined)
      throw new GatewayError('GW_ILP_EXPIRATION_INVALID', { detail: 'the quote expiration is not a DateTime with a zone' });
    if (asked !== undefined) boundAnswerExpiry(asked, now());
    const expiration = typeof msg.expiration === 'string' ? msg.expiration : new Date(now() + o.quoteExpirySeconds * 1000).toISOString();
    const version = versionFor(o, c.get('message'), header(c, 'fspiop-destination'));
    let ilp: ReturnType<typeof buildIlp>;
    try {
      ilp = buildIlp(version, transactionObjectOf(JSON.parse(stored) as JsonObject, { ...msg, expiration }), keyring);
    } catch (cause) {
      throw new GatewayError('GW_ILP_PACKET_MALFORMED', { detail: 'quote cannot be carried in an ILP packet', cause });
    }
    c.get('message').complete({ expiration, ilpPacket: ilp.ilpPacket, condition: ilp.condition });
  };
  // The backend answered with a packet of its own making under a secret it shares with this gateway (the SDK's
  // ILP_SECRET). A packet without a quote expiration (sdk-standard-components 17.x; the SDK's bulk quotes, whose
  // quote response to getQuoteResponseIlp has none: sdk-scheme-adapter InboundTransfersModel.bulkQuoteRequest) is dated
  // by this answer: its expiration (without one, now + QUOTE_EXPIRY_SECONDS; at most ILP_QUOTE_MAX_TTL_SECONDS and
  // ILP_TRANSFER_MAX_TTL_SECONDS ahead, so the record holds its date for as long as it lives) under the condition,
  // written NX, so a re-answer prolongs nothing. Such a packet is the same whenever the SDK answers the quote again (a
  // payer asking again, under the same or a new bulk quote id), so an answer is refused (3106, nothing kept) when its
  // quote was executed (its use mark is there, read in the same round trip) or is dated by another answer (another
  // bulk quote, or a single one): second review of 2026-12-01. The transfer is refused (3302) when the answer has
  // expired or never passed here.
  // Every such answer, dated or not, is refused (3106) once its quote was executed (its one-use mark is there), and a
  // packet dating itself may do so at most ILP_QUOTE_MAX_TTL_SECONDS ahead (3100), as for the answers this gateway
  // completes: so every packet of a quote issued before its execution expires within the life of the quote's mark
  // (third re-review of 2026-12-02: a backend-built answer to an executed quote went out, and executed it again).
  const keepAnswers = async (c: GatewayContext, store: Store, items: readonly JsonObject[], expiration: unknown, bulkQuoteId?: string) => {
    const version = versionFor(o, c.get('message'), header(c, 'fspiop-destination'));
    const issued = items.map((it) => issuedAnswer(it, version, keyring)).filter((x) => x !== undefined);
    if (issued.length === 0) return;
    const t = now();
    for (const it of issued) if (it.expiresAt !== undefined) boundAnswerExpiry(it.expiresAt, t);
    const latest = t + Math.min(o.quoteMaxTtlSeconds, o.transferMaxTtlSeconds) * 1000;
    const x = Math.min(parseDateTime(expiration) ?? t + o.quoteExpirySeconds * 1000, latest);
    const ttl = ttlUntil(x, t, o.graceSeconds);
    const sameQuote = (q: string) => (existing: string) => {
      const r = parseIssuedAnswer(existing);
      return r.q === q && r.b === bulkQuoteId;
    };
    const wrote: string[] = [];
    const outcomes = await Promise.allSettled(
      issued.map(async (it) => {
        if (it.expiresAt !== undefined) {
          if ((await store.get(quoteUseKey(it.quoteId))) !== undefined) throw executedQuote();
          return;
        }
        // Undated: the answer dates it, kept under the condition (first answer stands), read beside both marks.
        const key = issuedAnswerKey(it.condition);
        const text = issuedAnswerText({ x, q: it.quoteId, ...(bulkQuoteId === undefined ? {} : { b: bulkQuoteId }) });
        const [used, quoteUsed, saved] = await Promise.all([
          store.get(conditionUseKey(it.condition)),
          store.get(quoteUseKey(it.quoteId)),
          store.save(key, text, ttl, 'nx'),
        ]);
        if (saved) wrote.push(key);
        if (used !== undefined || quoteUsed !== undefined) throw executedQuote();
        const existing = saved ? undefined : await store.get(key);
        if (existing !== undefined && !sameQuote(it.quoteId)(existing))
          throw new GatewayError('GW_ILP_QUOTE_DUPLICATE', { detail: 'this packet was already answered for another quote or bulk quote' });
      }),
    );
    const failed = outcomes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed === undefined) return;
    await Promise.all(wrote.map((key) => store.delete(key).catch(() => {})));
    throw failed.reason;
  };
  const quoteAnswer: Check = (c, msg, store) => keepAnswers(c, store, [msg], msg.expiration);
  // individualQuoteResults may be empty (API Definition BulkQuotesIDPutResponse: 0 to 1000 items): nothing to keep.
  const bulkQuoteAnswer: Check = async (c, msg, store) => {
    const results = msg.individualQuoteResults;
    if (results === undefined || (Array.isArray(results) && results.length === 0)) return;
    await keepAnswers(c, store, bulkItems(msg, 'individualQuoteResults'), msg.expiration, c.get('route').params[0]!);
  };
  // A transfer past its expiration gets no fulfilment: the switch would refuse it (3303, as the hub role does), and the
  // payee's secret-derived preimage would have left for a transfer that cannot complete (hostile review of 2026-12-02).
  // A conversion's expiration is kept apart (fxpPreparedKey), read in the same round trip as its packet.
  const attachFulfilment =
    (key: (id: string) => string, preparedKey?: (id: string) => string): Check =>
    async (c, _msg, store) => {
      const id = c.get('route').params[0]!;
      const [stored, prepared] = await Promise.all([store.get(key(id)), preparedKey === undefined ? undefined : store.get(preparedKey(id))]);
      if (stored === undefined) throw new GatewayError('GW_ILP_TRANSFER_UNKNOWN', { detail: 'no packet stored for this transfer' });
      // A conversion commits only an fxTransfer accepted here and still in force: its record ends with it (+ grace), and
      // without it the terms' record alone would release the fulfilment (third re-review of 2026-12-02).
      if (preparedKey !== undefined && prepared === undefined)
        throw new GatewayError('GW_ILP_TRANSFER_UNKNOWN', { detail: 'no fxTransfer in force was accepted for this conversion (never here, or expired)' });
      const record = parseDfspRecord(stored);
      const expiresAt = record.e ?? (prepared === undefined ? undefined : Number(prepared));
      if (expiresAt !== undefined && !(now() < expiresAt)) throw new GatewayError('GW_ILP_TRANSFER_EXPIRED', { detail: 'the transfer has expired' });
      c.get('message').complete({ fulfilment: deriveFulfilment(record, keyring) });
    };
  const commit = attachFulfilment(dfspTransferKey);
  const fxCommit = attachFulfilment(fxpTransferKey, fxpPreparedKey);
  // The SDK's getFxQuoteResponseIlp: {conversionRequestId, conversionTerms} with the id of the PUT's path and
  // the terms of the response itself, so no stored request is needed; the packet is kept for the fxTransfer.
  const fxQuoteResponse: Check = async (c, msg, store) => {
    const conversionId = requiredString(pick(msg, ['conversionTerms', 'conversionId']), 'conversionTerms.conversionId', 'GW_BODY_MALFORMED');
    const terms = msg.conversionTerms as JsonObject;
    if (terms.expiration !== undefined && parseDateTime(terms.expiration) === undefined)
      throw new GatewayError('GW_ILP_EXPIRATION_INVALID', { detail: 'the conversion terms expiration is not a DateTime with a zone' });
    const t = now();
    let ilp: ReturnType<typeof fxQuoteResponseIlp>;
    try {
      ilp = fxQuoteResponseIlp(
        versionFor(o, c.get('message'), header(c, 'fspiop-destination')),
        { conversionRequestId: c.get('route').params[0]! },
        msg,
        keyring,
      );
    } catch (cause) {
      throw new GatewayError('GW_ILP_PACKET_MALFORMED', { detail: 'conversion terms cannot be carried in an ILP packet', cause });
    }
    const expiresAt = parseDateTime((terms as JsonObject).expiration) ?? t + o.quoteExpirySeconds * 1000;
    // The first answer for a conversion stands (NX), as for a quote: the fxTransfer check and the commit both read this
    // record, so a second answer under the same conversionId (another conversionRequestId, other terms, a fresh
    // expiration) would have the commit fulfil a condition other than the one the fxTransfer was accepted with, and
    // the hub use the conversion up on an invalid fulfilment (review of 2026-12-01). An identical answer passes.
    const record = JSON.stringify({ p: ilp.ilpPacket, c: ilp.condition });
    if ((await writeOnce(store, fxpTransferKey(conversionId), record, boundedTtl(expiresAt, t, o))) === 'other')
      throw new GatewayError('GW_ILP_QUOTE_DUPLICATE', { detail: 'this conversion was already answered with other terms' });
    c.get('message').complete({ condition: ilp.condition });
  };

  return stage('dfspIlpOutbound', o, (c, msg) => {
    const tpl = c.get('route').template;
    if (tpl === 'PUT /quotes/{ID}' && !has(msg(), 'ilpPacket') && !has(msg(), 'condition')) return ['quote_response', quoteResponse];
    if (tpl === 'PUT /quotes/{ID}' && has(msg(), 'ilpPacket') && has(msg(), 'condition')) return ['quote_answer', quoteAnswer];
    if (tpl === 'PUT /bulkQuotes/{ID}') return ['bulk_quote_answer', bulkQuoteAnswer];
    if (tpl === 'PUT /transfers/{ID}' && FX_ACCEPTED.has(msg().transferState as string) && !has(msg(), 'fulfilment')) return ['fulfil_attach', commit];
    if (tpl === 'PUT /fxQuotes/{ID}' && !has(msg(), 'condition')) return ['fx_quote_response', fxQuoteResponse];
    if (tpl === 'PUT /fxTransfers/{ID}' && FX_ACCEPTED.has(msg().conversionState as string) && !has(msg(), 'fulfilment')) return ['fx_fulfil_attach', fxCommit];
    return undefined;
  });
}
