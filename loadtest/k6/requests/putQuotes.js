// PUT /quotes/{ID} from the payee DFSP, carrying the ILP packet and condition it generated.
import { send } from '../lib/http.js';

/** @param {import('../lib/data.js').PreparedRequest} req */
export function putQuotes(req) {
  return send(req, 'QUOTES_FSPIOP_PUT_QUOTES_RESPONSE_IS_202');
}
