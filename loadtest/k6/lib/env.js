// Environment variables, parsed once into a frozen ENV object (no globals, no parsing at call sites).
// Paths are best given absolute; relative ones resolve against loadtest/k6/ (index.js calls open()).

/** @param {string | undefined} v @param {boolean} def */
function bool(v, def) {
  if (v === undefined || v === '') return def;
  const s = v.toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  throw new Error(`expected true or false, got ${v}`);
}

/** @param {string | undefined} v @param {number} def */
function int(v, def) {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive integer, got ${v}`);
  return n;
}

/** @param {string | undefined} v */
function fspList(v) {
  if (v === undefined || v === '') return ['perffsp-1', 'perffsp-2', 'perffsp-3', 'perffsp-4', 'perffsp-5', 'perffsp-6', 'perffsp-7', 'perffsp-8'];
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export const ENV = Object.freeze({
  /** Profile name: profiles/<PROFILE>.json (executor, rate, duration, VUs, thresholds). */
  PROFILE: __ENV.K6_PROFILE || 'target-1000',
  /** The gateway's inbound listener. Every DFSP connects to it through its own host alias (see lib/tls.js). */
  TARGET_HOST: __ENV.TARGET_HOST || '127.0.0.1',
  TARGET_PORT: int(__ENV.TARGET_PORT, 8443),
  /** Host aliases are <fspId>.<HOST_SUFFIX>, mapped to TARGET_HOST by the `hosts` option. */
  HOST_SUFFIX: __ENV.HOST_SUFFIX || 'switchguard.test',
  /** `switchguard pki init` output: clients/<fsp>.pem and .key. */
  KEYS_DIR: __ENV.KEYS_DIR || '../../keys',
  /** Pre-signed set from `npm run loadtest:prepare`. */
  DATA_FILE: __ENV.DATA_FILE || '../.data/presigned.json',
  FSPS: Object.freeze(fspList(__ENV.FSPS)),
  /** k6 trusts only the system store; the dev CA is private, so verification is off unless SSL_CERT_FILE points at it. */
  INSECURE_SKIP_TLS_VERIFY: bool(__ENV.INSECURE_SKIP_TLS_VERIFY, true),
  /** Run even when the pre-signed set is older than its recorded validity (the gateway's skew was raised). */
  IGNORE_SET_VALIDITY: bool(__ENV.IGNORE_SET_VALIDITY, false),
  /** Abort the whole test on the first failed check (field convention: abortOnError). */
  ABORT_ON_ERROR: bool(__ENV.ABORT_ON_ERROR, false),
});
