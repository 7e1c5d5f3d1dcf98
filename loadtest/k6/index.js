// k6 entry for ONE DFSP identity (FSP_ID): loads the profile (K6_PROFILE → profiles/<name>.json: executors,
// rates, VUs, thresholds), scales it to this process's share (RATE, DURATION), presents this DFSP's client
// certificate, and re-exports the journeys the profiles `exec`. A multi-DFSP run is one process per
// identity, started and merged by `npm run loadtest:k6` (docs/performance/k6.md):
//   k6 run -e K6_PROFILE=target-1000 -e FSP_ID=perffsp-1 -e RATE=125 -e KEYS_DIR=$PWD/keys \
//          -e DATA_FILE=$PWD/loadtest/.data/split/perffsp-1.json loadtest/k6/index.js

import { sleep } from 'k6';
import { loadPrepared } from './lib/data.js';
import { ENV } from './lib/env.js';
import { judgedThresholds, scaleScenarios, withConnectPhase, withWarmup } from './lib/scale.js';
import { tlsOptions } from './lib/tls.js';

const profile = JSON.parse(open(/\.json$/.test(ENV.PROFILE) ? ENV.PROFILE : `./profiles/${ENV.PROFILE}.json`));
const META = loadPrepared();

/** The system tags each sample keeps (the runner and the summaries use status, name, scenario, check and expected_response). */
const SYSTEM_TAGS = ['status', 'method', 'name', 'group', 'check', 'error', 'error_code', 'scenario', 'expected_response'];

/** The trend columns of the end-of-test summary; the runner prints the merged figures with the same columns. */
const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];

/** @type {import('k6/options').Options} */
export const options = Object.assign(
  {
    // Connections first (CONNECT_SECONDS), then the profile's scenarios after a ramp (WARMUP_SECONDS),
    // judged on their own samples (phase=run), and failed when the prepared set ran out.
    scenarios: withConnectPhase(withWarmup(scaleScenarios(profile.scenarios, ENV.RATE, ENV.DURATION), ENV.WARMUP_SECONDS), ENV.CONNECT_SECONDS),
    thresholds: judgedThresholds(profile.thresholds, ENV.CONNECT_SECONDS + ENV.WARMUP_SECONDS),
    summaryTrendStats: SUMMARY_TREND_STATS,
    // Every sample carries the DFSP it was sent as, so merged raw outputs can still be told apart.
    tags: { fspId: ENV.FSP_ID },
    // k6's default system tags less url (the request's full URL: `name` already carries its template),
    // proto, subproto, tls_version and service: every raw sample is written with its tags, and at 1000
    // requests/s the shorter lines and tag sets cost the load generator measurably less CPU (docs/performance/k6.md).
    systemTags: SYSTEM_TAGS,
    // setup() waits for START_AT: give it that long and a minute more.
    setupTimeout: `${Math.max(60, Math.ceil((ENV.START_AT - Date.now()) / 1000) + 60)}s`,
  },
  tlsOptions(),
);

export function setup() {
  if (Date.parse(META.validUntil) < Math.max(Date.now(), ENV.START_AT) && !ENV.IGNORE_SET_VALIDITY) {
    throw new Error(
      `prepared requests were signed at ${META.createdAt}; their Date headers are outside the default skew window (valid until ${META.validUntil}): regenerate them, or raise the gateway's JWS_MAX_CLOCK_SKEW_SECONDS and set IGNORE_SET_VALIDITY=true`,
    );
  }
  if (ENV.START_AT > 0) {
    const wait = ENV.START_AT - Date.now();
    // A DFSP that starts late sends its journey steps after its peers' next steps: refuse instead.
    if (wait < -1000) throw new Error(`${ENV.FSP_ID} was ready ${(-wait / 1000).toFixed(1)} s after START_AT: give every identity a later START_AT`);
    if (wait > 0) sleep(wait / 1000);
  }
}

export { connect } from './scenarios/connect.js';
export { mixedBadSignatures } from './scenarios/mixedBadSignatures.js';
export { quotesOnly } from './scenarios/quotesOnly.js';
export { quoteTransfer } from './scenarios/quoteTransfer.js';

export default function () {
  throw new Error('run a profile: every scenario names its journey with `exec`');
}
