// Upstream reachability for /ready (src/proxy/probe.ts): one probe answers the checks of a second, and concurrent
// checks share the probe in flight, so unauthenticated /ready calls cannot make the gateway open a connection to
// every upstream each (hostile review of 2026-12-01).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, test } from 'node:test';
import { probeUpstreams } from '../../../src/proxy/probe.js';

let server: Server;
let connections = 0;
let port = 0;

before(async () => {
  server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const settle = () => new Promise((r) => setTimeout(r, 100)); // let the server count what was opened

test('checks within a second share one probe; a later check probes again; the result reaches telemetry', async () => {
  const seen: boolean[] = [];
  const p = probeUpstreams([{ name: 'upstream', url: new URL(`http://127.0.0.1:${port}/`) }], {
    telemetry: { upstreamUp: (e) => seen.push(e.up) },
    timeoutMs: 1000,
    intervalMs: 60_000,
  });
  try {
    const check = p.checks[0]!;
    const first = await Promise.all(Array.from({ length: 200 }, () => check.check()));
    for (let i = 0; i < 200; i++) assert.equal(await check.check(), true);
    assert.ok(first.every((x) => x === true));
    await settle();
    assert.ok(connections <= 2, `${connections} connections for 400 checks (the start-up probe and at most one more)`);
    const opened = connections;
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await check.check(), true);
    await settle();
    assert.equal(connections, opened + 1, 'a check after a second probes anew');
    assert.ok(seen.length >= 2 && seen.every((x) => x === true));
  } finally {
    p.stop();
  }
});

test('a refused upstream reads as down', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as { port: number }).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const p = probeUpstreams([{ name: 'upstream', url: new URL(`http://127.0.0.1:${deadPort}/`) }], {
    telemetry: { upstreamUp: () => {} },
    timeoutMs: 1000,
    intervalMs: 60_000,
  });
  try {
    assert.equal(await p.checks[0]!.check(), false);
  } finally {
    p.stop();
  }
});

test('a probe that fails of its own (telemetry throwing) rejects that check only: the next check probes again', async () => {
  let calls = 0;
  const p = probeUpstreams([{ name: 'upstream', url: new URL(`http://127.0.0.1:${port}/`) }], {
    telemetry: {
      upstreamUp: () => {
        calls++;
        if (calls === 1) throw new Error('telemetry down');
      },
    },
    timeoutMs: 1000,
    intervalMs: 60_000,
  });
  try {
    // The start-up probe fails (calls = 1) without an unhandled rejection; a check made meanwhile shares its failure.
    await assert.rejects(p.checks[0]!.check(), /telemetry down/);
    // Not the failed promise again: the probe's own answer (recorded before telemetry threw) serves for its second.
    assert.equal(await p.checks[0]!.check(), true, 'not stuck on the failed probe');
    assert.equal(calls, 1);
  } finally {
    p.stop();
  }
});
