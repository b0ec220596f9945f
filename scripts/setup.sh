#!/usr/bin/env bash
# Idempotent set-up of everything the project needs on a fresh machine of this kind:
#   - .venv with moto (local AWS), cargo-lambda, ziglang and cfn-lint, at the pinned versions;
#   - the arm64 Rust target (Lambda's Graviton), checked after adding it.
# Re-running is cheap: a stamp file records the installed requirements.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp="$venv/.switchyard-requirements"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  python3 -m venv "$venv"
fi
if ! cmp -s scripts/requirements.txt "$stamp"; then
  echo "setup: installing pinned tools into $venv (moto, cargo-lambda, ziglang, cfn-lint)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements.txt
  cp scripts/requirements.txt "$stamp"
fi

target=aarch64-unknown-linux-gnu
if ! rustup target list --installed | grep -qx "$target"; then
  echo "setup: adding Rust target $target"
  rustup target add "$target"
fi
rustup target list --installed | grep -qx "$target" || { echo "setup: $target missing after rustup target add" >&2; exit 1; }

command -v cargo-nextest >/dev/null 2>&1 || { echo "setup: cargo-nextest not found (it ships with this machine kind)" >&2; exit 1; }
echo "setup: ok"
