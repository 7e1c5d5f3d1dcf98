// One OCSP exchange over HTTP (RFC 6960 Appendix A.1): the DER request is POSTed as application/ocsp-request
// and the answer read as bytes, within a deadline and a size cap. Redirects are not followed (the
// responder's address comes from the certificate or OCSP_RESPONDER_URL, nowhere else). OCSP answers are
// signed, so plain http is the usual transport; https works the same.
import { OcspError } from './protocol.js';

/** Largest response read; a basic response with a responder chain is a few KiB. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** POSTs `der` to `url`; resolves with the response body, or throws OcspError (unreachable, timeout, http_status, too_large). */
export async function postOcsp(url: string, der: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
      body: der,
      redirect: 'manual',
      signal,
    });
  } catch (e) {
    throw signal.aborted ? new OcspError('timeout', `no answer from ${url} in time`) : new OcspError('unreachable', `${url}: ${causeOf(e)}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    throw new OcspError('http_status', `${url} answered HTTP ${res.status}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += (chunk as Uint8Array).length;
      if (size > MAX_RESPONSE_BYTES) {
        await res.body?.cancel().catch(() => {});
        throw new OcspError('too_large', `${url} sent more than ${MAX_RESPONSE_BYTES} bytes`);
      }
      chunks.push(chunk as Uint8Array);
    }
  } catch (e) {
    if (e instanceof OcspError) throw e;
    throw signal.aborted ? new OcspError('timeout', `${url} did not finish its answer in time`) : new OcspError('unreachable', `${url}: ${causeOf(e)}`);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const causeOf = (e: unknown): string => {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message ?? String(e);
};
