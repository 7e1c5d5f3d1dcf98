// A Kubernetes Secret as the KeyStore of `switchguard keys rotate --kubernetes-secret NAME` (deploy/kubernetes/examples/
// key-rotation): the Secret the gateways mount as their signing-key directory is read once and replaced as a
// whole with the rotated keyring. The replacement carries the resourceVersion that was read (Kubernetes API
// concepts, "Resource versions": an update with a stale resourceVersion is refused with 409 Conflict), so two
// rotations never overwrite each other; the kubelet then swaps the mounted volume's `..data` link, and every
// gateway sees the new files at once. Only GET and PUT of the one Secret are needed (RBAC: get, update).
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { KeyStore } from '../jws/rotate.js';

export interface KubeApi {
  /** API server base URL, e.g. https://10.0.0.1:443. */
  readonly url: string;
  /** Bearer token of the service account. */
  readonly token: string;
  /** PEM of the CA that signed the API server's certificate (https). */
  readonly ca?: string;
  readonly namespace: string;
}

const SA = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The in-cluster API access every pod has (Kubernetes docs, "Accessing the Kubernetes API from a Pod"): the
 * KUBERNETES_SERVICE_HOST/PORT environment and the mounted service-account token, CA and namespace.
 * @throws Error when not running in a pod.
 */
export function inClusterApi(env: Readonly<Record<string, string | undefined>>, namespace?: string, saDir = SA): KubeApi {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not in a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset)');
  const read = (f: string) => readFileSync(`${saDir}/${f}`, 'utf8').trim();
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: read('token'),
    ca: read('ca.crt'),
    namespace: namespace ?? read('namespace'),
  };
}

interface SecretObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  type?: string;
  data?: Record<string, string>;
  [k: string]: unknown;
}

/**
 * Reads the Secret and returns a KeyStore over its data. commit() replaces the Secret's data in one PUT.
 * @throws Error when the Secret cannot be read (missing, forbidden, API unreachable).
 */
export async function secretKeyStore(api: KubeApi, name: string): Promise<KeyStore & { close(): Promise<void> }> {
  const dispatcher = new Agent(api.ca ? { connect: { ca: api.ca } } : {});
  const url = `${api.url}/api/v1/namespaces/${encodeURIComponent(api.namespace)}/secrets/${encodeURIComponent(name)}`;
  const headers = { authorization: `Bearer ${api.token}`, accept: 'application/json' };
  const res = await request(url, { method: 'GET', headers, dispatcher });
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    await dispatcher.close();
    throw new Error(`GET secret ${api.namespace}/${name}: HTTP ${res.statusCode} ${statusMessage(text)}`);
  }
  const secret = JSON.parse(text) as SecretObject;
  const data = new Map<string, Buffer>(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  return {
    async get(file) {
      return data.get(file);
    },
    async commit(put, remove) {
      const next = new Map(data);
      for (const [file, bytes] of put) next.set(file, bytes);
      for (const file of remove) next.delete(file);
      const body: SecretObject = { ...secret, data: Object.fromEntries([...next].map(([k, v]) => [k, v.toString('base64')])) };
      delete body.stringData;
      const r = await request(url, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        dispatcher,
      });
      const answer = await r.body.text();
      if (r.statusCode === 409) throw new Error(`secret ${api.namespace}/${name} changed since it was read (409 Conflict); nothing was written, run again`);
      if (r.statusCode !== 200) throw new Error(`PUT secret ${api.namespace}/${name}: HTTP ${r.statusCode} ${statusMessage(answer)}`);
      data.clear();
      for (const [k, v] of next) data.set(k, v);
    },
    close: () => dispatcher.close(),
  };
}

/** The `message` of a Kubernetes Status object, or the start of the text. */
function statusMessage(text: string): string {
  try {
    const s = JSON.parse(text) as { message?: unknown };
    if (typeof s.message === 'string') return s.message.slice(0, 200);
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}
