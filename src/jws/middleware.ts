// The thin Hono layer of the JWS capability (hono's middleware-factory pattern). Runs after the core stages have
// set `route`, `body` and `peer`; all protocol logic lives in the pure modules beside this file.
import { header } from '../http/context.js';
import type { Config } from '../config/schema.js';
import { GatewayError, isGatewayError } from '../errors.js';
import type { GatewayContext, GatewayMiddleware } from '../http/context.js';
import type { PayloadForm, Telemetry } from '../telemetry/types.js';
import { checkDateWindow, type ReplayGuard } from './freshness.js';
import type { KeyDirectory } from './key-directory.js';
import { parseSignatureHeader } from './signature-header.js';
import type { SigningKeyHolder } from './signing-key.js';
import { nextTurn, YIELD_ABOVE_BYTES } from '../util/turns.js';
import { hasNonCanonicalNumber } from '../fspiop/json-numbers.js';
import { verifyRequest, type VerifyPolicy } from './verify.js';

// Which messages are signed comes from the FSPIOP resource table: those that carry a body (RouteMatch.hasBody).
const isPutParties = (c: GatewayContext) => c.req.method === 'PUT' && c.get('route')?.resource === 'parties';

/**
 * Freshness (docs/security.md class 9): a Date header must lie within JWS_MAX_CLOCK_SKEW_SECONDS of now
 * (GW_CLOCK_SKEW). Costs no store access: replay protection runs in verifyInboundJws, after the signature
 * verified, so a signature nobody can verify never takes store capacity (docs/security.md class 9).
 */
export function checkFreshness(deps: { config: Pick<Config, 'jwsMaxClockSkewSeconds'>; now?: () => number }): GatewayMiddleware {
  const now = deps.now ?? Date.now;
  const skew = deps.config.jwsMaxClockSkewSeconds;
  return async function checkFreshness(c, next) {
    const date = header(c, 'date');
    if (date !== undefined) checkDateWindow(date, now(), skew);
    await next();
  };
}

/**
 * Inbound FSPIOP-Signature verification (docs/jws.md, "What is checked on an inbound request"). Sets `jwsForm` to
 * the payload form that verified, or 'skipped' / 'unsigned'. Reports every decision to telemetry.jwsVerify.
 * @throws GatewayError GW_JWS_* (3105/400), GW_HEADER_MISSING when FSPIOP-Source is absent.
 */
export function verifyInboundJws(deps: { config: Config; keys: KeyDirectory; telemetry: Telemetry; replay?: ReplayGuard }): GatewayMiddleware {
  const { config, keys, telemetry, replay } = deps;
  if (config.replayProtection && config.validateInboundJws && !replay) throw new Error('verifyInboundJws: REPLAY_PROTECTION is on but no replay guard was given');
  if (!config.validateInboundJws) {
    return async function verifyInboundJws(c, next) {
      c.set('jwsForm', 'skipped');
      await next();
    };
  }
  const policy: VerifyPolicy = { algorithms: new Set(config.jwsAlgorithms), forms: config.jwsPayloadForms as PayloadForm[], requireDate: config.jwsRequireSignedDate };
  const keysFor = (source: string) => keys.get(source);
  return async function verifyInboundJws(c, next) {
    const started = performance.now();
    const source = header(c, 'fspiop-source') ?? '';
    const report = (outcome: 'ok' | 'failed' | 'skipped', extra: { reason?: string; form?: PayloadForm } = {}) =>
      telemetry.jwsVerify({ source, outcome, ...extra, seconds: (performance.now() - started) / 1000 });
    if (!c.get('route').hasBody || (isPutParties(c) && !config.validatePutPartiesJws)) {
      c.set('jwsForm', 'skipped');
      report('skipped');
      return next();
    }
    if (!header(c, 'fspiop-signature') && source === config.hubId && config.jwsAllowUnsignedHub) {
      c.set('jwsForm', 'unsigned');
      report('skipped', { reason: 'unsigned_hub' });
      return next();
    }
    const route = c.get('route');
    let form: PayloadForm;
    try {
      const r = await verifyRequest({ method: c.req.method, path: route.path + route.query, header: (n) => header(c, n), body: c.get('body') }, keysFor, policy);
      form = r.form;
      // Only a verified signature is recorded: its record lives while its (signed) Date is in the window.
      if (replay && config.replayProtection) {
        const date = header(c, 'date');
        await replay.check(parseSignatureHeader(header(c, 'fspiop-signature')!).signature, date !== undefined ? Date.parse(date) : undefined);
      }
    } catch (e) {
      report('failed', { reason: isGatewayError(e) ? e.code : 'GW_INTERNAL' });
      throw e;
    }
    c.set('jwsForm', form);
    report('ok', { form });
    await next();
  };
}

/**
 * Outbound signing (docs/jws.md, "Outbound signing"): messages with a body whose FSPIOP-Source is this side
 * (`config.selfId`) and that carry no FSPIOP-Signature are re-emitted as canonical sorted JSON and
 * signed; `body` is replaced, `rewrittenJson` cleared (the signed bytes are final) and
 * fspiop-signature / fspiop-uri / fspiop-http-method (+ date when absent) go into `extraHeaders`.
 * Everything else passes through byte for byte.
 * @throws GatewayError GW_JWS_SIGN_FAILED, GW_BODY_MALFORMED
 */
export function signOutbound(deps: { config: Config; signer: SigningKeyHolder; telemetry: Telemetry }): GatewayMiddleware {
  const { config, signer } = deps;
  if (!config.jwsSign) return async function signOutbound(_c, next) { await next(); };
  return async function signOutbound(c, next) {
    const body = c.get('body');
    const rewritten = c.get('rewrittenJson');
    if (
      !c.get('route').hasBody || ((!body || body.length === 0) && rewritten === undefined)
      || header(c, 'fspiop-source') !== config.selfId || header(c, 'fspiop-signature')
      || (isPutParties(c) && !config.jwsSignPutParties)
    ) return next();
    let json = rewritten;
    if (json === undefined) {
      const text = body.toString('utf8');
      try {
        json = JSON.parse(text);
      } catch (cause) {
        throw new GatewayError('GW_BODY_MALFORMED', { detail: 'body is not JSON', cause });
      }
      if (body.length > YIELD_ABOVE_BYTES) await nextTurn(); // the parse, the checks and the signing in turns of their own
      // What is signed is the canonical re-emission: it must mean what the local side sent. Duplicate
      // member names never get here (checkRequest refuses them); numbers must already be canonical.
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new GatewayError('GW_BODY_MALFORMED', { detail: 'an FSPIOP message is a JSON object' });
      if (hasNonCanonicalNumber(text)) throw new GatewayError('GW_BODY_MALFORMED', { detail: 'a number is not in canonical form; signing would change it' });
    }
    const extra = c.get('extraHeaders') ?? {};
    const pick = (n: string) => extra[n] ?? header(c, n);
    const route = c.get('route');
    const signed = await signer.sign({
      method: c.req.method, url: route.path + route.query, json,
      headers: { 'fspiop-source': config.selfId, 'fspiop-destination': pick('fspiop-destination'), date: pick('date') },
    });
    c.set('body', signed.body);
    c.set('rewrittenJson', undefined);
    c.set('extraHeaders', { ...extra, ...signed.headers });
    c.set('jwsForm', 'signed');
    await next();
  };
}
