// Runs one profile through several topologies, one after the other, on one pre-signed set, and prints
// the comparison (target 1: p99 added by the hub over the direct baseline; target 2: gateway/nginx).
//   node --import tsx loadtest/topologies/compare.ts --profile target-1000 [--topologies direct,hub] [--warmup 5]
//        [--duration S] [--rate R] [--keys DIR] [--skew S] [--out DIR] [--workers N (gateway WORKERS, nginx worker_processes)]
//        [--node-flags=FLAGS (node options of the measured gateway, e.g. --node-flags=--allocation-site-pretenuring)]
// Topologies: direct, nginx, bare (a bare Node mTLS proxy), hub, chained; NAME@24 runs it on Node 24.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePki, ROOT } from './common.js';

const { values } = parseArgs({
  options: {
    profile: { type: 'string' },
    topologies: { type: 'string' },
    warmup: { type: 'string' },
    duration: { type: 'string' },
    rate: { type: 'string' },
    keys: { type: 'string' },
    skew: { type: 'string' },
    out: { type: 'string' },
    data: { type: 'string' },
    'bad-share': { type: 'string' },
    'quotes-only': { type: 'boolean' },
    count: { type: 'string' },
    workers: { type: 'string' },
    'node-flags': { type: 'string' },
  },
});
if (!values.profile) {
  console.error('usage: compare.ts --profile NAME [--topologies direct,nginx,bare,hub,hub@24,chained] [--warmup S] [--duration S] [--rate R] [--count N]');
  process.exit(2);
}
const keys = resolve(ROOT, values.keys ?? 'keys');
const skew = values.skew ?? '900';
const out = resolve(ROOT, values.out ?? join('loadtest', '.data'));
mkdirSync(out, { recursive: true });
ensurePki(keys);
const run = (cmd: string, args: string[]): Promise<number> =>
  new Promise((r) => {
    spawn(process.execPath, ['--import', 'tsx', ...[cmd], ...args], { cwd: ROOT, stdio: 'inherit' }).on('exit', (c) => r(c ?? 1));
  });

let data = values.data;
if (!data) {
  const { loadProfile, buildSchedules } = await import('../driver/profile.js');
  const s = buildSchedules(loadProfile(values.profile), {
    durationSeconds: values.duration ? Number(values.duration) : undefined,
    rate: values.rate ? Number(values.rate) : undefined,
  });
  const starts = s.reduce((a, x) => a + x.startsBy(x.durationMs) + x.rateAt(0) * Number(values.warmup ?? 0), 0);
  data = join(out, `compare-${values.profile}.json`);
  const env = s[0]?.env ?? {};
  const replayable = values['quotes-only'] === true || env.QUOTES_ONLY === 'true';
  // A replayable (quotes-only) set need not cover the whole run.
  const count = values.count ?? String(replayable ? Math.min(Math.ceil(starts) + 32, 20_000) : Math.ceil(starts) + 32);
  await run(join(ROOT, 'loadtest', 'prepare.ts'), [
    '--keys',
    keys,
    '--count',
    count,
    '--out',
    data,
    '--skew',
    skew,
    '--rate',
    String(s[0]?.rateAt(0) ?? 1000),
    '--bad-share',
    values['bad-share'] ?? env.BAD_SIGNATURE_SHARE ?? '0',
    ...(replayable ? ['--quotes-only'] : []),
  ]);
}
const rows: Array<{ topology: string; r: Record<string, unknown> | undefined; code: number }> = [];
// A topology may name the runtime of its measured process: `hub@24`, `bare@24` (nodeBinary in common.ts).
for (const t of (values.topologies ?? 'direct,hub').split(',')) {
  const [name, node] = t.split('@') as [string, string | undefined];
  const json = join(out, `compare-${values.profile}-${t.replace('@', '-node')}.json`);
  rmSync(json, { force: true });
  const code = await run(join(ROOT, 'loadtest', 'topologies', `${name}.ts`), [
    '--keys',
    keys,
    '--skew',
    skew,
    ...(values.workers ? ['--workers', values.workers] : []),
    ...(node ? ['--node', node] : []),
    ...(values['node-flags'] ? [`--node-flags=${values['node-flags']}`] : []),
    '--run',
    '--',
    '--profile',
    values.profile,
    '--data',
    data,
    '--json',
    json,
    ...(values.warmup ? ['--warmup', values.warmup] : []),
    ...(values.duration ? ['--duration', values.duration] : []),
    ...(values.rate ? ['--rate', values.rate] : []),
  ]);
  let r: Record<string, unknown> | undefined;
  try {
    r = JSON.parse(readFileSync(json, 'utf8')) as Record<string, unknown>;
  } catch {
    r = undefined;
  }
  rows.push({ topology: t, r, code });
}
const f = (v: unknown, d = 2): string => (typeof v === 'number' ? v.toFixed(d) : '-');
console.log(`\ncomparison, profile ${values.profile} (${new Date().toISOString()})`);
console.log(
  '| topology | achieved/s | p50 ms | p95 ms | p99 ms | max ms | failed | dropped | measured CPU % | CPU µs/request | RSS max MB | driver CPU % | breakpoint/s | thresholds |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
/** CPU of the measured processes per achieved request, µs (a core-second is 10⁶ µs). */
const cpuPerRequest = (r: Record<string, unknown> | undefined): number | undefined => {
  const cpu = (r?.gateway as { cpuPercent?: number } | undefined)?.cpuPercent;
  const rate = r?.achievedRate as number | undefined;
  return cpu !== undefined && rate ? ((cpu / 100) * 1e6) / rate : undefined;
};
for (const { topology, r, code } of rows) {
  const g = r?.gateway as { cpuPercent?: number; rssMaxBytes?: number } | undefined;
  console.log(
    `| ${topology} | ${f(r?.achievedRate, 1)} | ${f(r?.p50)} | ${f(r?.p95)} | ${f(r?.p99)} | ${f(r?.max)} | ${String(r?.failed ?? '-')} | ${String(r?.dropped ?? '-')} | ${f(g?.cpuPercent, 1)} | ${f(cpuPerRequest(r), 0)} | ${g?.rssMaxBytes ? f(g.rssMaxBytes / 1048576, 1) : '-'} | ${f(r?.driverCpuPercent, 1)} | ${(r?.breakpoint as { rate?: number } | undefined)?.rate ?? '-'} | ${code === 0 ? 'pass' : 'FAIL'} |`,
  );
}
// CPU against nginx's mTLS-only proxying at the same rate in this run (issue 14: gateway ≤ 3×), and the
// requests one core would serve at that cost.
const nginxCpu = cpuPerRequest(rows.find((x) => x.topology === 'nginx')?.r);
for (const { topology, r } of rows) {
  const us = cpuPerRequest(r);
  if (us === undefined || topology === 'direct' || topology === 'nginx') continue;
  console.log(
    `${topology}: ${f(us, 0)} µs CPU/request = ${f(1e6 / us, 0)} requests/s per core${nginxCpu ? `, ${f(us / nginxCpu, 2)}× nginx (${f(nginxCpu, 0)} µs)` : ''}`,
  );
}
const bp = (t: string): number | undefined => (rows.find((x) => x.topology === t)?.r?.breakpoint as { rate?: number } | undefined)?.rate;
const nginxBp = bp('nginx');
for (const t of rows.map((x) => x.topology).filter((x) => x !== 'nginx' && x !== 'direct')) {
  const g = bp(t);
  if (g !== undefined && nginxBp) console.log(`${t}/nginx breakpoint ratio = ${(g / nginxBp).toFixed(2)} (${g}/s vs ${nginxBp}/s)`);
}
const base = rows.find((x) => x.topology === 'direct')?.r;
for (const { topology, r } of rows) {
  if (topology === 'direct' || !base || !r) continue;
  console.log(
    `${topology}: p99 added over direct = ${f((r.p99 as number) - (base.p99 as number))} ms, p50 added = ${f((r.p50 as number) - (base.p50 as number))} ms`,
  );
}
process.exit(rows.every((x) => x.code === 0) ? 0 : 1);
