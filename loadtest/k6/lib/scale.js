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
