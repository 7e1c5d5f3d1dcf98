// POST /quotes from the payer DFSP (signed by its perffsp key). A deliberately broken signature must be
// rejected with 400 / 3105 before anything is forwarded.
import { send } from '../lib/http.js';

/** @param {import('../lib/data.js').PreparedRequest} req */
export function postQuotes(req) {
  return send(req, req.expectStatus === 400 ? 'QUOTES_FSPIOP_POST_QUOTES_BAD_SIGNATURE_IS_400_3105' : 'QUOTES_FSPIOP_POST_QUOTES_RESPONSE_IS_202');
}
