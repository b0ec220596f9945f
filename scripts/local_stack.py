#!/usr/bin/env python3
"""Creates the stack's queues, secrets and tables on a local AWS emulator (moto), read from
infra/template.yaml, and prints what it created as JSON.

Why: the SAM template is the one description of the infrastructure. The local stack (demo,
tests) should use the same queues — with the same redrive policies, visibility timeouts and
retention — the same secrets and the same ledger table as a deployment, rather than a hand-kept
copy that drifts. This script runs the real SAM transform offline and creates what the
CloudFormation it produces declares:

1. `infra/template.yaml` is translated to CloudFormation by `aws-sam-translator` (pinned in
   scripts/requirements.txt; the library the SAM CLI and CloudFormation's own transform run),
   with no AWS access: the managed-policy loader is a fixed map (`MANAGED_POLICIES`), the region
   is given, and local `CodeUri`s are replaced by a placeholder S3 location (`sam package` would
   upload them; nothing is built or uploaded here).
2. On the emulator at `--endpoint-url`, by resource type, in dependency order (a queue's
   dead-letter queue first, since its `RedrivePolicy` needs the DLQ's ARN):
   - every `AWS::SQS::Queue`, with its properties as queue attributes, named
     `<stack>-<LogicalId>` unless it sets `QueueName`;
   - every `AWS::SecretsManager::Secret`, named by its `Name` (else `<stack>/<LogicalId>`), with
     the value given for it in `--secret-values`, else the template's `SecretString`, else (a
     `GenerateSecretString` secret) a fixed local demo value (`demo_secret`);
   - every `AWS::DynamoDB::Table`, with its key schema, attributes, indexes and TTL, named by
     `TableName` (else `<stack>-<LogicalId>`).
   Re-running against the same emulator is fine: existing queues, secrets and tables are kept
   (secret values are put again).
3. Prints JSON: the queues (name, URL, ARN), secrets (name, ARN, never the value), tables
   (name, ARN), and each function of the translated template with its binary, its timeout
   (seconds), its environment resolved against what was created (SECRET_ID, QUEUE_URL, DLQ_URL, IDEMPOTENCY_TABLE, ...), its
   SQS event sources and whether it has a Function URL: what a local runner needs to start the
   functions against the emulator.

Intrinsic functions are resolved here (`Resolver`: Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
Fn::Split, Fn::Select, Fn::If with the template's Conditions): samtranslator's own intrinsics resolver is
built for the transform's needs (parameters and SAM-generated ids), not for physical ids of
resources created elsewhere. An intrinsic it does not know stops the script naming the
resource, rather than creating something half-configured. Alarms, log groups, roles and
functions are not created (moto would accept them, but nothing local uses them).

Usage:
    local_stack.py --endpoint-url http://127.0.0.1:5000 [--template infra/template.yaml]
        [--stack-name switchyard-local] [--region us-east-1] [--parameter Name=Value ...]
        [--secret-values secrets.json]

`--secret-values`: a JSON object from a secret's logical id or name to its value (a string, or
an object stored as JSON), e.g. {"StripeWebhookSigningSecret": "whsec_...",
"SlackNotifyBotToken": {"bot_token": "xoxb-local"}}; a key that names no secret is an error.
Progress goes to stderr, the JSON to stdout. Exit 0 on success, 1 with a message otherwise.
Needs boto3, PyYAML and aws-sam-translator (all in .venv after `make setup`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "infra" / "template.yaml"
DEFAULT_STACK = "switchyard-local"
DEFAULT_REGION = "us-east-1"

QUEUE = "AWS::SQS::Queue"
SECRET = "AWS::SecretsManager::Secret"
TABLE = "AWS::DynamoDB::Table"
FUNCTION = "AWS::Lambda::Function"
EVENT_SOURCE_MAPPING = "AWS::Lambda::EventSourceMapping"
FUNCTION_URL = "AWS::Lambda::Url"

# The AWS managed policies a template may name by short name in a function's `Policies`, for the
# transform's loader (which otherwise lists them from IAM). SAM attaches the basic execution
# role and the SQS poller role by ARN itself; these cover the usual extra names.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaDynamoDBExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
    "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
    "CloudWatchLambdaInsightsExecutionRolePolicy": "arn:aws:iam::aws:policy/CloudWatchLambdaInsightsExecutionRolePolicy",
}

# CloudFormation properties of AWS::SQS::Queue that are SQS queue attributes of the same name.
QUEUE_ATTRIBUTES = {
    "ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue",
    "FifoThroughputLimit", "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId",
    "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy", "RedrivePolicy", "SqsManagedSseEnabled", "VisibilityTimeout",
}
# Table properties with no local meaning (moto keeps no backups and encrypts nothing).
TABLE_IGNORED = {
    "PointInTimeRecoverySpecification", "SSESpecification", "Tags", "DeletionProtectionEnabled",
    "ContributorInsightsSpecification", "TableClass",
}
# Every boto3 call has a timeout (the emulator is local: seconds are plenty) and few retries.
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2})


class StackError(Exception):
    """Why the local stack could not be made: printed as one line, exit status 1."""


# ---------------------------------------------------------------------------------------------
# Template and transform
# ---------------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """PyYAML loader for CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, ...), turned into
    their long form. A subclass, so the global SafeLoader stays untouched."""


def _intrinsic(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """The SAM template at `path` as a dict (intrinsics in long form)."""
    try:
        with open(path, encoding="utf-8") as f:
            template = yaml.load(f, Loader=CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as e:
        raise StackError(f"cannot read template {path}: {e}") from e
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise StackError(f"{path}: not a template (no Resources)")
    return template


class FixedManagedPolicies:
    """A managed-policy loader for the SAM transform that needs no AWS (the real one lists
    policies from IAM)."""

    def load(self) -> dict[str, str]:
        return dict(MANAGED_POLICIES)


def _placeholder_code_uris(template: dict[str, Any]) -> None:
    """Replaces local `CodeUri`s (SAM packages those at deploy) with a placeholder S3 location,
    as the transform accepts only S3 code locations."""
    def fix(props: dict[str, Any], logical_id: str) -> None:
        uri = props.get("CodeUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            props["CodeUri"] = f"s3://local-stack-placeholder/{logical_id}.zip"

    fix(template.get("Globals", {}).get("Function", {}) or {}, "Globals")
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            fix(resource.setdefault("Properties", {}), logical_id)


def translate(template: dict[str, Any], parameters: dict[str, str], region: str) -> dict[str, Any]:
    """The CloudFormation the SAM transform makes of `template`, offline."""
    # Imported here so `--help` works before `make setup`; the transform reads the region from
    # boto3's default session.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    sam = json.loads(json.dumps(template))  # the transform mutates its input
    _placeholder_code_uris(sam)
    try:
        return transform(sam, dict(parameters), FixedManagedPolicies(), passthrough_metadata=True)
    except InvalidDocumentException as e:
        causes = "; ".join(str(c) for c in e.causes)
        raise StackError(f"SAM transform failed: {causes}") from e


# Local values for the parameters a deploy must choose (they have no default in the template):
# a local stack runs on them unless --parameter says otherwise.
LOCAL_PARAMETERS = {
    # A channel id of the Slack stand-in's shape (`C` + upper-case letters and digits).
    "SlackAlertChannel": "C0LOCALALERTS",
}


def parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """The template's parameter defaults, then LOCAL_PARAMETERS for those without one, with
    `overrides` over them; an override naming no parameter is an error (a typo would otherwise
    be silently ignored)."""
    declared = template.get("Parameters", {}) or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise StackError(f"unknown template parameter(s): {', '.join(unknown)}")
    values = {name: str(p["Default"]) for name, p in declared.items() if "Default" in p}
    values.update({name: value for name, value in LOCAL_PARAMETERS.items()
                   if name in declared and name not in values})
    values.update(overrides)
    missing = sorted(set(declared) - set(values))
    if missing:
        raise StackError(f"no value for template parameter(s) without a default: {', '.join(missing)}")
    return values


# ---------------------------------------------------------------------------------------------
# Intrinsic functions
# ---------------------------------------------------------------------------------------------

NO_VALUE = object()  # Ref AWS::NoValue: the property is dropped.


class Resolver:
    """Resolves CloudFormation intrinsics against parameters, pseudo parameters and the physical
    ids and attributes of resources created so far (`refs`: logical id -> Ref value, `attrs`:
    logical id -> {attribute: value})."""

    def __init__(self, parameters: dict[str, str], pseudo: dict[str, str],
                 conditions: dict[str, Any] | None = None) -> None:
        self.parameters = parameters
        self.pseudo = pseudo
        self.conditions = conditions or {}
        self.refs: dict[str, str] = {}
        self.attrs: dict[str, dict[str, str]] = {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            handler = self._handlers().get(key)
            if handler is not None:
                return handler(arg)
            if key.startswith("Fn::"):
                raise StackError(f"unsupported intrinsic {key}")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": self._ref, "Fn::GetAtt": self._get_att, "Fn::Sub": self._sub,
            "Fn::Join": self._join, "Fn::Select": self._select, "Fn::If": self._if,
            "Fn::Split": self._split,
        }

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        for table in (self.parameters, self.pseudo, self.refs):
            if name in table:
                return table[name]
        raise StackError(f"Ref {name}: not a parameter or a resource created locally")

    def _get_att(self, arg: Any) -> str:
        logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        try:
            return self.attrs[logical_id][attribute]
        except KeyError:
            raise StackError(f"Fn::GetAtt {logical_id}.{attribute}: not created locally") from None

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        local = {k: self.resolve(v) for k, v in variables.items()}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and name not in self.pseudo:
                return self._get_att(name.split(".", 1))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def _join(self, arg: list[Any]) -> str:
        separator, items = arg
        return separator.join(str(v) for v in self.resolve(items))

    def _split(self, arg: list[Any]) -> list[str]:
        separator, text = arg[0], self.resolve(arg[1])
        return str(text).split(separator)

    def _select(self, arg: list[Any]) -> Any:
        index, items = self.resolve(arg[0]), self.resolve(arg[1])
        return items[int(index)]

    def _if(self, arg: list[Any]) -> Any:
        name, then, otherwise = arg
        return self.resolve(then if self.condition(name) else otherwise)

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise StackError(f"condition {name} is not defined")
        return self._evaluate(self.conditions[name])

    def _evaluate(self, expr: Any) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            (key, arg), = expr.items()
            if key == "Fn::Equals":
                a, b = (self.resolve(v) for v in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self._evaluate(arg[0])
            if key == "Fn::And":
                return all(self._evaluate(e) for e in arg)
            if key == "Fn::Or":
                return any(self._evaluate(e) for e in arg)
            if key == "Condition":
                return self.condition(arg)
        raise StackError(f"unsupported condition {json.dumps(expr)}")


def references(value: Any) -> set[str]:
    """The logical ids and parameters `value` names through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".", 1)[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!][^}]*)\}", text)}
                if not isinstance(arg, str):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


def creation_order(resources: dict[str, dict[str, Any]], of_type: str) -> list[str]:
    """The logical ids of `of_type`, each after the ones of that type it refers to (a queue after
    its dead-letter queue); a cycle is an error."""
    ids = sorted(lid for lid, r in resources.items() if r.get("Type") == of_type)
    deps = {lid: references(resources[lid].get("Properties", {})) & set(ids) for lid in ids}
    ordered: list[str] = []
    while len(ordered) < len(ids):
        ready = [lid for lid in ids if lid not in ordered and deps[lid] <= set(ordered)]
        if not ready:
            cycle = sorted(set(ids) - set(ordered))
            raise StackError(f"{of_type} resources refer to each other in a cycle: {', '.join(cycle)}")
        ordered.extend(ready)
    return ordered


# ---------------------------------------------------------------------------------------------
# Creating resources
# ---------------------------------------------------------------------------------------------


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def create_queues(sqs: Any, resources: dict[str, Any], resolver: Resolver, stack: str) -> dict[str, Any]:
    created = {}
    for lid in creation_order(resources, QUEUE):
        props = resolver.resolve(resources[lid].get("Properties", {}))
        unknown = sorted(set(props) - QUEUE_ATTRIBUTES - {"QueueName", "Tags"})
        if unknown:
            raise StackError(f"queue {lid}: property not supported locally: {', '.join(unknown)}")
        name = props.get("QueueName") or f"{stack}-{lid}" + (".fifo" if props.get("FifoQueue") else "")
        attributes = {k: _attribute_value(v) for k, v in props.items() if k in QUEUE_ATTRIBUTES}
        kwargs: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        if props.get("Tags"):
            kwargs["tags"] = {t["Key"]: t["Value"] for t in props["Tags"]}
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.refs[lid] = url
        resolver.attrs[lid] = {"Arn": arn, "QueueName": name, "QueueUrl": url}
        created[lid] = {"name": name, "url": url, "arn": arn}
        _progress(f"queue   {lid}: {name}")
    return created


def demo_secret(name: str) -> str:
    """The local value of a generated secret: fixed per name, so a re-run keeps it, and shaped
    `whsec_<base64>`, which every receiver's scheme accepts as a key (standard-webhook needs
    that shape at cold start). A demo that signs requests passes its own via --secret-values."""
    digest = hashlib.sha256(f"switchyard-local/{name}".encode()).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def _secret_value(lid: str, name: str, props: dict[str, Any], given: dict[str, Any]) -> str:
    for key in (lid, name):
        if key in given:
            value = given[key]
            return value if isinstance(value, str) else json.dumps(value)
    if "SecretString" in props:
        return str(props["SecretString"])
    generate = props.get("GenerateSecretString") or {}
    if "SecretStringTemplate" in generate and "GenerateStringKey" in generate:
        document = json.loads(generate["SecretStringTemplate"])
        document[generate["GenerateStringKey"]] = demo_secret(name)
        return json.dumps(document)
    return demo_secret(name)


def create_secrets(sm: Any, resources: dict[str, Any], resolver: Resolver, stack: str,
                   given: dict[str, Any]) -> dict[str, Any]:
    planned = []
    for lid in creation_order(resources, SECRET):
        props = resolver.resolve(resources[lid].get("Properties", {}))
        planned.append((lid, props.get("Name") or f"{stack}/{lid}", props))
    # Checked before anything is put, so a typo changes nothing.
    unused = sorted(set(given) - {key for lid, name, _ in planned for key in (lid, name)})
    if unused:
        raise StackError(f"--secret-values names no secret of the template: {', '.join(unused)}")
    created = {}
    for lid, name, props in planned:
        value = _secret_value(lid, name, props, given)
        try:
            arn = sm.create_secret(Name=name, SecretString=value,
                                   Description=str(props.get("Description", "")))["ARN"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceExistsException":
                raise
            arn = sm.put_secret_value(SecretId=name, SecretString=value)["ARN"]
        resolver.refs[lid] = arn
        resolver.attrs[lid] = {"Id": arn}
        created[lid] = {"name": name, "arn": arn}
        _progress(f"secret  {lid}: {name}")
    return created


def _table_request(name: str, props: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    for key in ("ProvisionedThroughput", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            request[key] = props[key]
    stream = props.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def create_tables(ddb: Any, resources: dict[str, Any], resolver: Resolver, stack: str) -> dict[str, Any]:
    created = {}
    for lid in creation_order(resources, TABLE):
        props = resolver.resolve(resources[lid].get("Properties", {}))
        known = {"TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput",
                 "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification",
                 "TimeToLiveSpecification"} | TABLE_IGNORED
        unknown = sorted(set(props) - known)
        if unknown:
            raise StackError(f"table {lid}: property not supported locally: {', '.join(unknown)}")
        name = props.get("TableName") or f"{stack}-{lid}"
        try:
            table = ddb.create_table(**_table_request(name, props))["TableDescription"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "ResourceInUseException":
                raise
            table = ddb.describe_table(TableName=name)["Table"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"], "Enabled": True})
        resolver.refs[lid] = name
        resolver.attrs[lid] = {"Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            resolver.attrs[lid]["StreamArn"] = table["LatestStreamArn"]
        created[lid] = {"name": name, "arn": table["TableArn"]}
        _progress(f"table   {lid}: {name}")
    return created


def describe_functions(resources: dict[str, Any], resolver: Resolver, queues: dict[str, Any]) -> dict[str, Any]:
    """Each function of the translated template with what a local runner needs: its binary,
    its environment resolved against the local resources, its SQS event sources and whether
    it has a Function URL. Functions themselves are not created."""
    queue_by_arn = {q["arn"]: lid for lid, q in queues.items()}
    functions: dict[str, Any] = {}
    for lid, resource in sorted(resources.items()):
        if resource.get("Type") != FUNCTION:
            continue
        props = resource.get("Properties", {})
        try:
            environment = resolver.resolve(props.get("Environment", {}).get("Variables", {}))
            name = resolver.resolve(props.get("FunctionName", lid))
        except StackError as e:
            raise StackError(f"function {lid}: {e}") from None
        binary = (resource.get("Metadata", {}).get("BuildProperties", {}) or {}).get("Binary")
        timeout = props.get("Timeout")
        functions[lid] = {"name": name, "binary": binary,
                          "environment": {k: str(v) for k, v in environment.items()},
                          "timeout": resolver.resolve(timeout) if timeout is not None else None,
                          "function_url": False, "event_sources": []}
    for lid, resource in sorted(resources.items()):
        props = resource.get("Properties", {})
        if resource.get("Type") == FUNCTION_URL:
            target = props.get("TargetFunctionArn", {}).get("Ref")
            if target in functions:
                functions[target]["function_url"] = True
        elif resource.get("Type") == EVENT_SOURCE_MAPPING:
            target = props.get("FunctionName", {}).get("Ref")
            arn = resolver.resolve(props.get("EventSourceArn"))
            if target in functions and arn in queue_by_arn:
                source = {"queue": queue_by_arn[arn], "queue_url": queues[queue_by_arn[arn]]["url"]}
                for key, out in (("BatchSize", "batch_size"),
                                 ("MaximumBatchingWindowInSeconds", "maximum_batching_window_seconds"),
                                 ("FunctionResponseTypes", "function_response_types")):
                    if key in props:
                        source[out] = resolver.resolve(props[key])
                concurrency = (props.get("ScalingConfig") or {}).get("MaximumConcurrency")
                if concurrency is not None:
                    source["maximum_concurrency"] = resolver.resolve(concurrency)
                functions[target]["event_sources"].append(source)
    return functions


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _progress(line: str) -> None:
    print(f"local-stack: {line}", file=sys.stderr, flush=True)


def build(endpoint_url: str, template_path: Path = DEFAULT_TEMPLATE, stack: str = DEFAULT_STACK,
          region: str = DEFAULT_REGION, overrides: dict[str, str] | None = None,
          secret_values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Translates the template and creates its queues, secrets and tables on the emulator at
    `endpoint_url`; returns what `main` prints."""
    template = load_template(template_path)
    parameters = parameter_values(template, overrides or {})
    cfn = translate(template, parameters, region)
    resources = cfn["Resources"]

    # Dummy credentials: this only ever talks to the emulator, never to AWS.
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                    region_name=region)
    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url, config=CLIENT_CONFIG)

    try:
        account = client("sts").get_caller_identity()["Account"]
        pseudo = {
            "AWS::StackName": stack, "AWS::Region": region, "AWS::AccountId": account,
            "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack}/local",
        }
        resolver = Resolver(parameters, pseudo, cfn.get("Conditions"))
        _progress(f"creating stack {stack} on {endpoint_url} from {template_path}")
        queues = create_queues(client("sqs"), resources, resolver, stack)
        secrets = create_secrets(client("secretsmanager"), resources, resolver, stack, secret_values or {})
        tables = create_tables(client("dynamodb"), resources, resolver, stack)
    except (BotoCoreError, ClientError) as e:
        raise StackError(f"emulator at {endpoint_url}: {e}") from e
    return {
        "endpoint_url": endpoint_url, "region": region, "account_id": account, "stack_name": stack,
        "parameters": parameters, "queues": queues, "secrets": secrets, "tables": tables,
        "functions": describe_functions(resources, resolver, queues),
    }


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint-url", required=True, help="the emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--stack-name", default=DEFAULT_STACK)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a template parameter (repeatable)")
    parser.add_argument("--secret-values", type=Path, metavar="FILE",
                        help="JSON object: secret logical id or name -> value (string or object)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    try:
        overrides = {}
        for item in args.parameter:
            name, sep, value = item.partition("=")
            if not sep:
                raise StackError(f"--parameter {item!r}: expected NAME=VALUE")
            overrides[name] = value
        secret_values: dict[str, Any] = {}
        if args.secret_values:
            try:
                secret_values = json.loads(args.secret_values.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise StackError(f"--secret-values {args.secret_values}: {e}") from e
            if not isinstance(secret_values, dict):
                raise StackError(f"--secret-values {args.secret_values}: not a JSON object")
        stack = build(args.endpoint_url, args.template, args.stack_name, args.region, overrides, secret_values)
    except StackError as e:
        print(f"local-stack: {e}", file=sys.stderr)
        return 1
    json.dump(stack, sys.stdout, indent=2, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
