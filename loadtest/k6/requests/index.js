// Request kind → request module.
import { postQuotes } from './postQuotes.js';
import { postTransfers } from './postTransfers.js';
import { putQuotes } from './putQuotes.js';
import { putTransfers } from './putTransfers.js';

const REQUESTS = Object.freeze({ postQuotes, putQuotes, postTransfers, putTransfers });

/** @param {import('../lib/data.js').PreparedRequest} req */
export function sendPrepared(req) {
  return REQUESTS[req.kind](req);
}
