#!/usr/bin/env bash
# Idempotent set-up of everything the project needs on a fresh machine of this kind:
#   - .venv with moto (local AWS), cargo-lambda, ziglang, cfn-lint and the SAM CLI, at the pinned
#     versions (scripts/requirements.txt), and checkov in a venv of its own, .venv/checkov
#     (scripts/requirements-checkov.txt: checkov pins a boto3 the others cannot share);
#   - the arm64 Rust target (Lambda's Graviton), checked after adding it.
# Re-running is cheap: a stamp file per venv records its installed requirements.
set -euo pipefail
cd "$(dirname "$0")/.."

# pip, showing one line per package it fetches (a first install takes minutes: never silent),
# failing when pip fails.
pip_install() {
  # With pipefail (set above), the pipeline fails exactly when pip does: the filter never fails.
  "$1/bin/pip" install --disable-pip-version-check --progress-bar off -r "$2" \
    | { grep --line-buffered -E "^(Collecting|Successfully|ERROR)" || true; }
}

venv=.venv
stamp="$venv/.switchyard-requirements"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  python3 -m venv "$venv"
fi
if ! cmp -s scripts/requirements.txt "$stamp"; then
  echo "setup: installing pinned tools into $venv (moto, cargo-lambda, ziglang, cfn-lint, aws-sam-cli)"
  pip_install "$venv" scripts/requirements.txt
  cp scripts/requirements.txt "$stamp"
fi

checkov_venv="$venv/checkov"
checkov_stamp="$checkov_venv/.switchyard-requirements"
if [ ! -x "$checkov_venv/bin/python" ]; then
  echo "setup: creating $checkov_venv"
  python3 -m venv "$checkov_venv"
fi
if ! cmp -s scripts/requirements-checkov.txt "$checkov_stamp"; then
  echo "setup: installing pinned checkov into $checkov_venv"
  pip_install "$checkov_venv" scripts/requirements-checkov.txt
  cp scripts/requirements-checkov.txt "$checkov_stamp"
fi

target=aarch64-unknown-linux-gnu
if ! rustup target list --installed | grep -qx "$target"; then
  echo "setup: adding Rust target $target"
  rustup target add "$target"
fi
rustup target list --installed | grep -qx "$target" || { echo "setup: $target missing after rustup target add" >&2; exit 1; }

command -v cargo-nextest >/dev/null 2>&1 || { echo "setup: cargo-nextest not found (it ships with this machine kind)" >&2; exit 1; }
echo "setup: ok"
