// The load generator's health figures (loadtest/k6-runner/host.ts): /proc parsing, the measured window, the
// summary of a run's seconds and the operator's warning. The live sampling is tested with real processes in
// test/integration/loadtest/k6-host.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSchedules, loadProfile } from '../../../loadtest/driver/profile.js';
import { describeHost, type HostSecond, machineTicks, measuredWindow, processTicks, SHORT, summarise } from '../../../loadtest/k6-runner/host.js';

describe('/proc parsing', () => {
  test('a process stat line: utime + stime (fields 14 and 15), also when the command name holds spaces and parentheses', () => {
    // proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime …
    const plain = '4242 (k6) S 1 4242 4242 0 -1 4194304 900 0 0 0 731 129 5 6 20 0 9 0 100 2000000 3000 0';
    assert.equal(processTicks(plain), 731 + 129);
    const tricky = '4242 (k6 (run) x) R 1 4242 4242 0 -1 4194304 900 0 0 0 17 4 99 98 20 0 9 0 100 2000000 3000 0';
    assert.equal(processTicks(tricky), 21);
    assert.throws(() => processTicks('not a stat line'), /not a \/proc\/<pid>\/stat line/);
  });

  test('/proc/stat: the first line summed over its first eight fields, steal the eighth; kernels without steal give 0', () => {
    const text = 'cpu  10 20 30 40 50 60 70 80 90 100\ncpu0 5 10 15 20 25 30 35 40 45 50\nintr 1 2 3\n';
    assert.deepEqual(machineTicks(text), { total: 360, steal: 80 });
    assert.deepEqual(machineTicks('cpu  1 2 3 4 5 6 7\n'), { total: 28, steal: 0 });
    assert.throws(() => machineTicks('intr 1 2 3\n'), /not \/proc\/stat/);
  });
});

describe('the measured window', () => {
  test("target-1000: after the 5 s connection phase and the 15 s warm-up, the profile's 60 s at 1000 requests/s", () => {
    const w = measuredWindow(buildSchedules(loadProfile('target-1000')), { connectSeconds: 5, warmupSeconds: 15 });
    assert.deepEqual(w, { from: 20, to: 80, ratePerSecond: 1000 });
  });

  test('a run shortened and slowed by the operator moves with it; no phases start at 0', () => {
    const w = measuredWindow(buildSchedules(loadProfile('target-1000'), { rate: 400, durationSeconds: 30 }), { connectSeconds: 0, warmupSeconds: 0 });
    assert.deepEqual(w, { from: 0, to: 30, ratePerSecond: 400 });
  });
});

describe('summary of the seconds', () => {
  const second = (at: number, k6Cpu: number, steal = 0, lagMs = 0): HostSecond => ({ at, k6Cpu, steal, lagMs });

  test('only the seconds ending inside the window count: means, maxima and k6 CPU per request', () => {
    const seconds = [second(1, 0.99, 0.5, 900), ...Array.from({ length: 10 }, (_, i) => second(21 + i, i % 2 ? 0.6 : 0.4)), second(31.2, 1, 0.9, 500)];
    const h = summarise(seconds, { from: 20, to: 31 }, 2, 1000);
    assert.ok(h);
    assert.equal(h.seconds, 10);
    assert.equal(h.usableCpus, 2);
    assert.ok(Math.abs(h.k6CpuMean - 0.5) < 1e-9);
    assert.equal(h.k6CpuMax, 0.6);
    // 0.5 of 2 CPUs = 1 CPU-second per second over 1000 requests per second: 1000 µs each.
    assert.ok(Math.abs((h.k6MicrosPerRequest as number) - 1000) < 1e-6);
    assert.equal(h.stealMax, 0);
    assert.equal(h.lagMaxMs, 0);
    assert.deepEqual(h.shortSeconds, []);
  });

  test('a second is short when k6 took ≥ 90 % of its CPUs, steal was ≥ 10 % or a timer was ≥ 50 ms late; each alone suffices', () => {
    const seconds = [
      second(1, SHORT.k6Cpu - 0.01, SHORT.steal - 0.01, SHORT.lagMs - 1),
      second(2, SHORT.k6Cpu),
      second(3, 0.2, SHORT.steal),
      second(4, 0.2, 0, SHORT.lagMs),
    ];
    const h = summarise(seconds, { from: 0, to: 10 }, 1);
    assert.ok(h);
    assert.deepEqual(
      h.shortSeconds.map((s) => s.at),
      [2, 3, 4],
    );
    assert.equal(h.k6MicrosPerRequest, undefined);
  });

  test('nothing measured in the window: no summary', () => {
    assert.equal(summarise([second(5, 0.5)], { from: 20, to: 80 }, 1, 1000), undefined);
  });
});

describe("the operator's lines", () => {
  const base = { seconds: 60, usableCpus: 1, k6CpuMean: 0.523, k6CpuMax: 0.71, k6MicrosPerRequest: 523.4, stealMean: 0.0004, stealMax: 0.003, lagMaxMs: 4.2 };

  test('a healthy run: one line with k6 CPU of its CPUs, per request, steal and timer lag; no warning', () => {
    const lines = describeHost({ ...base, shortSeconds: [] });
    assert.deepEqual(lines, [
      'load generator over 60 measured s: k6 CPU 52 % of its 1 CPU (busiest second 71 %), 523 µs per request; steal 0.0 % (max 0.3 %); timers on its CPUs up to 4 ms late',
    ]);
  });

  test('short seconds: a warning that counts them, shows the first five and says what to do', () => {
    const shortSeconds = Array.from({ length: 7 }, (_, i) => ({ at: 30 + i, k6Cpu: 0.95, steal: 0, lagMs: 120 + i }));
    const lines = describeHost({ ...base, usableCpus: 2, shortSeconds });
    assert.equal(lines.length, 2);
    assert.match(lines[0] as string, /of its 2 CPUs/);
    const w = lines[1] as string;
    assert.match(w, /^warning: the load generator's CPUs were busy or held up in 7 of 60 measured seconds \(30 s: k6 95 %, steal 0\.0 %, timers 120 ms late; /);
    assert.match(w, /34 s: k6 95 %, steal 0\.0 %, timers 124 ms late; …\)/);
    assert.doesNotMatch(w, /35 s:/);
    assert.match(w, /give k6 CPUs of its own, or more of them \(docs\/performance\/k6\.md §2\)$/);
  });
});
