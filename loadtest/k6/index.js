// k6 entry: loads the profile (K6_PROFILE → profiles/<name>.json: executors, rates, VUs, thresholds),
// adds one client certificate per DFSP, and re-exports the journeys the profiles `exec`.
//   k6 run -e K6_PROFILE=target-1000 -e KEYS_DIR=$PWD/keys -e DATA_FILE=$PWD/loadtest/.data/presigned.json loadtest/k6/index.js

import { loadPrepared } from './lib/data.js';
import { ENV } from './lib/env.js';
import { tlsOptions } from './lib/tls.js';

const profile = JSON.parse(open(`./profiles/${ENV.PROFILE}.json`));
const META = loadPrepared();

/** @type {import('k6/options').Options} */
export const options = Object.assign(
  {
    scenarios: profile.scenarios,
    thresholds: profile.thresholds,
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  },
  tlsOptions(),
);

export function setup() {
  if (Date.parse(META.validUntil) < Date.now() && !ENV.IGNORE_SET_VALIDITY) {
    throw new Error(
      `prepared requests were signed at ${META.createdAt}; their Date headers are outside the default skew window (valid until ${META.validUntil}): regenerate them, or raise the gateway's JWS_MAX_CLOCK_SKEW_SECONDS and set IGNORE_SET_VALIDITY=true`,
    );
  }
}

export { mixedBadSignatures } from './scenarios/mixedBadSignatures.js';
export { quotesOnly } from './scenarios/quotesOnly.js';
export { quoteTransfer } from './scenarios/quoteTransfer.js';

export default function () {
  throw new Error('run a profile: every scenario names its journey with `exec`');
}
