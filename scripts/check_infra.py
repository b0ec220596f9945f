#!/usr/bin/env python3
"""Checks infra/template.yaml against the code: run by scripts/check-infra.sh after cfn-lint.

cfn-lint validates the SAM template against SAM's schemas but does not run the SAM transform:
it does not look inside policy templates, nor at references to the resources SAM generates
(`<Function>Url`, `<Function>Role`). This script checks what ties the template to the code:

1. every binary of functions/*/Cargo.toml is a function in the template whose
   `Metadata: BuildProperties: Binary` is that binary (built by rust-cargolambda from the
   workspace root), and every function in the template is such a binary;
2. every function's environment against its crate's declaration, `[package.metadata.switchyard]`
   in functions/<name>/Cargo.toml: `kind` ("receiver" | "deliverer"), `env.required`,
   `env.required_one_of` (groups of which at least one is set) and `env.optional`, the kit's
   variables included. The template sets every required variable and nothing undeclared
   (RUNTIME_ENV below excepted); the declaration covers the variables the crate's own sources
   name (`*_ENV` constants, `env::var("...")`) and, by kind, the kit's (the receiver table in
   shared/src/receiver/config.rs; the `*_ENV`/`*_VAR` constants of KIT_DELIVERER_SOURCES), and
   each declared name appears as a string literal in the crate's or the kit's non-test Rust
   sources, so the declaration cannot rot;
3. every receiver (a crate whose main calls `receiver::run`, or a function with a Function URL)
   has a Function URL, `SECRET_ID` = !Ref of a Secrets Manager secret and `QUEUE_URL` = !Ref of
   an SQS queue with a dead-letter queue and a `MaximumMessageSize` that holds the envelope of a
   `MAX_BODY_BYTES` body, and exactly the IAM it needs: `SQSSendMessagePolicy` on that queue
   and `AWSSecretsManagerGetSecretValuePolicy` on that secret, nothing else;
4. every deliverer (a function with an SQS event) consumes a queue of the template that has a
   dead-letter queue (its `DLQ_URL`, when set, is that queue), reports partial batch failures
   (`FunctionResponseTypes: [ReportBatchItemFailures]`: else one failed record fails its whole
   batch) and has a `VisibilityTimeout` of at least six times the function's timeout (Lambda's
   advice: a batch retried by the poller must not reappear while still being processed);
5. every events queue (a receiver's QUEUE_URL, a deliverer's source) keeps its redrive policy a
   backstop: `maxReceiveCount` above the kit's default `MAX_ATTEMPTS` and a retention that
   outlasts the default `RETRY_PERIOD` (both read from shared/src/batch/schedule.rs's docs), so
   the deliverer's runner, not the redrive, decides when a record is dead;
6. IAM: no statement allows `Resource: "*"` unless every action in it has no resource-level
   permissions (WILDCARD_ONLY_ACTIONS, each with its reason), and no managed policy (a name or
   ARN in `Policies`: they grant on `*`) is attached;
7. every checkov suppression (`Metadata: checkov: skip: [{id, comment}]`) says why;
8. every !Ref / !GetAtt / ${...} in the template names a parameter, a pseudo parameter, a
   resource, or a resource SAM generates.

Standard library + PyYAML (a cfn-lint dependency, so .venv/bin/python has it). Usage:
    check_infra.py [REPO_ROOT] [--template PATH] [--partial]
REPO_ROOT defaults to this script's parent directory's parent and PATH to
REPO_ROOT/infra/template.yaml; --partial accepts a template that deploys only some of the
functions (the fixtures of scripts/test_check_infra.py). Exit 0 when consistent, 1 with one
`  FAIL <problem>` line per problem otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

import yaml

# Variables any function may set without declaring them: the kit's telemetry (metrics namespace
# and service name, shared/src/telemetry/metrics/builder.rs), the log format and level Lambda
# sets from LoggingConfig (shared/src/telemetry/logging.rs) and the Rust log filter.
RUNTIME_ENV = {
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "SWITCHYARD_METRICS_NAMESPACE",
    "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL", "RUST_LOG",
}
# Read by the runtime, but wrong in a deployed template (it points the SDK at an emulator).
LOCAL_ONLY = {"AWS_ENDPOINT_URL"}
# The kit's modules every deliverer runs (shared/src/deliverer.rs: the batch runner and its
# redelivery schedule, the idempotency ledger, the mapping, the secrets cache): each `*_ENV` /
# `*_VAR` constant there is a variable every deliverer must declare.
KIT_DELIVERER_SOURCES = (
    "shared/src/batch", "shared/src/idempotency", "shared/src/mapping", "shared/src/secrets",
    "shared/src/deliverer.rs", "shared/src/http/config.rs",
)
# Kit modules a function opts into, by the call its sources make: their `*_ENV` constants must
# then be declared too.
KIT_OPT_IN_SOURCES = {
    "LookupCache::from_env": "shared/src/lookup",
    "LookupConfig::from_env": "shared/src/lookup",
}
KINDS = ("receiver", "deliverer")
# Actions that have no resource-level permissions: the only ones a statement may allow on
# Resource "*", each with the reason (IAM's "Actions, resources, and condition keys" tables).
WILDCARD_ONLY_ACTIONS = {
    "cloudwatch:PutMetricData": "CloudWatch metrics are not resources (scope it with the "
                                "cloudwatch:namespace condition key)",
    "xray:PutTraceSegments": "X-Ray trace segments are not resources",
    "xray:PutTelemetryRecords": "X-Ray telemetry records are not resources",
}
# Lambda's default timeout, for a function that sets none (nor Globals).
DEFAULT_TIMEOUT = 3
# SQS's default visibility timeout, for a queue that sets none.
DEFAULT_VISIBILITY_TIMEOUT = 30
# Lambda's advice for an SQS event source: the queue's visibility timeout at least six times the
# function's timeout, so a batch the poller retries (throttling) does not reappear while it is
# still being processed.
VISIBILITY_FACTOR = 6
# What the envelope may add around a MAX_BODY_BYTES body (attributes, extensions) and still fit
# the queue's MaximumMessageSize: generous, it is a few hundred bytes in practice.
ENVELOPE_MARGIN = 16 * 1024
# config.rs's DEFAULT_MAX_BODY_BYTES, for a function that does not set MAX_BODY_BYTES.
DEFAULT_MAX_BODY_BYTES = 256 * 1024
PSEUDO = {
    "AWS::AccountId", "AWS::NoValue", "AWS::NotificationARNs", "AWS::Partition",
    "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
}
FUNCTION = "AWS::Serverless::Function"
QUEUE = "AWS::SQS::Queue"
# Resources whose PolicyDocument(s) hold IAM statements.
IAM_POLICY_TYPES = {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"}


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that accepts CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, ...)
    and turns them into their long form, so references can be followed."""


def _tagged(loader: CfnLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _tagged)


def ref_of(value) -> str | None:
    """The logical id of a `{"Ref": id}`, else None."""
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return value["Ref"]
    return None


def getatt_of(value) -> tuple[str, str] | None:
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        if isinstance(target, list) and len(target) == 2:
            return target[0], target[1]
    return None


def crate_binaries(root: Path) -> dict[str, dict]:
    """{binary name: {"crate": folder, "receiver": bool, "deliverer": bool, "metadata": the
    `[package.metadata.switchyard]` table or None}} for every functions/*/Cargo.toml."""
    bins: dict[str, dict] = {}
    for manifest in sorted(root.glob("functions/*/Cargo.toml")):
        crate = manifest.parent
        doc = tomllib.loads(manifest.read_text())
        targets = doc.get("bin", [])
        if not targets and (crate / "src/main.rs").exists():
            # Cargo's auto-discovered binary: named after the package.
            targets = [{"name": doc["package"]["name"], "path": "src/main.rs"}]
        for target in targets:
            main = crate / target.get("path", f"src/bin/{target['name']}.rs")
            source = main.read_text() if main.exists() else ""
            bins[target["name"]] = {
                "crate": str(crate.relative_to(root)),
                "receiver": "receiver::run" in source,
                "deliverer": "Deliverer" in source,
                "metadata": ((doc["package"].get("metadata") or {}).get("switchyard")),
            }
    return bins


def documented_env(root: Path) -> set[str]:
    """Variable names from the table in shared/src/receiver/config.rs's module docs (empty if
    the file or its table is gone: the caller reports that rather than checking nothing)."""
    config = root / "shared/src/receiver/config.rs"
    if not config.exists():
        return set()
    return set(re.findall(r"^//! \| `([A-Z][A-Z0-9_]*)` \|", config.read_text(), re.M))


def schedule_defaults(root: Path) -> tuple[int | None, int | None]:
    """(MAX_ATTEMPTS, RETRY_PERIOD in seconds) from the variable table in
    shared/src/batch/schedule.rs's docs; None for what is not found (the caller reports it)."""
    source = root / "shared/src/batch/schedule.rs"
    text = source.read_text() if source.exists() else ""
    attempts = re.search(r"^//! \| `MAX_ATTEMPTS` \| `(\d+)` \|", text, re.M)
    period = re.search(r"^//! \| `RETRY_PERIOD` \| `(\d+)([smhd])` \|", text, re.M)
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return (
        int(attempts.group(1)) if attempts else None,
        int(period.group(1)) * unit[period.group(2)] if period else None,
    )


def walk_refs(node, path=""):
    """Yields (path, kind, target) for every reference in a template subtree."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            if key == "Ref" and isinstance(value, str):
                yield path, "Ref", value
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) and value else value
                if isinstance(target, str):
                    yield path, "GetAtt", target
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                local = set(value[1]) if isinstance(value, list) and len(value) > 1 else set()
                if isinstance(text, str):
                    for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                        name = name.split(".", 1)[0]
                        if name not in local:
                            yield path, "Sub", name
                if isinstance(value, list) and len(value) > 1:
                    yield from walk_refs(value[1], here)
                continue
            yield from walk_refs(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_refs(value, f"{path}[{i}]")


def rust_code(folder: Path) -> str:
    """The non-test code of every .rs file under `folder` (or of `folder`, a file): each file up to its first
    `#[cfg(test)]` (the house puts the tests module last), comment lines dropped (doc examples
    name variables too), so a name found here is one the shipped code uses."""
    parts = []
    sources = [folder] if folder.is_file() else sorted(folder.rglob("*.rs")) if folder.exists() else []
    for source in sources:
        text = source.read_text().split("#[cfg(test)]", 1)[0]
        parts.extend(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    return "\n".join(parts)


def env_constants(code: str) -> set[str]:
    """Variable names a piece of Rust code defines or reads: `*_ENV` / `*_VAR` string constants
    and `env::var("...")` / `env::var_os("...")` literals."""
    names = set(re.findall(r'_(?:ENV|VAR): &str = "([A-Z][A-Z0-9_]*)"', code))
    names |= set(re.findall(r'env::var(?:_os)?\(\s*"([A-Z][A-Z0-9_]*)"', code))
    return names


def declaration(meta) -> tuple[str | None, dict[str, list], list[str]]:
    """(kind, {"required": [...], "required_one_of": [[...]], "optional": [...]}, problems) of a
    `[package.metadata.switchyard]` table (problems: what is malformed in it)."""
    problems: list[str] = []
    if not isinstance(meta, dict):
        return None, {}, ["no [package.metadata.switchyard] table (kind, env.required, env.optional)"]
    kind = meta.get("kind")
    if kind not in KINDS:
        problems.append(f"[package.metadata.switchyard] kind {kind!r} must be one of {', '.join(KINDS)}")
    env = meta.get("env") or {}
    unknown = set(env) - {"required", "required_one_of", "optional"}
    if unknown:
        problems.append(f"[package.metadata.switchyard] env has unknown keys {sorted(unknown)} "
                        "(required, required_one_of, optional)")
    lists = {key: env.get(key, []) for key in ("required", "required_one_of", "optional")}
    for key in ("required", "optional"):
        if not (isinstance(lists[key], list) and all(isinstance(n, str) for n in lists[key])):
            problems.append(f"[package.metadata.switchyard] env.{key} must be a list of names")
            lists[key] = []
    groups = lists["required_one_of"]
    if not (isinstance(groups, list) and all(isinstance(g, list) and g and all(isinstance(n, str) for n in g)
                                             for g in groups)):
        problems.append("[package.metadata.switchyard] env.required_one_of must be a list of "
                        "non-empty lists of names")
        lists["required_one_of"] = []
    seen: dict[str, int] = {}
    for name in lists["required"] + lists["optional"] + [n for g in lists["required_one_of"] for n in g]:
        seen[name] = seen.get(name, 0) + 1
    for name in sorted(n for n, count in seen.items() if count > 1):
        problems.append(f"[package.metadata.switchyard] declares {name} more than once")
    return kind, lists, problems


def statements_of(policy) -> list:
    """The statements of a policy document (a dict with Statement) or of an inline
    `Policies` entry; [] for anything else."""
    if isinstance(policy, dict):
        statements = policy.get("Statement")
        if isinstance(statements, dict):
            return [statements]
        if isinstance(statements, list):
            return statements
    return []


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def function_timeout(props: dict, globals_fn: dict):
    return props.get("Timeout", globals_fn.get("Timeout", DEFAULT_TIMEOUT))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Checks the SAM template against the code.")
    parser.add_argument("root", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the repository root (default: this script's parent's parent)")
    parser.add_argument("--template", type=Path, help="the template (default: ROOT/infra/template.yaml)")
    parser.add_argument("--partial", action="store_true",
                        help="the template deploys only some of the functions (test fixtures)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    root: Path = args.root
    template_path: Path = args.template or root / "infra/template.yaml"
    try:
        shown = str(template_path.resolve().relative_to(root.resolve()))
    except ValueError:
        shown = str(template_path)
    template = yaml.load(template_path.read_text(), Loader=CfnLoader)
    resources: dict = template.get("Resources", {})
    parameters: dict = template.get("Parameters", {})
    globals_fn: dict = (template.get("Globals") or {}).get("Function", {}) or {}
    problems: list[str] = []

    def problem(message: str) -> None:
        problems.append(message)
        print(f"  FAIL {message}")

    def type_of(logical_id: str | None) -> str | None:
        return resources.get(logical_id, {}).get("Type") if logical_id else None

    def props_of(logical_id: str) -> dict:
        return resources.get(logical_id, {}).get("Properties") or {}

    # --- 1. binaries <-> functions ---------------------------------------------------------
    bins = crate_binaries(root)
    functions: dict[str, str] = {}  # binary -> logical id
    for logical_id, resource in resources.items():
        if resource.get("Type") != FUNCTION:
            continue
        metadata = resource.get("Metadata") or {}
        binary = (metadata.get("BuildProperties") or {}).get("Binary")
        if metadata.get("BuildMethod") != "rust-cargolambda":
            problem(f"{logical_id}: Metadata.BuildMethod must be rust-cargolambda")
        if not binary:
            problem(f"{logical_id}: no Metadata.BuildProperties.Binary")
            continue
        if binary in functions:
            problem(f"{logical_id}: binary {binary} is already built by {functions[binary]}")
        functions[binary] = logical_id
        code_uri = resource.get("Properties", {}).get("CodeUri", globals_fn.get("CodeUri"))
        if code_uri != "..":
            problem(f"{logical_id}: CodeUri must be '..' (the workspace root), not {code_uri!r}")
        name = resource.get("Properties", {}).get("FunctionName")
        name_text = name.get("Fn::Sub") if isinstance(name, dict) else name
        if name is not None and not (isinstance(name_text, str) and name_text.endswith(binary)):
            problem(f"{logical_id}: FunctionName {name!r} must end with the binary name {binary}")

    print(f"crates:    {len(bins)} binaries in functions/*/Cargo.toml: {', '.join(sorted(bins)) or '-'}")
    print(f"template:  {len(functions)} functions in {shown}: {', '.join(sorted(functions)) or '-'}")
    if not args.partial:
        for binary in sorted(set(bins) - set(functions)):
            problem(f"binary {binary} ({bins[binary]['crate']}) has no function in {shown} "
                    f"(Metadata: BuildProperties: Binary: {binary})")
    for binary in sorted(set(functions) - set(bins)):
        problem(f"{functions[binary]} builds binary {binary!r}, which no functions/*/Cargo.toml defines")

    # --- 2. environment against each crate's declaration ------------------------------------
    contract = documented_env(root)
    if not {"SECRET_ID", "QUEUE_URL"} <= contract:
        problem("shared/src/receiver/config.rs: no variable table naming SECRET_ID and QUEUE_URL "
                "in its module docs; the receivers' declarations cannot be checked against it")
    kit_code = rust_code(root / "shared/src")
    kit_deliverer_env = set()
    for folder in KIT_DELIVERER_SOURCES:
        kit_deliverer_env |= env_constants(rust_code(root / folder))
    if not {"DLQ_URL", "IDEMPOTENCY_TABLE", "MAPPING_FILE"} <= kit_deliverer_env:
        problem(f"{', '.join(KIT_DELIVERER_SOURCES)}: no DLQ_URL, IDEMPOTENCY_TABLE and "
                "MAPPING_FILE constants found; the deliverers' declarations cannot be checked")
    for name in sorted(n for n in RUNTIME_ENV if f'"{n}"' not in kit_code):
        problem(f"scripts/check_infra.py: RUNTIME_ENV allows {name}, which no shared/src code names")
    global_env = ((globals_fn.get("Environment") or {}).get("Variables") or {})
    kinds: dict[str, str | None] = {}  # binary -> declared kind
    for binary, info in sorted(bins.items()):
        crate = info["crate"]
        manifest = f"{crate}/Cargo.toml"
        kind, declared, malformed = declaration(info["metadata"])
        kinds[binary] = kind
        for message in malformed:
            problem(f"{manifest}: {message}")
        if kind is None or malformed:
            continue
        names = set(declared["required"]) | set(declared["optional"])
        names |= {n for group in declared["required_one_of"] for n in group}
        if kind == "receiver" and not info["receiver"]:
            problem(f"{manifest}: kind is receiver, but its main does not call receiver::run")
        if kind == "deliverer" and not info["deliverer"]:
            problem(f"{manifest}: kind is deliverer, but its main does not run a Deliverer")
        crate_code = rust_code(root / crate / "src")
        for name in sorted(names):
            if f'"{name}"' not in crate_code and f'"{name}"' not in kit_code:
                problem(f"{manifest}: declared variable {name} appears in no string literal of "
                        f"{crate}/src or shared/src (outside tests and comments): a stale declaration")
        expected = env_constants(crate_code)
        for call, folder in KIT_OPT_IN_SOURCES.items():
            if call in crate_code:
                expected |= env_constants(rust_code(root / folder))
        if kind == "receiver":
            expected |= contract - LOCAL_ONLY
        else:
            expected |= kit_deliverer_env - LOCAL_ONLY
        for name in sorted(expected - names):
            problem(f"{manifest}: {name} is read by the code but not declared in "
                    "[package.metadata.switchyard] env")

        logical_id = functions.get(binary)
        if logical_id is None:
            continue
        env = {**global_env, **((props_of(logical_id).get("Environment") or {}).get("Variables") or {})}
        for name in sorted(set(env) & LOCAL_ONLY):
            problem(f"{logical_id}: environment variable {name} points the SDK at an emulator; "
                    "it has no place in a deployed template")
        for name in sorted(set(env) - names - RUNTIME_ENV - LOCAL_ONLY):
            problem(f"{logical_id}: environment variable {name} is not declared in {manifest} "
                    "[package.metadata.switchyard] env (nor a runtime variable: "
                    f"{', '.join(sorted(RUNTIME_ENV))})")
        for name in declared["required"]:
            if name not in env:
                problem(f"{logical_id}: required environment variable {name} "
                        f"(declared in {manifest}) is not set")
        for group in declared["required_one_of"]:
            if not set(group) & set(env):
                problem(f"{logical_id}: none of {', '.join(group)} is set "
                        f"({manifest} requires one of them)")
    print(f"env:       {len(functions)} functions against [package.metadata.switchyard] of their crates")

    # --- 3. receivers: URL, queue, secret, IAM ----------------------------------------------
    for binary, logical_id in sorted(functions.items()):
        before = len(problems)
        props = props_of(logical_id)
        url = props.get("FunctionUrlConfig")
        receiver = bins.get(binary, {}).get("receiver", False) or url is not None
        if not receiver:
            continue
        if not url:
            problem(f"{logical_id}: receiver without FunctionUrlConfig")
        env = {**global_env, **((props.get("Environment") or {}).get("Variables") or {})}
        secret, queue = ref_of(env.get("SECRET_ID")), ref_of(env.get("QUEUE_URL"))
        if "SECRET_ID" not in env:
            problem(f"{logical_id}: receiver without SECRET_ID in Environment.Variables")
        elif type_of(secret) != "AWS::SecretsManager::Secret":
            problem(f"{logical_id}: SECRET_ID must be !Ref of an AWS::SecretsManager::Secret")
        if "QUEUE_URL" not in env:
            problem(f"{logical_id}: receiver without QUEUE_URL in Environment.Variables")
        elif type_of(queue) != QUEUE:
            problem(f"{logical_id}: QUEUE_URL must be !Ref of an AWS::SQS::Queue")
        else:
            queue_props = props_of(queue)
            if not queue_props.get("RedrivePolicy"):
                problem(f"{queue}: the events queue of {binary} has no RedrivePolicy (dead-letter queue)")
            max_body = str(env.get("MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))
            max_message = queue_props.get("MaximumMessageSize")
            if not (max_body.isdigit() and int(max_body) > 0):
                problem(f"{logical_id}: MAX_BODY_BYTES {max_body!r} is not a positive integer "
                        "(the function would not start)")
            elif not isinstance(max_message, int) or int(max_body) + ENVELOPE_MARGIN > max_message:
                problem(f"{queue}: MaximumMessageSize {max_message!r} must be set and hold a "
                        f"{max_body}-byte body plus {ENVELOPE_MARGIN} bytes of envelope "
                        "(else accepted bodies are answered 413)")

        if secret is None or queue is None:
            continue  # reported above; the IAM can only be checked against a known queue/secret
        expected = [
            {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}},
            {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": secret}}},
        ]
        policies = props.get("Policies", globals_fn.get("Policies"))
        if policies != expected:
            problem(f"{logical_id}: Policies must be exactly SQSSendMessagePolicy on {queue} "
                    f"(QueueName: !GetAtt {queue}.QueueName) and "
                    f"AWSSecretsManagerGetSecretValuePolicy on {secret} (SecretArn: !Ref {secret}); "
                    f"found {policies!r}")
        if len(problems) == before:
            print(f"  ok   {binary}: receiver; SECRET_ID -> {secret}, QUEUE_URL -> {queue}; "
                  f"IAM: sqs:SendMessage on {queue}, secretsmanager:GetSecretValue on {secret}")

    # --- 4. deliverers: DLQ, partial batch failures, visibility -----------------------------
    source_queues: set[str] = set()
    for binary, logical_id in sorted(functions.items()):
        props = props_of(logical_id)
        sqs_events = {name: (event.get("Properties") or {})
                      for name, event in (props.get("Events") or {}).items()
                      if isinstance(event, dict) and event.get("Type") == "SQS"}
        # An event source mapping written out as its own resource (the generator does, to give
        # the role SQSPollerPolicy on its queue instead of SAM's managed role on `*`) counts the
        # same: its EventSourceArn is the SAM event's Queue.
        for mapping_id, mapping in sorted(resources.items()):
            if not isinstance(mapping, dict) or mapping.get("Type") != "AWS::Lambda::EventSourceMapping":
                continue
            mapping_props = mapping.get("Properties") or {}
            if ref_of(mapping_props.get("FunctionName")) == logical_id:
                sqs_events[mapping_id] = {**mapping_props, "Queue": mapping_props.get("EventSourceArn")}
        if kinds.get(binary) == "deliverer" and not sqs_events:
            problem(f"{logical_id}: a deliverer without an SQS event (Events: <name>: Type: SQS, "
                    "or an AWS::Lambda::EventSourceMapping whose FunctionName is !Ref of it)")
        before = len(problems)
        consumed: list[str] = []
        timeout = function_timeout(props, globals_fn)
        env = {**global_env, **((props.get("Environment") or {}).get("Variables") or {})}
        for event_name, event in sorted(sqs_events.items()):
            where = f"{logical_id}: SQS event {event_name}"
            target = getatt_of(event.get("Queue"))
            queue = target[0] if target and target[1] == "Arn" else None
            if type_of(queue) != QUEUE:
                problem(f"{where}: Queue must be !GetAtt <queue>.Arn of an AWS::SQS::Queue of this template")
                continue
            source_queues.add(queue)
            consumed.append(queue)
            if "ReportBatchItemFailures" not in as_list(event.get("FunctionResponseTypes")):
                problem(f"{where}: no FunctionResponseTypes: [ReportBatchItemFailures] (one failed "
                        "record would fail, and redeliver, its whole batch)")
            queue_props = props_of(queue)
            dead_letter = getatt_of((queue_props.get("RedrivePolicy") or {}).get("deadLetterTargetArn"))
            dlq = dead_letter[0] if dead_letter and dead_letter[1] == "Arn" else None
            if type_of(dlq) != QUEUE:
                problem(f"{queue}: the queue of deliverer {logical_id} has no dead-letter queue "
                        "(RedrivePolicy.deadLetterTargetArn: !GetAtt <queue>.Arn)")
            elif "DLQ_URL" in env and ref_of(env["DLQ_URL"]) != dlq:
                problem(f"{logical_id}: DLQ_URL must be !Ref {dlq}, the dead-letter queue of {queue}")
            visibility = queue_props.get("VisibilityTimeout", DEFAULT_VISIBILITY_TIMEOUT)
            if not isinstance(timeout, int):
                problem(f"{logical_id}: Timeout {timeout!r} is not a number of seconds")
            elif not isinstance(visibility, int) or visibility < VISIBILITY_FACTOR * timeout:
                problem(f"{queue}: VisibilityTimeout {visibility!r} is below {VISIBILITY_FACTOR} × "
                        f"the Timeout of {logical_id} ({timeout} s): at least "
                        f"{VISIBILITY_FACTOR * timeout}")
        if sqs_events and len(problems) == before:
            print(f"  ok   {binary}: deliverer; {', '.join(consumed)}: a DLQ, "
                  f"ReportBatchItemFailures, visibility >= {VISIBILITY_FACTOR} × {timeout} s")

    # --- 5. events queues: the redrive is a backstop ----------------------------------------
    max_attempts, retry_period = schedule_defaults(root)
    if max_attempts is None or retry_period is None:
        problem("shared/src/batch/schedule.rs: no variable table with MAX_ATTEMPTS and "
                "RETRY_PERIOD defaults in its module docs; the redrive backstop cannot be checked")
    else:
        events_queues = sorted(({
            ref_of(((props_of(lid).get("Environment") or {}).get("Variables") or {}).get("QUEUE_URL"))
            for lid in functions.values()
        } | source_queues) - {None})
        for queue in events_queues:
            queue_props = props_of(queue)
            redrive = queue_props.get("RedrivePolicy") or {}
            count = redrive.get("maxReceiveCount")
            if not isinstance(count, int) or count <= max_attempts:
                problem(f"{queue}: RedrivePolicy.maxReceiveCount {count!r} must be above the "
                        f"deliverer's MAX_ATTEMPTS ({max_attempts}), a backstop: the runner "
                        "dead-letters with a reason first")
            retention = queue_props.get("MessageRetentionPeriod")
            if not isinstance(retention, int) or retention <= retry_period:
                problem(f"{queue}: MessageRetentionPeriod {retention!r} must outlast the "
                        f"deliverer's RETRY_PERIOD ({retry_period} s), or SQS deletes records "
                        "still being retried")
        print(f"backstop:  {len(events_queues)} events queues: maxReceiveCount > {max_attempts}, "
              f"retention > {retry_period} s")

    # --- 6. IAM: no Resource "*" where a resource can be named ------------------------------
    statement_count = 0

    def check_statements(where: str, statements: list) -> None:
        nonlocal statement_count
        for i, statement in enumerate(statements):
            statement_count += 1
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            if "NotResource" in statement or "NotAction" in statement:
                problem(f"{where}.Statement[{i}]: NotResource/NotAction allow more than they name")
                continue
            if "*" not in as_list(statement.get("Resource")):
                continue
            actions = [str(a) for a in as_list(statement.get("Action"))]
            named = [a for a in actions if a not in WILDCARD_ONLY_ACTIONS]
            if named:
                problem(f"{where}.Statement[{i}]: allows {', '.join(named)} on Resource '*'; name "
                        "the resource (only actions without resource-level permissions may use "
                        f"'*': {', '.join(sorted(WILDCARD_ONLY_ACTIONS))})")

    for logical_id, resource in resources.items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == FUNCTION:
            policies = props.get("Policies", globals_fn.get("Policies")) or []
            for i, policy in enumerate(as_list(policies)):
                if isinstance(policy, str) or (isinstance(policy, dict) and set(policy) <= {"Ref", "Fn::Sub", "Fn::Join"}):
                    problem(f"{logical_id}: Policies[{i}] attaches a managed policy ({policy!r}), which "
                            "grants on Resource '*'; use a SAM policy template or a Statement "
                            "naming the resource")
                else:
                    check_statements(f"{logical_id}.Policies[{i}]", statements_of(policy))
        elif resource.get("Type") in IAM_POLICY_TYPES:
            documents = [props.get("PolicyDocument")] + [
                p.get("PolicyDocument") for p in as_list(props.get("Policies") or []) if isinstance(p, dict)]
            for document in documents:
                check_statements(f"{logical_id}.PolicyDocument", statements_of(document))
            if props.get("ManagedPolicyArns"):
                problem(f"{logical_id}: ManagedPolicyArns grant on Resource '*'; name the resources "
                        "in a PolicyDocument")
    print(f"iam:       {statement_count} statements checked for Resource '*'")

    # --- 7. checkov suppressions carry their reason -----------------------------------------
    skip_count = 0
    for logical_id, resource in resources.items():
        skips = ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip") or []
        for skip in as_list(skips):
            skip_count += 1
            check = skip.get("id") if isinstance(skip, dict) else None
            comment = skip.get("comment") if isinstance(skip, dict) else None
            if not (isinstance(check, str) and re.fullmatch(r"CKV2?_[A-Z]+_\d+", check)):
                problem(f"{logical_id}: Metadata.checkov.skip entry {skip!r} has no check id (CKV_...)")
            elif not (isinstance(comment, str) and comment.strip()):
                problem(f"{logical_id}: Metadata.checkov.skip {check} has no comment saying why")
    print(f"checkov:   {skip_count} suppressions in Metadata, each with its reason")

    # --- 8. references ----------------------------------------------------------------------
    resource_names = set(resources)
    for logical_id, resource in resources.items():
        if resource.get("Type") == FUNCTION:  # resources the SAM transform generates
            props = resource.get("Properties", {})
            if "Role" not in props:
                resource_names.add(f"{logical_id}Role")
            if props.get("FunctionUrlConfig"):
                resource_names.add(f"{logical_id}Url")
    names = resource_names | set(parameters) | PSEUDO
    count = 0
    for section in ("Globals", "Resources", "Outputs", "Conditions"):
        for path, kind, target in walk_refs(template.get(section) or {}, section):
            count += 1
            valid = resource_names if kind == "GetAtt" else names
            if target not in valid:
                problem(f"{path}: {kind} {target} names no parameter or resource")
    print(f"refs:      {count} Ref/GetAtt/Sub references checked")

    if problems:
        print(f"check_infra: {len(problems)} problem(s) in {shown}", file=sys.stderr)
        return 1
    print(f"check_infra: {shown} and the crates agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
