// `switchguard <command>`: a thin dispatcher over the capability modules (no logic of its own).
import { resolve } from 'node:path';
import { isValidFspId } from '../fspiop/headers.js';
import { initDevPki } from '../pki/dev-pki.js';
import { parseCommand, UsageError } from './args.js';

const HELP = `usage: switchguard <command> [options]

  serve                          run the gateway (same as npm start)
  pki init [--dir DIR] [--force] [--fsp ID…]
                                 development CA, server certificate and client certificates (+ JWS keys)
  keys generate --dfsp ID… [--dir DIR] [--private-dir DIR] [--alg RS256|ES256]
                                 JWS key pairs in the verification-directory layout
  keys rotate --key PATH [--publish-ahead 2d | --activate-at TIME] [--retain 2d] [--emergency [--reason R]]
              [--kubernetes-secret NAME]
                                 stage the next signing key (published now, signing from its activation);
                                 --emergency: a new key signs now, the others are revoked
  keys status --key PATH [--json] [--kubernetes-secret NAME]
                                 each signing key's state (next, current, previous, expired, revoked)
  keys revoke FINGERPRINT --reason TEXT [--admin-url URL] [--token-file F]
  keys unrevoke FINGERPRINT --reason TEXT [--admin-url URL] [--token-file F]
  keys revocations [--admin-url URL] [--token-file F]
                                 revoke a peer's key (any source) through the admin API (token: --token-file or ADMIN_TOKEN)
  sign  --key PEM --source ID [--file F]   sign a request (JSON description on stdin or --file)
  verify --keys DIR [--file F]             verify a signed request, print the verdict
  ilp generate [--version 1|4] [--secret S] [--amount A --currency C]
  ilp decode PACKET
`;

const PKI_INIT_OPTIONS = { dir: { type: 'string' }, force: { type: 'boolean' }, fsp: { type: 'string', multiple: true } } as const;

async function run(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  switch (cmd) {
    case 'serve':
      await import('../main.js');
      return -1;
    case 'pki': {
      if (sub !== 'init') break;
      const o = parseCommand(rest, PKI_INIT_OPTIONS, ['fsp']).values;
      const dir = resolve(o.dir ?? 'keys');
      const fsp = o.fsp ?? [];
      // An FSP id names files here (<id>.pem, <id>.key): an FspId (FSPIOP API §7.3, no '/') without a dot, the key
      // directory's label separator; '../x' wrote outside --dir (review of 2026-12-01).
      const bad = fsp.find((id) => !isValidFspId(id) || id.includes('.'));
      if (bad !== undefined) {
        io.stderr.write(`invalid FSP id: ${bad} (1 to 32 FspId characters, no dots)\n`);
        return 2;
      }
      const r = initDevPki(dir, { force: o.force === true, ...(fsp.length ? { fspIds: ['hub', ...fsp] } : {}) });
      console.log(r.created.length ? `created ${r.created.length} files under ${dir}:\n  ${r.created.join('\n  ')}` : `nothing to do: ${dir} is complete`);
      return 0;
    }
    case 'keys':
    case 'sign':
    case 'verify': {
      if (cmd === 'keys' && (sub === 'rotate' || sub === 'status')) {
        const k = await import('./keys.js');
        return sub === 'rotate' ? k.keysRotate(rest, io) : k.keysStatus(rest, io);
      }
      if (cmd === 'keys' && (sub === 'revoke' || sub === 'unrevoke' || sub === 'revocations'))
        return (await import('./keys-admin.js')).keysAdminCommand(sub, rest, io, process.env);
      const m = await import('./jws.js');
      if (cmd === 'keys' && sub === 'generate') return m.keysGenerate(rest, io);
      if (cmd === 'sign') return m.signCommand([sub ?? '', ...rest].filter(Boolean), io);
      if (cmd === 'verify') return m.verifyCommand([sub ?? '', ...rest].filter(Boolean), io);
      break;
    }
    case 'ilp': {
      const m = await import('./ilp.js');
      return m.ilpCommand([sub ?? '', ...rest].filter(Boolean), io);
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(HELP);
      return 0;
    default:
      break;
  }
  console.error(HELP);
  return 2;
}

run(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`switchguard: ${(e as Error)?.message ?? String(e)}`);
    if (e instanceof UsageError) console.error(HELP);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
