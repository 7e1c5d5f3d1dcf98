// Bearer-token check of the admin API (docs/operations.md, "Admin API"). Both sides are hashed with SHA-256 before
// timingSafeEqual, so the comparison takes the same time whatever the presented token's length or
// content, and never throws on a length mismatch.
import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Returns a checker for `Authorization` header values against the configured token. */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = sha256(token);
  return (authorization) => {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    // Hash something even when the header is absent so every path costs the same.
    const presented = sha256(m?.[1] ?? '');
    return timingSafeEqual(presented, expected) && m !== null;
  };
}
