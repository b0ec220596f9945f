#!/usr/bin/env python3
"""Checks infra/template.yaml against the code: run by scripts/check-infra.sh after cfn-lint.

cfn-lint validates the SAM template against SAM's schemas but does not run the SAM transform:
it does not look inside policy templates, nor at references to the resources SAM generates
(`<Function>Url`, `<Function>Role`). This script checks what ties the template to the code:

1. every binary of functions/*/Cargo.toml is a function in the template whose
   `Metadata: BuildProperties: Binary` is that binary (built by rust-cargolambda from the
   workspace root), and every function in the template is such a binary;
2. every receiver (a crate whose main calls `receiver::run`, or a function with a Function URL)
   has a Function URL, `SECRET_ID` = !Ref of a Secrets Manager secret and `QUEUE_URL` = !Ref of
   an SQS queue with a dead-letter queue and a `MaximumMessageSize` that holds the envelope of a
   `MAX_BODY_BYTES` body, environment variables the runtime reads, and exactly
   the IAM it needs: `SQSSendMessagePolicy` on that queue and
   `AWSSecretsManagerGetSecretValuePolicy` on that secret, nothing else;
3. every events queue (a receiver's QUEUE_URL, which a deliverer consumes) keeps its redrive
   policy a backstop: `maxReceiveCount` above the kit's default `MAX_ATTEMPTS` and a retention
   that outlasts the default `RETRY_PERIOD` (both read from shared/src/batch/schedule.rs's
   docs), so the deliverer's runner, not the redrive, decides when a record is dead;
4. every !Ref / !GetAtt / ${...} in the template names a parameter, a pseudo parameter, a
   resource, or a resource SAM generates.

Standard library + PyYAML (a cfn-lint dependency, so .venv/bin/python has it). Usage:
    check_infra.py [REPO_ROOT]            (default: this script's parent directory's parent)
Exit 0 when consistent, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml

# Environment variables a function may set: the receiver contract is read from the table in
# shared/src/receiver/config.rs's docs (documented_env), minus LOCAL_ONLY; these are the rest
# (telemetry and the Rust log filter).
TELEMETRY_ENV = {
    "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "SWITCHYARD_METRICS_NAMESPACE",
    "RUST_LOG",
}
# Read by the runtime, but wrong in a deployed template (it points the SDK at an emulator).
LOCAL_ONLY = {"AWS_ENDPOINT_URL"}
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
    """{binary name: {"crate": folder, "receiver": bool}} for every functions/*/Cargo.toml."""
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


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    template_path = root / "infra/template.yaml"
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
    print(f"template:  {len(functions)} functions in infra/template.yaml: {', '.join(sorted(functions)) or '-'}")
    for binary in sorted(set(bins) - set(functions)):
        problem(f"binary {binary} ({bins[binary]['crate']}) has no function in infra/template.yaml "
                f"(Metadata: BuildProperties: Binary: {binary})")
    for binary in sorted(set(functions) - set(bins)):
        problem(f"{functions[binary]} builds binary {binary!r}, which no functions/*/Cargo.toml defines")

    # --- 2. receivers: environment, URL, IAM ------------------------------------------------
    contract = documented_env(root)
    if not {"SECRET_ID", "QUEUE_URL"} <= contract:
        problem("shared/src/receiver/config.rs: no variable table naming SECRET_ID and QUEUE_URL "
                "in its module docs; the environment cannot be checked against it")
    known_env = (contract - LOCAL_ONLY) | TELEMETRY_ENV
    global_env = ((globals_fn.get("Environment") or {}).get("Variables") or {})
    for binary, logical_id in sorted(functions.items()):
        before = len(problems)
        props = resources[logical_id].get("Properties", {})
        url = props.get("FunctionUrlConfig")
        receiver = bins.get(binary, {}).get("receiver", False) or url is not None
        if not receiver:
            print(f"  skip {binary}: not a receiver")
            continue
        if not url:
            problem(f"{logical_id}: receiver without FunctionUrlConfig")
        env = {**global_env, **((props.get("Environment") or {}).get("Variables") or {})}
        for name in sorted(set(env) - known_env):
            problem(f"{logical_id}: environment variable {name} is not one the runtime reads "
                    f"(known: {', '.join(sorted(known_env))}: the table in shared/src/receiver/config.rs "
                    f"and TELEMETRY_ENV in scripts/check_infra.py)")
        secret, queue = ref_of(env.get("SECRET_ID")), ref_of(env.get("QUEUE_URL"))
        if "SECRET_ID" not in env:
            problem(f"{logical_id}: receiver without SECRET_ID in Environment.Variables")
        elif type_of(secret) != "AWS::SecretsManager::Secret":
            problem(f"{logical_id}: SECRET_ID must be !Ref of an AWS::SecretsManager::Secret")
        if "QUEUE_URL" not in env:
            problem(f"{logical_id}: receiver without QUEUE_URL in Environment.Variables")
        elif type_of(queue) != "AWS::SQS::Queue":
            problem(f"{logical_id}: QUEUE_URL must be !Ref of an AWS::SQS::Queue")
        else:
            queue_props = resources[queue].get("Properties") or {}
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

    # --- 3. events queues: the redrive is a backstop ----------------------------------------
    max_attempts, retry_period = schedule_defaults(root)
    if max_attempts is None or retry_period is None:
        problem("shared/src/batch/schedule.rs: no variable table with MAX_ATTEMPTS and "
                "RETRY_PERIOD defaults in its module docs; the redrive backstop cannot be checked")
    else:
        events_queues = sorted({
            ref_of(((resources[lid].get("Properties") or {}).get("Environment") or {})
                   .get("Variables", {}).get("QUEUE_URL"))
            for lid in functions.values()
        } - {None})
        for queue in events_queues:
            queue_props = resources.get(queue, {}).get("Properties") or {}
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

    # --- 4. references ----------------------------------------------------------------------
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
        print(f"check_infra: {len(problems)} problem(s) in infra/template.yaml", file=sys.stderr)
        return 1
    print("check_infra: template and crates agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
