import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type AuditEvent, auditRecord, createAuditLog } from '../../../src/logging/audit.js';
import { createLogger } from '../../../src/logging/logger.js';

const SIGNATURE = '{"signature":"abcSIGNATUREdef","protectedHeader":"eyJhbGciOiJSUzI1NiJ9"}';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
const TOKEN = 'Bearer super-secret-admin-token-123';

const capture = () => {
  const lines: string[] = [];
  return {
    lines,
    write: (l: string) => {
      lines.push(l);
    },
  };
};

describe('logger', () => {
  test('writes JSON lines at the configured level with secrets redacted', () => {
    const sink = capture();
    const log = createLogger({ logLevel: 'info' }, { destination: sink });
    log.debug('not shown');
    log.info(
      {
        requestId: 'r1',
        fspId: 'dfsp1',
        headers: { authorization: TOKEN, 'fspiop-signature': SIGNATURE, 'fspiop-source': 'dfsp1' },
        config: { adminToken: 'tok-1234567890abcdef', ilpSecret: 'ilp-secret-value', jwsSigningKeyPath: '/keys/k.pem' },
        key: PEM,
        signature: 'sig-value',
      },
      'request',
    );
    assert.equal(sink.lines.length, 1);
    const line = sink.lines[0]!;
    const rec = JSON.parse(line) as Record<string, any>;
    assert.equal(rec.level, 'info');
    assert.equal(rec.msg, 'request');
    assert.equal(rec.requestId, 'r1');
    assert.equal(rec.headers['fspiop-source'], 'dfsp1');
    assert.equal(rec.headers.authorization, '[redacted]');
    assert.equal(rec.headers['fspiop-signature'], '[redacted]');
    assert.equal(rec.config.adminToken, '[redacted]');
    assert.equal(rec.config.ilpSecret, '[redacted]');
    assert.equal(rec.config.jwsSigningKeyPath, '/keys/k.pem');
    for (const secret of ['super-secret', 'abcSIGNATUREdef', 'BEGIN PRIVATE KEY', 'tok-1234567890abcdef', 'ilp-secret-value', 'sig-value']) {
      assert.ok(!line.includes(secret), `leaked ${secret}`);
    }
  });

  test('LOG_LEVEL silent writes nothing', () => {
    const sink = capture();
    createLogger({ logLevel: 'silent' }, { destination: sink }).error('x');
    assert.equal(sink.lines.length, 0);
  });
});

describe('audit log', () => {
  const at = new Date('2026-11-23T00:00:00.000Z');

  test('records have the documented schema and field order', () => {
    assert.deepEqual(auditRecord({ event: 'quarantine_on', actor: 'admin', fspId: 'dfsp1', peer: '127.0.0.1' }, at), {
      ts: '2026-11-23T00:00:00.000Z',
      event: 'quarantine_on',
      outcome: 'ok',
      actor: 'admin',
      peer: '127.0.0.1',
      fspId: 'dfsp1',
    });
    assert.deepEqual(
      Object.keys(auditRecord({ event: 'signature_failed', fspId: 'dfsp2', reason: 'GW_JWS_BAD_SIGNATURE', requestId: 'r9', peer: 'AB:CD' }, at)),
      ['ts', 'event', 'outcome', 'actor', 'peer', 'fspId', 'reason', 'requestId'],
    );
    assert.equal(auditRecord({ event: 'signature_failed', fspId: 'dfsp2' }, at).outcome, 'denied');
    assert.equal(auditRecord({ event: 'certificate_reload_failed', file: '/k/s.pem', reason: 'parse' }, at).outcome, 'failed');
    assert.equal(auditRecord({ event: 'admin_call', actor: 'admin', method: 'POST', path: '/admin/reload', status: 401 }, at).outcome, 'denied');
    assert.equal(auditRecord({ event: 'admin_call', actor: 'admin', method: 'POST', path: '/admin/reload', status: 500 }, at).outcome, 'failed');
    assert.equal(auditRecord({ event: 'admin_call', actor: 'admin', method: 'GET', path: '/admin/keys', status: 200 }, at).status, 200);
  });

  test('never carries fields outside the schema (signatures, keys, tokens), and cleans control characters', () => {
    const sneaky = {
      event: 'key_loaded',
      fspId: 'dfsp1\n{"fake":1}',
      fingerprint: 'AA:BB',
      key: PEM,
      signature: SIGNATURE,
      token: TOKEN,
    } as unknown as AuditEvent;
    const sink = capture();
    const audit = createAuditLog({ auditLog: 'stdout' }, { destination: sink, now: () => at });
    audit.record(sneaky);
    assert.equal(sink.lines.length, 1);
    const line = sink.lines[0]!;
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
    for (const secret of ['PRIVATE KEY', 'abcSIGNATUREdef', 'super-secret']) assert.ok(!line.includes(secret), secret);
    assert.deepEqual(JSON.parse(line), {
      ts: at.toISOString(),
      event: 'key_loaded',
      outcome: 'ok',
      actor: 'gateway',
      fspId: 'dfsp1?{"fake":1}',
      fingerprint: 'AA:BB',
    });
  });

  test('AUDIT_LOG=<path> appends to that file; off writes nothing', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-audit-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'sub', 'audit.log');
    const audit = createAuditLog({ auditLog: file });
    audit.record({ event: 'quarantine_off', actor: 'admin', fspId: 'dfsp3' });
    audit.record({ event: 'peer_rejected', fspId: 'dfsp3', reason: 'GW_PEER_QUARANTINED' });
    await audit.close();
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    assert.deepEqual(
      lines.map((l) => [l.event, l.outcome, l.fspId]),
      [
        ['quarantine_off', 'ok', 'dfsp3'],
        ['peer_rejected', 'denied', 'dfsp3'],
      ],
    );
    const off = createAuditLog({ auditLog: 'off' });
    off.record({ event: 'quarantine_on', fspId: 'x' });
    await off.close();
    assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n').length, 2);
  });
});
