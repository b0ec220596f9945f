#!/usr/bin/env bash
# `make demo`: Switchyard's whole job, end to end, on this machine only.
#
# Builds every binary (cargo's progress shows; the first build takes several minutes, later
# ones seconds), then runs `switchyard-demo` (tests/src/bin/switchyard-demo.rs,
# tests/src/demo/): the template's stack on a local AWS emulator, the functions under
# `cargo lambda watch`, the local SQS event source, the Slack and HubSpot stand-ins; a
# scripted set of signed webhooks; a report of what became of each, checked against the
# script. Exit status: the demo's (0 when every outcome matches).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
echo "== building the functions, the local event source, the CLI and the demo =="
echo "   (the first build takes several minutes on a small machine; cargo shows its progress)"
cargo build --bins
exec "$TARGET/debug/switchyard-demo" "$@"
