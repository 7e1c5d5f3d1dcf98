// A benchmark's helper process (a stub upstream, the gateway, the floor proxy): started with tsx, resolved once
// its output matches `ready`, so that its CPU is its own and not the measuring process's.
import { type ChildProcess, spawn } from 'node:child_process';

export function child(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ proc: ChildProcess; line: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const on = (d: Buffer) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve({ proc, line: m[0] });
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', (d: Buffer) => {
      out += d;
    });
    proc.on('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}: ${out}`)));
  });
}
