// Journey: POST /quotes → PUT /quotes/{ID} (ILP packet + condition) → POST /transfers → PUT /transfers/{ID}
// (fulfilment), between perffsp DFSPs. One iteration sends one step; the prepared set pipelines the
// journeys (block b sends the first steps of its journeys, then their second steps, …), so an open-model
// arrival rate is a request rate and each step follows the previous step of its journey by ~1 s (prepare --rate).
import { requestForIteration } from '../lib/data.js';
import { exhausted } from '../lib/http.js';
import { sendPrepared } from '../requests/index.js';

export function quoteTransfer() {
  const req = requestForIteration();
  if (!req) {
    exhausted.add(1);
    return;
  }
  sendPrepared(req);
}
