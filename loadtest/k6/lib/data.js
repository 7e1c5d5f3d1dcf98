// The pre-signed requests (RS256 signing is not available inside k6 v0.48): written by
// `npm run loadtest:prepare` (or by `npm run loadtest:k6` just before it starts k6), loaded once and
// shared read-only by every VU. This process sends only the requests of its DFSP (FSP_ID).
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import { ENV } from './env.js';

/**
 * @typedef {object} PreparedRequest
 * @property {'postQuotes' | 'putQuotes' | 'postTransfers' | 'putTransfers'} kind
 * @property {'POST' | 'PUT'} method
 * @property {string} path
 * @property {string} fsp           sending DFSP = FSPIOP-Source = client certificate = FSP_ID
 * @property {string} destination
 * @property {{ [name: string]: string }} headers
 * @property {string} body          the exact signed bytes
 * @property {number} expectStatus  202, or 400 for a deliberately broken signature
 * @property {string} [expectCode]  '3105' for a broken signature
 */

/**
 * @typedef {object} PreparedMeta
 * @property {string} createdAt
 * @property {string} validUntil
 * @property {boolean} reusable
 * @property {number} count        requests of this DFSP
 */

/** Element 0 is the set's metadata, then this DFSP's requests in send order. */
/** @type {any} */
let SHARED = [];
let COUNT = 0;
let REUSABLE = false;

/**
 * Keeps the requests sent by FSP_ID (a per-DFSP file has nothing else; a whole set is filtered) and
 * refuses a set in which FSP_ID sends nothing, or sends to a DFSP outside PEERS.
 * @param {any} set
 */
function ownRequests(set) {
  if (!set || !Array.isArray(set.requests)) throw new Error(`${ENV.DATA_FILE}: not a prepared request set (npm run loadtest:prepare)`);
  /** @type {PreparedRequest[]} */
  const own = [];
  const peers = ENV.PEERS;
  for (let i = 0; i < set.requests.length; i++) {
    /** @type {PreparedRequest} */
    const r = set.requests[i];
    if (r.fsp !== ENV.FSP_ID) continue;
    if (peers.length > 0 && peers.indexOf(r.destination) < 0) {
      throw new Error(`${ENV.DATA_FILE}: ${ENV.FSP_ID} sends ${r.kind} to ${r.destination}, which is not in PEERS (${peers.join(',')})`);
    }
    own.push(r);
  }
  if (own.length === 0) {
    throw new Error(
      `${ENV.DATA_FILE} has no request sent by ${ENV.FSP_ID}: give this process its own file (loadtest:prepare --split-dir) or a set that includes it`,
    );
  }
  return own;
}

/**
 * Loads the set (init context only). Called from index.js so that open() resolves relative paths
 * against the entry script (k6 resolves them against the module executing at top level).
 * @returns {PreparedMeta}
 */
export function loadPrepared() {
  SHARED = new SharedArray('prepared', () => {
    const set = JSON.parse(open(ENV.DATA_FILE));
    const own = ownRequests(set);
    /** @type {PreparedMeta} */
    const meta = { createdAt: String(set.createdAt), validUntil: String(set.validUntil), reusable: set.reusable === true, count: own.length };
    return [/** @type {any} */ (meta)].concat(own);
  });
  const meta = /** @type {PreparedMeta} */ (SHARED[0]);
  COUNT = meta.count;
  REUSABLE = meta.reusable;
  return meta;
}

/**
 * The request of this iteration, in the set's order (journeys are pipelined there); undefined once a
 * non-replayable set is used up. `iterationInTest` is unique across the instances of a segmented run
 * (k6 operator `parallelism`), so instances of one identity share its requests without sending one twice.
 * @returns {PreparedRequest | undefined}
 */
export function requestForIteration() {
  const i = exec.scenario.iterationInTest;
  if (i < COUNT) return SHARED[i + 1];
  return REUSABLE && COUNT > 0 ? SHARED[(i % COUNT) + 1] : undefined;
}
