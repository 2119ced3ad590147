// k8s-informer.test.mjs - @kubernetes/client-node, the official JavaScript client, runs real
// informers (makeInformer: list, then watch from the list's resourceVersion, relist on 410)
// against the fake Kubernetes API of otel-fakes over HTTPS, as the collector's service account
// under kind/manifests/rbac.yaml (pods: list and watch, cluster-wide; nothing on secrets).
//
// What an informer must get from the API server, and what the tests check:
//   - the initial list gives every object already there (one `add` each, nothing from other
//     namespaces); a pod created afterwards gives `add`, a label change (the object replaced
//     through the control API) `update` with the new labels, a delete `delete`, each with the
//     resourceVersion the fake gave the write; at the end the informer's cache (list()) holds
//     exactly the pods the fake holds, uid, resourceVersion and labels;
//   - a resource the service account may not list (secrets) gives the informer's `error` event
//     with the 403 and the API server's Forbidden Status, and the audit log shows the denial;
//   - a watch from a resourceVersion the fake no longer keeps (more than its 1000 events of
//     watch history per type written while the informer's watch request was held by a `stall`
//     fault) gets the ERROR event with the 410 Expired Status; the informer relists (a second
//     list in the audit), reports what changed meanwhile (`delete`, `add`), watches again from
//     the new list and converges on the fake's pods.
//
// Every wait polls a condition until a deadline (lib/stack.mjs waitFor); nothing waits with a
// bare sleep. Writes go through the control API, never through client-node, so that everything
// client-node reports is what it read from the fake.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Mismatches } from './lib/compare.mjs';
import { installedVersion } from './lib/deps.mjs';
import { FakeCluster, k8s } from './lib/k8s.mjs';
import { interopDir, waitFor } from './lib/stack.mjs';

const SERVICE_ACCOUNT = 'system:serviceaccount:opentelemetry:otel-collector-collector';
const RBAC = readFileSync(join(interopDir, '..', '..', 'kind', 'manifests', 'rbac.yaml'), 'utf8');
// Events the fake keeps per type for watches (k8s_store.h's default history_size): writing more
// than this while a watch is held makes its resourceVersion too old.
const WATCH_HISTORY = 1000;
const WAIT_MS = 60_000;

let cluster;
let core;
let kubeConfig;
before(async () => {
    cluster = await FakeCluster.start();
    await cluster.apply(RBAC);
    await cluster.apply([namespace('shop'), namespace('data'), pod('shop', 'web-0', { app: 'web' }),
        pod('shop', 'web-1', { app: 'web' }), pod('data', 'db-0', { app: 'db' })]);
    kubeConfig = cluster.kubeConfig(await cluster.token(SERVICE_ACCOUNT));
    core = kubeConfig.makeApiClient(k8s.CoreV1Api);
});
after(async () => {
    await cluster?.stop();
});

function namespace(name) {
    return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

function pod(ns, name, labels) {
    return {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels },
        spec: { nodeName: 'kind-worker',
            containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    };
}

const keyOf = (obj) => `${obj.metadata.namespace}/${obj.metadata.name}`;

// An object as both sides are compared: its key, resourceVersion and labels.
function summary(obj) {
    return { key: keyOf(obj), resourceVersion: obj.metadata.resourceVersion,
        labels: { ...(obj.metadata.labels ?? {}) } };
}

// Objects by key, with uid, resourceVersion and labels: the informer's cache and the fake's
// store reduced to one form.
function byKey(objects) {
    const out = {};
    for (const obj of [...objects].sort((a, b) => keyOf(a).localeCompare(keyOf(b)))) {
        out[keyOf(obj)] = { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion,
            labels: { ...(obj.metadata.labels ?? {}) } };
    }
    return out;
}

// Follows what an informer reports: its add/update/delete events in order, its errors and how
// often it (re)connected. Errors after stop() (client-node reports the aborted watch as one)
// are not recorded.
function follow(informer) {
    const seen = { events: [], errors: [], connects: 0, stopped: false };
    for (const verb of ['add', 'update', 'delete']) {
        informer.on(verb, (obj) => {
            if (!seen.stopped) {
                seen.events.push({ verb, ...summary(obj) });
            }
        });
    }
    informer.on('error', (error) => {
        if (!seen.stopped) {
            seen.errors.push(error);
        }
    });
    informer.on('connect', () => {
        seen.connects++;
    });
    seen.stop = async () => {
        seen.stopped = true;
        await informer.stop();
    };
    return seen;
}

// Waits until the informer has reported `count` events in all.
async function waitForEvents(seen, count, what) {
    await waitFor(`the informer to report ${what}`, async () =>
        ({ done: seen.events.length >= count || seen.errors.length > 0,
            state: { events: seen.events, errors: seen.errors.map(String) } }),
    { timeoutMs: WAIT_MS });
    assert.deepEqual(seen.errors.map(String), [], `the informer reported errors waiting for ${what}`);
}

// The service account's calls on `resource` from the audit log, in order.
async function calls(resource, from = 0) {
    return (await cluster.audit()).slice(from)
        .filter((e) => e.user?.username === SERVICE_ACCOUNT && e.objectRef?.resource === resource)
        .map((e) => ({ verb: e.verb, requestURI: e.requestURI, code: e.responseStatus?.code,
            decision: e.annotations?.['authorization.k8s.io/decision'] }));
}

const appliedVersion = (answer) => answer.applied[0].resourceVersion;

// The requestURI of an informer's watch from the resourceVersion of `state` (a cluster.objects()
// answer), as client-node writes it.
const watchUri = (path, state) => `${path}?watch=true&resourceVersion=${state.resourceVersion}`;

test(`@kubernetes/client-node ${installedVersion('@kubernetes/client-node')}: a namespaced pod ` +
    'informer lists, then reports add, update and delete, and its cache matches the fake',
{ timeout: 180_000 }, async () => {
    const initial = await cluster.objects('pods');
    const auditFrom = (await cluster.audit()).length;
    const informer = k8s.makeInformer(kubeConfig, '/api/v1/namespaces/shop/pods',
        () => core.listNamespacedPod({ namespace: 'shop' }));
    const seen = follow(informer);
    const check = new Mismatches('namespaced pod informer');
    try {
        await informer.start();
        const listed = initial.items.filter((p) => p.metadata.namespace === 'shop');
        await waitForEvents(seen, listed.length, 'the pods of the initial list');

        const web2 = appliedVersion(await cluster.apply(pod('shop', 'web-2', { app: 'web' })));
        await waitForEvents(seen, listed.length + 1, 'the add of shop/web-2');
        // Another namespace: the namespaced watch must not report it. It is written before the
        // next change of shop, so it would arrive before that one if it arrived at all.
        await cluster.apply(pod('data', 'db-1', { app: 'db' }));
        const web1 = appliedVersion(await cluster.apply(
            pod('shop', 'web-1', { app: 'web', track: 'canary' })));
        await waitForEvents(seen, listed.length + 2, 'the update of shop/web-1');
        const deleted = (await cluster.remove('', 'pods', 'shop', 'web-0')).metadata.resourceVersion;
        await waitForEvents(seen, listed.length + 3, 'the delete of shop/web-0');

        check.diff('events', [
            ...listed.map((p) => ({ verb: 'add', ...summary(p) })),
            { verb: 'add', key: 'shop/web-2', resourceVersion: web2, labels: { app: 'web' } },
            { verb: 'update', key: 'shop/web-1', resourceVersion: web1,
                labels: { app: 'web', track: 'canary' } },
            { verb: 'delete', key: 'shop/web-0', resourceVersion: deleted, labels: { app: 'web' } },
        ], seen.events);
        const now = await cluster.objects('pods');
        check.diff('cache', byKey(now.items.filter((p) => p.metadata.namespace === 'shop')),
            byKey(informer.list()));
        check.diff('cache of namespace shop', byKey(informer.list()), byKey(informer.list('shop')));
        check.diff('connects', 1, seen.connects);
        check.diff('calls', [
            { verb: 'list', requestURI: '/api/v1/namespaces/shop/pods', code: 200, decision: 'allow' },
            { verb: 'watch', requestURI: watchUri('/api/v1/namespaces/shop/pods', initial),
                code: 200, decision: 'allow' },
        ], await calls('pods', auditFrom));
    } finally {
        await seen.stop();
    }
    check.assertNone(cluster.tail());
});

test('an informer on secrets, which the service account may not list, reports the 403 and ' +
    'the audit log shows the denial', { timeout: 120_000 }, async () => {
    const auditFrom = (await cluster.audit()).length;
    const informer = k8s.makeInformer(kubeConfig, '/api/v1/namespaces/shop/secrets',
        () => core.listNamespacedSecret({ namespace: 'shop' }));
    const seen = follow(informer);
    const message = `secrets is forbidden: User "${SERVICE_ACCOUNT}" cannot list resource ` +
        '"secrets" in API group "" in the namespace "shop"';
    const check = new Mismatches('secrets informer');
    try {
        await informer.start();
        await waitFor('the informer to report an error', async () =>
            ({ done: seen.errors.length > 0, state: seen }), { timeoutMs: WAIT_MS });
        const [error] = seen.errors;
        let body = error.body;
        try {
            body = typeof body === 'string' ? JSON.parse(body) : body;
        } catch {
            // Not JSON: the diff below shows what it was.
        }
        check.diff('error', { code: 403, body: { kind: 'Status', apiVersion: 'v1', metadata: {},
            status: 'Failure', message, reason: 'Forbidden', details: { kind: 'secrets' },
            code: 403 } }, { code: error.code, body });
        check.diff('errors', 1, seen.errors.length);
        check.diff('events', [], seen.events);
        check.diff('cache', [], informer.list());
        const denials = (await cluster.audit()).slice(auditFrom)
            .filter((e) => e.objectRef?.resource === 'secrets')
            .map((e) => ({ verb: e.verb, user: e.user?.username, objectRef: e.objectRef,
                code: e.responseStatus?.code, reason: e.responseStatus?.reason,
                message: e.responseStatus?.message,
                decision: e.annotations?.['authorization.k8s.io/decision'] }));
        check.diff('audit', [{ verb: 'list', user: SERVICE_ACCOUNT,
            objectRef: { resource: 'secrets', namespace: 'shop', apiVersion: 'v1' }, code: 403,
            reason: 'Forbidden', message, decision: 'forbid' }], denials);
    } finally {
        await seen.stop();
    }
    check.assertNone(cluster.tail());
});

test('a watch from an expired resourceVersion gets 410: the informer relists and converges on ' +
    'the fake', { timeout: 180_000 }, async () => {
    const auditFrom = (await cluster.audit()).length;
    const fault = async () => cluster.control('GET', '/v1/faults/kubernetes');
    // Every request to the Kubernetes API is held until released: first the informer's list,
    // then, once the list is let through, its watch.
    await cluster.control('PUT', '/v1/faults/kubernetes', { stall: true });
    const informer = k8s.makeInformer(kubeConfig, '/api/v1/pods', () => core.listPodForAllNamespaces());
    const seen = follow(informer);
    const check = new Mismatches('all-namespaces pod informer across a 410');
    let faultSet = true;
    try {
        const started = informer.start();
        await waitFor('the informer\'s list to be held', async () => {
            const f = await fault();
            return { done: f.fired >= 1 && f.stalled >= 1, state: f };
        }, { timeoutMs: WAIT_MS });
        const listed = await cluster.objects('pods');
        await cluster.control('POST', '/v1/faults/kubernetes/release');
        await waitFor('the informer\'s watch to be held', async () => {
            const f = await fault();
            return { done: f.fired >= 2 && f.stalled >= 1, state: f };
        }, { timeoutMs: WAIT_MS });
        check.diff('initial events', listed.items.map((p) => ({ verb: 'add', ...summary(p) })),
            seen.events);
        check.diff('list resourceVersion', listed.resourceVersion, informer.latestResourceVersion());

        // While the watch is held, more pod events than the fake keeps: one pod changed past
        // the history, and one deleted.
        const churn = [];
        for (let i = 0; i <= WATCH_HISTORY; i++) {
            churn.push(pod('data', 'churn', { app: 'churn', round: String(i) }));
        }
        await cluster.apply(churn);
        await cluster.remove('', 'pods', 'data', 'db-0');
        const changed = await cluster.objects('pods');
        await cluster.control('DELETE', '/v1/faults/kubernetes');
        faultSet = false;
        await started;

        const from = seen.events.length;
        await waitForEvents(seen, from + 2, 'the changes it missed, after its relist');
        const relisted = await waitFor('the informer to watch again after its relist', async () => {
            const c = await calls('pods', auditFrom);
            return { done: c.length >= 4, state: c };
        }, { timeoutMs: WAIT_MS });
        const churned = changed.items.find((p) => keyOf(p) === 'data/churn');
        const gone = listed.items.find((p) => keyOf(p) === 'data/db-0');
        check.diff('events after the 410', [
            { verb: 'delete', ...summary(gone) },
            { verb: 'add', ...summary(churned) },
        ], seen.events.slice(from));
        check.diff('cache', byKey(changed.items), byKey(informer.list()));
        check.diff('calls', [
            { verb: 'list', requestURI: '/api/v1/pods', code: 200, decision: 'allow' },
            { verb: 'watch', requestURI: watchUri('/api/v1/pods', listed), code: 200,
                decision: 'allow' },
            { verb: 'list', requestURI: '/api/v1/pods', code: 200, decision: 'allow' },
            { verb: 'watch', requestURI: watchUri('/api/v1/pods', changed), code: 200,
                decision: 'allow' },
        ], relisted);
        check.diff('connects', 2, seen.connects);

        // What the informer's watch got, seen with client-node's own Watch: the ERROR event
        // with the 410 Expired Status, then the end of the stream.
        const got = await new Promise((resolve, reject) => {
            const events = [];
            new k8s.Watch(kubeConfig).watch('/api/v1/pods', { resourceVersion: listed.resourceVersion },
                (type, object) => events.push({ type, object }),
                (error) => (error ? reject(error) : resolve(events))).catch(reject);
        });
        // The oldest event kept is the WATCH_HISTORY-th newest, and only pods were written
        // since the list, one resourceVersion each.
        const oldestKeptMinusOne = Number(changed.resourceVersion) - WATCH_HISTORY;
        check.diff('expired watch', [{ type: 'ERROR', code: 410, reason: 'Expired', status: 'Failure',
            message: `too old resource version: ${listed.resourceVersion} (${oldestKeptMinusOne})` }],
        got.map((e) => ({ type: e.type, code: e.object?.code, reason: e.object?.reason,
            status: e.object?.status, message: e.object?.message })));
    } finally {
        if (faultSet) {
            await cluster.control('DELETE', '/v1/faults/kubernetes');
        }
        await seen.stop();
    }
    check.assertNone(cluster.tail());
});
