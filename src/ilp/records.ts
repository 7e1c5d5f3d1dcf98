// What the ILP checks keep in the Store, and under which logical keys (the Redis adapter adds
// REDIS_KEY_PREFIX). Ids are wrapped in {hash tags}; see the key table in docs/ilp.md.
import { GatewayError } from '../errors.js';

/** Hub role: the condition and expiration of a prepared transfer, until expiration + grace. */
export const hubTransferKey = (transferId: string): string => `ilp:hub:{${transferId}}`;
/** Hub role: the condition and expiration of a prepared FX transfer (FSPIOP 2.0 POST /fxTransfers). */
export const hubFxTransferKey = (commitRequestId: string): string => `ilp:hubfx:{${commitRequestId}}`;
/** DFSP role: the POST /quotes request the payee received, until the quote expires + grace. */
export const quoteKey = (quoteId: string): string => `ilp:quote:{${quoteId}}`;
/** DFSP role: packet and condition of a received POST /transfers, to derive the fulfilment on commit. */
export const dfspTransferKey = (transferId: string): string => `ilp:xfer:{${transferId}}`;

/**
 * DFSP role with an FXP behind it: packet and condition issued in the outbound PUT /fxQuotes/{ID}, keyed by
 * conversionTerms.conversionId, which is the commitRequestId of the POST /fxTransfers that follows.
 */
export const fxpTransferKey = (conversionId: string): string => `ilp:fxp:{${conversionId}}`;

/** What an atomic take leaves behind: the fulfilment was used (until the record's TTL ends). */
export const USED_TOMBSTONE = 'used';

export interface HubTransferRecord {
  /** Condition, base64url. */
  readonly c: string;
  /** Transfer expiration, epoch ms. */
  readonly e: number;
}

export interface DfspTransferRecord {
  /** ilpPacket text as received. */
  readonly p: string;
  /** Condition, base64url. */
  readonly c: string;
}

const corrupt = () => new GatewayError('GW_INTERNAL', { detail: 'corrupt ILP store record' });

/** Parses a stored hub record; a value that is not one is an internal fault, never a client error. */
export function parseHubRecord(text: string): HubTransferRecord {
  try {
    const r = JSON.parse(text) as Partial<HubTransferRecord>;
    if (typeof r.c === 'string' && typeof r.e === 'number') return { c: r.c, e: r.e };
  } catch { /* fall through */ }
  throw corrupt();
}

export function parseDfspRecord(text: string): DfspTransferRecord {
  try {
    const r = JSON.parse(text) as Partial<DfspTransferRecord>;
    if (typeof r.p === 'string' && typeof r.c === 'string') return { p: r.p, c: r.c };
  } catch { /* fall through */ }
  throw corrupt();
}
