// The quote → transfer journey with a share of requests whose FSPIOP-Signature was broken on purpose
// (`npm run loadtest:prepare -- --bad-share 0.1`): those must come back 400 with error code 3105, and
// count as expected responses, so `http_req_failed` measures only real failures.
import { requestForIteration } from '../lib/data.js';
import { exhausted } from '../lib/http.js';
import { sendPrepared } from '../requests/index.js';

export function mixedBadSignatures() {
  const req = requestForIteration();
  if (!req) {
    exhausted.add(1);
    return;
  }
  sendPrepared(req);
}
