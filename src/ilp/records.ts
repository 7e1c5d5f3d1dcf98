// What the ILP checks keep in the Store, and under which logical keys (the Redis adapter adds
// REDIS_KEY_PREFIX). Ids are wrapped in {hash tags}; see the key table in docs/ilp.md.
import { GatewayError } from '../errors.js';

/**
 * Every id that names a store record (transferId, quoteId, commitRequestId, conversionId, the {ID} of a
 * path, a condition) is 1 to 128 RFC 3986 unreserved characters. UUIDs and ULIDs (the FSPIOP CorrelationId
 * forms) are; percent-encoding is not (the upstream would decode it to another id than the record's), and
 * neither are key separators ({, }, :, *) or ids long enough to make large keys.
 */
const ID_RE = /^[A-Za-z0-9._~-]{1,128}$/;
function id(value: string): string {
  if (!ID_RE.test(value)) throw new GatewayError('GW_ILP_ID_MALFORMED');
  return value;
}

/** An FSP id in a key: base64url, so that none of the characters an FspId allows can act as a separator. */
const fsp = (fspId: string): string => Buffer.from(fspId, 'utf8').toString('base64url');

/** Hub role: the condition and expiration of a prepared transfer, until expiration + grace. */
export const hubTransferKey = (transferId: string): string => `ilp:hub:{${id(transferId)}}`;
/** Hub role: the payee and expiration of a prepared bulk transfer (its transfers have records of their own). */
export const hubBulkKey = (bulkTransferId: string): string => `ilp:hubbulk:{${id(bulkTransferId)}}`;
/** Hub role: the condition and expiration of a prepared FX transfer (FSPIOP 2.0 POST /fxTransfers). */
export const hubFxTransferKey = (commitRequestId: string): string => `ilp:hubfx:{${id(commitRequestId)}}`;
/**
 * Hub role: what a payee issued for one of its quotes (PUT /quotes/{ID}): the condition and a digest of the
 * packet, under the quote id and the payee's FSP id, so no other FSP can write or replace it.
 */
export const hubQuoteKey = (quoteId: string, payee: string): string => `ilp:hubquote:{${id(quoteId)}}:${fsp(payee)}`;
/** Hub role, quote binding: the transfer id that first executed a payee's quote (one quote, one transfer). */
export const hubQuoteUseKey = (quoteId: string, payee: string): string => `ilp:hubquse:{${id(quoteId)}}:${fsp(payee)}`;
/**
 * Hub role: what a payee issued for the individual quotes of one of its bulk quotes (PUT /bulkQuotes/{ID}): each
 * condition and a digest of its packet, under the bulk quote id and the payee's FSP id.
 */
export const hubBulkQuoteKey = (bulkQuoteId: string, payee: string): string => `ilp:hubbquote:{${id(bulkQuoteId)}}:${fsp(payee)}`;
/**
 * Hub role, quote binding: a payer's POST /bulkQuotes (`{e: payee asked, n: individual quotes asked, x: expiration}`),
 * under the bulk quote id and the payer: only that payee's answer to that payer is kept, and counted as the payer's.
 */
export const hubBulkQuoteRequestKey = (bulkQuoteId: string, payer: string): string => `ilp:hubbqreq:{${id(bulkQuoteId)}}:${fsp(payer)}`;
/** Hub role, quote binding: the bulk transfer id that first executed a payee's bulk quote (one bulk quote, one bulk transfer). */
export const hubBulkQuoteUseKey = (bulkQuoteId: string, payee: string): string => `ilp:hubbquse:{${id(bulkQuoteId)}}:${fsp(payee)}`;
/** Hub role: the condition an FXP issued for a conversion (PUT /fxQuotes/{ID}), under conversionId and FXP. */
export const hubFxQuoteKey = (conversionId: string, fxp: string): string => `ilp:hubfxquote:{${id(conversionId)}}:${fsp(fxp)}`;
/** DFSP role: the POST /quotes request the payee received, until the quote expires + grace. */
export const quoteKey = (quoteId: string): string => `ilp:quote:{${id(quoteId)}}`;
/**
 * DFSP role: the answer that issued a packet without a quote expiration of its own (the backend answering under a
 * secret it shares with this gateway: sdk-standard-components 17.x, the SDK's bulk quotes), by its condition.
 */
export const issuedAnswerKey = (condition: string): string => `ilp:answer:{${id(condition)}}`;
/** DFSP role: packet and condition of a received POST /transfers, to derive the fulfilment on commit. */
export const dfspTransferKey = (transferId: string): string => `ilp:xfer:{${id(transferId)}}`;
/** DFSP role: the transfer id a condition this DFSP issued was first used by (one transfer per quote). */
export const conditionUseKey = (condition: string): string => `ilp:conduse:{${id(condition)}}`;
/**
 * DFSP role: the transfer id that first executed a quote this DFSP answered, by the quote id inside the issued packet.
 * Every answer to one quote issues another condition (its expiration is in the packet), so the condition's mark alone
 * would let each answer serve a transfer of its own (hostile review of 2026-12-02).
 */
export const quoteUseKey = (quoteId: string): string => `ilp:quse:{${id(quoteId)}}`;

/**
 * DFSP role with an FXP behind it: packet and condition issued in the outbound PUT /fxQuotes/{ID}, keyed by
 * conversionTerms.conversionId, which is the commitRequestId of the POST /fxTransfers that follows.
 */
export const fxpTransferKey = (conversionId: string): string => `ilp:fxp:{${id(conversionId)}}`;
/** DFSP role with an FXP behind it: the expiration (epoch ms) of the POST /fxTransfers accepted for a conversion, for its commit. */
export const fxpPreparedKey = (commitRequestId: string): string => `ilp:fxpx:{${id(commitRequestId)}}`;

/**
 * What an atomic take leaves behind: the fulfilment was used (until the record's TTL ends). It carries
 * SHA-256 of the fulfilment presented (= the condition when it was valid), so a resent prepare can still
 * be told from a prepare with another condition, and an id of that one take, so that giving the record back
 * (Store.untake) applies only over the tombstone this take wrote, never over one another request wrote
 * after the record expired and was prepared again. `used` and `used:<condition>` (older gateways) are
 * recognised too.
 */
const USED_TOMBSTONE = 'used';
export const usedTombstone = (condition: string, takeId: string): string => `${USED_TOMBSTONE}:${condition}:${takeId}`;
export const isUsedTombstone = (v: string): boolean => v === USED_TOMBSTONE || v.startsWith(`${USED_TOMBSTONE}:`);
/** Whether `v` is the tombstone of a fulfilment whose SHA-256 is `condition` (by any take). */
export const isTombstoneOf = (v: string, condition: string): boolean =>
  v === `${USED_TOMBSTONE}:${condition}` || v.startsWith(`${USED_TOMBSTONE}:${condition}:`);

export interface HubTransferRecord {
  /** Payee FSP id (body payeeFsp / counterPartyFsp, equal to FSPIOP-Destination when sent): the only FSP whose fulfilment is accepted. */
  readonly p: string;
  /** Condition, base64url. */
  readonly c: string;
  /** Transfer expiration, epoch ms. */
  readonly e: number;
}

/** The stored text of a hub record: the payee first, so that `payeePrefix` can select it atomically. */
export const hubRecordText = (r: HubTransferRecord): string => JSON.stringify({ p: r.p, c: r.c, e: r.e });
/** The prefix every hub record of payee `p` starts with (JSON string encoding is injective; ',' ends the member). */
export const payeePrefix = (p: string): string => `{"p":${JSON.stringify(p)},`;

export interface DfspTransferRecord {
  /** ilpPacket text as received. */
  readonly p: string;
  /** Condition, base64url. */
  readonly c: string;
  /** The transfer's expiration (epoch ms); absent in records of an earlier gateway. */
  readonly e?: number;
}

const corrupt = () => new GatewayError('GW_INTERNAL', { detail: 'corrupt ILP store record' });

/** Parses a stored hub record; a value that is not one is an internal fault, never a client error. */
export function parseHubRecord(text: string): HubTransferRecord {
  try {
    const r = JSON.parse(text) as Partial<HubTransferRecord>;
    // A record of an older gateway has no payee: '' never equals an FSPIOP-Source, so it fails closed.
    if (typeof r.c === 'string' && typeof r.e === 'number') return { p: typeof r.p === 'string' ? r.p : '', c: r.c, e: r.e };
  } catch {
    /* not JSON: rejected as corrupt below */
  }
  throw corrupt();
}

export function parseDfspRecord(text: string): DfspTransferRecord {
  try {
    const r = JSON.parse(text) as Partial<DfspTransferRecord>;
    if (typeof r.p === 'string' && typeof r.c === 'string') return { p: r.p, c: r.c, ...(typeof r.e === 'number' ? { e: r.e } : {}) };
  } catch {
    /* not JSON: rejected as corrupt below */
  }
  throw corrupt();
}

/** What `issuedAnswerKey` holds: when the answer says the quote expires, the quote, and the bulk quote it was answered in. */
export interface IssuedAnswerRecord {
  /** The answer's expiration (or, without one, when it was sent + QUOTE_EXPIRY_SECONDS), epoch ms. */
  readonly x: number;
  /** The quote id the packet names. */
  readonly q: string;
  /** The bulk quote id, for an individual quote answered in a PUT /bulkQuotes/{ID}. */
  readonly b?: string;
}

export const issuedAnswerText = (r: IssuedAnswerRecord): string => JSON.stringify(r.b === undefined ? { x: r.x, q: r.q } : { x: r.x, q: r.q, b: r.b });

export function parseIssuedAnswer(text: string): IssuedAnswerRecord {
  try {
    const r = JSON.parse(text) as Partial<IssuedAnswerRecord>;
    if (typeof r.x === 'number' && typeof r.q === 'string' && (r.b === undefined || typeof r.b === 'string'))
      return r.b === undefined ? { x: r.x, q: r.q } : { x: r.x, q: r.q, b: r.b };
  } catch {
    /* not JSON: rejected as corrupt below */
  }
  throw corrupt();
}
