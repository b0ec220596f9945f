#!/usr/bin/env bash
# `make demo`: the main job, end to end, on this machine only.
#
# Today that is the receiving half: for each of the five receivers, a provider-shaped delivery,
# signed now with the function's test secret, goes through `cargo lambda watch` (the real
# function binary behind a local Function URL / Runtime API) to a private moto SQS, and the
# CloudEvents envelope that reached the queue is printed. The delivering half (SQS → SaaS API)
# is not built yet: it arrives with the deliverers issue, and this script will grow with it.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Switchyard demo: webhook → verify → CloudEvents envelope → SQS (local moto) =="
echo "   (deliverers, SQS → SaaS API, are not built yet: that half of the pipeline is 'not yet')"
cargo build --quiet --bins
# The receivers: the one list the sample tool and the tests share (tests/src/providers.rs).
list=$(cargo run -q -p switchyard-e2e --bin switchyard-sample -- --list)
mapfile -t receivers <<<"$list"
failed=()
for fn in "${receivers[@]}"; do
  echo
  echo "── $fn ──────────────────────────────────────────────"
  # One receiver goes through the Function URL path (an HTTP POST), the rest through
  # `cargo lambda invoke`: the demo shows both ways in.
  if [ "$fn" = slack-events ]; then mode=(--url); else mode=(); fi
  if ! scripts/local-invoke.sh "$fn" "${mode[@]}"; then
    failed+=("$fn")
  fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "demo: FAILED for: ${failed[*]}" >&2
  exit 1
fi
echo "demo: all ${#receivers[@]} receivers verified a signed delivery and queued its envelope."
echo "demo: not yet — delivering queued events to SaaS APIs (the deliverers) is still to come."
