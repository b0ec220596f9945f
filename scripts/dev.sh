#!/usr/bin/env bash
# `make dev`: the local stack left running for interactive work, until Ctrl-C.
#
# Builds every binary (cargo's progress shows), then runs `switchyard-dev`
# (tests/src/bin/switchyard-dev.rs): every function of infra/template.yaml under
# `cargo lambda watch` (rebuilt when its code changes), the template's queues, secrets and
# table on a local AWS emulator, the local SQS event source and the Slack and HubSpot
# stand-ins; it prints the Function URLs, the stand-ins' addresses and the commands to send a
# signed sample and read what arrived. Arguments pass through (DEV_ARGS in make), e.g.
# `make dev DEV_ARGS="--moto-port 0"`; `switchyard-dev --help` lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
echo "== building the functions, the local event source and the CLI (cargo shows its progress) =="
cargo build --bins
exec "$TARGET/debug/switchyard-dev" "$@"
