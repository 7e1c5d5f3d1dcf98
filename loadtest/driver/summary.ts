// The end-of-run table (plain text, one metric a line, like k6's end-of-test summary).
import { cpus, loadavg } from 'node:os';
import type { RunResult } from './run.js';

const ms = (us: number): string => (us / 1000).toFixed(2);
const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);

/** Renders a run result as the summary table printed at the end of `npm run loadtest`. */
export function formatSummary(r: RunResult, title: string): string {
  const rec = r.recorder;
  const h = rec.histogram;
  const v = rec.validHistogram;
  const seconds = Math.max(...r.schedules.map((s) => s.durationMs)) / 1000;
  const target = r.schedules.reduce((a, s) => a + s.startsBy(s.durationMs), 0) / seconds;
  const lines: string[] = [];
  const row = (k: string, val: string): void => {
    lines.push(`  ${k.padEnd(28, '.')} ${val}`);
  };
  lines.push(`switchguard load run: ${title}`);
  row('scenarios', r.schedules.map((s) => `${s.scenario} (${s.exec}, ${(s.durationMs / 1000).toFixed(0)}s, max ${s.maxInFlight} in flight)`).join('; '));
  row('target rate', `${target.toFixed(1)}/s`);
  row('achieved rate', `${(rec.started / seconds).toFixed(1)}/s started, ${(rec.completed / (r.elapsedMs / 1000)).toFixed(1)}/s completed`);
  row('http_reqs', String(rec.completed));
  row('dropped_iterations', `${rec.dropped}${rec.exhausted ? ` (${rec.exhausted} for lack of prepared requests)` : ''}`);
  row('http_req_failed', `${rec.completed ? ((rec.failed / rec.completed) * 100).toFixed(3) : '0.000'}% (${rec.failed})`);
  if (h.totalCount > 0) {
    row(
      'http_req_duration ms',
      `min=${ms(h.minNonZeroValue)} avg=${ms(h.mean)} p50=${ms(h.getValueAtPercentile(50))} p90=${ms(h.getValueAtPercentile(90))} p95=${ms(h.getValueAtPercentile(95))} p99=${ms(h.getValueAtPercentile(99))} p99.9=${ms(h.getValueAtPercentile(99.9))} max=${ms(h.maxValue)}`,
    );
  }
  if (v.totalCount > 0 && v.totalCount !== h.totalCount) {
    row(
      'valid requests ms',
      `p50=${ms(v.getValueAtPercentile(50))} p95=${ms(v.getValueAtPercentile(95))} p99=${ms(v.getValueAtPercentile(99))} (${v.totalCount})`,
    );
  }
  row(
    'responses',
    [...rec.byStatus.entries()]
      .sort()
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ') || '-',
  );
  if (rec.unexpected.size > 0)
    row(
      'unexpected',
      [...rec.unexpected.entries()]
        .sort()
        .map(([k, n]) => `${k}: ${n}`)
        .join(', '),
    );
  if (r.gateway) {
    row('gateway cpu', `${r.gateway.cpuPercent.toFixed(1)}% of one core (${r.gateway.pids} processes)`);
    row('gateway rss MB', `start=${mb(r.gateway.rssStartBytes)} end=${mb(r.gateway.rssEndBytes)} max=${mb(r.gateway.rssMaxBytes)}`);
  }
  row(
    'driver cpu',
    `${r.driver.cpuPercent.toFixed(1)}% of one core; event-loop delay p99=${r.driver.loopDelayP99Ms.toFixed(1)}ms max=${r.driver.loopDelayMaxMs.toFixed(1)}ms`,
  );
  const g = r.driver.gc;
  row('driver gc', `${g.count} collections (${g.majorCount} major), ${g.totalMs.toFixed(0)} ms in all, longest pause ${g.maxMs.toFixed(1)} ms`);
  row(
    'machine',
    `${cpus().length} cores, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (all processes, not just this test)`,
  );
  if (r.breakpoint) {
    const b = r.breakpoint.brokeAt;
    const w = (x: { second: number; rate: number; p99Ms: number; errorRate: number; dropped: number }): string =>
      `second ${x.second}: ${x.rate}/s p99=${x.p99Ms.toFixed(1)}ms errors=${(x.errorRate * 100).toFixed(2)}% dropped=${x.dropped}`;
    row('breakpoint', `${r.breakpoint.rate}/s sustained${b ? `; broke at ${w(b)}` : '; never broke'}`);
    const t = r.breakpoint.tolerated;
    row('isolated bad seconds', t.length === 0 ? 'none before the breakpoint' : `${t.length} before the breakpoint: ${t.map(w).join('; ')}`);
  }
  lines.push('thresholds:');
  for (const t of r.thresholds) {
    const mark = t.ok === undefined ? 'n/a ' : t.ok ? 'ok  ' : 'FAIL';
    lines.push(`  ${mark} ${t.metric} ${t.expression} (actual ${t.actual === undefined ? 'not measured' : Number(t.actual.toFixed(4))})`);
  }
  lines.push(r.passed ? 'result: PASS' : 'result: FAIL (a threshold failed)');
  return lines.join('\n');
}
