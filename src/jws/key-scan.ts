// One scan of the verification-key directory: which key files exist now, with a change signature per
// file by the file watcher's rule (src/util/file-watch.ts: stat() through symlinks, so a Kubernetes `..data`
// swap changes the signature of every `<fsp>.pem -> ..data/<fsp>.pem` link).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSignature } from '../util/file-watch.js';
import { parseKeyFileName } from './key-file.js';

export interface FileRef {
  readonly file: string;
  readonly name: string;
  readonly fspId: string;
  readonly label: string;
  /** device, inode, size, mtime and ctime of the target: any replacement changes it. */
  readonly sig: string;
}

export type KeyIndex = ReadonlyMap<string, readonly FileRef[]>;

/** Key files by FSP id (primary key first), or undefined when the directory cannot be read. */
export async function scanKeyDirectory(dir: string): Promise<KeyIndex | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    // The caller keeps the keys it has and counts a failed reload (switchguard_reload_total{what="jws_keys"}).
    return undefined;
  }
  const next = new Map<string, FileRef[]>();
  await Promise.all(
    names.map(async (name) => {
      const n = parseKeyFileName(name);
      if (!n) return;
      const file = join(dir, name);
      const st = await stat(file).catch(() => undefined); // removed since readdir: not a key file now
      if (!st?.isFile()) return;
      const ref: FileRef = { file, name, fspId: n.fspId, label: n.label, sig: fileSignature(st) };
      const list = next.get(n.fspId) ?? [];
      list.push(ref);
      next.set(n.fspId, list);
    }),
  );
  for (const list of next.values()) list.sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return next;
}

/** FSP ids whose set of files or any file signature differs between two scans. */
export function changedIds(before: KeyIndex, after: KeyIndex): Set<string> {
  const changed = new Set<string>();
  const render = (refs: readonly FileRef[] | undefined) => refs?.map((r) => `${r.name}@${r.sig}`).join('|');
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    if (render(before.get(id)) !== render(after.get(id))) changed.add(id);
  }
  return changed;
}
