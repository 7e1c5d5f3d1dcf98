// ISO 20022 bodies made by Mojaloop's own transformer (@mojaloop/ml-schema-transformer-lib 2.10), the oracle
// for the gateway's ISO 20022 reading and writing (src/fspiop/iso20022.ts). FSPIOP bodies in, ISO bodies out,
// and back: the gateway must read an ISO body as the transformer reads it.
import { TransformFacades } from '@mojaloop/ml-schema-transformer-lib';
import type { JsonObject } from '../../src/ilp/transaction.js';

const F = TransformFacades.FSPIOP;
const I = TransformFacades.FSPIOPISO20022;

type Headers = Record<string, string>;
const hdr = (source: string, destination: string): Headers => ({ 'fspiop-source': source, 'fspiop-destination': destination });
const bodyOf = (r: unknown): JsonObject => (r as { body: JsonObject }).body;

const isoMedia = (resource: string) => `application/vnd.interoperability.iso20022.${resource}+json;version=2.0`;
/** Headers of an ISO 20022 request on `resource`. */
export const isoHeaders = (resource: string, extra: Headers = {}): Headers => ({ 'content-type': isoMedia(resource), accept: isoMedia(resource), ...extra });

/** FSPIOP → ISO 20022, as an SDK in ISO mode sends it. */
export const toIso = {
  postQuotes: async (body: JsonObject, from = 'payerfsp', to = 'payeefsp') => bodyOf(await F.quotes.post({ body, headers: hdr(from, to) } as never)),
  putQuotes: async (id: string, body: JsonObject, isoPostQuote: JsonObject, from = 'payeefsp', to = 'payerfsp') =>
    bodyOf(await F.quotes.put({ body, headers: hdr(from, to), params: { ID: id }, $context: { isoPostQuote } } as never)),
  postTransfers: async (body: JsonObject, isoPostQuoteResponse: JsonObject) =>
    bodyOf(await F.transfers.post({ body, headers: hdr(String(body.payerFsp), String(body.payeeFsp)), $context: { isoPostQuoteResponse } } as never)),
  putTransfers: async (id: string, body: JsonObject) => bodyOf(await F.transfers.put({ body, headers: {}, params: { ID: id } } as never)),
  patchTransfers: async (id: string, body: JsonObject) => bodyOf(await F.transfers.patch({ body, headers: {}, params: { ID: id } } as never)),
  putTransfersError: async (id: string, body: JsonObject) => bodyOf(await F.transfers.putError({ body, headers: {}, params: { ID: id } } as never)),
  postFxQuotes: async (body: JsonObject) => bodyOf(await F.fxQuotes.post({ body, headers: hdr('payerfsp', 'fxpfsp') } as never)),
  putFxQuotes: async (id: string, body: JsonObject) => bodyOf(await F.fxQuotes.put({ body, headers: hdr('fxpfsp', 'payerfsp'), params: { ID: id } } as never)),
  postFxTransfers: async (body: JsonObject) => bodyOf(await F.fxTransfers.post({ body, headers: hdr('payerfsp', 'fxpfsp') } as never)),
  putFxTransfers: async (id: string, body: JsonObject) => bodyOf(await F.fxTransfers.put({ body, headers: {}, params: { ID: id } } as never)),
  putParties: async (type: string, id: string, body: JsonObject, from = 'payeefsp', to = 'payerfsp') =>
    bodyOf(await F.parties.put({ body, headers: hdr(from, to), params: { Type: type, ID: id } } as never)),
  putPartiesError: async (type: string, id: string, body: JsonObject, from = 'payeefsp', to = 'payerfsp') =>
    bodyOf(await F.parties.putError({ body, headers: hdr(from, to), params: { Type: type, ID: id } } as never)),
};

/** ISO 20022 → FSPIOP, as Mojaloop reads it. */
export const fromIso = {
  postQuotes: async (body: JsonObject) => bodyOf(await I.quotes.post({ body, headers: hdr('payerfsp', 'payeefsp') } as never)),
  putQuotes: async (id: string, body: JsonObject) => bodyOf(await I.quotes.put({ body, headers: hdr('payeefsp', 'payerfsp'), params: { ID: id } } as never)),
  postTransfers: async (body: JsonObject) => bodyOf(await I.transfers.post({ body, headers: hdr('payerfsp', 'payeefsp') } as never)),
  putTransfers: async (id: string, body: JsonObject) => bodyOf(await I.transfers.put({ body, headers: {}, params: { ID: id } } as never)),
  postFxQuotes: async (body: JsonObject) => bodyOf(await I.fxQuotes.post({ body, headers: hdr('payerfsp', 'fxpfsp') } as never)),
  putFxQuotes: async (id: string, body: JsonObject) => bodyOf(await I.fxQuotes.put({ body, headers: hdr('fxpfsp', 'payerfsp'), params: { ID: id } } as never)),
  postFxTransfers: async (body: JsonObject) => bodyOf(await I.fxTransfers.post({ body, headers: hdr('payerfsp', 'fxpfsp') } as never)),
  putFxTransfers: async (id: string, body: JsonObject) => bodyOf(await I.fxTransfers.put({ body, headers: {}, params: { ID: id } } as never)),
};
