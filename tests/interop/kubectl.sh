#!/usr/bin/env bash
# interop.kubectl: kubectl, a client nobody here wrote, against the fake Kubernetes API of
# otel-fakes over HTTPS (kubectl sends bearer tokens only over TLS), with the team's seed RBAC
# applied through the control API. Checks what a user would: listing works and says what kind
# it lists, discovery knows the monitoring.coreos.com types, and `kubectl auth can-i` (which
# posts its review as protobuf) answers yes and no with kubectl's exit codes for the
# collector's service account.
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
export KUBECONFIG=$work/kubeconfig

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
echo "kubectl $(kubectl version --client 2>/dev/null | head -n 1): every check passed"
