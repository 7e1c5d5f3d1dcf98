// The operational log: pino, one JSON object per line, level from LOG_LEVEL (docs/operations.md). Secrets, keys and
// signatures never reach it: callers log codes and ids, and the redaction list below is a second line
// of defence for the header and config objects that do get logged by mistake.
import pino from 'pino';
import type { Config } from '../config/schema.js';

/** Paths pino censors wherever they appear (one object level deep for the wildcards). */
const REDACT_PATHS: readonly string[] = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  '"fspiop-signature"',
  '*["fspiop-signature"]',
  'headers["fspiop-signature"]',
  'req.headers["fspiop-signature"]',
  'signature',
  '*.signature',
  'protectedHeader',
  '*.protectedHeader',
  'key',
  '*.key',
  'privateKey',
  '*.privateKey',
  'pem',
  '*.pem',
  'secret',
  '*.secret',
  'secrets',
  '*.secrets',
  'ilpSecret',
  '*.ilpSecret',
  'ilpSecrets',
  '*.ilpSecrets',
  'token',
  '*.token',
  'adminToken',
  '*.adminToken',
  'password',
  '*.password',
  'fulfilment',
  '*.fulfilment',
  'cookie',
  '*.cookie',
];

export interface LoggerOptions {
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  readonly destination?: pino.DestinationStream;
}

/**
 * Creates the gateway's structured JSON logger.
 * @example
 * const log = createLogger(config);
 * log.info({ requestId, fspId, route: 'POST /transfers', outcome: 'rejected', errorCode: 'GW_JWS_BAD_SIGNATURE' }, 'request');
 */
export function createLogger(config: Pick<Config, 'logLevel'>, options: LoggerOptions = {}): pino.Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'switchguard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      // Errors are logged as `logger.error({ err }, msg)` with the Error itself: pino's serializer keeps its
      // type, message, stack and cause chain (not String(err), which drops all but the message).
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
