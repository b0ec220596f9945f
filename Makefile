# Switchyard — the two commands are `make demo` and `make test`; both set themselves up.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
# Tests start their own emulator from here.
export MOTO_SERVER := $(VENV)/bin/moto_server
CARGO ?= cargo

.PHONY: setup build test lint fmt package bench fuzz demo dev chaos samples deploy clean template

## setup: idempotent: .venv with pinned moto, cargo-lambda, ziglang; the arm64 target.
setup:
	@scripts/setup.sh

## build: debug build of the whole workspace (functions and kit).
build: setup
	$(CARGO) build --workspace --all-targets

## test: lint, then every test (unit, cross-crate, end-to-end against moto, the template's
## queues, secrets and table made on moto by scripts/local_stack.py), in parallel.
## The function binaries are built first, as they ship (no dev-dependency features): the
## end-to-end tests run those very binaries.
test: setup lint
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --doc
	$(CARGO) nextest run --workspace --no-fail-fast
	$(VENV)/bin/python -B -m unittest scripts/test_local_stack.py

## lint: formatting, clippy with warnings as errors, and the SAM template (cfn-lint + a check
## that every function binary is in it with its queue, secret and least-privilege policies).
lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet
	scripts/check-infra.sh

fmt:
	$(CARGO) fmt --all

## template: regenerate infra/template.yaml from infra/functions.yaml (scripts/gen_template.py;
## `scripts/gen_template.py --check` says whether the checked-in template is current).
template: setup
	$(VENV)/bin/python scripts/gen_template.py

## package: release builds of every function for Lambda (arm64, Graviton) with cargo-lambda,
## one bootstrap per function under target/lambda/<name>/.
FUNCTIONS := $(notdir $(patsubst %/Cargo.toml,%,$(wildcard functions/*/Cargo.toml)))
package: setup
	$(CARGO) lambda build --release --arm64 $(addprefix -p ,$(FUNCTIONS))

## bench: performance benchmarks (never timed unit tests).
bench: setup
	$(CARGO) bench --workspace

## fuzz: the property-based fuzz tests (proptest, stable Rust) with FUZZ_CASES (100000) cases
## per property instead of make test's 256: the kit's tests/fuzz.rs and its inline `fuzz`
## modules, and the Slack and HubSpot answer classifiers. Debug builds, as in make test: overflow
## checks and debug assertions stay on, and nothing is rebuilt. FUZZ_SEED=<u64> explores other
## inputs than the fixed default seed.
FUZZ_CASES ?= 100000
fuzz:
	FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test -p switchyard --test fuzz
	FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test -p switchyard -p slack-notify -p hubspot-contacts --lib -- ::fuzz::

## samples: regenerate functions/<name>/samples/event.json, signed now with the test secrets
## (Stripe, Slack and Standard Webhooks samples expire 300 s after signing).
samples: setup
	$(CARGO) run -q -p switchyard-e2e --bin switchyard-sample -- --all --functions-dir functions

## demo: the main job end to end on one machine: the template's stack on moto, the functions
## under cargo lambda watch, the local SQS event source, the Slack and HubSpot stand-ins, a
## scripted set of signed webhooks, and a report checked against the script (non-zero exit on
## a mismatch).
demo: setup
	@scripts/demo.sh

## chaos: CHAOS_EVENTS (default 10000) signed webhooks through the local pipeline while the
## stand-ins inject 5xx, 429, hangs, dropped connections and lost answers and providers
## redeliver; then every event reconciled (non-zero exit on a lost event or an unexplained
## duplicate). CHAOS_ARGS passes switchyard-chaos flags (--seed, --env NAME=VALUE, ...).
CHAOS_EVENTS ?= 10000
chaos: setup
	$(CARGO) build --bins
	$(or $(CARGO_TARGET_DIR),target)/debug/switchyard-chaos --events $(CHAOS_EVENTS) $(CHAOS_ARGS)

## dev: the same stack left running (functions rebuilt on change) until Ctrl-C; it prints the
## Function URLs, the stand-ins and the commands to try. DEV_ARGS passes switchyard-dev flags.
dev: setup
	@scripts/dev.sh $(DEV_ARGS)

## deploy: build every function with `sam build` (cargo-lambda, arm64) and deploy the SAM
## template to the AWS account of your credentials: `sam deploy --guided` the first time (answers
## saved in samconfig.toml), `sam deploy` after; DEPLOY_ARGS adds sam deploy arguments. Needs an
## AWS account (never run from the development machine); README.md, "Deploy to AWS".
deploy: setup
	@scripts/deploy.sh

clean:
	$(CARGO) clean
