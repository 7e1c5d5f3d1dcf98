// The documents remote key sources answer with, read into checked keys (docs/jws.md, "Key sources").
//   - JWK Set (RFC 7517 §5) from a peer's `jwksUrl`: every key in it is that peer's. Accepted whole or not at
//     all: one refused key (remote-key.ts), two different keys under one `kid` (RFC 7517 §4.5) or no signature
//     key at all refuses the document, and the last good set stays in force.
//   - Mojaloop Connection Manager (connection-manager-api, src/api/swagger.yaml, schemas DFSPJWSCert and
//     JWSCert): GET /dfsps/jwscerts answers an array of {dfspId, publicKey (PEM), createdAt, validationState,
//     validations}; GET /hub/jwscerts answers one {publicKey, …}, the hub's. Accepted per FSP: the entries of
//     one FSP are taken whole or not at all; `validationState: "INVALID"` refuses them.
import { isValidFspId } from '../../fspiop/headers.js';
import { type ImportContext, importJwk, importPem, Refusal, type RemoteKey } from './remote-key.js';

const MAX_KEYS = 100;
/**
 * The most keys one FSP may have from one source. A request signed in its name may try each of them (for each
 * payload form) before it is refused: bounded work per request (docs/security.md class 10) needs the count
 * bounded as well as each key's cost (src/jws/algorithms.ts). A rotation needs two or three.
 */
export const MAX_KEYS_PER_FSP = 10;

function json(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new Refusal('not_json', 'the answer is not JSON');
  }
}

/**
 * The keys of a JWK Set, all of them checked. @throws (rejects with) Refusal
 */
export async function parseJwks(body: Buffer, ctx: ImportContext): Promise<RemoteKey[]> {
  const doc = json(body);
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (doc === null || typeof doc !== 'object' || !Array.isArray(keys)) throw new Refusal('bad_document', 'not a JWK Set ({"keys": [...]})');
  if (keys.length > MAX_KEYS) throw new Refusal('bad_document', `more than ${MAX_KEYS} keys`);
  const out: RemoteKey[] = [];
  const byKid = new Map<string, string>();
  for (const raw of keys) {
    const k = await importJwk(raw, ctx);
    if (k === undefined) continue;
    if (k.kid !== undefined) {
      const seen = byKid.get(k.kid);
      if (seen !== undefined && seen !== k.fingerprint) throw new Refusal('duplicate_kid', 'two different keys share one kid');
      byKid.set(k.kid, k.fingerprint);
    }
    if (!out.some((o) => o.fingerprint === k.fingerprint)) out.push(k);
  }
  if (out.length === 0) throw new Refusal('no_keys', 'no signature key in the set');
  if (out.length > MAX_KEYS_PER_FSP) throw new Refusal('bad_document', `more than ${MAX_KEYS_PER_FSP} signature keys`);
  return out;
}

/** Per FSP: its keys, or why they were refused. */
export type McmResult = Map<string, RemoteKey[] | Refusal>;

interface McmEntry {
  readonly dfspId?: unknown;
  readonly publicKey?: unknown;
  readonly validationState?: unknown;
}

async function entryKey(e: McmEntry, ctx: ImportContext): Promise<RemoteKey> {
  if (e.validationState === 'INVALID') throw new Refusal('invalid_in_mcm', 'the Connection Manager marks the key INVALID');
  return importPem(e.publicKey, ctx);
}

/**
 * GET /dfsps/jwscerts: the keys per DFSP. A key listed under two DFSPs is refused for both (other_fsp).
 * Entries without a valid dfspId are left out and counted in `skipped`.
 * @throws (rejects with) Refusal when the answer as a whole is not such a list.
 */
export async function parseMcmDfsps(body: Buffer, base: Omit<ImportContext, 'fspId'>): Promise<{ perFsp: McmResult; skipped: number }> {
  const doc = json(body);
  if (!Array.isArray(doc)) throw new Refusal('bad_document', 'not an array of DFSP JWS certificates');
  const perFsp: McmResult = new Map();
  let skipped = 0;
  for (const e of doc as McmEntry[]) {
    const fspId = (e as McmEntry | null)?.dfspId;
    if (typeof fspId !== 'string' || !isValidFspId(fspId)) {
      skipped++;
      continue;
    }
    const had = perFsp.get(fspId);
    if (had instanceof Refusal) continue;
    try {
      const k = await entryKey(e, { ...base, fspId });
      const all = [...(had ?? []), k];
      perFsp.set(fspId, all.length > MAX_KEYS_PER_FSP ? new Refusal('bad_document', `more than ${MAX_KEYS_PER_FSP} keys for one DFSP`) : all);
    } catch (err) {
      perFsp.set(fspId, err instanceof Refusal ? err : new Refusal('invalid_key', 'entry does not import'));
    }
  }
  // A key listed under several DFSPs is each one's: DFSPs upload their own keys (connection-manager-api
  // createDfspJWSCerts), so refusing it for all let one DFSP that uploaded another's public key lock that DFSP out
  // (re-review of 2026-12-02). A copy verifies only messages signed in the copier's name (remote-keys.ts).
  return { perFsp, skipped };
}

/** GET /hub/jwscerts: the hub's key. @throws (rejects with) Refusal */
export async function parseMcmHub(body: Buffer, ctx: ImportContext): Promise<RemoteKey[]> {
  const doc = json(body);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Refusal('bad_document', 'not a JWS certificate object');
  return [await entryKey(doc as McmEntry, ctx)];
}
