#!/usr/bin/env bash
# Offline validation of infra/template.yaml (no AWS account, no Docker): run by `make lint`.
#   1. cfn-lint (pinned in scripts/requirements.txt, installed in .venv by `make setup`);
#   2. scripts/check_infra.py: the template against the code — every functions/*/ binary is a
#      function with that BuildProperties.Binary and vice versa, every receiver has SECRET_ID and
#      QUEUE_URL pointing at its own secret and queue, exactly the IAM it needs, and every
#      reference resolves (things cfn-lint does not check in SAM templates).
# Exits non-zero on the first failing step.
set -euo pipefail

cd "$(dirname "$0")/.."
TEMPLATE=infra/template.yaml
VENV="${VENV:-$PWD/.venv}"

CFN_LINT="${CFN_LINT:-$VENV/bin/cfn-lint}"
PYTHON="${PYTHON:-$VENV/bin/python}"
for tool in "$CFN_LINT" "$PYTHON"; do
    if [[ ! -x "$tool" ]]; then
        echo "check-infra: $tool not found: run \`make setup\` (or scripts/setup.sh) first" >&2
        exit 2
    fi
done
if ! "$PYTHON" -c 'import yaml' 2>/dev/null; then
    echo "check-infra: PyYAML missing from $PYTHON (it comes with cfn-lint): run \`make setup\`" >&2
    exit 2
fi

echo "check-infra: cfn-lint $("$CFN_LINT" --version | awk '{print $2}') on $TEMPLATE"
if ! "$CFN_LINT" "$TEMPLATE"; then
    echo "check-infra: cfn-lint found problems in $TEMPLATE" >&2
    exit 1
fi
echo "check-infra: cfn-lint clean"

echo "check-infra: template against functions/*/Cargo.toml"
"$PYTHON" -B scripts/check_infra.py "$PWD"
