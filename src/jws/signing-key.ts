// The private key this side signs with (JWS_SIGNING_KEY_PATH). The algorithm comes from the parsed
// key (RSA → RS256, EC P-256 → ES256), never from PEM text (the `BEGIN EC ` of the SDK's jwsSigner.js
// test mislabels PKCS#8 EC keys). The file is watched; a broken replacement keeps the old key.
import { createPrivateKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { GatewayError } from '../errors.js';
import { NOOP_TELEMETRY, type Telemetry } from '../telemetry/types.js';
import { type FileWatch, fileSignature, watchFiles } from '../util/file-watch.js';
import { signingAlgorithmFor } from './algorithms.js';
import { type SignedRequest, type SignInput, type SigningKey, type SignOptions, signRequest, signRequestAsync } from './sign.js';

export interface SigningKeyOptions {
  readonly path: string;
  readonly telemetry?: Telemetry;
  /** Periodic re-check of the file (default 2 s); fs.watch on its directory is used as well. */
  readonly rescanIntervalSeconds?: number;
  readonly watch?: boolean;
  /**
   * Why a reload did not work: the file watch is degraded (default: a process warning), the file cannot be
   * read, or it does not parse (the previous key stays; also counted as a failed jws_signing_key reload).
   */
  readonly onError?: (err: unknown) => void;
  /**
   * 'pool' runs the RSA private-key operation on the libuv thread pool (crypto.sign with a callback);
   * 'sync' signs on the event loop. The measurement behind the default: docs/performance/2026-11-23-bench.md
   * ('signing, 32 in flight').
   */
  readonly mode?: 'pool' | 'sync';
}

/** Parses a private key PEM (PKCS#1, PKCS#8 or SEC1) into a signing key with its algorithm. */
export function parseSigningKey(pem: string | Buffer): SigningKey {
  const key = createPrivateKey(pem);
  return { key, alg: signingAlgorithmFor(key) };
}

export class SigningKeyHolder {
  private key: SigningKey;
  private sig: string;
  private broken = false;
  private reloading: Promise<boolean> | undefined;
  private watcher: FileWatch | undefined;
  private readonly telemetry: Telemetry;

  private constructor(
    private readonly opts: SigningKeyOptions,
    key: SigningKey,
    sig: string,
  ) {
    this.key = key;
    this.sig = sig;
    this.telemetry = opts.telemetry ?? NOOP_TELEMETRY;
  }

  /**
   * Loads the key and starts watching it.
   * @throws Error when the file is missing or holds no usable private key (start-up must fail).
   */
  static async open(opts: SigningKeyOptions): Promise<SigningKeyHolder> {
    const [pem, sig] = await Promise.all([readFile(opts.path), fileSig(opts.path)]);
    const h = new SigningKeyHolder(opts, parseSigningKey(pem), sig);
    h.start();
    return h;
  }

  /** The current key and algorithm. */
  current(): SigningKey {
    return this.key;
  }

  /**
   * Signs one request with the current key (sign.ts).
   * @throws GatewayError GW_JWS_SIGN_FAILED
   */
  async sign(input: SignInput, options: SignOptions = {}): Promise<SignedRequest> {
    const started = performance.now();
    try {
      const out = this.opts.mode === 'sync' ? signRequest(input, this.key, options) : await signRequestAsync(input, this.key, options);
      this.telemetry.jwsSign({ outcome: 'ok', seconds: (performance.now() - started) / 1000 });
      return out;
    } catch (e) {
      this.telemetry.jwsSign({ outcome: 'failed', seconds: (performance.now() - started) / 1000 });
      throw e instanceof GatewayError ? e : new GatewayError('GW_JWS_SIGN_FAILED', { detail: 'signing failed', cause: e });
    }
  }

  /**
   * Re-reads the file if it changed. Resolves true when the key in use matches the file (a new key was
   * installed, or nothing changed), false when the file is unreadable or does not parse — the previous
   * key then stays in use.
   */
  reload(): Promise<boolean> {
    this.reloading ??= this.reloadOnce().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async reloadOnce(): Promise<boolean> {
    const sig = await fileSig(this.opts.path).catch((err: NodeJS.ErrnoException) => {
      // ENOENT: the file is being replaced; the watch calls again when it is back.
      if (err.code !== 'ENOENT') this.opts.onError?.(err);
      return undefined;
    });
    if (sig === undefined) return false;
    if (sig === this.sig) return !this.broken;
    this.sig = sig; // a broken file is not retried on every tick, only when it changes again
    try {
      this.key = parseSigningKey(await readFile(this.opts.path));
      this.broken = false;
      this.telemetry.reload({ what: 'jws_signing_key', outcome: 'ok' });
      return true;
    } catch (err) {
      this.broken = true;
      this.telemetry.reload({ what: 'jws_signing_key', outcome: 'failed' });
      this.opts.onError?.(new Error(`JWS signing key file ${this.opts.path} does not parse`, { cause: err }));
      return false;
    }
  }

  close(): void {
    this.watcher?.close();
  }

  private start(): void {
    // reload() compares the file's signature itself, so an explicit reload and the watch agree.
    this.watcher = watchFiles([this.opts.path], () => this.reload(), {
      intervalMs: (this.opts.rescanIntervalSeconds ?? 2) * 1000,
      fsWatch: this.opts.watch !== false,
      ...(this.opts.onError ? { onError: this.opts.onError } : {}),
    });
  }
}

async function fileSig(path: string): Promise<string> {
  return fileSignature(await stat(path));
}
