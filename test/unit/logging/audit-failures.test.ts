// No audit record is lost silently (issue 10): a record the audit destination cannot take is reported
// through onWriteError, once per record, and counted in switchguard_audit_write_failed_total.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createAuditLog } from '../../../src/logging/audit.js';
import { createLogger } from '../../../src/logging/logger.js';
import { createTelemetry } from '../../../src/metrics/registry.js';

test('an audit file that cannot be written: every dropped record reported and counted, the process keeps running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-auditfail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const telemetry = createTelemetry({ processMetrics: false });
  const errors: unknown[] = [];
  // The path is a directory: the open fails, and so does every write.
  const audit = createAuditLog(
    { auditLog: dir },
    {
      onWriteError: (err) => {
        errors.push(err);
        telemetry.auditWriteFailed();
      },
    },
  );
  audit.record({ event: 'quarantine_on', actor: 'admin', fspId: 'dfsp1' });
  audit.record({ event: 'quarantine_off', actor: 'admin', fspId: 'dfsp1' });
  await audit.flush();
  audit.record({ event: 'peer_rejected', fspId: 'dfsp1', reason: 'GW_PEER_QUARANTINED' });
  await audit.close();
  const deadline = Date.now() + 2000;
  while (errors.length < 3 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  assert.equal(errors.length, 3);
  assert.equal((errors[0] as NodeJS.ErrnoException).code, 'EISDIR');
  assert.match(await telemetry.metricsText(), /^switchguard_audit_write_failed_total 3$/m);
});

test('a stream destination that fails a write is reported too; a working one reports nothing', async () => {
  const errors: unknown[] = [];
  const broken = new Writable({ write: (_c, _e, cb) => cb(new Error('disk full')) });
  broken.on('error', () => {});
  const audit = createAuditLog({ auditLog: 'stdout' }, { destination: broken, onWriteError: (err) => errors.push(err) });
  audit.record({ event: 'key_loaded', fspId: 'dfsp1' });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    errors.map((e) => (e as Error).message),
    ['disk full'],
  );

  const lines: string[] = [];
  const ok = createAuditLog(
    { auditLog: 'stdout' },
    {
      destination: new Writable({
        write: (c, _e, cb) => {
          lines.push(String(c));
          cb();
        },
      }),
      onWriteError: (err) => errors.push(err),
    },
  );
  ok.record({ event: 'key_loaded', fspId: 'dfsp1' });
  await ok.flush();
  assert.equal(lines.filter((l) => l !== '').length, 1, 'flush() writes an empty chunk');
  assert.deepEqual(
    errors.map((e) => (e as Error).message),
    ['disk full'],
  );
});

test('the logger serializes errors passed as err (type, message, stack), not as a string', () => {
  const lines: string[] = [];
  const log = createLogger(
    { logLevel: 'info' },
    {
      destination: {
        write: (l: string) => {
          lines.push(l);
        },
      },
    },
  );
  log.error({ err: new TypeError('boom', { cause: new Error('root') }) }, 'failed');
  const rec = JSON.parse(lines[0]!) as { err: { type: string; message: string; stack: string } };
  assert.equal(rec.err.type, 'TypeError');
  assert.match(rec.err.message, /^boom/);
  assert.match(rec.err.stack, /TypeError: boom/);
});
