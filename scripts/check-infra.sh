#!/usr/bin/env bash
# Offline validation of infra/template.yaml (no AWS account, no Docker, no network): run by
# `make lint`. Tools are pinned in scripts/requirements*.txt and installed by `make setup`.
#   1. infra/template.yaml is what scripts/gen_template.py makes of infra/functions.yaml
#      (`make template` regenerates it);
#   2. scripts/test_gen_template.py: the generator's invariants (visibility, DLQs, partial
#      batch failures, routes, no IAM "*");
#   3. cfn-lint;
#   4. `sam validate --lint` (the SAM CLI's own lint, with SAM's transform), with dummy region
#      and credentials and its PyPI version check and telemetry off, so it never calls out;
#   5. scripts/test_check_infra.py: the check below fails, naming the problem, on each broken
#      template of infra/fixtures/;
#   6. scripts/check_infra.py: the template against the code — every functions/*/ binary is a
#      function and vice versa, each function's environment against the variables its crate
#      declares in [package.metadata.switchyard], receivers' queue, secret and exact IAM,
#      deliverers' DLQ, ReportBatchItemFailures and visibility timeout, no IAM Resource "*",
#      and every reference resolves (things cfn-lint does not check in SAM templates);
#   7. checkov (--framework cloudformation, --skip-download, no API key): no failed check that
#      the template does not suppress with a reason (Metadata: checkov: skip: [{id, comment}],
#      written by the generator; check_infra.py refuses a suppression without a comment).
# Exits non-zero on the first failing step.
set -euo pipefail

cd "$(dirname "$0")/.."
TEMPLATE=infra/template.yaml
VENV="${VENV:-$PWD/.venv}"

CFN_LINT="${CFN_LINT:-$VENV/bin/cfn-lint}"
SAM="${SAM:-$VENV/bin/sam}"
PYTHON="${PYTHON:-$VENV/bin/python}"
CHECKOV="${CHECKOV:-$VENV/checkov/bin/checkov}"
for tool in "$CFN_LINT" "$SAM" "$PYTHON" "$CHECKOV"; do
    if [[ ! -x "$tool" ]]; then
        echo "check-infra: $tool not found: run \`make setup\` (or scripts/setup.sh) first" >&2
        exit 2
    fi
done
if ! "$PYTHON" -c 'import yaml' 2>/dev/null; then
    echo "check-infra: PyYAML missing from $PYTHON (it comes with cfn-lint): run \`make setup\`" >&2
    exit 2
fi

step() { echo "check-infra: $*"; }

step "1/7 infra/template.yaml is what scripts/gen_template.py makes of infra/functions.yaml"
if ! "$PYTHON" -B scripts/gen_template.py --check; then
    echo "check-infra: run \`make template\` and commit infra/template.yaml" >&2
    exit 1
fi
step "2/7 scripts/test_gen_template.py: the generator's invariants"
if ! "$PYTHON" -B -m unittest scripts/test_gen_template.py; then
    echo "check-infra: scripts/gen_template.py breaks an invariant of the template" >&2
    exit 1
fi

step "3/7 cfn-lint $("$CFN_LINT" --version | awk '{print $2}') on $TEMPLATE"
if ! "$CFN_LINT" "$TEMPLATE"; then
    echo "check-infra: cfn-lint found problems in $TEMPLATE" >&2
    exit 1
fi

# The SAM CLI checks PyPI for a newer version once a week and sends telemetry: a private app
# directory whose last version check is now (a float: SAM ignores an integer) and telemetry off
# keep it offline; dummy region and credentials, as `validate --lint` needs no AWS call.
sam_dir="$(mktemp -d)"
trap 'rm -rf "$sam_dir"' EXIT
printf '{"telemetryEnabled": false, "lastVersionCheck": %s.0}\n' "$(date +%s)" >"$sam_dir/metadata.json"
step "4/7 $("$SAM" --version) validate --lint on $TEMPLATE"
if ! env -u AWS_PROFILE -u AWS_SESSION_TOKEN __SAM_CLI_APP_DIR="$sam_dir" SAM_CLI_TELEMETRY=0 \
    AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=offline \
    AWS_SECRET_ACCESS_KEY=offline AWS_EC2_METADATA_DISABLED=true \
    "$SAM" validate --lint --template-file "$TEMPLATE"; then
    echo "check-infra: sam validate --lint found problems in $TEMPLATE" >&2
    exit 1
fi

step "5/7 scripts/test_check_infra.py: the check against the broken templates of infra/fixtures/"
if ! "$PYTHON" -B -m unittest scripts/test_check_infra.py; then
    echo "check-infra: scripts/check_infra.py no longer reports what infra/fixtures/ breaks" >&2
    exit 1
fi

step "6/7 scripts/check_infra.py: $TEMPLATE against functions/*/Cargo.toml"
"$PYTHON" -B scripts/check_infra.py "$PWD"

step "7/7 checkov $("$CHECKOV" --version) on $TEMPLATE (offline)"
if ! env -u BC_API_KEY -u PRISMA_API_URL "$CHECKOV" --file "$TEMPLATE" --framework cloudformation \
    --skip-download --skip-results-upload --compact --quiet; then
    echo "check-infra: checkov reports failed checks that $TEMPLATE does not suppress: fix them, or" \
        "give the resource Metadata: checkov: skip: [{id: CKV_..., comment: <why>}]" \
        "(the generator writes them: FUNCTION_SKIPS and TYPE_SKIPS in scripts/gen_template.py)" >&2
    exit 1
fi
step "ok"
