// deploy/kubernetes: renders every overlay (and the key-rotation example) with `kubectl kustomize`,
// validates every object against the Kubernetes API schemas (kubernetes-models; the prometheus-operator
// CRDs are shape-checked here instead), and checks the deployment invariants the gateway relies on.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { OUTPUTS, rendered } from '../../../scripts/render-k8s.js';
import { loadConfig } from '../../../src/config/load.js';
import { FIELDS, type FieldName } from '../../../src/config/schema.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const OVERLAYS = ['development', 'production', 'redis-cluster'] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

function kustomize(dir: string): Obj[] {
  const r = spawnSync('kubectl', ['kustomize', `${root}${dir}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('kubectl is not installed: the manifests cannot be rendered (`kubectl kustomize`); .ci/run installs it');
  }
  assert.equal(r.status, 0, `kubectl kustomize ${dir} failed:\n${r.stderr}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj)
    .filter((o) => o !== null);
}

const rendersCache = new Map<string, Obj[]>();
const render = (dir: string) => {
  if (!rendersCache.has(dir)) rendersCache.set(dir, kustomize(dir));
  return rendersCache.get(dir)!;
};
const overlay = (o: string) => render(`deploy/kubernetes/overlays/${o}`);

const one = (objs: Obj[], kind: string, name?: string): Obj => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name || o.metadata.name.startsWith(`${name}-`)));
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ''} (found ${found.length})`);
  return found[0]!;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

// --- schema validation ---
const CRD_GROUPS = new Set(['monitoring.coreos.com']);

async function validate(o: Obj): Promise<void> {
  const [group, version] = o.apiVersion.includes('/') ? (o.apiVersion.split('/') as [string, string]) : ['', o.apiVersion];
  if (CRD_GROUPS.has(group)) {
    checkCrdShape(o);
    return;
  }
  const path = group === '' ? `kubernetes-models/${version}/${o.kind}` : `kubernetes-models/${group}/${version}/${o.kind}`;
  let mod: Record<string, new (x: unknown) => { validate(): void }>;
  try {
    mod = await import(path);
  } catch {
    assert.fail(`${o.apiVersion} ${o.kind} ${o.metadata.name}: no Kubernetes schema for this apiVersion/kind`);
  }
  const Model = mod[o.kind];
  assert.ok(Model, `${o.kind}: model class`);
  assert.doesNotThrow(
    () => new Model(o).validate(),
    (e: unknown) => {
      assert.fail(`${o.kind} ${o.metadata.name}: ${(e as Error).message}`);
    },
  );
}

/** The prometheus-operator CRDs have no schema in kubernetes-models: check the fields the operator reads. */
function checkCrdShape(o: Obj): void {
  assert.equal(o.apiVersion, 'monitoring.coreos.com/v1', `${o.kind} apiVersion`);
  assert.match(o.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  if (o.kind === 'ServiceMonitor') {
    assert.equal(typeof o.spec?.selector?.matchLabels, 'object');
    assert.ok(Array.isArray(o.spec.endpoints) && o.spec.endpoints.length > 0);
    for (const e of o.spec.endpoints) {
      assert.equal(typeof e.port, 'string');
      assert.match(e.path, /^\//);
      assert.match(e.interval, /^\d+[smh]$/);
    }
    assert.deepEqual(Object.keys(o).sort(), ['apiVersion', 'kind', 'metadata', 'spec']);
  } else if (o.kind === 'PrometheusRule') {
    assert.ok(Array.isArray(o.spec?.groups) && o.spec.groups.length > 0);
    for (const g of o.spec.groups) {
      assert.equal(typeof g.name, 'string');
      for (const r of g.rules) {
        assert.ok(typeof r.alert === 'string' || typeof r.record === 'string', 'alert or record');
        assert.equal(typeof r.expr, 'string');
        if (r.for !== undefined) assert.match(r.for, /^\d+[smhd]$/);
        for (const m of [r.labels ?? {}, r.annotations ?? {}]) for (const v of Object.values(m)) assert.equal(typeof v, 'string');
      }
    }
  } else assert.fail(`unexpected custom resource ${o.kind}`);
}

// --- helpers over a rendered overlay ---
function configOf(objs: Obj[]): Record<string, string> {
  return one(objs, 'ConfigMap', 'switchguard-config').data as Record<string, string>;
}
function gateway(objs: Obj[]) {
  const d = one(objs, 'Deployment', 'switchguard');
  const pod = d.spec.template.spec;
  const c = pod.containers.find((x: Obj) => x.name === 'switchguard');
  assert.ok(c, 'container switchguard');
  return { d, pod, c };
}
const fieldEnv = (k: FieldName) => FIELDS[k].env;

for (const name of OVERLAYS) {
  test(`kubernetes ${name}: every object validates against the Kubernetes API schemas`, async () => {
    const objs = overlay(name);
    for (const o of objs) await validate(o);
    for (const kind of ['ServiceAccount', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'NetworkPolicy', 'ServiceMonitor', 'PrometheusRule'])
      one(objs, kind);
    assert.equal(objs.filter((o) => o.kind === 'Service').length, 3, 'one Service per listener');
    for (const cm of ['switchguard-config', 'switchguard-peers', 'switchguard-grafana-dashboard']) one(objs, 'ConfigMap', cm);
    if (name !== 'redis-cluster') {
      const ns = new Set(objs.map((o) => o.metadata.namespace));
      assert.equal(ns.size, 1, `one namespace for every object: ${[...ns].join(', ')}`);
    }
  });

  test(`kubernetes ${name}: probes on /health and /ready of the admin port, admin reachable from the pod network`, () => {
    const objs = overlay(name);
    const { c } = gateway(objs);
    const cfg = configOf(objs);
    const adminPort = c.ports.find((p: Obj) => p.name === 'admin');
    assert.equal(String(adminPort.containerPort), cfg[fieldEnv('adminPort')]);
    assert.equal(cfg[fieldEnv('adminHost')], '0.0.0.0', 'probes and Prometheus come from outside the pod');
    for (const [probe, path] of [
      ['livenessProbe', '/health'],
      ['readinessProbe', '/ready'],
      ['startupProbe', '/health'],
    ] as const) {
      assert.equal(c[probe]?.httpGet?.path, path, probe);
      assert.ok(c[probe].httpGet.port === 'admin' || c[probe].httpGet.port === adminPort.containerPort, `${probe} on the admin port`);
      assert.ok(!c[probe].httpGet.scheme || c[probe].httpGet.scheme === 'HTTP');
    }
    for (const [portName, field] of [
      ['inbound', 'inboundPort'],
      ['outbound', 'outboundPort'],
    ] as const) {
      assert.equal(String(c.ports.find((p: Obj) => p.name === portName).containerPort), cfg[fieldEnv(field)], portName);
    }
  });

  test(`kubernetes ${name}: non-root, read-only root filesystem, no privilege escalation, resource limits`, () => {
    const { pod, c } = gateway(overlay(name));
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault');
    assert.equal(c.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities?.drop, ['ALL']);
    assert.equal(c.securityContext.privileged ?? false, false);
    for (const r of ['cpu', 'memory']) {
      assert.ok(c.resources?.limits?.[r], `limits.${r}`);
      assert.ok(c.resources?.requests?.[r], `requests.${r}`);
    }
    assert.equal(pod.automountServiceAccountToken, false, 'the gateway never talks to the API server');
    assert.ok(!pod.hostNetwork && !pod.hostPID && !pod.hostIPC);
  });

  test(`kubernetes ${name}: terminationGracePeriodSeconds covers preStop + SHUTDOWN_TIMEOUT_MS`, () => {
    const objs = overlay(name);
    const { pod, c } = gateway(objs);
    const shutdownS = Number(configOf(objs)[fieldEnv('shutdownTimeoutMs')] ?? 10000) / 1000;
    const preStopS = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
    assert.ok(
      pod.terminationGracePeriodSeconds > shutdownS + preStopS,
      `terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} must exceed preStop ${preStopS}s + SHUTDOWN_TIMEOUT_MS ${shutdownS}s`,
    );
  });

  test(`kubernetes ${name}: keys and certificates come from Secrets mounted as files (whole directories, reloadable)`, () => {
    const objs = overlay(name);
    const { pod, c } = gateway(objs);
    const cfg = configOf(objs);
    const volumes = new Map<string, Obj>(pod.volumes.map((v: Obj) => [v.name, v]));
    const mounts: Obj[] = c.volumeMounts;
    for (const m of mounts) {
      const v = volumes.get(m.name);
      assert.ok(v, `mount ${m.name} has a volume`);
      if (v!.secret || v!.configMap) {
        assert.equal(m.subPath, undefined, `${m.name}: a subPath mount never sees Secret/ConfigMap updates`);
        assert.equal(m.readOnly, true, `${m.name} read-only`);
      }
    }
    const under = (p: string) => mounts.find((m) => p.startsWith(`${m.mountPath}/`));
    // Every file setting points into a mounted volume; every secret file (private keys) into a Secret volume.
    for (const [k, f] of Object.entries(FIELDS) as [FieldName, (typeof FIELDS)[FieldName]][]) {
      const v = cfg[f.env];
      if (!('file' in f && f.file) || !v) continue;
      const m = under(v);
      assert.ok(m, `${f.env}=${v} is not under a mounted volume`);
      const vol = volumes.get(m!.name)!;
      if ('secret' in f && f.secret) assert.ok(vol.secret, `${f.env}: private key material must come from a Secret volume (${m!.name})`);
      else assert.ok(vol.secret || vol.configMap, `${f.env}: from a Secret or ConfigMap volume`);
      void k;
    }
    const jwsDir = cfg[fieldEnv('jwsKeysDir')];
    if (jwsDir) assert.ok(volumes.get(mounts.find((m) => m.mountPath === jwsDir)?.name)?.secret, 'JWS verification keys from a Secret');
    // No secret value in the ConfigMap; Secret-backed environment only for the secret settings without a file form.
    const allowed = Object.values(FIELDS)
      .filter((f) => 'secret' in f && f.secret && !('file' in f && f.file))
      .map((f) => f.env);
    for (const e of allowed) assert.ok(!cfg[e], `${e} must not be in a ConfigMap`);
    const envSecrets = (c.env ?? []).filter((e: Obj) => e.valueFrom?.secretKeyRef).map((e: Obj) => e.name);
    for (const e of envSecrets) assert.ok(allowed.includes(e), `${e}: a Secret as environment only where no file setting exists`);
    assert.ok(!(c.envFrom ?? []).some((e: Obj) => e.secretRef), 'no whole Secret as environment');
    if (cfg[fieldEnv('profile')] === 'production') {
      for (const k of ['serverCertPath', 'serverKeyPath', 'caCertPath', 'jwsSigningKeyPath', 'outClientKeyPath'] as const)
        assert.ok(cfg[fieldEnv(k)], `${fieldEnv(k)} set`);
    }
  });

  test(`kubernetes ${name}: the ConfigMap is a valid configuration; replicas agree with the store`, () => {
    const objs = overlay(name);
    const cfg = configOf(objs);
    const config = loadConfig({ ...cfg, ILP_SECRET: 'k8s-test-ilp-secret-0123456789abcdef' });
    const hpa = one(objs, 'HorizontalPodAutoscaler');
    const { d } = gateway(objs);
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name });
    assert.ok(d.spec.replicas <= hpa.spec.maxReplicas && d.spec.replicas >= hpa.spec.minReplicas);
    if (config.storeKind === 'memory') assert.equal(hpa.spec.maxReplicas, 1, 'the in-memory store is per process: one replica');
    else assert.ok(hpa.spec.minReplicas >= 2, 'a shared store: at least two replicas');
    if (name === 'development') assert.equal(config.profile, 'development');
    else assert.equal(config.profile, 'production');
    if (name === 'redis-cluster') {
      assert.equal(config.storeKind, 'redis');
      assert.equal(config.redisUrl, undefined);
      assert.ok(config.redisClusterNodes.length >= 3);
    }
    if (name === 'production') {
      assert.equal(config.storeKind, 'redis');
      assert.match(config.redisUrl ?? '', /^redis/);
    }
    if (config.storeKind === 'redis') {
      // The shared security state is sealed (STATE_HMAC_KEY from the Secret) and each pod keeps its durable copies on a
      // writable volume of its own.
      const { c, pod } = gateway(objs);
      const hmac = (c.env ?? []).find((e: Obj) => e.name === 'STATE_HMAC_KEY');
      assert.deepEqual(hmac?.valueFrom?.secretKeyRef, { name: 'switchguard-secrets', key: 'state-hmac-key', optional: true });
      const writable = new Set((pod.volumes as Obj[]).filter((v) => v.emptyDir || v.persistentVolumeClaim).map((v) => v.name));
      for (const env of ['QUARANTINE_PATH', 'KEY_REVOCATIONS_PATH', 'LIMIT_OVERRIDES_PATH']) {
        const path = cfg[env];
        assert.ok(path, `${env} set`);
        const mount = (c.volumeMounts as Obj[]).find((m) => path!.startsWith(`${m.mountPath}/`));
        assert.ok(mount && writable.has(mount.name) && !mount.readOnly, `${env}=${path} on a writable volume`);
      }
    }
  });

  test(`kubernetes ${name}: Services, PodDisruptionBudget, spread, NetworkPolicy and ServiceMonitor select the gateway`, () => {
    const objs = overlay(name);
    const { d, pod, c } = gateway(objs);
    const podLabels = d.spec.template.metadata.labels as Record<string, string>;
    const portNames = new Set(c.ports.map((p: Obj) => p.name));
    const services = objs.filter((o) => o.kind === 'Service');
    for (const s of services) {
      assert.ok(matches(s.spec.selector, podLabels), `${s.metadata.name} selects the pods`);
      for (const p of s.spec.ports) assert.ok(portNames.has(p.targetPort), `${s.metadata.name} targetPort ${p.targetPort}`);
    }
    assert.deepEqual(services.map((s) => s.spec.ports[0].targetPort).sort(), ['admin', 'inbound', 'outbound']);
    const outbound = services.find((s) => s.spec.ports[0].targetPort === 'outbound')!;
    assert.equal(outbound.spec.type ?? 'ClusterIP', 'ClusterIP', 'the plain-HTTP outbound listener never leaves the cluster');
    const admin = services.find((s) => s.spec.ports[0].targetPort === 'admin')!;
    assert.equal(admin.spec.type ?? 'ClusterIP', 'ClusterIP');
    assert.ok(matches(one(objs, 'PodDisruptionBudget').spec.selector.matchLabels, podLabels));
    const keys = pod.topologySpreadConstraints.map((t: Obj) => t.topologyKey);
    assert.ok(keys.includes('kubernetes.io/hostname') && keys.includes('topology.kubernetes.io/zone'));
    for (const t of pod.topologySpreadConstraints) assert.ok(matches(t.labelSelector.matchLabels, podLabels));
    // NetworkPolicy: inbound from peers (address ranges) only, admin from the monitoring namespace only,
    // outbound from labelled pods only; no rule open to everyone.
    const np = one(objs, 'NetworkPolicy');
    assert.ok(matches(np.spec.podSelector.matchLabels, podLabels));
    assert.deepEqual(np.spec.policyTypes, ['Ingress']);
    const rules: Obj[] = np.spec.ingress;
    const rulePorts = (r: Obj) => r.ports.map((p: Obj) => p.port);
    for (const r of rules) {
      assert.ok(Array.isArray(r.from) && r.from.length > 0, 'every ingress rule names its sources');
      assert.ok(Array.isArray(r.ports) && r.ports.length > 0, 'every ingress rule names its ports');
    }
    const cfg = configOf(objs);
    const byPort = (p: string) => rules.filter((r) => rulePorts(r).some((x: unknown) => String(x) === p));
    const [inbound, out, adm] = [cfg[fieldEnv('inboundPort')]!, cfg[fieldEnv('outboundPort')]!, cfg[fieldEnv('adminPort')]!].map(byPort);
    assert.ok(
      inbound!.length === 1 && inbound![0]!.from.every((f: Obj) => f.ipBlock && !f.podSelector && !f.namespaceSelector && f.ipBlock.cidr !== '0.0.0.0/0'),
      "inbound: peers' ranges only",
    );
    assert.ok(
      adm!.length === 1 && adm![0]!.from.every((f: Obj) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring' && !f.ipBlock),
      'admin: the monitoring namespace only',
    );
    assert.ok(
      out!.length === 1 && out![0]!.from.every((f: Obj) => f.podSelector && !f.ipBlock && !f.namespaceSelector),
      'outbound: labelled pods of the namespace only',
    );
    const sm = one(objs, 'ServiceMonitor');
    assert.ok(matches(sm.spec.selector.matchLabels, admin.metadata.labels), 'ServiceMonitor selects the admin Service only');
    for (const s of services.filter((x) => x !== admin)) assert.ok(!matches(sm.spec.selector.matchLabels, s.metadata.labels), `not ${s.metadata.name}`);
    assert.deepEqual(
      sm.spec.endpoints.map((e: Obj) => [e.port, e.path]),
      [['admin', '/metrics']],
    );
  });

  test(`kubernetes ${name}: the PrometheusRule equals alerts/ and the dashboard ConfigMap equals the dashboard JSON`, () => {
    const objs = overlay(name);
    const rules = parse(readFileSync(`${root}alerts/switchguard.rules.yml`, 'utf8')) as { groups: unknown[] };
    assert.deepEqual(one(objs, 'PrometheusRule').spec.groups, rules.groups);
    const cm = one(objs, 'ConfigMap', 'switchguard-grafana-dashboard');
    assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
    assert.deepEqual(JSON.parse(cm.data['switchguard.json']), JSON.parse(readFileSync(`${root}alerts/grafana-dashboard.json`, 'utf8')));
  });
}

test('kubernetes: the generated files are exactly what scripts/render-k8s.ts renders from alerts/ (no drift)', () => {
  for (const [k, text] of Object.entries(rendered()) as [keyof typeof OUTPUTS, string][]) {
    assert.equal(readFileSync(`${root}${OUTPUTS[k]}`, 'utf8'), text, `${OUTPUTS[k]} drifted: run npm run deploy:render`);
  }
});

test('kubernetes: the key-rotation CronJob example validates, runs `keys rotate` on the signing Secret the gateways mount, and may touch only it', async () => {
  const objs = render('deploy/kubernetes/examples/key-rotation');
  for (const o of objs) await validate(o);
  const cron = one(objs, 'CronJob');
  const pod = cron.spec.jobTemplate.spec.template.spec;
  const c = pod.containers[0];
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.ok(c.resources.limits.cpu && c.resources.limits.memory);
  assert.equal(pod.serviceAccountName, one(objs, 'ServiceAccount').metadata.name);
  assert.notEqual(cron.spec.suspend, true, 'the CLI has `keys rotate`: the example runs');
  assert.equal(cron.spec.concurrencyPolicy, 'Forbid');
  const cli = readFileSync(`${root}src/cli/main.ts`, 'utf8');
  assert.match(cli, /keys rotate/);
  assert.deepEqual(c.command.slice(2, 4), ['keys', 'rotate']);
  const arg = (name: string) => c.command[c.command.indexOf(name) + 1] as string;
  // The Secret it rotates is the one the Deployment mounts at the directory of JWS_SIGNING_KEY_PATH, and --key names that file.
  const deployment = one(overlay('production'), 'Deployment');
  const env = Object.fromEntries(
    readFileSync(`${root}deploy/kubernetes/base/config.env`, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.split('=') as [string, string]),
  );
  const keyPath = env.JWS_SIGNING_KEY_PATH!;
  const mount = deployment.spec.template.spec.containers[0].volumeMounts.find((m: { mountPath: string }) => keyPath.startsWith(`${m.mountPath}/`));
  const volume = deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
  assert.equal(arg('--kubernetes-secret'), volume.secret.secretName);
  assert.equal(volume.secret.items, undefined, 'the whole Secret is mounted (keyring manifest and staged keys included)');
  assert.equal(`${mount.mountPath}/${arg('--key')}`, keyPath);
  const role = one(objs, 'Role');
  for (const r of role.rules) {
    assert.deepEqual(r.resources, ['secrets']);
    assert.deepEqual(r.resourceNames, [volume.secret.secretName], 'the rotation job may touch only the Secret it rotates');
    assert.deepEqual([...r.verbs].sort(), ['get', 'update']);
  }
});
