// The security audit log: a separate JSON-lines stream (AUDIT_LOG = stdout | stderr | off | <file path>)
// with a stable schema documented in docs/operations.md ("Audit events"). Records are built field by
// field from the typed event, never spread from caller objects, so nothing outside the schema (a
// signature, a key, a token) can slip in.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import type { Config } from '../config/schema.js';

export type AuditOutcome = 'ok' | 'denied' | 'failed';

interface Common {
  /** Who acted: 'admin' (admin API token), 'gateway' (the gateway itself), or 'peer'. */
  readonly actor?: string;
  /** Transport-level identity: client certificate fingerprint, or remote address for admin calls. */
  readonly peer?: string;
  readonly fspId?: string;
  /** A GatewayError code (or a short fixed word) explaining a denial or failure. */
  readonly reason?: string;
  readonly requestId?: string;
}

export type AuditEvent = Common &
  (
    | { readonly event: 'peer_rejected'; readonly count?: number }
    | { readonly event: 'signature_failed' }
    | { readonly event: 'key_loaded' | 'key_revoked'; readonly file?: string; readonly fingerprint?: string }
    | {
        readonly event: 'certificate_reloaded' | 'certificate_reload_failed';
        readonly file?: string;
        readonly fingerprint?: string;
        readonly notAfter?: string;
      }
    | { readonly event: 'quarantine_on' | 'quarantine_off'; readonly role?: string; readonly tokenFingerprint?: string }
    | {
        readonly event: 'admin_call';
        readonly method: string;
        readonly path: string;
        readonly status: number;
        readonly role?: string;
        readonly tokenFingerprint?: string;
      }
    // traffic control. rate_limited is written once per window per FSP and reason; count = refusals since the last record.
    | { readonly event: 'rate_limited'; readonly listener: string; readonly count: number }
    | { readonly event: 'limits_changed' | 'limits_released'; readonly role?: string; readonly tokenFingerprint?: string }
    | { readonly event: 'limits_reload_failed' | 'admin_tokens_reload_failed' }
    // own signing keys (src/jws/signing-key.ts, src/cli/keys.ts): kid = RFC 7638 thumbprint
    | {
        readonly event: 'signing_key_staged' | 'signing_key_published' | 'signing_key_activated' | 'signing_key_revoked';
        readonly kid: string;
        readonly file?: string;
        readonly activateAt?: string;
      }
    // issue 12: peer keys. reason = the operator's reason (revocations) or the refusal reason (key_source_refused).
    | {
        readonly event: 'key_revocation_on' | 'key_revocation_off';
        readonly fingerprint: string;
        readonly role?: string;
        readonly tokenFingerprint?: string;
      }
    | { readonly event: 'key_source_refused'; readonly source: string }
  );

export type AuditEventName = AuditEvent['event'];

const OUTCOME: Record<AuditEventName, AuditOutcome> = {
  peer_rejected: 'denied',
  signature_failed: 'denied',
  key_loaded: 'ok',
  key_revoked: 'ok',
  certificate_reloaded: 'ok',
  certificate_reload_failed: 'failed',
  quarantine_on: 'ok',
  quarantine_off: 'ok',
  admin_call: 'ok',
  rate_limited: 'denied',
  limits_changed: 'ok',
  limits_released: 'ok',
  limits_reload_failed: 'failed',
  admin_tokens_reload_failed: 'failed',
  signing_key_staged: 'ok',
  signing_key_published: 'ok',
  signing_key_activated: 'ok',
  signing_key_revoked: 'ok',
  key_revocation_on: 'ok',
  key_revocation_off: 'ok',
  key_source_refused: 'failed',
};

export interface AuditLog {
  record(e: AuditEvent): void;
  /** Resolves once every record written so far has been handed to the OS. */
  flush(): Promise<void>;
  /** Flushes and closes a file destination (stdout/stderr stay open). */
  close(): Promise<void>;
}

const MAX = 256;
// Printable characters only, bounded length: values such as fspId come straight from request headers.
const clean = (v: string): string => v.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX);

/** The JSON record for one event, in the documented field order. Exported for tests and docs. */
export function auditRecord(e: AuditEvent, now: Date = new Date()): Record<string, string | number> {
  const outcome: AuditOutcome =
    e.event === 'admin_call' ? (e.status < 400 ? 'ok' : e.status === 401 || e.status === 403 ? 'denied' : 'failed') : OUTCOME[e.event];
  const r: Record<string, string | number> = { ts: now.toISOString(), event: e.event, outcome, actor: clean(e.actor ?? 'gateway') };
  if (e.peer !== undefined) r.peer = clean(e.peer);
  if (e.fspId !== undefined) r.fspId = clean(e.fspId);
  if (e.reason !== undefined) r.reason = clean(e.reason);
  if (e.requestId !== undefined) r.requestId = clean(e.requestId);
  if ('file' in e && e.file !== undefined) r.file = clean(e.file);
  if ('fingerprint' in e && e.fingerprint !== undefined) r.fingerprint = clean(e.fingerprint);
  if ('notAfter' in e && e.notAfter !== undefined) r.notAfter = clean(e.notAfter);
  if (e.event === 'admin_call') {
    r.method = clean(e.method);
    r.path = clean(e.path);
    r.status = e.status;
  }
  if (e.event === 'key_source_refused') r.source = clean(e.source);
  if (
    e.event === 'admin_call' ||
    e.event === 'quarantine_on' ||
    e.event === 'quarantine_off' ||
    e.event === 'limits_changed' ||
    e.event === 'limits_released' ||
    e.event === 'key_revocation_on' ||
    e.event === 'key_revocation_off'
  ) {
    if (e.role !== undefined) r.role = clean(e.role);
    if (e.tokenFingerprint !== undefined) r.tokenFingerprint = clean(e.tokenFingerprint).slice(0, 12);
  }
  if ('kid' in e) r.kid = clean(e.kid);
  if ('activateAt' in e && e.activateAt !== undefined) r.activateAt = clean(e.activateAt);
  if (e.event === 'rate_limited') {
    r.listener = clean(e.listener);
    r.count = e.count;
  }
  if (e.event === 'peer_rejected' && e.count !== undefined) r.count = e.count;
  return r;
}

export interface AuditOptions {
  /** Overrides AUDIT_LOG's destination (tests). */
  readonly destination?: { write(line: string): unknown };
  readonly now?: () => Date;
  /**
   * Called once for every record that could not be written (the file cannot be opened or written, the
   * stream is closed); the gateway counts it (switchguard_audit_write_failed_total) and logs it. The
   * gateway keeps running: a broken audit destination must not take the payment path down.
   */
  readonly onWriteError?: (err: unknown) => void;
}

/**
 * Opens the audit stream named by AUDIT_LOG.
 * @example
 * const audit = createAuditLog(config);
 * audit.record({ event: 'quarantine_on', actor: 'admin', fspId: 'dfsp1' });
 */
export function createAuditLog(config: Pick<Config, 'auditLog'>, options: AuditOptions = {}): AuditLog {
  const target = config.auditLog;
  if (options.destination === undefined && target === 'off') return { record: () => {}, flush: async () => {}, close: async () => {} };
  let file: WriteStream | undefined;
  if (options.destination === undefined && target !== 'stdout' && target !== 'stderr') {
    mkdirSync(dirname(target), { recursive: true });
    file = createWriteStream(target, { flags: 'a', mode: 0o640 });
    // Without a listener a broken audit file would crash the gateway. Nothing is lost silently: every
    // record the failure drops is reported through its write callback (record() below).
    file.on('error', () => {});
  }
  const out: Writable | { write(line: string): unknown } = options.destination ?? file ?? (target === 'stderr' ? process.stderr : process.stdout);
  const now = options.now ?? (() => new Date());
  const failed = options.onWriteError ?? (() => {});
  const written = (err?: Error | null) => {
    if (err) failed(err);
  };
  const flush = () =>
    new Promise<void>((resolve) => {
      if (out instanceof Writable && out.writable) out.write('', () => resolve());
      else resolve();
    });
  return {
    record(e) {
      const line = `${JSON.stringify(auditRecord(e, now()))}\n`;
      try {
        if (out instanceof Writable) out.write(line, written);
        else out.write(line);
      } catch (err) {
        failed(err);
      }
    },
    flush,
    async close() {
      await flush();
      if (file) await new Promise<void>((resolve) => file.end(() => resolve()));
    },
  };
}
