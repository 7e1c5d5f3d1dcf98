// What a refusal in a flood costs (docs/performance/2026-11-29-traffic-control.md): a limit refusal carries no
// stack trace, and the request scope builds no log record for a level the logger would drop.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hono } from 'hono';
import { GatewayError } from '../../../src/errors.js';
import type { GatewayEnv } from '../../../src/http/context.js';
import { type RequestLogger, renderError, requestScope } from '../../../src/http/stages.js';
import { NOOP_TELEMETRY } from '../../../src/telemetry/types.js';

test('GatewayError: noStack captures no frames and leaves Error.stackTraceLimit as it was', () => {
  const before = Error.stackTraceLimit;
  const quiet = new GatewayError('GW_RATE_LIMITED', { noStack: true, detail: 'x' });
  assert.equal(Error.stackTraceLimit, before);
  assert.doesNotMatch(quiet.stack ?? '', /\n\s+at /, 'no frames');
  assert.equal(quiet.message, 'GW_RATE_LIMITED: x');
  assert.equal(quiet.httpStatus, 503);
  const loud = new GatewayError('GW_RATE_LIMITED');
  assert.match(loud.stack ?? '', /\n\s+at /, 'other errors keep their stack');
});

function appWith(logger: RequestLogger, fail: () => never) {
  const app = new Hono<GatewayEnv>();
  app.use('*', requestScope({ listener: 'inbound', telemetry: NOOP_TELEMETRY, logger }));
  app.get('/ok', (c) => c.text('ok'));
  app.get('/limited', () => fail());
  app.onError(renderError);
  return app;
}

test('requestScope: asks the logger first and builds no record for a level it drops; writes the record otherwise', async () => {
  const calls: Array<[string, object]> = [];
  const asked: string[] = [];
  const log = (level: string) => (obj: object) => calls.push([level, obj]);
  const enabled = new Set(['warn', 'error']);
  const logger: RequestLogger = {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
    isLevelEnabled: (level) => {
      asked.push(level);
      return enabled.has(level);
    },
  };
  const app = appWith(logger, () => {
    throw new GatewayError('GW_RATE_LIMITED', { noStack: true });
  });
  assert.equal((await app.request('/ok')).status, 200);
  assert.equal((await app.request('/limited')).status, 503);
  assert.deepEqual(asked, ['info', 'debug']);
  assert.equal(calls.length, 0, 'neither level is enabled: nothing built, nothing written');
  enabled.add('debug');
  assert.equal((await app.request('/limited')).status, 503);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]?.[0], 'debug');
  assert.equal(((calls[0]?.[1] ?? {}) as { errorCode?: string }).errorCode, 'GW_RATE_LIMITED');
});

test('requestScope: a logger without isLevelEnabled gets every record', async () => {
  const calls: string[] = [];
  const logger: RequestLogger = {
    info: () => calls.push('info'),
    warn: () => calls.push('warn'),
    error: () => calls.push('error'),
    debug: () => calls.push('debug'),
  };
  const app = appWith(logger, () => {
    throw new GatewayError('GW_ROUTE_UNKNOWN');
  });
  await app.request('/ok');
  await app.request('/limited');
  assert.deepEqual(calls, ['info', 'warn']);
});

test('requestScope: FSPIOP-Source and -Destination are logged cut to 64 characters, an FSP id whole', async () => {
  const calls: object[] = [];
  const log = (obj: object) => calls.push(obj);
  const app = appWith({ info: log, warn: log, error: log, debug: log }, () => {
    throw new GatewayError('GW_HEADER_MALFORMED');
  });
  const huge = 'x'.repeat(30_000);
  await app.request('/limited', { headers: { 'fspiop-source': huge, 'fspiop-destination': 'payeefsp' } });
  const line = calls.at(-1) as { source?: string; destination?: string };
  assert.equal(line.source, `${'x'.repeat(64)}…(30000 characters)`);
  assert.equal(line.destination, 'payeefsp');
  assert.ok(JSON.stringify(line).length < 1000, 'the record stays small whatever the client sent');
});
