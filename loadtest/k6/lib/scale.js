// This process's share of a profile: its arrival rate (RATE, requests/s with up to 3 decimals; a ramp's
// peak) and duration (DURATION, seconds). Plain functions without k6 imports, so the runner's tests load
// this very file.
//
// k6 takes integer rates per `timeUnit`, so RATE is counted in thousandths, M = 1000·RATE. A constant
// rate becomes M/g per (1000/g) s with g = gcd(M, 1000): 142.857/s is 142857 per 1000 s, 125/s is 125 per
// 1 s. A ramp keeps its shape exactly: every rate v (per timeUnit, peak P) becomes v·M/g per (1000·P/g) s
// with g = gcd(M, 1000·P), which is v·RATE/P per second, so the processes' rates add up to the profile's
// at every instant.

/** @param {number} a @param {number} b */
function gcd(a, b) {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/**
 * Milliseconds of a k6 duration ('60s', '1m30s', '250ms', '1h').
 * @param {string} text
 */
function durationMs(text) {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  /** @type {{ [unit: string]: number }} */
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let consumed = 0;
  let m = re.exec(text);
  while (m !== null) {
    total += Number(m[1]) * unit[m[2]];
    consumed += m[0].length;
    m = re.exec(text);
  }
  if (consumed === 0 || consumed !== text.trim().length) throw new Error(`invalid duration: ${text}`);
  return total;
}

/**
 * The highest arrival rate of a scenario, per second.
 * @public exported for test/unit/loadtest/k6-runner.test.ts (loaded at run time, as k6 would)
 * @param {any} s
 */
export function peakPerSecond(s) {
  const unit = s.timeUnit ? durationMs(s.timeUnit) : 1000;
  if (s.executor === 'constant-arrival-rate') return (s.rate * 1000) / unit;
  if (s.executor === 'ramping-arrival-rate') {
    let peak = s.startRate || 0;
    for (let i = 0; i < (s.stages || []).length; i++) peak = Math.max(peak, s.stages[i].target);
    return (peak * 1000) / unit;
  }
  throw new Error(`executor ${s.executor} is not an arrival-rate executor: a rate cannot be split`);
}

/**
 * One scenario at `rate` requests/s (0: unchanged) and `durationSeconds` (0: unchanged). VUs shrink in
 * proportion (rounded up, at least 1).
 * @param {any} s
 * @param {number} rate
 * @param {number} durationSeconds
 */
function scaleScenario(s, rate, durationSeconds) {
  const out = Object.assign({}, s);
  if (rate > 0) {
    const m = Math.round(rate * 1000);
    if (m <= 0) throw new Error(`RATE ${rate} is below 0.001/s`);
    const peak = peakPerSecond(s);
    if (!(peak > 0)) throw new Error('the scenario has no positive rate to scale');
    const f = rate / peak;
    if (s.executor === 'constant-arrival-rate') {
      const g = gcd(m, 1000);
      out.rate = m / g;
      out.timeUnit = `${1000 / g}s`;
    } else {
      const p = Math.max(s.startRate || 0, ...s.stages.map(/** @param {any} st */ (st) => st.target));
      const g = gcd(m, 1000 * p);
      out.startRate = ((s.startRate || 0) * m) / g;
      out.stages = s.stages.map(/** @param {any} st */ (st) => ({ duration: st.duration, target: (st.target * m) / g }));
      out.timeUnit = `${(1000 * p) / g}s`;
    }
    if (s.preAllocatedVUs !== undefined) out.preAllocatedVUs = Math.max(1, Math.ceil(s.preAllocatedVUs * f));
    if (s.maxVUs !== undefined) out.maxVUs = Math.max(out.preAllocatedVUs || 1, Math.ceil(s.maxVUs * f));
  }
  if (durationSeconds > 0) {
    if (s.executor === 'constant-arrival-rate') out.duration = `${durationSeconds}s`;
    else {
      const stages = out.stages || s.stages;
      let total = 0;
      for (let i = 0; i < stages.length; i++) total += durationMs(stages[i].duration);
      const stretch = (durationSeconds * 1000) / total;
      out.stages = stages.map(/** @param {any} st */ (st) => ({ duration: `${Math.round(durationMs(st.duration) * stretch)}ms`, target: st.target }));
    }
  }
  return out;
}

/**
 * Every scenario of a profile scaled. With several scenarios RATE is split in proportion to their peaks
 * (in thousandths, the last scenario taking the rest, so the shares add up to RATE).
 * @param {{ [name: string]: any }} scenarios
 * @param {number} rate
 * @param {number} durationSeconds
 */
export function scaleScenarios(scenarios, rate, durationSeconds) {
  const names = Object.keys(scenarios);
  let total = 0;
  for (let i = 0; i < names.length; i++) total += peakPerSecond(scenarios[names[i]]);
  /** @type {{ [name: string]: any }} */
  const out = {};
  let left = Math.round(rate * 1000);
  for (let i = 0; i < names.length; i++) {
    const s = scenarios[names[i]];
    const m = rate > 0 ? (i === names.length - 1 ? left : Math.round((rate * 1000 * peakPerSecond(s)) / total)) : 0;
    if (rate > 0 && m <= 0) throw new Error(`RATE ${rate} is too low to give scenario ${names[i]} a share`);
    left -= m;
    out[names[i]] = scaleScenario(s, m / 1000, durationSeconds);
  }
  return out;
}

/**
 * The scenario that opens every VU's connection before the measured scenarios start (CONNECT_SECONDS).
 * @public exported for test/unit/loadtest/k6-runner.test.ts
 */
export const CONNECT_SCENARIO = 'connect';

/**
 * Prepends the connection phase: for `seconds`, every VU the measured scenarios start with sends one
 * request (`connect` in index.js), so each opens its TLS connection (a full handshake with a client
 * certificate) before the clock, as the Node driver does; the measured scenarios start `seconds` later on
 * the same VUs (k6 hands VUs of finished scenarios to later ones, with their connections). Samples are
 * tagged phase=connect or phase=run, and runThresholds() judges phase=run only. 0 seconds: unchanged.
 * @public exported for test/unit/loadtest/k6-runner.test.ts
 * @param {{ [name: string]: any }} scenarios  already scaled to this process's share
 * @param {number} seconds
 */
export function withConnectPhase(scenarios, seconds) {
  if (!(seconds > 0)) return scenarios;
  if (scenarios[CONNECT_SCENARIO] !== undefined) throw new Error(`a profile scenario is named ${CONNECT_SCENARIO}: rename it, or set CONNECT_SECONDS=0`);
  /** @type {{ [name: string]: any }} */
  const out = {};
  let vus = 0;
  const names = Object.keys(scenarios);
  for (let i = 0; i < names.length; i++) {
    const s = scenarios[names[i]];
    vus += s.preAllocatedVUs || s.vus || 1;
    const start = (s.startTime ? durationMs(s.startTime) : 0) + seconds * 1000;
    out[names[i]] = Object.assign({}, s, { startTime: `${start}ms`, tags: Object.assign({}, s.tags, { phase: 'run' }) });
  }
  out[CONNECT_SCENARIO] = {
    executor: 'per-vu-iterations',
    exec: 'connect',
    vus,
    iterations: 1,
    maxDuration: `${seconds}s`,
    gracefulStop: '0s',
    tags: { phase: 'connect' },
  };
  return out;
}

/**
 * Metrics whose samples the connection phase and the warm-up emit too (inside iterations): their
 * thresholds are judged on phase=run. Every other metric keeps its key, above all dropped_iterations,
 * which k6's executors emit without the scenario's tags (a phase filter would never match and a
 * `count==0` would pass on nothing), and checks and custom metrics, which the connection phase never emits.
 */
const PHASED = /^(http_reqs|http_req_[a-z_]+|iterations|iteration_duration|data_sent|data_received)$/;

/**
 * The profile's thresholds with the connection phase and the warm-up left out (see PHASED) when either
 * runs; unchanged otherwise. The runner judges the merged totals with the same keys.
 * @public exported for test/unit/loadtest/k6-runner.test.ts and loadtest/k6-runner/main.ts
 * @param {{ [key: string]: any }} thresholds
 * @param {number} seconds  CONNECT_SECONDS + WARMUP_SECONDS: 0 when neither runs
 */
export function runThresholds(thresholds, seconds) {
  if (!(seconds > 0)) return thresholds;
  /** @type {{ [key: string]: any }} */
  const out = {};
  const keys = Object.keys(thresholds);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const open = key.indexOf('{');
    const name = (open < 0 ? key : key.slice(0, open)).trim();
    let k = key;
    if (PHASED.test(name)) {
      const inner = open < 0 ? '' : key.slice(open + 1, key.lastIndexOf('}')).trim();
      if (!/(^|,)\s*phase\s*:/.test(inner)) k = `${name}{${inner === '' ? '' : `${inner},`}phase:run}`;
    }
    out[k] = thresholds[key];
  }
  return out;
}

/**
 * The warm-up (WARMUP_SECONDS): each constant-arrival-rate scenario becomes a ramping one that rises from 0
 * to its rate over `seconds`, then holds the rate for the scenario's duration. A gateway that has just
 * started, or sat idle (V8 recompiles its hot code and grows its young generation again), is not hit with
 * its full rate at once, and the arrival-rate executors are not pushed into starting VUs mid-run. The
 * ramp's samples are tagged phase=warmup by lib/http.js (from the scenario's WARMUP_MS) and left out of
 * the thresholds like the connection phase. Ramping scenarios are left as they are. 0 seconds: unchanged.
 * @public exported for test/unit/loadtest/k6-runner.test.ts
 * @param {{ [name: string]: any }} scenarios  already scaled
 * @param {number} seconds
 */
export function withWarmup(scenarios, seconds) {
  if (!(seconds > 0)) return scenarios;
  /** @type {{ [name: string]: any }} */
  const out = {};
  const names = Object.keys(scenarios);
  for (let i = 0; i < names.length; i++) {
    const s = scenarios[names[i]];
    if (s.executor !== 'constant-arrival-rate') {
      out[names[i]] = s;
      continue;
    }
    const w = Object.assign({}, s, {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      stages: [
        { duration: `${seconds}s`, target: s.rate },
        { duration: s.duration, target: s.rate },
      ],
      env: Object.assign({}, s.env, { WARMUP_MS: String(seconds * 1000) }),
    });
    delete w.rate;
    delete w.duration;
    out[names[i]] = w;
  }
  return out;
}

/**
 * Requests the warm-up adds to a constant scenario of `ratePerSecond`: the ramp's area, rate × seconds / 2.
 * @public exported for loadtest/k6-runner/main.ts (the set it signs must cover them)
 * @param {number} ratePerSecond
 * @param {number} seconds
 */
export function warmupRequests(ratePerSecond, seconds) {
  return seconds > 0 ? Math.ceil((ratePerSecond * seconds) / 2) : 0;
}

/**
 * The counter of iterations that found no prepared request left (lib/http.js): a set that runs out leaves the
 * rest of the run at a lower rate and would otherwise pass unnoticed.
 * @public exported for lib/http.js and the runner's tests
 */
export const EXHAUSTED = 'prepared_requests_exhausted';

/**
 * The thresholds every run is judged on: the profile's (phases left out, runThresholds) and, unless the
 * profile says otherwise, `prepared_requests_exhausted count==0`. Used by index.js and the runner alike.
 * @public exported for loadtest/k6-runner/phases.ts
 * @param {{ [key: string]: any }} thresholds
 * @param {number} phaseSeconds  CONNECT_SECONDS + WARMUP_SECONDS
 */
export function judgedThresholds(thresholds, phaseSeconds) {
  const out = Object.assign({}, runThresholds(thresholds, phaseSeconds));
  if (out[EXHAUSTED] === undefined) out[EXHAUSTED] = ['count==0'];
  return out;
}
