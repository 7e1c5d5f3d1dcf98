// The runner's load-generator monitor (loadtest/k6-runner/host.ts) sampling real processes on this machine:
// a process that spins shows its CPU, a sleeping one none, a probe held up (SIGSTOP, as a stalled machine
// holds it) shows as lag while the runner's own pauses do not, and sampling ends with the process. Linux (/proc) only, as the monitor itself.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
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

/**
 * A node process that sleeps, once it has booted: Node's start-up takes 0.1–0.2 s of CPU on a loaded machine, and
 * counted in the first second it made the sleeper look busy (CI, 2026-12-02: 0.104 of the machine).
 */
async function bootedSleeper(ms: number): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['-e', `setTimeout(() => {}, ${ms}); process.stdout.write('up')`], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(c);
  await once(c.stdout!, 'data');
  return c;
}

const onLinux = existsSync('/proc/self/stat');

test('a spinning process shows its CPU, a sleeping one none', { skip: !onLinux && 'no /proc' }, async () => {
  const idler = await bootedSleeper(3000);
  const spinner = node('const end = Date.now() + 3000; while (Date.now() < end);');
  const busy = new HostMonitor(1);
  const idle = new HostMonitor(1);
  busy.start([spinner.pid as number]);
  idle.start([idler.pid as number]);
  await sleep(2600);
  const b = busy.stop();
  const i = idle.stop();
  assert.ok(b.length >= 2, `${b.length} seconds sampled`);
  // One spinning process on a 2-core machine gets most of a CPU; a loaded CI machine still gives it a fair share.
  assert.ok(Math.max(...b.map((s) => s.k6Cpu)) > 0.3, `busiest second ${Math.max(...b.map((s) => s.k6Cpu))}`);
  assert.ok(Math.max(...i.map((s) => s.k6Cpu)) < 0.1, `sleeper's busiest second ${Math.max(...i.map((s) => s.k6Cpu))}`);
  for (const s of [...b, ...i]) assert.ok(s.steal >= 0 && s.steal <= 1);
});

test("a held-up probe shows as late timers; the runner's own pause does not", { skip: !onLinux && 'no /proc' }, async () => {
  const sleeper = node('setTimeout(() => {}, 15000);');
  const held = new HostMonitor(1);
  held.start([sleeper.pid as number]);
  await sleep(1300);
  // The runner (this process) blocks its own event loop for 300 ms: not the load generator's CPUs.
  const end = Date.now() + 300;
  while (Date.now() < end);
  await sleep(1500);
  const before = held.stop();
  assert.ok(before.length >= 2);
  assert.ok(Math.max(...before.map((s) => s.lagMs)) < 200, `runner's pause counted: ${Math.max(...before.map((s) => s.lagMs))} ms`);

  const stalled = new HostMonitor(1);
  stalled.start([sleeper.pid as number]);
  await sleep(1300);
  const probe = stalled.probePid as number;
  assert.ok(probe > 0);
  process.kill(probe, 'SIGSTOP');
  await sleep(400);
  process.kill(probe, 'SIGCONT');
  await sleep(2200);
  const after = stalled.stop();
  assert.ok(Math.max(...after.map((s) => s.lagMs)) >= 300, `held-up probe: ${Math.max(...after.map((s) => s.lagMs))} ms`);
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
