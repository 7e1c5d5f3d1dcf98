// The streams a CLI command reads and writes; main.ts passes the process streams, tests pass buffers.

export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}
