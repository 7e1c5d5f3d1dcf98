// A certificate and key staged to replace a configured pair at a time (docs/operations.md, "Stage a certificate"),
// for the inbound server certificate (IN_SERVER_CERT_PATH/IN_SERVER_KEY_PATH) and the outbound client certificate
// (OUT_CLIENT_CERT_PATH/OUT_CLIENT_KEY_PATH):
//
//   <cert stem>.next<cert ext>        the new certificate (chain), beside the configured certificate
//   <key stem>.next<key ext>          its private key, beside the configured key
//   <cert stem>.next.activate-at      an ISO 8601 time from which the staged pair is used
//
// e.g. tls.crt, tls.key → tls.next.crt, tls.next.key, tls.next.activate-at (valid Kubernetes Secret key names).
// The time is in the files, so every replica switches at the same moment; until then the configured pair is
// used. A staged pair that does not form a usable context, or whose certificate is not yet valid at its
// activation, is ignored (reported) and the configured pair stays. Once active, promote it at leisure: copy it
// over the configured files and delete the staged ones; the pair in force does not change.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { createSecureContext } from 'node:tls';

export interface StagedPaths {
  readonly cert: string;
  readonly key: string;
  readonly activateAt: string;
}

const nextOf = (path: string, suffix?: string): string => {
  const base = basename(path);
  const ext = extname(base);
  const stem = ext.length > 0 && ext.length < base.length ? base.slice(0, -ext.length) : base;
  return join(dirname(path), `${stem}.next${suffix ?? ext}`);
};

/** The staged files of a configured certificate and key. */
export function stagedPaths(certPath: string, keyPath: string): StagedPaths {
  return { cert: nextOf(certPath), key: nextOf(keyPath), activateAt: nextOf(certPath, '.activate-at') };
}

export interface PairInForce {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The file the certificate in force comes from (the configured one, or the staged one once active). */
  readonly certPath: string;
  readonly staged: boolean;
  /** A staged pair waiting for its time: its activation (epoch ms) and certificate. */
  readonly pending?: { readonly activateAt: number; readonly certificate: X509Certificate; readonly certPath: string };
  /** Why a staged pair is ignored (the configured pair is in force). */
  readonly stagedError?: Error;
}

const absent = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * The certificate and key to use at `now`: the staged pair from its activation time, else the configured one.
 * @throws Error when the configured files cannot be read (as before staging existed).
 */
export function pairInForce(certPath: string, keyPath: string, now: number): PairInForce {
  const configured = () => ({ cert: readFileSync(certPath), key: readFileSync(keyPath), certPath, staged: false });
  const p = stagedPaths(certPath, keyPath);
  let at: string;
  try {
    at = readFileSync(p.activateAt, 'utf8').trim();
  } catch (e) {
    if (absent(e)) return configured();
    return { ...configured(), stagedError: e as Error };
  }
  try {
    const activateAt = /^\d{4}-\d{2}-\d{2}T/.test(at) ? Date.parse(at) : Number.NaN;
    if (!Number.isFinite(activateAt)) throw new Error(`${p.activateAt} is not an ISO 8601 time`);
    const cert = readFileSync(p.cert);
    const key = readFileSync(p.key);
    createSecureContext({ cert, key }); // throws on garbage or a key that is not the certificate's
    const certificate = new X509Certificate(cert);
    if (Date.parse(certificate.validFrom) > activateAt) throw new Error(`${p.cert} is not valid yet at its activation (notBefore ${certificate.validFrom})`);
    if (Date.parse(certificate.validTo) <= activateAt) throw new Error(`${p.cert} expires before its activation (notAfter ${certificate.validTo})`);
    if (activateAt <= now) return { cert, key, certPath: p.cert, staged: true };
    return { ...configured(), pending: { activateAt, certificate, certPath: p.cert } };
  } catch (e) {
    return { ...configured(), stagedError: new Error(`staged certificate ignored: ${(e as Error).message}`, { cause: e }) };
  }
}

/**
 * Calls `fn` at `at` (epoch ms), or never when `at` is undefined; returns a cancel function. Long waits are
 * split (setTimeout holds at most 2^31-1 ms); the timer does not keep the process alive.
 */
export function at(when: number | undefined, fn: () => void, now: () => number = Date.now): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (when === undefined) return;
    const wait = when - now();
    timer = setTimeout(wait > 2 ** 31 - 1 ? arm : fn, Math.min(Math.max(0, wait) + 5, 2 ** 31 - 1));
    timer.unref();
  };
  arm();
  return () => {
    if (timer) clearTimeout(timer);
  };
}
