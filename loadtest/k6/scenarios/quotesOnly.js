// Quote traffic only (POST /quotes and PUT /quotes/{ID} with ILP data): no per-transfer state at the
// hub, so a set prepared with --quotes-only is replayed when used up. Used by the breakpoint (ramping
// arrival rate) and soak profiles, whose request counts are too large to pre-sign one by one.
import { requestForIteration } from '../lib/data.js';
import { exhausted } from '../lib/http.js';
import { sendPrepared } from '../requests/index.js';

export function quotesOnly() {
  const req = requestForIteration();
  if (!req) {
    exhausted.add(1);
    return;
  }
  sendPrepared(req);
}
