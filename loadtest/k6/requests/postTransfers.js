// POST /transfers from the payer DFSP with the quote's ILP packet and condition; the hub stores the condition.
import { send } from '../lib/http.js';

/** @param {import('../lib/data.js').PreparedRequest} req */
export function postTransfers(req) {
  return send(req, 'TRANSFERS_FSPIOP_POST_TRANSFERS_RESPONSE_IS_202');
}
