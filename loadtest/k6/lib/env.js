// Environment variables, parsed once into a frozen ENV object (no globals, no parsing at call sites).
// Paths are best given absolute; relative ones resolve against loadtest/k6/ (index.js calls open()).
//
// One k6 process speaks for ONE DFSP: k6's HTTP client is Go's crypto/tls, whose client side presents the
// first `tlsAuth` certificate the server's CertificateRequest accepts (`domains` only feeds
// NameToCertificate, which servers use), so a second certificate in one process is never chosen. A
// multi-DFSP run is one process per identity: `npm run loadtest:k6` (loadtest/k6-runner/) starts them,
// each with its own FSP_ID, certificate, data and share of the rate, and merges their results.

/** @param {string | undefined} v @param {boolean} def */
function bool(v, def) {
  if (v === undefined || v === '') return def;
  const s = v.toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes' || s === 'on') return true;
  if (s === 'false' || s === '0' || s === 'no' || s === 'off') return false;
  throw new Error(`expected true or false, got ${v}`);
}

/** @param {string} name @param {string | undefined} v @param {number} def */
function count(name, v, def) {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: expected a whole number of seconds (0 or more), got ${v}`);
  return n;
}

/** @param {string} name @param {string | undefined} v @param {number} def */
function int(name, v, def) {
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: expected a positive integer, got ${v}`);
  return n;
}

/** @param {string} name @param {string | undefined} v */
function rate(name, v) {
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!(n > 0) || Math.abs(Math.round(n * 1000) - n * 1000) > 1e-6) throw new Error(`${name}: expected requests/s with at most 3 decimals, got ${v}`);
  return n;
}

/** @param {string | undefined} v */
function list(v) {
  if (v === undefined || v === '') return [];
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** @param {string | undefined} v */
function instant(v) {
  if (v === undefined || v === '') return 0;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!(t > 0)) throw new Error(`START_AT: expected epoch milliseconds or an ISO 8601 time, got ${v}`);
  return t;
}

const FSP_ID = __ENV.FSP_ID || '';
if (FSP_ID === '') {
  throw new Error(
    'FSP_ID is not set: one k6 process presents one client certificate, so it speaks for one DFSP. Run `npm run loadtest:k6 -- --profile <name>` for a multi-DFSP run (one k6 process per DFSP), or set FSP_ID, CERT_FILE, KEY_FILE and DATA_FILE for one identity (docs/performance/k6.md).',
  );
}
const KEYS_DIR = __ENV.KEYS_DIR || '../../keys';

export const ENV = Object.freeze({
  /** Profile: profiles/<K6_PROFILE>.json, or a path ending in .json (executor, rate, duration, VUs, thresholds). */
  PROFILE: __ENV.K6_PROFILE || 'target-1000',
  /** The DFSP this process speaks for: the sender (FSPIOP-Source) of every request it sends. */
  FSP_ID,
  /** This identity's client certificate and key (PEM); default: the `switchguard pki init` layout under KEYS_DIR. */
  CERT_FILE: __ENV.CERT_FILE || `${KEYS_DIR}/clients/${FSP_ID}.pem`,
  KEY_FILE: __ENV.KEY_FILE || `${KEYS_DIR}/clients/${FSP_ID}.key`,
  /** Pre-signed requests: this identity's file from `npm run loadtest:prepare -- --split-dir`, or a whole set (filtered to FSP_ID). */
  DATA_FILE: __ENV.DATA_FILE || `../.data/split/${FSP_ID}.json`,
  /** The DFSPs this identity exchanges requests with; when set, a request for anyone else stops the run at start. */
  PEERS: Object.freeze(list(__ENV.PEERS)),
  /** This process's arrival rate, requests/s with up to 3 decimals (a ramp's peak); 0 = the profile's own. The runner splits the total. */
  RATE: rate('RATE', __ENV.RATE),
  /**
   * Epoch ms at which setup() lets the scenarios begin (0: at once). Processes started apart (one k6
   * operator TestRun per identity) begin together when they share it; the runner resumes paused processes instead.
   */
  START_AT: instant(__ENV.START_AT),
  /**
   * Seconds before the measured scenarios in which every VU opens its connection with one request (GET /,
   * answered 404 by the gateway); its samples are tagged phase=connect and left out of the thresholds. 0: none.
   */
  CONNECT_SECONDS: count('CONNECT_SECONDS', __ENV.CONNECT_SECONDS, 5),
  /**
   * Seconds over which each constant-rate scenario ramps from 0 to its rate before holding it for its
   * duration (lib/scale.js withWarmup); the ramp's samples are tagged phase=warmup and left out of the thresholds. 0: none.
   */
  WARMUP_SECONDS: count('WARMUP_SECONDS', __ENV.WARMUP_SECONDS, 15),
  /** Override of the scenario duration in seconds (a ramp is stretched); 0 = the profile's. */
  DURATION: int('DURATION', __ENV.DURATION, 0),
  /** The gateway's inbound (mTLS) listener. */
  TARGET_HOST: __ENV.TARGET_HOST || '127.0.0.1',
  TARGET_PORT: int('TARGET_PORT', __ENV.TARGET_PORT, 8443),
  /** Host name in the URLs, mapped to TARGET_HOST by the `hosts` option, so a verified server certificate can name it. */
  SERVER_NAME: __ENV.SERVER_NAME || '',
  /** k6 trusts only the system store; the dev CA is private, so verification is off unless SSL_CERT_FILE points at it. */
  INSECURE_SKIP_TLS_VERIFY: bool(__ENV.INSECURE_SKIP_TLS_VERIFY, true),
  /** Run even when the pre-signed set is older than its recorded validity (the gateway's skew was raised). */
  IGNORE_SET_VALIDITY: bool(__ENV.IGNORE_SET_VALIDITY, false),
  /** Abort the whole test on the first failed check (field convention: abortOnError). */
  ABORT_ON_ERROR: bool(__ENV.ABORT_ON_ERROR, false),
});
