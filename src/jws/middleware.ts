// The thin Hono layer of the JWS capability (hono's middleware-factory pattern). Runs after the core stages have
// set `route`, `body` and `peer`; all protocol logic lives in the pure modules beside this file.

import type { Config } from '../config/schema.js';
import { GatewayError, isGatewayError } from '../errors.js';
import { hasNonCanonicalNumber } from '../fspiop/json-numbers.js';
import type { GatewayContext, GatewayMiddleware } from '../http/context.js';
import { header } from '../http/context.js';
import { PendingMark, writeMark } from '../store/first-use.js';
import type { Store } from '../store/types.js';
import type { PayloadForm, Telemetry } from '../telemetry/types.js';
import { nextTurn, YIELD_ABOVE_BYTES } from '../util/turns.js';
import { checkDateWindowAt, type ReplayGuard, replayRefusal } from './freshness.js';
import type { KeyDirectory } from './key-directory.js';
import { parseSignatureHeader } from './signature-header.js';
import type { SigningKeyHolder } from './signing-key.js';
import { type VerifyPolicy, verifyRequest } from './verify.js';

// Which messages are signed comes from the FSPIOP resource table: those that carry a body (RouteMatch.hasBody).
const isPutParties = (c: GatewayContext) => c.req.method === 'PUT' && c.get('route')?.resource === 'parties';

/**
 * Freshness (docs/security.md class 9): a Date header must lie within JWS_MAX_CLOCK_SKEW_SECONDS of now
 * (GW_CLOCK_SKEW). Costs no store access: the replay record is owed from verifyInboundJws, once the signature
 * verified, so a signature nobody can verify never takes store capacity (docs/security.md class 9).
 */
export function checkFreshness(options: { readonly skewSeconds: number; readonly now?: () => number }): GatewayMiddleware {
  const now = options.now ?? Date.now;
  const { skewSeconds } = options;
  return async function checkFreshness(c, next) {
    checkDateWindowAt(c.get('date'), now(), skewSeconds);
    await next();
  };
}

/**
 * Inbound FSPIOP-Signature verification (docs/jws.md, "What is checked on an inbound request"). Sets `jwsForm` to
 * the payload form that verified, or 'skipped' / 'unsigned'. Reports every decision to telemetry.jwsVerify.
 * @throws GatewayError GW_JWS_* (3105/400), GW_HEADER_MISSING when FSPIOP-Source is absent.
 */
/**
 * Lookup answers (PUT /parties…, PUT /participants…, and their errors) are exempt from the replay check: they
 * change no state, carry no id of their own, and legitimately repeat byte for byte (two lookups of one party
 * within a second give the same body, Date and, RS256 being deterministic, signature: sdk-scheme-adapter
 * 18.0.2 does exactly that, test/integration/interop/sdk-scheme-adapter.test.ts). Everything else is checked.
 */
const REPLAY_EXEMPT: ReadonlySet<string> = new Set(['parties', 'participants']);

export interface VerifyInboundOptions {
  readonly keys: Pick<KeyDirectory, 'get'>;
  readonly telemetry: Telemetry;
  /** JWS_ALGORITHMS, JWS_PAYLOAD_FORMS, JWS_REQUIRE_SIGNED_DATE. */
  readonly policy: VerifyPolicy;
  /** VALIDATE_INBOUND_PUT_PARTIES_JWS. */
  readonly verifyPutParties: boolean;
  /** The hub's id when JWS_ALLOW_UNSIGNED_HUB_CALLBACKS lets it send unsigned callbacks. */
  readonly unsignedFrom?: string | undefined;
  /** REPLAY_PROTECTION: records every verified signature. */
  readonly replay?: ReplayGuard | undefined;
}

/** The verification options the configuration asks for (src/stages.ts mounts the stage when VALIDATE_INBOUND_JWS=true). */
export function verifyOptionsOf(
  config: Pick<Config, 'jwsAlgorithms' | 'jwsPayloadForms' | 'jwsRequireSignedDate' | 'validatePutPartiesJws' | 'jwsAllowUnsignedHub' | 'hubId'>,
): Pick<VerifyInboundOptions, 'policy' | 'verifyPutParties' | 'unsignedFrom'> {
  return {
    policy: { algorithms: new Set(config.jwsAlgorithms), forms: config.jwsPayloadForms as PayloadForm[], requireDate: config.jwsRequireSignedDate },
    verifyPutParties: config.validatePutPartiesJws,
    unsignedFrom: config.jwsAllowUnsignedHub ? config.hubId : undefined,
  };
}

export function verifyInboundJws(options: VerifyInboundOptions): GatewayMiddleware {
  const { keys, telemetry, replay, policy, verifyPutParties, unsignedFrom } = options;
  const keysFor = (source: string) => keys.get(source);
  return async function verifyInboundJws(c, next) {
    const started = performance.now();
    const source = header(c, 'fspiop-source') ?? '';
    const report = (
      outcome: 'ok' | 'failed' | 'skipped',
      extra: { reason?: string; form?: PayloadForm } = {},
      seconds = (performance.now() - started) / 1000,
    ) => telemetry.jwsVerify({ source, outcome, ...extra, seconds });
    if (!c.get('route').hasBody || (isPutParties(c) && !verifyPutParties)) {
      c.get('message').signature = 'skipped';
      report('skipped');
      return next();
    }
    // The allowance is the hub's, proven by its certificate: a relay (TRUSTED_PROXY_PEERS) or a listener
    // without mTLS can claim FSPIOP-Source: hub, so the bound peer must be the hub too.
    if (!header(c, 'fspiop-signature') && unsignedFrom !== undefined && source === unsignedFrom && c.get('peer')?.fspId === unsignedFrom) {
      c.get('message').signature = 'unsigned';
      report('skipped', { reason: 'unsigned_hub' });
      return next();
    }
    const route = c.get('route');
    let form: PayloadForm;
    try {
      const r = await verifyRequest(
        { method: c.req.method, path: route.path + route.query, header: (n) => header(c, n), body: c.get('message').bytes },
        keysFor,
        policy,
      );
      form = r.form;
    } catch (e) {
      report('failed', { reason: isGatewayError(e) ? e.code : 'GW_INTERNAL' });
      throw e;
    }
    c.get('message').signature = form;
    if (!replay || (route.kind !== 'request' && REPLAY_EXEMPT.has(route.resource))) {
      report('ok', { form });
      return next();
    }
    // Only a verified signature is recorded: its record lives while its (signed) Date is in the window. It is
    // written with the message's first store operation (the ILP stage's), or alone just before forwarding
    // (writeReplayRecord), never after: one round trip where there used to be two (src/store/first-use.ts).
    // The verdict is reported when the record is written: a replay (or a store failure) as this stage's failure.
    const seconds = (performance.now() - started) / 1000;
    const pending = new PendingMark(replay.markOf(parseSignatureHeader(header(c, 'fspiop-signature')!).signature, c.get('date')), (outcome) => {
      if (outcome === true) return report('ok', { form }, seconds);
      const refusal = replayRefusal(outcome);
      report('failed', { reason: refusal.code }, seconds);
      throw refusal;
    });
    c.set('storeMark', pending);
    try {
      await next();
    } finally {
      // Refused before any store access (identity, an ILP form check): the signature verified, no record owed.
      if (!pending.claimed) report('ok', { form }, seconds);
    }
  };
}

/**
 * The latest point at which a verified signature's replay record is written (docs/security.md class 9): just
 * before forwarding, when no stage wrote it with a store operation of its own. A replay gets GW_JWS_REPLAY
 * (3105/400), a store failure GW_STORE_UNAVAILABLE (2003/503); nothing is forwarded either way.
 */
export function writeReplayRecord(options: { readonly store: Pick<Store, 'save'> }): GatewayMiddleware {
  const { store } = options;
  return async function writeReplayRecord(c, next) {
    const pending = c.get('storeMark');
    if (pending) await writeMark(store, pending);
    await next();
  };
}

/**
 * Outbound signing (docs/jws.md, "Outbound signing"): messages with a body whose FSPIOP-Source is this side
 * (`selfId`) and that carry no FSPIOP-Signature are re-emitted as canonical sorted JSON and
 * signed: the message's bytes become the signed ones and fspiop-signature / fspiop-uri /
 * fspiop-http-method (+ date when absent) join its headers (fspiop/message.ts Message.signed).
 * Everything else passes through byte for byte.
 * @throws GatewayError GW_JWS_SIGN_FAILED, GW_BODY_MALFORMED
 */
export interface SignOutboundOptions {
  readonly signer: Pick<SigningKeyHolder, 'sign'>;
  /** DFSP_ID (HUB_ID in the hub role): only messages this side originates are signed. */
  readonly selfId: string;
  /** JWS_SIGN_PUT_PARTIES. */
  readonly signPutParties: boolean;
}

export function signOutbound(options: SignOutboundOptions): GatewayMiddleware {
  const { signer, selfId, signPutParties } = options;
  return async function signOutbound(c, next) {
    const message = c.get('message');
    if (
      !c.get('route').hasBody ||
      (message.bytes.length === 0 && !message.rewritten) ||
      header(c, 'fspiop-source') !== selfId ||
      header(c, 'fspiop-signature') ||
      (isPutParties(c) && !signPutParties)
    )
      return next();
    if (!message.rewritten) {
      const text = message.text();
      message.json(); // a JSON object, or GW_BODY_MALFORMED
      if (message.bytes.length > YIELD_ABOVE_BYTES) await nextTurn(); // the parse, the checks and the signing in turns of their own
      // What is signed is the canonical re-emission: it must mean what the local side sent. Duplicate
      // member names never get here (checkRequest refuses them); numbers must already be canonical.
      if (hasNonCanonicalNumber(text)) throw new GatewayError('GW_BODY_MALFORMED', { detail: 'a number is not in canonical form; signing would change it' });
    }
    const pick = (n: string) => message.headers[n] ?? header(c, n);
    const route = c.get('route');
    const signed = await signer.sign({
      method: c.req.method,
      url: route.path + route.query,
      json: message.json(),
      // FSPIOP-Encryption is forwarded, so it is protected too (Encryption v1.1 §3; a receiving verifier refuses it
      // unprotected: protected-header.ts). Hostile review of 2026-12-02: it was forwarded outside the signature.
      headers: {
        'fspiop-source': selfId,
        'fspiop-destination': pick('fspiop-destination'),
        'fspiop-encryption': pick('fspiop-encryption'),
        date: pick('date'),
      },
    });
    message.signed(signed.body, signed.headers);
    await next();
  };
}
