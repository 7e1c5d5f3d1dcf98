// Reads a request body up to a limit without holding more than the limit in memory: a declared
// Content-Length over the limit is refused before reading; a streamed body is cut off once it passes.
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

const EMPTY = Buffer.alloc(0);

export function hasBody(incoming: IncomingMessage): boolean {
  const cl = incoming.headers['content-length'];
  return (cl !== undefined && cl !== '0') || incoming.headers['transfer-encoding'] !== undefined;
}

/** Throws GW_BODY_TOO_LARGE (3104) when Content-Length exceeds the limit. */
export function checkDeclaredLength(incoming: IncomingMessage, limit: number): void {
  const cl = incoming.headers['content-length'];
  if (cl !== undefined && Number(cl) > limit) throw new GatewayError('GW_BODY_TOO_LARGE', { headers: { connection: 'close' } });
}

/** The whole body as one Buffer (at most `limit` bytes), or GW_BODY_TOO_LARGE. */
export function readBody(incoming: IncomingMessage, limit: number): Promise<Buffer> {
  if (!hasBody(incoming)) return Promise.resolve(EMPTY);
  checkDeclaredLength(incoming, limit);
  return collect(incoming, limit, () => new GatewayError('GW_BODY_TOO_LARGE', { headers: { connection: 'close' } }));
}

/**
 * Buffers a readable stream up to `limit` bytes with plain listeners (an async iterator per request
 * costs more than the read itself for FSPIOP-sized bodies). Past the limit it stops buffering, rejects
 * with tooLarge(), and lets the stream drain (the caller answers, then the connection closes).
 */
export function collect(stream: NodeJS.ReadableStream, limit: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const cleanup = () => {
      done = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        stream.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = (e: Error) => {
      if (!done) {
        cleanup();
        reject(e);
      }
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}
