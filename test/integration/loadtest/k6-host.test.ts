// The runner's load-generator monitor (loadtest/k6-runner/host.ts) sampling real processes on this machine:
// a process that spins shows its CPU, a sleeping one none, the runner's own blocked event loop shows as lag,
// and sampling ends with the process. Linux (/proc) only, as the monitor itself.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HostMonitor } from '../../../loadtest/k6-runner/host.js';

const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function node(code: string): ChildProcess {
  const c = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  children.push(c);
  return c;
}

const onLinux = existsSync('/proc/self/stat');

test('a spinning process shows its CPU, a sleeping one none; a blocked event loop shows as late timers', { skip: !onLinux && 'no /proc' }, async () => {
  const spinner = node('const end = Date.now() + 4000; while (Date.now() < end);');
  const sleeper = node('setTimeout(() => {}, 4000);');
  const busy = new HostMonitor(1);
  const idle = new HostMonitor(1);
  busy.start([spinner.pid as number]);
  idle.start([sleeper.pid as number]);
  await sleep(1500);
  // Block this process's event loop for 300 ms: its timers, the monitors' among them, fire late.
  const end = Date.now() + 300;
  while (Date.now() < end);
  await sleep(1700);
  const b = busy.stop();
  const i = idle.stop();
  assert.ok(b.length >= 2, `${b.length} seconds sampled`);
  // One spinning process on a 2-core machine gets most of a CPU; a loaded CI machine still gives it a fair share.
  assert.ok(Math.max(...b.map((s) => s.k6Cpu)) > 0.3, `busiest second ${Math.max(...b.map((s) => s.k6Cpu))}`);
  assert.ok(Math.max(...i.map((s) => s.k6Cpu)) < 0.1, `sleeper's busiest second ${Math.max(...i.map((s) => s.k6Cpu))}`);
  for (const s of [...b, ...i]) assert.ok(s.steal >= 0 && s.steal <= 1);
  assert.ok(Math.max(...b.map((s) => s.lagMs)) >= 200, `latest timer ${Math.max(...b.map((s) => s.lagMs))} ms`);
});

test('sampling ends when a watched process has ended', { skip: !onLinux && 'no /proc' }, async () => {
  const short = node('setTimeout(() => {}, 1200);');
  const m = new HostMonitor(1);
  m.start([short.pid as number]);
  await new Promise((done) => short.on('exit', done));
  await sleep(2600);
  const n = m.stop().length;
  // One sample a second while it ran (at most 2), then the first sample that cannot read it stops the timer.
  assert.ok(n <= 2, `${n} seconds sampled after the process ended`);
});
