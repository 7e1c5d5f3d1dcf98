// nodeFlagsOf (loadtest/topologies/common.ts): the node options a launcher gives the measured gateway
// (--node-flags), read from the launcher's own arguments only, never from the driver's after --run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeFlagsOf } from '../../../loadtest/topologies/common.js';

test('--node-flags, inline or as the next argument, split on spaces', () => {
  assert.deepEqual(nodeFlagsOf(['--keys', 'K', '--node-flags=--allocation-site-pretenuring']), ['--allocation-site-pretenuring']);
  assert.deepEqual(nodeFlagsOf(['--node-flags', '--trace-gc  --max-semi-space-size=32', '--workers', '1']), ['--trace-gc', '--max-semi-space-size=32']);
  assert.deepEqual(nodeFlagsOf(['--keys', 'K']), []);
  assert.deepEqual(nodeFlagsOf(['--node-flags=']), []);
});

test("the driver's arguments after --run are not the launcher's", () => {
  assert.deepEqual(nodeFlagsOf(['--keys', 'K', '--run', '--', '--node-flags=--trace-gc']), []);
  assert.deepEqual(nodeFlagsOf(['--node-flags=--trace-gc', '--run', '--', '--profile', 'smoke']), ['--trace-gc']);
});
