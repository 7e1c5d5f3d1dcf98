// Preloaded (`node --require`) into a Mojaloop sdk-scheme-adapter child process by test/helpers/sdk-adapter.ts.
// The SDK (src/config.js) reads fixed listen ports and listens on every interface
// (`server.listen(port, cb)` in its InboundServer, OutboundServer and metrics server). Here the ports given as
// "role" placeholders in SG_LISTEN_ROLES (e.g. "1=inbound,2=outbound,3=metrics": ports below 1024 that a test
// never binds) are replaced by a free port on 127.0.0.1, and each bound port is reported to the parent over
// the IPC channel, so no port is guessed and nothing listens beyond loopback. The process also ends by itself:
// when the parent's IPC channel closes (the test process died) and after SG_MAX_LIFETIME_MS at the latest.
'use strict';

const net = require('node:net');

const roles = new Map(
  (process.env.SG_LISTEN_ROLES ?? '')
    .split(',')
    .filter((s) => s.includes('='))
    .map((s) => {
      const [port, role] = s.split('=');
      return [Number(port), role];
    }),
);

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const role = typeof args[0] === 'number' ? roles.get(args[0]) : undefined;
  if (role === undefined) return listen.apply(this, args);
  const cb = args.find((a) => typeof a === 'function');
  this.once('listening', () => process.send?.({ type: 'listening', role, port: this.address().port }));
  return cb ? listen.call(this, { port: 0, host: '127.0.0.1' }, cb) : listen.call(this, { port: 0, host: '127.0.0.1' });
};

if (process.send) process.on('disconnect', () => process.exit(0));
const lifetime = Number(process.env.SG_MAX_LIFETIME_MS ?? 0);
if (lifetime > 0) setTimeout(() => process.exit(3), lifetime).unref();
