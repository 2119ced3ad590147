// k8s.mjs - the fake Kubernetes API of otel-fakes set up for @kubernetes/client-node, the
// official JavaScript client (pinned in package-lock.json): the fakes started alone, the API over
// HTTPS with the CA from the control API (GET /v1/tls/ca.crt), a bearer token for a service
// account (POST /v1/k8s/tokens), objects and RBAC applied and deleted through the control API,
// and the fake's own view of what it holds (GET /v1/received/kubernetes, GET /v1/k8s/audit).
//
// Nothing here talks the Kubernetes API itself: every request to it comes from client-node, so
// what a test sees is what client-node makes of the fake. The control API is plain HTTP on
// loopback, called with fetch.

import { checkInstalled } from './deps.mjs';
import { startFakes } from './stack.mjs';

checkInstalled();

export const k8s = await import('@kubernetes/client-node');

export class FakeCluster {
    // Starts otel-fakes and reads its CA. The caller must stop() it (from an after() hook).
    static async start() {
        const { child, ports, ready } = await startFakes();
        const cluster = new FakeCluster(child, ports, ready);
        try {
            if (!Number.isInteger(ports.kubernetes_https) || !ready.kubernetes_admin_token) {
                throw new Error('otel-fakes ready line lacks ports.kubernetes_https or ' +
                    `kubernetes_admin_token: ${JSON.stringify(ready)}`);
            }
            cluster.ca = await cluster.control('GET', '/v1/tls/ca.crt');
            if (!cluster.ca.includes('BEGIN CERTIFICATE')) {
                throw new Error(`GET /v1/tls/ca.crt answered no certificate: ${cluster.ca}`);
            }
        } catch (error) {
            await child.stop();
            throw error;
        }
        return cluster;
    }

    constructor(child, ports, ready) {
        this.child = child;
        this.ports = ports;
        this.adminToken = ready.kubernetes_admin_token;
        this.server = `https://127.0.0.1:${ports.kubernetes_https}`;
    }

    // Calls the control API. `body`: a string (YAML or JSON, sent as is) or an object (sent as
    // JSON). Returns the parsed JSON answer, or its text when it is not JSON; throws on a
    // non-2xx answer.
    async control(method, path, body) {
        const init = { method };
        if (body !== undefined) {
            init.body = typeof body === 'string' ? body : JSON.stringify(body);
        }
        const response = await fetch(`http://127.0.0.1:${this.ports.control}${path}`, init);
        const text = await response.text();
        if (!response.ok) {
            throw new Error(`control API ${method} ${path} answered ${response.status}: ${text}`);
        }
        try {
            return text ? JSON.parse(text) : null;
        } catch {
            return text;
        }
    }

    // Creates, or replaces, every object of `manifests` (YAML or JSON text, or objects).
    async apply(manifests) {
        const text = typeof manifests === 'string' ? manifests
            : JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [manifests].flat() });
        return this.control('POST', '/v1/k8s/objects', text);
    }

    // Deletes one object; `group` '' or 'core' for the core group, `namespace` '' for a
    // cluster-scoped type.
    async remove(group, resource, namespace, name) {
        return this.control('DELETE',
            `/v1/k8s/objects/${group || 'core'}/${resource}/${namespace || '_'}/${name}`);
    }

    // A bearer token for `user` ("system:serviceaccount:NS:NAME", or a user name).
    async token(user) {
        return (await this.control('POST', '/v1/k8s/tokens', { user })).token;
    }

    // A client-node KubeConfig for the HTTPS API with `token`, trusting the fakes' CA only.
    kubeConfig(token) {
        const kc = new k8s.KubeConfig();
        kc.loadFromOptions({
            clusters: [{ name: 'fake', server: this.server,
                caData: Buffer.from(this.ca).toString('base64'), skipTLSVerify: false }],
            users: [{ name: 'client', token }],
            contexts: [{ name: 'fake', cluster: 'fake', user: 'client' }],
            currentContext: 'fake',
        });
        return kc;
    }

    // The objects of `key` ("pods", "replicasets.apps", ...) the fake holds now, and the
    // store's resourceVersion.
    async objects(key) {
        const view = await this.control('GET', '/v1/received/kubernetes');
        return { resourceVersion: view.resourceVersion, items: view.objects?.[key] ?? [] };
    }

    // The audit log (audit.k8s.io/v1 Events), oldest first.
    async audit() {
        return this.control('GET', '/v1/k8s/audit');
    }

    tail() {
        return `logs of otel-fakes:\n${this.child.tail()}`;
    }

    async stop() {
        return this.child.stop();
    }
}
