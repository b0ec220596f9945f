#!/usr/bin/env bash
# `make deploy`: build every function and deploy infra/template.yaml to the AWS account of your
# credentials, with the SAM CLI from .venv.
#
#   1. checks, before anything slow: `sam` (in .venv after `make setup`; SAM=<path> overrides),
#      `cargo lambda` (sam build runs it for BuildMethod rust-cargolambda), AWS credentials that
#      work (STS GetCallerIdentity, which needs no permission);
#   2. `sam build`: one `cargo lambda build --release --arm64 --bin <name>` per function, into
#      .aws-sam/build/;
#   3. `sam deploy --guided` the first time (no samconfig.toml yet): it asks the stack name,
#      region and parameters, shows the change set, and saves the answers to samconfig.toml;
#      plain `sam deploy` with those answers after. DEPLOY_ARGS adds arguments to sam deploy
#      (e.g. DEPLOY_ARGS="--parameter-overrides AlarmTopicArn=arn:aws:sns:...").
#   4. prints the stack's outputs (the Function URLs to give the providers, the secrets' ARNs).
#
# Nothing here runs in tests or CI, and it was never run from the development machine (no AWS
# account there). README.md, "Deploy to AWS", has the steps after it: secrets, URLs, Slack.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=$PWD/.venv
template=infra/template.yaml
config=samconfig.toml
export PATH="$venv/bin:$PATH"
export SAM_CLI_TELEMETRY=${SAM_CLI_TELEMETRY:-0}

step() { printf '\n== deploy: %s\n' "$*"; }
fail() { printf 'deploy: %s\n' "$*" >&2; exit 1; }

step "checking tools and credentials"
sam=$(command -v "${SAM:-$venv/bin/sam}" 2>/dev/null) ||
  fail "the SAM CLI is not installed (looked for ${SAM:-$venv/bin/sam}): run \`make setup\`, or set SAM=/path/to/sam"
echo "sam:          $("$sam" --version)"
cargo lambda --version >/dev/null 2>&1 ||
  fail "\`cargo lambda\` not found (sam build needs it on PATH): run \`make setup\`"
echo "cargo lambda: $(cargo lambda --version)"

# boto3 reads the same credential chain as sam (environment, AWS_PROFILE, ~/.aws, SSO, roles).
"$venv/bin/python" - <<'EOF' || exit 1
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

session = boto3.session.Session()
config = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2})
try:
    sts = session.client("sts", region_name=session.region_name or "us-east-1", config=config)
    identity = sts.get_caller_identity()
except NoCredentialsError:
    sys.exit("deploy: no AWS credentials found: run `aws configure` (or `aws sso login`), or set "
             "AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
except ClientError as e:
    sys.exit(f"deploy: the AWS credentials do not work: {e}")
except BotoCoreError as e:
    sys.exit(f"deploy: cannot check the AWS credentials (no network to AWS?): {e}")
region = session.region_name or "not set (the guided deploy asks; later, samconfig.toml has it)"
print(f"aws:          account {identity['Account']} as {identity['Arn']}, region {region}")
EOF

step "sam build (cargo lambda, release, arm64; the first build takes several minutes)"
"$sam" build --template-file "$template"

read -r -a extra <<<"${DEPLOY_ARGS:-}"
if [ -f "$config" ]; then
  step "sam deploy (answers from $config)"
  "$sam" deploy "${extra[@]}"
else
  [ -t 0 ] || fail "the first deploy is guided and needs a terminal: run \`make deploy\` in one (no $config yet)"
  step "sam deploy --guided (first deploy: answers are saved to $config)"
  cat <<'EOF'
Answers the guided deploy asks for (README.md, "Deploy to AWS", has the details):
  - Stack Name: e.g. switchyard; AWS Region: where the functions run
  - the parameters (Enter keeps the default shown)
  - "Confirm changes before deploy": y shows the change set first
  - "Allow SAM CLI IAM role creation": Y (each function gets its own least-privilege role)
  - "<Name>Function Function Url has no authentication. Is this okay?": y for each receiver —
    the webhook signature is the authentication (infra/README.md)
  - "Save arguments to configuration file": Y (samconfig.toml; later deploys reuse it)
EOF
  "$sam" deploy --guided "${extra[@]}"
fi

# The stack name and region the deploy used, from samconfig.toml.
read -r stack region < <("$venv/bin/python" - "$config" <<'EOF'
import sys
import tomllib

try:
    with open(sys.argv[1], "rb") as f:
        params = tomllib.load(f).get("default", {}).get("deploy", {}).get("parameters", {})
except OSError:
    params = {}
print(params.get("stack_name", ""), params.get("region", ""))
EOF
) || true
if [ -n "${stack:-}" ]; then
  step "outputs of stack $stack (Function URLs for the providers, secret ARNs, queues)"
  "$sam" list stack-outputs --stack-name "$stack" ${region:+--region "$region"} --output table
  echo
  echo "deploy: done. Next: put the real secret values and give each provider its URL"
  echo "        (README.md, \"Deploy to AWS\", After deploying)."
else
  echo "deploy: done (no stack name in $config to list the outputs: see the CloudFormation console)."
fi
