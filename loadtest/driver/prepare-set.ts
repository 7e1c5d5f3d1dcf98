// Builds a pre-signed request set: quote → transfer journeys between perffsp DFSPs, with real ILP
// packets, conditions and fulfilments (src/ilp) and real FSPIOP signatures (src/jws), plus a share of
// requests whose signature is deliberately broken. The load generators then do no crypto at all.
import { createPrivateKey, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIELDS } from '../../src/config/schema.js';
import { answerAheadLimit } from '../../src/ilp/checks.js';
import { createKeyring, type IlpVersion } from '../../src/ilp/keyring.js';
import { buildIlp } from '../../src/ilp/packet.js';
import { type JsonObject, transactionObjectOf } from '../../src/ilp/transaction.js';
import { signingAlgorithmFor } from '../../src/jws/algorithms.js';
import { type SigningKey, signRequestAsync } from '../../src/jws/sign.js';
import type { PreparedRequest, PreparedSet, RequestKind } from './dataset.js';

export interface PrepareOptions {
  /** Number of requests in the set (valid + broken). */
  readonly count: number;
  /** fspId → signing key; at least two FSPs. */
  readonly keys: ReadonlyMap<string, SigningKey>;
  /** Share of requests (0..1) carrying a broken signature; they expect 400 / 3105. */
  readonly badShare?: number;
  /** Only POST/PUT /quotes (no ILP state at the hub): the set may be replayed, e.g. for breakpoint runs. */
  readonly quotesOnly?: boolean;
  /** Journeys per pipelined block: each step of a journey is sent `block` requests after the previous one. */
  readonly block?: number;
  readonly ilpVersion?: IlpVersion;
  /** The gateway's JWS_MAX_CLOCK_SKEW_SECONDS; recorded as the set's validity. */
  readonly skewSeconds?: number;
  readonly now?: Date;
  readonly fspiopVersion?: string;
  /**
   * Only requests sent by this FSP: POST /quotes from it to the other FSPs in turn, one signature each and no
   * ILP (a lean flood for the rate-limit measurement, docs/performance/2026-11-29-traffic-control.md). Every
   * request is unique (the gateway's replay guard would refuse a repeat), so the set is not reusable.
   */
  readonly from?: string;
}

/** Block size that sends the steps of a journey about `lagMs` apart at `rate` requests/s. */
export function blockFor(rate: number, lagMs = 1000): number {
  return Math.max(4, Math.round((rate * lagMs) / 1000));
}

/** Loads each FSP's JWS signing key from its file. */
export function signingKeysFromFiles(signers: readonly { readonly fspId: string; readonly jwsKey: string }[]): Map<string, SigningKey> {
  const out = new Map<string, SigningKey>();
  for (const s of signers) {
    const key = createPrivateKey(readFileSync(s.jwsKey));
    out.set(s.fspId, { key, alg: signingAlgorithmFor(key) });
  }
  return out;
}

/** Loads `<keysDir>/jws-private/<fsp>.key` for each FSP. */
export function loadSigningKeys(keysDir: string, fsps: readonly string[]): Map<string, SigningKey> {
  return signingKeysFromFiles(fsps.map((fspId) => ({ fspId, jwsKey: join(keysDir, 'jws-private', `${fspId}.key`) })));
}

const traceparent = (): string => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

/** Corrupts a signature in its middle so the decoded bytes change (the last character may carry only padding bits). */
export function breakSignature(header: string): string {
  const parsed = JSON.parse(header) as { protectedHeader: string; signature: string };
  const s = parsed.signature;
  const i = Math.floor(s.length / 2);
  const c = s[i] === 'A' ? 'B' : 'A';
  return JSON.stringify({ protectedHeader: parsed.protectedHeader, signature: s.slice(0, i) + c + s.slice(i + 1) });
}

interface Ctx {
  readonly date: string;
  readonly iso: string;
  readonly version: string;
  readonly keys: ReadonlyMap<string, SigningKey>;
}

async function signed(ctx: Ctx, kind: RequestKind, method: 'POST' | 'PUT', path: string, src: string, dst: string, json: JsonObject): Promise<PreparedRequest> {
  const resource = path.split('/')[1] as string;
  const media = `application/vnd.interoperability.${resource}+json;version=${ctx.version}`;
  const headers: Record<string, string> = {
    'content-type': media,
    date: ctx.date,
    'fspiop-source': src,
    'fspiop-destination': dst,
    traceparent: traceparent(),
  };
  if (method === 'POST') headers.accept = media;
  const key = ctx.keys.get(src);
  if (!key) throw new Error(`no signing key for ${src}`);
  // The private-key operation runs on the libuv pool: both cores sign.
  const s = await signRequestAsync({ method, url: path, headers, json }, key, { addDate: false });
  return {
    kind,
    method,
    path,
    fsp: src,
    destination: dst,
    body: s.body.toString('utf8'),
    expectStatus: 202,
    headers: {
      ...headers,
      'fspiop-signature': s.headers['fspiop-signature'],
      'fspiop-uri': s.headers['fspiop-uri'],
      'fspiop-http-method': s.headers['fspiop-http-method'],
    },
  };
}

/** One journey: POST /quotes, PUT /quotes/{id} (with ILP), POST /transfers, PUT /transfers/{id} (fulfilment). */
function journey(
  ctx: Ctx,
  payer: string,
  payee: string,
  ilp: { version: IlpVersion; keyring: ReturnType<typeof createKeyring> },
  expiration: string,
  quotesOnly: boolean,
  postOnly = false,
): Promise<PreparedRequest[]> {
  const quoteId = randomUUID();
  const transferId = randomUUID();
  const amount = { amount: '100', currency: 'USD' };
  const quoteRequest: JsonObject = {
    quoteId,
    transactionId: transferId,
    amountType: 'SEND',
    amount,
    payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: `2771${Math.floor(Math.random() * 1e7)}`, fspId: payee } },
    payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: `2772${Math.floor(Math.random() * 1e7)}`, fspId: payer } },
    transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
  };
  if (postOnly) return Promise.all([signed(ctx, 'postQuotes', 'POST', '/quotes', payer, payee, quoteRequest)]);
  const quoteBase: JsonObject = { transferAmount: amount, expiration };
  const { ilpPacket, condition, fulfilment } = buildIlp(ilp.version, transactionObjectOf(quoteRequest, quoteBase), ilp.keyring);
  const steps = [
    signed(ctx, 'postQuotes', 'POST', '/quotes', payer, payee, quoteRequest),
    signed(ctx, 'putQuotes', 'PUT', `/quotes/${quoteId}`, payee, payer, { ...quoteBase, ilpPacket, condition }),
  ];
  if (quotesOnly) return Promise.all(steps);
  steps.push(
    signed(ctx, 'postTransfers', 'POST', '/transfers', payer, payee, {
      transferId,
      payerFsp: payer,
      payeeFsp: payee,
      amount,
      ilpPacket,
      condition,
      expiration,
    }),
    signed(ctx, 'putTransfers', 'PUT', `/transfers/${transferId}`, payee, payer, { fulfilment, completedTimestamp: ctx.iso, transferState: 'COMMITTED' }),
  );
  return Promise.all(steps);
}

/** The furthest ahead a gateway on its defaults lets a quote answer expire: a hub with quote binding refuses a later one (3100). */
const MAX_AHEAD_SECONDS = answerAheadLimit(
  FIELDS.ilpQuoteMaxTtlSeconds.schema.parse(undefined),
  FIELDS.ilpTransferMaxTtlSeconds.schema.parse(undefined),
).seconds;

/**
 * Builds the set in send order. Journeys are pipelined in blocks: block b sends the first step of its
 * `block` journeys, then their second steps, and so on, so consecutive steps of one journey are `block`
 * starts apart (250 ms at 1000/s with block 250): the transfer's fulfilment arrives after its prepare.
 */
export async function buildPreparedSet(o: PrepareOptions): Promise<PreparedSet> {
  const fsps = [...o.keys.keys()];
  if (fsps.length < 2) throw new Error('need signing keys of at least two FSPs');
  if (!(o.count > 0)) throw new Error('count must be > 0');
  const badShare = o.badShare ?? 0;
  const now = o.now ?? new Date();
  const skewSeconds = o.skewSeconds ?? 300;
  const ctx: Ctx = { date: now.toUTCString(), iso: now.toISOString(), version: o.fspiopVersion ?? '1.1', keys: o.keys };
  const ilpVersion = o.ilpVersion ?? '1';
  const ilp = { version: ilpVersion, keyring: createKeyring([randomBytes(32).toString('base64url')]) };
  // Transfers must not expire before the set's last possible use (Date validity) plus margin, and no answer or
  // transfer may expire further ahead than a gateway with the default bounds accepts (3100 beyond them): with a
  // large skew the set is usable until a minute before its expiration instead.
  const aheadSeconds = Math.min(skewSeconds + 600, MAX_AHEAD_SECONDS);
  const validSeconds = Math.min(skewSeconds, aheadSeconds - 60);
  const expiration = new Date(now.getTime() + aheadSeconds * 1000).toISOString();
  const from = o.from;
  if (from !== undefined && (!o.keys.has(from) || badShare > 0)) throw new Error(`from: needs ${from}'s signing key and no bad share`);
  const others = fsps.filter((f) => f !== from);
  const perJourney = from !== undefined ? 1 : o.quotesOnly ? 2 : 4;
  const block = Math.max(1, o.block ?? 64);
  const validCount = Math.ceil(o.count * (1 - badShare));
  const journeys = Math.ceil(validCount / perJourney);
  const valid: PreparedRequest[] = [];
  for (let b = 0; b < journeys; b += block) {
    const pending: Promise<PreparedRequest[]>[] = [];
    for (let j = b; j < Math.min(journeys, b + block); j++) {
      if (from !== undefined) {
        pending.push(journey(ctx, from, others[j % others.length] as string, ilp, expiration, true, true));
        continue;
      }
      const payer = fsps[j % fsps.length] as string;
      // Offset 1..n-1 from the payer, varying per round, so every ordered pair of FSPs occurs.
      const payee = fsps[(j + 1 + (Math.floor(j / fsps.length) % (fsps.length - 1))) % fsps.length] as string;
      pending.push(journey(ctx, payer, payee, ilp, expiration, o.quotesOnly === true));
    }
    const group = await Promise.all(pending);
    for (let step = 0; step < perJourney; step++) for (const g of group) valid.push(g[step] as PreparedRequest);
  }
  const requests: PreparedRequest[] = [];
  let bad = 0;
  for (const r of valid) {
    requests.push(r);
    // Spread broken signatures evenly: after valid request i, keep bad/(valid+bad) at badShare.
    while (badShare > 0 && bad < Math.floor(((requests.length - bad) * badShare) / (1 - badShare))) {
      const payer = fsps[bad % fsps.length] as string;
      const payee = fsps[(bad + 1) % fsps.length] as string;
      const q = (await journey(ctx, payer, payee, ilp, expiration, true))[0] as PreparedRequest;
      requests.push({
        ...q,
        headers: { ...q.headers, 'fspiop-signature': breakSignature(q.headers['fspiop-signature'] as string) },
        expectStatus: 400,
        expectCode: '3105',
      });
      bad++;
    }
  }
  return {
    version: 1,
    createdAt: now.toISOString(),
    validUntil: new Date(now.getTime() + validSeconds * 1000).toISOString(),
    skewSeconds,
    reusable: o.quotesOnly === true && from === undefined,
    fsps: from !== undefined ? [from] : fsps,
    ilpVersion,
    badShare,
    requests: requests.slice(0, Math.max(o.count, 1)),
  };
}
