// Sends one prepared request (sent by this process's DFSP, over its certificate) with FSP tags, a fresh
// traceparent and a named check.

import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { ENV } from './env.js';
import { traceparent } from './ids.js';
import { EXHAUSTED } from './scale.js';
import { BASE_URL } from './tls.js';

const fspiopErrors = new Counter('fspiop_errors');
export const exhausted = new Counter(EXHAUSTED);

const EXPECT_202 = http.expectedStatuses(202);
const EXPECT_400 = http.expectedStatuses(400);

/** @param {string} body */
function errorCode(body) {
  try {
    const parsed = JSON.parse(body);
    return parsed && parsed.errorInformation ? String(parsed.errorInformation.errorCode) : '';
  } catch (_e) {
    return '';
  }
}

/**
 * @param {import('./data.js').PreparedRequest} req
 * @param {string} checkName  stable id, e.g. TRANSFERS_FSPIOP_POST_TRANSFERS_RESPONSE_IS_202
 */
export function send(req, checkName) {
  // A warmed scenario (lib/scale.js withWarmup) carries WARMUP_MS: its ramp is phase=warmup, then phase=run.
  const warmupMs = Number(__ENV.WARMUP_MS || 0);
  exec.vu.tags.phase = warmupMs > 0 && Date.now() - exec.scenario.startTime < warmupMs ? 'warmup' : 'run';
  const tags = {
    payerFspId: req.kind === 'postQuotes' || req.kind === 'postTransfers' ? req.fsp : req.destination,
    payeeFspId: req.kind === 'postQuotes' || req.kind === 'postTransfers' ? req.destination : req.fsp,
    request: req.kind,
    name: `${req.method} ${req.path.replace(/\/[0-9a-f-]{36}$/, '/{ID}')}`,
  };
  const headers = Object.assign({}, req.headers, { traceparent: traceparent() });
  const res = http.request(req.method, BASE_URL + req.path, req.body, {
    headers,
    tags,
    responseCallback: req.expectStatus === 400 ? EXPECT_400 : EXPECT_202,
  });
  const code = res.status >= 400 && typeof res.body === 'string' ? errorCode(res.body) : '';
  if (code) fspiopErrors.add(1, { errorCode: code, status: String(res.status) });
  /** @type {{ [name: string]: (r: import('k6/http').RefinedResponse<any>) => boolean }} */
  const checks = {};
  checks[checkName] = (r) => r.status === req.expectStatus && (req.expectCode === undefined || code === req.expectCode);
  const ok = check(res, checks, tags);
  if (!ok && ENV.ABORT_ON_ERROR) exec.test.abort(`${checkName} failed: HTTP ${res.status} ${code}`);
  return res;
}
