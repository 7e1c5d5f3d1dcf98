// Replicas that survive each other (issue 13 item 4): three gateway processes in the hub role (mTLS, JWS
// verification with replay protection, ILP checks with quote binding), started as an operator starts them,
// share a Redis Cluster of three masters with one replica each, started by this test; a client spreads full
// quote → transfer journeys over them through a load balancer modelled on a Kubernetes Service
// (test/helpers/fleet.ts) while
//   1. every replica is restarted, one after the other (out of rotation, the preStop pause, SIGTERM, its
//      in-flight requests finish, started again and ready before the next): every request answered, none 5xx;
//   2. one replica is killed by SIGKILL: the others keep serving, only the dead one's connections fail; no
//      transfer is fulfilled twice, every prepared transfer can still be fulfilled exactly once (but one whose
//      fulfilment the dead replica had consumed without reaching the switch: counted), no quarantine or replay
//      record is lost;
//   3. one Redis master fails over to its replica, first on command (CLUSTER FAILOVER), then by a crash (the
//      master killed, its replica promoted): only the window's requests are refused, with 503 2003, and the
//      gateways recover by themselves.
// Each scenario prints one summary line ([replicas] …). The rate is what this 2-core machine sustains beside
// three gateways, six redis-servers and the client (REPLICAS_RATE sets the aim); the assertions are about
// correctness, not rate. REPLICAS_DEBUG=1 prints where refusals fell and the replicas' output.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadTlsMaterial } from '../../../loadtest/driver/clients.js';
import type { PreparedRequest } from '../../../loadtest/driver/dataset.js';
import { buildPreparedSet, loadSigningKeys } from '../../../loadtest/driver/prepare-set.js';
import type { JsonObject } from '../../../src/ilp/transaction.js';
import { type SigningKey, signRequestAsync } from '../../../src/jws/sign.js';
import {
  type Answer,
  describeRefusals,
  Fleet,
  formatCounts,
  type Journey,
  type JourneyResult,
  journeySource,
  journeysOf,
  type Ledger,
  runJourneys,
  startLedger,
  transferIdOf,
} from '../../helpers/fleet.js';
import { makeEcPkiDir } from '../../helpers/pki.js';
import { type RedisCluster, startCluster } from '../../helpers/redis-procs.js';
import { waitFor } from '../../helpers/wait.js';

const FSPS = ['perffsp-1', 'perffsp-2', 'perffsp-3'];
/** Quarantined in scenario 2; never part of the load. */
const SUSPECT = 'suspectfsp';
const NAMES = ['a', 'b', 'c'];
/** Requests per second the client aims at (journeys of four requests each). */
const RATE = Number(process.env.REPLICAS_RATE ?? 400);
/** Journeys in flight at most (each sends one request at a time). */
const MAX_IN_FLIGHT = 64;
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
/** The preStop pause between leaving the rotation and SIGTERM (the manifests sleep 5 s; a shorter one here). */
const PRE_STOP_MS = 500;
const DEBUG = process.env.REPLICAS_DEBUG !== undefined;

describe('three hub replicas on a Redis Cluster under load', { timeout: 360_000 }, () => {
  let dir: string;
  let cluster: RedisCluster;
  let ledger: Ledger;
  let fleet: Fleet;
  let keys: Map<string, SigningKey>;

  before(async () => {
    dir = makeEcPkiDir(['hub', ...FSPS, SUSPECT]);
    keys = loadSigningKeys(dir, [...FSPS, SUSPECT]);
    ledger = await startLedger();
    // cluster-node-timeout 2 s: a crashed master's replica is promoted within a few seconds.
    cluster = await startCluster({ replicas: 1, nodeTimeoutMs: 2000 });
    const prefix = `sgreplicas:${randomBytes(4).toString('hex')}:`;
    const hmac = randomBytes(32).toString('base64url');
    // What an operator sets for a hub replica (README "Configuration"); the ports come from the kernel.
    const env = (): Record<string, string> => ({
      SWITCHGUARD_PROFILE: 'production',
      GATEWAY_ROLE: 'hub',
      INBOUND_LISTEN_HOST: '127.0.0.1',
      INBOUND_LISTEN_PORT: '0',
      OUTBOUND_LISTEN_PORT: '0',
      ADMIN_LISTEN_PORT: '0',
      IN_SERVER_CERT_PATH: join(dir, 'tls', 'server.pem'),
      IN_SERVER_KEY_PATH: join(dir, 'tls', 'server.key'),
      IN_CA_CERT_PATH: join(dir, 'tls', 'ca.pem'),
      INBOUND_UPSTREAM_URL: ledger.url,
      VALIDATE_INBOUND_JWS: 'true',
      JWS_VERIFICATION_KEYS_DIRECTORY: join(dir, 'jws'),
      JWS_SIGNING_KEY_PATH: join(dir, 'jws-private', 'hub.key'),
      ILP_CHECK: 'true',
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      REDIS_KEY_PREFIX: prefix,
      STATE_HMAC_KEY: hmac,
      ADMIN_TOKEN,
      // The default 500 ms measures this shared 2-core machine rather than the replicas: under the load
      // of other test files a store call alone can wait longer than that for a core.
      STORE_TIMEOUT_MS: '2000',
      LOG_LEVEL: DEBUG ? 'warn' : 'error',
      AUDIT_LOG: 'off',
    });
    fleet = new Fleet(env, loadTlsMaterial(dir, [...FSPS, SUSPECT]), MAX_IN_FLIGHT);
    await Promise.all(NAMES.map((n) => fleet.start(n)));
  });

  after(async () => {
    if (DEBUG) fleet?.dumpOutput();
    await fleet?.closeAll();
    await ledger?.close();
    await cluster?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const keysOf = (ids: readonly string[]) => new Map(ids.map((id) => [id, keys.get(id) as SigningKey]));
  /** Journeys between the load's FSPs, signed in batches as they are used (a Date valid for the skew window). */
  const source = () => journeySource(async (n) => journeysOf((await buildPreparedSet({ count: n * 4, keys: keysOf(FSPS), block: 1 })).requests), 200);
  const load = () => runJourneys(fleet, source(), { rate: RATE, maxInFlight: MAX_IN_FLIGHT });

  /** The same request signed again now: a fresh Date and signature (the replay guard has not seen it). */
  const resign = async (r: PreparedRequest): Promise<PreparedRequest> => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers)) if (!k.startsWith('fspiop-signature') && k !== 'fspiop-uri' && k !== 'fspiop-http-method') headers[k] = v;
    headers.date = new Date().toUTCString();
    const s = await signRequestAsync({ method: r.method, url: r.path, headers, json: JSON.parse(r.body) as JsonObject }, keys.get(r.fsp) as SigningKey, {
      addDate: false,
    });
    return {
      ...r,
      body: s.body.toString('utf8'),
      headers: {
        ...headers,
        'fspiop-signature': s.headers['fspiop-signature'] as string,
        'fspiop-uri': s.headers['fspiop-uri'] as string,
        'fspiop-http-method': s.headers['fspiop-http-method'] as string,
      },
    };
  };

  /**
   * Every transfer the switch saw prepared ends fulfilled exactly once, whatever happened to its journey:
   * its fulfilment, signed anew for each (one signature on two replicas is a replay, 3105), is sent to every
   * replica in rotation at once; all but one are refused 3106, or all of them when the journey had already
   * fulfilled it. `uncertain` transfers (their fulfilment was cut off with a killed replica) may have been
   * consumed by that replica without reaching the switch (it died between the two): all re-sends are then
   * refused 3106 and the switch holds no fulfilment; they are counted, never fulfilled twice.
   */
  async function fulfilEveryPrepared(results: readonly JourneyResult[], uncertain: ReadonlySet<string> = new Set()) {
    let resent = 0;
    let consumedInCrash = 0;
    let checked = 0;
    const targets = fleet.up();
    const check = async (r: JourneyResult): Promise<void> => {
      const id = transferIdOf(r.journey);
      if ((ledger.prepares.get(id) ?? 0) === 0) return;
      checked++;
      assert.equal(ledger.prepares.get(id), 1, `transfer ${id} prepared once`);
      const before = ledger.fulfils.get(id) ?? 0;
      assert.ok(before <= 1, `transfer ${id} fulfilled ${before} times`);
      const answers = await Promise.all(targets.map(async (t) => fleet.send(await resign(r.journey[3] as PreparedRequest), t)));
      resent += answers.length;
      const ok = answers.filter((a) => a.status === 202).length;
      for (const a of answers) if (a.status !== 202) assert.deepEqual([a.status, a.code], [400, '3106'], `re-sent fulfilment of ${id} on ${a.replica}`);
      const after = ledger.fulfils.get(id) ?? 0;
      assert.equal(after, before + ok, `transfer ${id}: every accepted fulfilment reached the switch`);
      if (after === 0 && uncertain.has(id)) consumedInCrash++;
      else {
        const steps = r.answers.map((a) => `${a.replica} ${a.status} ${a.code} sent ${a.sentAt} answered ${a.at}`).join('; ');
        assert.equal(after, 1, `transfer ${id} fulfilled exactly once (before the re-send: ${before}, re-sends accepted: ${ok}; journey: ${steps})`);
      }
    };
    // A few transfers at a time: the replicas answer in parallel, the client is not flooded.
    for (let i = 0; i < results.length; i += 16) await Promise.all(results.slice(i, i + 16).map(check));
    return { checked, resent, consumedInCrash };
  }

  const admin = (name: string, method: string, path: string) =>
    fetch(`http://127.0.0.1:${fleet.get(name).main.ports.admin}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

  test('1. rolling restart by SIGTERM, one replica at a time: every request answered, none 5xx', async () => {
    const run = load();
    const t0 = Date.now();
    const events: { at: number; what: string }[] = [];
    const restarts: string[] = [];
    await sleep(1500);
    const sigterms = new Map<string, number>();
    for (const name of NAMES) {
      events.push({ at: Date.now(), what: `${name} out of rotation` });
      const d = await fleet.drain(name, PRE_STOP_MS);
      sigterms.set(name, d.sigtermAt);
      events.push({ at: d.sigtermAt, what: `SIGTERM ${name}` }, { at: Date.now(), what: `${name} exited` });
      assert.equal(d.exitCode, 0, `${name} exits 0 after draining`);
      const t = performance.now();
      await fleet.start(name);
      events.push({ at: Date.now(), what: `${name} ready` });
      restarts.push(`${name}: exited ${Math.round(d.ms)} ms after SIGTERM, ready ${(Math.round(performance.now() - t) / 1000).toFixed(1)} s after start`);
      await sleep(1000);
    }
    const report = await run.stop();
    const c = report.counts;
    const answers = report.results.flatMap((r) => r.answers);
    // Requests a replica was still serving when it got SIGTERM: the drain let them finish.
    const inFlight = answers.filter((a) => {
      const at = sigterms.get(a.replica);
      return at !== undefined && a.sentAt < at && a.at > at;
    }).length;
    console.log(`${formatCounts('rolling restart', c)} (in flight at a SIGTERM and answered: ${inFlight}; ${restarts.join('; ')})`);
    const why = describeRefusals(answers, t0, events);
    if (DEBUG) console.log(why);
    assert.equal(c.connectionFailures, 0, `no request lost at the connection level\n${why}`);
    assert.equal(c.status5xx, 0, `no 5xx\n${why}`);
    assert.equal(c.answered, c.requests, 'every request answered');
    assert.equal(c.accepted, c.requests, `every request accepted (202)\n${why}`);
    assert.ok(c.requests > 100, `load ran (${c.requests} requests)`);
    for (const r of report.results) {
      assert.equal(r.answers.length, 4, 'every journey completed');
      const id = transferIdOf(r.journey);
      assert.equal(ledger.prepares.get(id), 1);
      assert.equal(ledger.fulfils.get(id), 1);
    }
  });

  test('2. SIGKILL of one replica mid-load: the others serve on; no double fulfilment, no lost condition, quarantine or replay record', async () => {
    await threeReplicas();
    const victim = 'b';
    const survivors = NAMES.filter((n) => n !== victim);
    // Quarantine and replay records written through the replica that is about to die.
    const q = await admin(victim, 'POST', `/admin/quarantine/${SUSPECT}`);
    assert.equal(q.status, 200, await q.text());
    const [probe] = journeysOf((await buildPreparedSet({ count: 4, keys: keysOf(FSPS), block: 1 })).requests);
    const signedOnce = (probe as Journey)[0] as PreparedRequest;
    assert.equal((await fleet.send(signedOnce, fleet.get(victim))).status, 202);
    const [suspectJourney] = journeysOf((await buildPreparedSet({ count: 4, keys: keysOf([SUSPECT, 'perffsp-1']), block: 1 })).requests);
    const fromSuspect = (suspectJourney as Journey).find((r) => r.fsp === SUSPECT) as PreparedRequest;

    const run = load();
    const t0 = Date.now();
    await sleep(2500);
    const killedAt = Date.now();
    await fleet.kill(victim);
    await sleep(3000);
    const report = await run.stop();
    const answers = report.results.flatMap((r) => r.answers);
    const c = report.counts;
    const why = describeRefusals(answers, t0, [{ at: killedAt, what: `SIGKILL ${victim}` }]);
    if (DEBUG) console.log(why);

    // The survivors answer everything they are sent; only the dead replica's connections fail.
    for (const a of answers) {
      if (a.status === 0) assert.equal(a.replica, victim, `connection failure on ${a.replica}: ${a.code}\n${why}`);
      else assert.equal(a.status, 202, `answer ${a.status} ${a.code} from ${a.replica}\n${why}`);
    }
    // The balancer learns of the death from the first failed connection (passive health check) and sends
    // the dead replica nothing after that.
    const failures = answers.filter((a) => a.status === 0);
    assert.ok(failures.length > 0, 'the load balancer noticed the killed replica');
    const noticed = Math.min(...failures.map((a) => a.at));
    const afterKill = answers.filter((a) => a.sentAt > noticed);
    assert.ok(
      afterKill.every((a) => a.replica !== victim),
      `nothing is sent to the dead replica once a connection to it failed\n${why}`,
    );
    assert.ok(afterKill.length > 50, `the survivors kept serving (${afterKill.length} requests after the kill was noticed)`);
    for (const n of survivors)
      assert.ok(
        afterKill.some((a) => a.replica === n && a.status === 202),
        `${n} serves on`,
      );

    // No condition lost, none used twice.
    const uncertain = new Set(report.results.filter((r) => r.answers[3]?.status === 0).map((r) => transferIdOf(r.journey)));
    const v = await fulfilEveryPrepared(report.results, uncertain);

    // Quarantine: still enforced by the survivors, and by a replica started after the kill (it can only
    // have learnt it from the shared store: no QUARANTINE_PATH here).
    for (const name of survivors) {
      assert.deepEqual(((await (await admin(name, 'GET', '/admin/quarantine')).json()) as { quarantined: string[] }).quarantined, [SUSPECT]);
      const r = await fleet.send(await resign(fromSuspect), fleet.get(name));
      assert.deepEqual([r.status, r.code], [503, '2003'], `${name} refuses the quarantined peer`);
    }
    await fleet.start(victim);
    const fresh = await fleet.send(await resign(fromSuspect), fleet.get(victim));
    assert.deepEqual([fresh.status, fresh.code], [503, '2003'], 'the restarted replica enforces the quarantine from the store');
    // Replay: the request the dead replica accepted is refused on every replica, the new one too.
    for (const name of NAMES) {
      const r = await fleet.send(signedOnce, fleet.get(name));
      assert.deepEqual([r.status, r.code], [400, '3105'], `${name} refuses the replayed signature`);
    }
    assert.equal((await admin('a', 'DELETE', `/admin/quarantine/${SUSPECT}`)).status, 200);

    const codes = new Map<string, number>();
    for (const f of failures) codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
    console.log(
      `${formatCounts('SIGKILL', c)} (connection failures all on the killed replica: ${[...codes].map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
        `prepared transfers checked ${v.checked}, ` +
        `fulfilments re-sent ${v.resent}, consumed by the killed replica without reaching the switch ${v.consumedInCrash})`,
    );
  });

  /** The master serving slot 0 and its replica, as the cluster sees them now (CLUSTER NODES). */
  async function firstShard(): Promise<{ master: number; replica: number }> {
    const alive = cluster.topology.map((t) => t.port);
    for (const port of alive) {
      const lines = (await cluster.cli(port, 'cluster', 'nodes')).trim().split('\n');
      const fields = lines.map((l) => l.split(' '));
      const portOf = (f: string[]) => Number((f[1] ?? '').split('@')[0]?.split(':')[1]);
      const m = fields.find((f) => f[2]?.includes('master') && !f[2].includes('fail') && f.slice(8).some((r) => r.startsWith('0-')));
      const r = m && fields.find((f) => f[2]?.includes('slave') && !f[2].includes('fail') && f[3] === m[0]);
      if (m && r) return { master: portOf(m), replica: portOf(r) };
    }
    throw new Error('no master with a live replica serves slot 0');
  }

  /** Every replica not in rotation (a failed earlier scenario) is started again: each scenario begins with three. */
  async function threeReplicas(): Promise<void> {
    for (const n of NAMES) {
      const r = fleet.get(n);
      if (r.state !== 'up' || r.main.child.exitCode !== null || r.main.child.signalCode !== null) await fleet.start(n);
    }
  }

  /** Load across a failover of the first master: refusals only 503 2003, inside the window, then recovery. */
  async function failover(name: string, act: () => Promise<void>, promoted: () => Promise<boolean>) {
    await threeReplicas();
    const run = load();
    await sleep(2000);
    const t0 = Date.now();
    await act();
    await waitFor(promoted, { timeoutMs: 30_000, intervalMs: 50, what: 'the replica to be promoted' });
    const promotedAt = Date.now();
    await sleep(4000);
    const report = await run.stop();
    const answers: Answer[] = report.results.flatMap((r) => r.answers);
    const c = report.counts;
    const why = describeRefusals(answers, t0, [{ at: promotedAt, what: 'promoted' }]);
    if (DEBUG) console.log(why);
    const refused = answers.filter((a) => a.status !== 202);
    for (const a of refused) assert.deepEqual([a.status, a.code], [503, '2003'], `refusal from ${a.replica}\n${why}`);
    assert.equal(c.connectionFailures, 0);
    const first = refused.length ? Math.min(...refused.map((a) => a.at)) - t0 : 0;
    const last = refused.length ? Math.max(...refused.map((a) => a.at)) - t0 : 0;
    assert.ok(first >= 0, `nothing refused before the failover began\n${why}`);
    // Recovered by themselves: a request that began after the promotion may still wait out one store
    // timeout on the old topology, none more.
    assert.ok(last - (promotedAt - t0) < 2500, `refusals end soon after the promotion\n${why}`);
    const tail = answers.filter((a) => a.at > promotedAt + 2500);
    assert.ok(tail.length > 50, `requests after the window (${tail.length})`);
    assert.ok(
      tail.every((a) => a.status === 202),
      'after the window every request succeeds',
    );
    for (const n of NAMES)
      assert.ok(
        tail.some((a) => a.replica === n && a.status === 202),
        `${n} serves again without a restart`,
      );
    const v = await fulfilEveryPrepared(report.results);
    console.log(
      `${formatCounts(name, c)} (promotion ${promotedAt - t0} ms after the start of the failover; refusals from ${first} to ${last} ms; ` +
        `prepared transfers checked ${v.checked}, fulfilments re-sent ${v.resent})`,
    );
  }

  const isMaster = async (port: number) => (await cluster.cli(port, 'role')).startsWith('master');

  test('3a. Redis master failover on command (CLUSTER FAILOVER): only the window refused (503 2003), recovery by itself', async () => {
    const { replica } = await firstShard();
    await failover(
      'Redis CLUSTER FAILOVER',
      async () => {
        assert.match(await cluster.cli(replica, 'cluster', 'failover'), /OK/);
      },
      () => isMaster(replica),
    );
  });

  test('3b. Redis master crash (SIGKILL, its replica promoted): only the window refused (503 2003), recovery by itself', async () => {
    // The replica must be in sync (after 3a it is the former master, re-attached to the new one).
    const shard = await waitFor(
      async () => {
        const s = await firstShard().catch(() => undefined);
        return s && (await cluster.cli(s.replica, 'info', 'replication')).includes('master_link_status:up') ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'a replica in sync with the master of slot 0' },
    );
    await failover(
      'Redis master crash',
      () => cluster.kill(shard.master),
      () => isMaster(shard.replica),
    );
  });
});
