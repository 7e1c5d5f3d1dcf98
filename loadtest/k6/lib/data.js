// The pre-signed requests (RS256 signing is not available inside k6 v0.48): written by
// `npm run loadtest:prepare`, loaded once and shared read-only by every VU.
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
import { ENV } from './env.js';

/**
 * @typedef {object} PreparedRequest
 * @property {'postQuotes' | 'putQuotes' | 'postTransfers' | 'putTransfers'} kind
 * @property {'POST' | 'PUT'} method
 * @property {string} path
 * @property {string} fsp           sending DFSP = FSPIOP-Source = client certificate
 * @property {string} destination
 * @property {{ [name: string]: string }} headers
 * @property {string} body          the exact signed bytes
 * @property {number} expectStatus  202, or 400 for a deliberately broken signature
 * @property {string} [expectCode]  '3105' for a broken signature
 */

/** @type {PreparedRequest[]} */
let REQUESTS = [];
let REUSABLE = false;

/**
 * Loads the set (init context only). Called from index.js so that open() resolves relative paths
 * against the entry script (k6 resolves them against the module executing at top level).
 * @returns {{ createdAt: string, validUntil: string, reusable: boolean, count: number }}
 */
export function loadPrepared() {
  const meta = new SharedArray('prepared-meta', () => {
    const set = JSON.parse(open(ENV.DATA_FILE));
    return [{ createdAt: String(set.createdAt), validUntil: String(set.validUntil), reusable: set.reusable === true, count: set.requests.length }];
  })[0];
  REQUESTS = /** @type {any} */ (new SharedArray('prepared-requests', () => JSON.parse(open(ENV.DATA_FILE)).requests));
  REUSABLE = meta.reusable;
  return meta;
}

/**
 * The request of this iteration, in the set's order (journeys are pipelined there); undefined once a
 * non-replayable set is used up.
 * @returns {PreparedRequest | undefined}
 */
export function requestForIteration() {
  const i = exec.scenario.iterationInTest;
  if (i < REQUESTS.length) return REQUESTS[i];
  return REUSABLE && REQUESTS.length > 0 ? REQUESTS[i % REQUESTS.length] : undefined;
}
