// PUT /transfers/{ID} from the payee DFSP with the fulfilment; the hub checks SHA-256(fulfilment) = condition.
import { send } from '../lib/http.js';

/** @param {import('../lib/data.js').PreparedRequest} req */
export function putTransfers(req) {
  return send(req, 'TRANSFERS_FSPIOP_PUT_TRANSFERS_RESPONSE_IS_202');
}
