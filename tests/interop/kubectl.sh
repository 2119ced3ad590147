#!/usr/bin/env bash
# interop.kubectl: kubectl, a client nobody here wrote, against the fake Kubernetes API of
# otel-fakes over HTTPS (kubectl sends bearer tokens only over TLS), with the team's seed RBAC
# applied through the control API. Checks what a user would: listing works and says what kind
# it lists, discovery knows the monitoring.coreos.com types, and `kubectl auth can-i` (which
# posts its review as protobuf) answers yes and no with kubectl's exit codes for the
# collector's service account. Then the writes: `kubectl apply` of a Deployment, a ConfigMap
# and a ServiceMonitor (created, then configured by strategic merge and merge patches, then
# unchanged), `kubectl get pods` printing the server's Table, `kubectl get pods -w` following a
# pod whose phase the control API moves, and `kubectl delete pods -l`. kubectl must write
# nothing to stderr in any of them: no warning, no fallback.
#
#   tests/interop/kubectl.sh OTEL_FAKES SOURCE_DIR
set -euo pipefail
fakes_bin=$1 root=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/otel-kubectl.XXXXXX")
fakes_pid=""
cleanup() {
  [ -n "$fakes_pid" ] && kill "$fakes_pid" 2>/dev/null && wait "$fakes_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# request METHOD PORT PATH [FILE]: one HTTP/1.0 request to 127.0.0.1:PORT with FILE as body;
# prints the body; fails on a non-2xx answer.
request() {
  local method=$1 port=$2 path=$3 file=${4:-} fd line status length=0
  [ -n "$file" ] && length=$(wc -c <"$file")
  exec {fd}<>"/dev/tcp/127.0.0.1/$port"
  printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/yaml\r\nContent-Length: %s\r\n\r\n' \
    "$method" "$path" "$length" >&"$fd"
  [ -n "$file" ] && cat "$file" >&"$fd"
  IFS= read -r -t 10 line <&"$fd" || fail "no answer to $method $path"
  status=${line#* }
  status=${status%% *}
  while IFS= read -r -t 10 line <&"$fd"; do [ -z "${line%$'\r'}" ] && break; done
  timeout 10 cat <&"$fd"
  exec {fd}<&-
  [[ $status == 2* ]] || fail "$method $path answered $status"
}

"$fakes_bin" --host 127.0.0.1 --prometheus-port 0 --loki-port 0 --tempo-http-port 0 \
  --control-port 0 --kubernetes-port 0 --kubernetes-https-port 0 >"$work/ready" 2>"$work/fakes.log" &
fakes_pid=$!
for _ in $(seq 200); do
  grep -q '"ready":true' "$work/ready" 2>/dev/null && break
  kill -0 "$fakes_pid" 2>/dev/null || fail "otel-fakes exited: $(tail -n 5 "$work/fakes.log")"
  sleep 0.05
done
ready=$(grep -m1 '"ready":true' "$work/ready") || fail "otel-fakes printed no ready line"
https=$(sed -n 's/.*"kubernetes_https":\([0-9]*\).*/\1/p' <<<"$ready")
control=$(sed -n 's/.*"control":\([0-9]*\).*/\1/p' <<<"$ready")
admin=$(sed -n 's/.*"kubernetes_admin_token":"\([^"]*\)".*/\1/p' <<<"$ready")

request GET "$control" /v1/tls/ca.crt >"$work/ca.crt"
request POST "$control" /v1/k8s/objects "$root/kind/manifests/rbac-seed.yaml" >/dev/null
printf '{"user":"system:serviceaccount:opentelemetry:otel-collector-collector"}' >"$work/who.json"
collector=$(request POST "$control" /v1/k8s/tokens "$work/who.json" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
cat >"$work/kubeconfig" <<CONF
apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "https://127.0.0.1:$https", certificate-authority-data: "$(base64 -w0 "$work/ca.crt")"}}]
users: [{name: admin, user: {token: "$admin"}}]
contexts: [{name: fake, context: {cluster: fake, user: admin}}]
current-context: fake
CONF
export KUBECONFIG=$work/kubeconfig KUBECACHEDIR=$work/cache

kubectl version >"$work/out" 2>&1 || fail "kubectl version: $(cat "$work/out")"
grep -q 'Server Version: v1.32.0' "$work/out" || fail "kubectl version: $(cat "$work/out")"
kubectl get pods -A -o json >"$work/out" 2>&1 || fail "get pods -A -o json: $(cat "$work/out")"
grep -q '"kind": "List"' "$work/out" || fail "get pods -A -o json printed: $(cat "$work/out")"
kubectl get clusterroles >"$work/out" 2>&1 || fail "get clusterroles: $(cat "$work/out")"
grep -q '^otel-collector-collector ' "$work/out" || fail "get clusterroles printed: $(cat "$work/out")"
kubectl get servicemonitors -A >"$work/out" 2>&1 || fail "get servicemonitors -A: $(cat "$work/out")"
grep -q 'No resources found' "$work/out" || fail "get servicemonitors -A printed: $(cat "$work/out")"
kubectl api-resources >"$work/out" 2>&1 || fail "api-resources: $(cat "$work/out")"
grep -q '^servicemonitors  *smon  *monitoring.coreos.com/v1 ' "$work/out" ||
  fail "api-resources printed: $(cat "$work/out")"

# can-i ANSWER EXIT ARGS...: kubectl auth can-i as the collector's service account.
can_i() {
  local want=$1 want_exit=$2 got exit=0
  shift 2
  got=$(kubectl --token="$collector" auth can-i "$@" 2>/dev/null) || exit=$?
  if [ "$got" != "$want" ] || [ "$exit" != "$want_exit" ]; then
    fail "auth can-i $*: printed '$got' and exited $exit, want '$want' and $want_exit"
  fi
}
can_i yes 0 list pods -A
can_i yes 0 watch pods -A
can_i no 1 list replicasets.apps -A
can_i no 1 list namespaces

# The same questions asked the way an administrator asks them, impersonating the account
# (--as: Impersonate-User, allowed to the admin, not to the account itself); the audit shows
# the admin as the user and the account as impersonatedUser.
sa=system:serviceaccount:opentelemetry:otel-collector-collector
as_admin() {
  local want=$1 want_exit=$2 got exit=0
  shift 2
  got=$(kubectl auth can-i "$@" --as="$sa" 2>/dev/null) || exit=$?
  if [ "$got" != "$want" ] || [ "$exit" != "$want_exit" ]; then
    fail "auth can-i $* --as=$sa: printed '$got' and exited $exit, want '$want' and $want_exit"
  fi
}
as_admin yes 0 list pods -A
as_admin no 1 list replicasets.apps -A
request GET "$control" /v1/k8s/audit >"$work/audit.json"
grep -q "\"impersonatedUser\":{\"username\":\"$sa\"" "$work/audit.json" ||
  fail "the audit shows no call impersonating $sa"
if kubectl --token="$collector" get pods -A --as=system:serviceaccount:kube-system:default \
  >"$work/out" 2>&1; then
  fail "the collector's account impersonated another account: $(cat "$work/out")"
fi
grep -q 'cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"' \
  "$work/out" || fail "impersonation without the grant printed: $(cat "$work/out")"

# quiet NAME ARGS...: kubectl ARGS, which must succeed and write nothing to stderr; stdout is
# left in $work/out.
quiet() {
  local name=$1
  shift
  kubectl "$@" >"$work/out" 2>"$work/err" || fail "$name: kubectl $* failed: $(cat "$work/err")"
  [ -s "$work/err" ] && fail "$name: kubectl $* wrote to stderr: $(cat "$work/err")"
  return 0
}
# expect NAME REGEX...: every REGEX matches a line of $work/out.
expect() {
  local name=$1 regex
  shift
  for regex in "$@"; do
    grep -Eq "$regex" "$work/out" || fail "$name: no line matches '$regex' in: $(cat "$work/out")"
  done
}
# wait_for FILE REGEX WHAT: polls FILE for a line matching REGEX, 5 ms doubling to 500 ms
# between looks, for at most 20 s.
wait_for() {
  local file=$1 regex=$2 what=$3 delay=0.005 deadline=$((SECONDS + 20))
  until grep -Eq "$regex" "$file" 2>/dev/null; do
    [ "$SECONDS" -ge "$deadline" ] && fail "waited 20 s for $what; got: $(cat "$file")"
    sleep "$delay"
    delay=$(awk -v d="$delay" 'BEGIN { d *= 2; print (d > 0.5 ? 0.5 : d) }')
  done
}
# phase POD PHASE: the control API moves POD (namespace default) to PHASE.
phase() {
  printf '{"phase":"%s"}' "$2" >"$work/phase.json"
  request POST "$control" "/v1/k8s/pods/default/$1/phase" "$work/phase.json" >/dev/null
}

# kubectl apply: created, configured (a strategic merge patch for the built-in types, a merge
# patch for the ServiceMonitor, as kubectl picks them), then unchanged.
cat >"$work/app.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80, name: http}]
        env: [{name: MODE, value: blue}]
      - name: exporter
        image: nginx/nginx-prometheus-exporter:1.3
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: default}
data: {mode: blue}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: web, namespace: default, labels: {team: shop}}
spec:
  selector: {matchLabels: {app: web}}
  endpoints: [{port: http, interval: 30s}]
YAML
sed -e 's/nginx:1.27/nginx:1.28/' -e 's/value: blue/value: green/' -e 's/mode: blue/mode: green/' \
  -e 's/interval: 30s/interval: 15s/' "$work/app.yaml" >"$work/app2.yaml"
quiet "apply" apply -f "$work/app.yaml"
expect "apply" '^deployment.apps/web created$' '^configmap/web-config created$' \
  '^servicemonitor.monitoring.coreos.com/web created$'
quiet "apply again, changed" apply -f "$work/app2.yaml"
expect "apply again, changed" '^deployment.apps/web configured$' '^configmap/web-config configured$' \
  '^servicemonitor.monitoring.coreos.com/web configured$'
quiet "apply a third time" apply -f "$work/app2.yaml"
expect "apply a third time" '^deployment.apps/web unchanged$' '^configmap/web-config unchanged$' \
  '^servicemonitor.monitoring.coreos.com/web unchanged$'
quiet "the patched deployment" get deployment web \
  -o 'jsonpath={.metadata.generation} {.spec.template.spec.containers[*].image} {.spec.template.spec.containers[0].env[0].value} {.spec.template.spec.containers[0].ports[0].containerPort}'
expect "the patched deployment" '^2 nginx:1.28 nginx/nginx-prometheus-exporter:1.3 green 80$'
quiet "the patched servicemonitor" get servicemonitor web -o 'jsonpath={.spec.endpoints[0].interval}'
expect "the patched servicemonitor" '^15s$'

# kubectl get pods: the server's Table, as kubectl prints it.
cat >"$work/pods.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: default, labels: {app: web}}
spec: {nodeName: kind-worker, containers: [{name: web, image: nginx:1.28}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: default, labels: {app: web}}
spec: {nodeName: kind-worker, containers: [{name: web, image: nginx:1.28}]}
YAML
request POST "$control" /v1/k8s/objects "$work/pods.yaml" >/dev/null
phase web-1 Running
phase web-2 Pending
quiet "get pods" get pods
expect "get pods" '^NAME +READY +STATUS +RESTARTS +AGE$' '^web-1 +1/1 +Running +0 +[0-9]+s$' \
  '^web-2 +0/1 +ContainerCreating +0 +[0-9]+s$'
quiet "get pods -o wide" get pods -o wide
expect "get pods -o wide" '^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES$' \
  '^web-1 +1/1 +Running +0 +[0-9]+s +<none> +kind-worker +<none> +<none>$'

# kubectl get pods -w: the list, then the pod's change through the watch, without headers.
kubectl get pods -w >"$work/watch.out" 2>"$work/watch.err" &
watch_pid=$!
wait_for "$work/watch.out" '^web-2 +0/1 +ContainerCreating' "the list of get pods -w"
phase web-2 Running
wait_for "$work/watch.out" '^web-2 +1/1 +Running' "web-2 Running in get pods -w"
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null || true
[ -s "$work/watch.err" ] && fail "get pods -w wrote to stderr: $(cat "$work/watch.err")"
[ "$(grep -c '^NAME' "$work/watch.out")" = 1 ] || fail "get pods -w printed headers twice: $(cat "$work/watch.out")"

# kubectl delete pods -l: every pod of the selector, then none left.
quiet "delete pods -l" delete pods -l app=web
expect "delete pods -l" '^pod "web-1" deleted$' '^pod "web-2" deleted$'
kubectl get pods >"$work/out" 2>&1 || fail "get pods after delete: $(cat "$work/out")"
expect "get pods after delete" '^No resources found in default namespace.$'

echo "kubectl $(kubectl version --client 2>/dev/null | head -n 1): every check passed"
