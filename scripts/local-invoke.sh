#!/usr/bin/env bash
# Try one receiver locally, end to end, with nothing but this machine:
#
#   scripts/local-invoke.sh <function> [--url]
#
#   1. starts a private moto server (local SQS + Secrets Manager) on a free 127.0.0.1 port;
#   2. creates the queue `events` and the secret `<function>/signing` holding the function's
#      test signing secret (`switchyard-sample <function> --print-secret`);
#   3. starts `cargo lambda watch` on another free 127.0.0.1 port with the receiver's
#      environment (SECRET_ID, QUEUE_URL, AWS_ENDPOINT_URL, region, dummy credentials);
#   4. signs a fresh sample delivery now (`switchyard-sample`, into a temporary file: the
#      timestamped samples of Stripe, Slack and Standard Webhooks expire after 300 s);
#   5. invokes the function with it — `cargo lambda invoke --data-file`, or with `--url` an HTTP
#      POST of the same headers and body to the Function URL `/lambda-url/<function>/` —
#      and prints the answer;
#   6. prints the CloudEvents envelope(s) that reached the queue;
#   7. stops everything it started (moto, watch and watch's function process) on any exit.
#
# Exit status 0 when the answer is 200 and an envelope was queued; 1 otherwise, including an
# invocation that gets no answer within $LOCAL_INVOKE_TIMEOUT seconds (default 120; the tail of
# the function's log is printed); 2 on usage errors. Needs `make setup` once (.venv with moto,
# boto3 and cargo-lambda). Extra receiver variables can be passed through the environment as
# LOCAL_INVOKE_ENV="MAX_BODY_BYTES=1024,SOURCE=acme" (cargo lambda's comma-separated form, so a
# value cannot contain a comma: a ROUTES table of one pattern only).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

# The receivers, from the one list the sample tool and the tests share (tests/src/providers.rs).
receivers() {
    cargo run -q -p switchyard-e2e --bin switchyard-sample -- --list
}

usage() {
    echo "usage: scripts/local-invoke.sh <function> [--url]" >&2
    echo "functions: $(receivers | tr '\n' ' ')" >&2
    exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
FUNCTION=$1
VIA=invoke
if [[ $# -eq 2 ]]; then
    [[ $2 == --url ]] || usage
    VIA=url
fi
receivers | grep -xF -- "$FUNCTION" >/dev/null || { echo "unknown function: $FUNCTION" >&2 && usage; }
TIMEOUT=${LOCAL_INVOKE_TIMEOUT:-120}
VENV=$ROOT/.venv
PY=$VENV/bin/python
for tool in "$PY" "$VENV/bin/moto_server" "$VENV/bin/cargo-lambda"; do
    [[ -x $tool ]] || { echo "missing $tool: run 'make setup' first" >&2; exit 1; }
done
export PATH=$VENV/bin:$PATH

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-local-invoke.XXXXXX")
MOTO_PID=
WATCH_PID=

# Ends a process and its descendants (deepest first), by PID only.
stop_tree() {
    local pid=$1 child
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
        stop_tree "$child"
    done
    kill "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    # cargo lambda watch leaves its function process (target/debug/<fn>, own process group)
    # running when it is killed alone: stop_tree ends the child first.
    [[ -n $WATCH_PID ]] && stop_tree "$WATCH_PID"
    [[ -n $MOTO_PID ]] && stop_tree "$MOTO_PID"
    wait 2>/dev/null || true
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # port, what, pid
    local i
    for i in $(seq 1 300); do
        if "$PY" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()' "$1" 2>/dev/null; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || { echo "$2 exited before listening" >&2; return 1; }
        sleep 0.1
    done
    echo "$2 did not listen on 127.0.0.1:$1 within 30 s" >&2
    return 1
}

echo "==> building $FUNCTION and switchyard-sample"
cargo build -q -p "$FUNCTION" --bin "$FUNCTION" -p switchyard-e2e --bin switchyard-sample
SAMPLE=$ROOT/target/debug/switchyard-sample

MOTO_PORT=$(free_port)
echo "==> moto on 127.0.0.1:$MOTO_PORT"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
wait_for_port "$MOTO_PORT" moto "$MOTO_PID"

ENDPOINT=http://127.0.0.1:$MOTO_PORT
SECRET_ID=$FUNCTION/signing
"$SAMPLE" "$FUNCTION" --print-secret >"$WORK/secret"
QUEUE_URL=$("$PY" - "$ENDPOINT" "$SECRET_ID" "$WORK/secret" <<'EOF'
import sys, boto3
endpoint, secret_id, secret_file = sys.argv[1:]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")
queue = boto3.client("sqs", **kw).create_queue(QueueName="events")["QueueUrl"]
secret = open(secret_file).read().strip()
boto3.client("secretsmanager", **kw).create_secret(Name=secret_id, SecretString=secret)
print(queue)
EOF
)
echo "    queue $QUEUE_URL, secret $SECRET_ID"

WATCH_PORT=$(free_port)
echo "==> cargo lambda watch on 127.0.0.1:$WATCH_PORT"
ENV_ARGS=(
    --env-var "SECRET_ID=$SECRET_ID"
    --env-var "QUEUE_URL=$QUEUE_URL"
    --env-var "AWS_ENDPOINT_URL=$ENDPOINT"
    --env-var AWS_REGION=us-east-1
    --env-var AWS_ACCESS_KEY_ID=test
    --env-var AWS_SECRET_ACCESS_KEY=test
)
[[ -n ${LOCAL_INVOKE_ENV:-} ]] && ENV_ARGS+=(--env-var "$LOCAL_INVOKE_ENV")
cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$WATCH_PORT" \
    "${ENV_ARGS[@]}" >"$WORK/watch.log" 2>&1 &
WATCH_PID=$!
wait_for_port "$WATCH_PORT" "cargo lambda watch" "$WATCH_PID"

EVENT=$WORK/event.json
"$SAMPLE" "$FUNCTION" --out "$EVENT"

# A function that fails its cold start is never answered for (watch keeps the request waiting):
# both ways below give up after $TIMEOUT s, and the function's log then says why.
if [[ $VIA == invoke ]]; then
    echo "==> cargo lambda invoke $FUNCTION --data-file <fresh sample>"
    if timeout "$TIMEOUT" cargo lambda invoke "$FUNCTION" --invoke-address 127.0.0.1 \
        --invoke-port "$WATCH_PORT" --data-file "$EVENT" >"$WORK/answer.json" 2>"$WORK/answer.body"; then
        STATUS=$("$PY" -c 'import json, sys; a = json.load(open(sys.argv[1])); print(a["statusCode"]); print(a.get("body", ""), file=sys.stderr)' "$WORK/answer.json" 2>"$WORK/answer.body")
    else
        STATUS="none (cargo lambda invoke failed or got no answer within $TIMEOUT s)"
    fi
else
    URL=http://127.0.0.1:$WATCH_PORT/lambda-url/$FUNCTION/
    echo "==> POST $URL (the sample's headers and body)"
    "$PY" - "$EVENT" "$WORK" <<'EOF'
import json, sys
event = json.load(open(sys.argv[1]))
open(sys.argv[2] + "/body", "w").write(event["body"])
with open(sys.argv[2] + "/headers", "w") as f:
    for name, value in event["headers"].items():
        f.write(f"{name}: {value}\n")
EOF
    STATUS=$(curl -sS --max-time "$TIMEOUT" -o "$WORK/answer.body" -w '%{http_code}' \
        -H "@$WORK/headers" --data-binary "@$WORK/body" "$URL") || true # 000: no answer
fi
echo "    status $STATUS: $(cat "$WORK/answer.body")"

echo "==> envelopes on the queue"
QUEUED=$("$PY" - "$ENDPOINT" "$QUEUE_URL" "$WORK/envelopes.json" <<'EOF'
import json, sys, boto3
endpoint, queue, out = sys.argv[1:]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                               WaitTimeSeconds=1).get("Messages", [])
with open(out, "w") as f:
    for m in messages:
        f.write(json.dumps(json.loads(m["Body"]), indent=2) + "\n")
print(len(messages))
EOF
)
cat "$WORK/envelopes.json"
echo "    $QUEUED envelope(s)"

if [[ $STATUS != 200 || $QUEUED -lt 1 ]]; then
    echo "==> FAILED; the function's log:" >&2
    tail -n 30 "$WORK/watch.log" >&2
    exit 1
fi
echo "==> ok"
