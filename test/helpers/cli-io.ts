// The CLI's streams for a test (src/cli: every command takes a CliIo): stdout and stderr captured as text;
// stdin ended with `stdin` when given, left open otherwise.
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';

export function cliIo(stdin?: string): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (d: Buffer) => {
    o += d.toString();
  });
  stderr.on('data', (d: Buffer) => {
    e += d.toString();
  });
  const input = new PassThrough();
  if (stdin !== undefined) input.end(stdin);
  return { stdin: input, stdout, stderr, out: () => o, err: () => e };
}
