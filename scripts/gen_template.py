#!/usr/bin/env python3
"""Renders infra/template.yaml (AWS SAM) from infra/functions.yaml: run by `make template`.

Every kind of resource (a receiver's function, queue, secret, alarms; a deliverer's function,
event source mapping, ...) is written once here and filled in per function, so adding a
function is a few lines in infra/functions.yaml, not a copied stanza. The output is
deterministic (same description, same bytes) and carries a header saying it is generated.

    gen_template.py            write infra/template.yaml
    gen_template.py --check    exit 1 when the checked-in template is not what the description
                               generates (stale or hand-edited); nothing is written
    --functions PATH, --template PATH   other files (tests)

Standard library + PyYAML (a cfn-lint dependency, so .venv/bin/python has it; any python3 with
PyYAML will do). The template is emitted by a small writer rather than yaml.dump because it
keeps CloudFormation's short tags (!Ref, !Sub, ...) and the comments that say why a setting is
what it is.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "infra/functions.yaml"
TEMPLATE = ROOT / "infra/template.yaml"

# The kit's redelivery schedule (shared/src/batch/schedule.rs): the runner dead-letters a
# record itself after MAX_ATTEMPTS receives or RETRY_PERIOD; the queue's redrive is a backstop
# above it, and the retention outlasts the period.
MAX_ATTEMPTS = 50
MAX_RECEIVE_COUNT = 100
RETENTION_SECONDS = 14 * 24 * 3600  # 14 days, the SQS maximum (RETRY_PERIOD is 72 h)
MAX_MESSAGE_BYTES = 1024 * 1024  # 1 MiB: the envelope around a MAX_BODY_BYTES body fits
MAX_BODY_BYTES = 262144
# Lambda's advice for SQS event sources: the queue's visibility timeout at least six times the
# function timeout, so a batch retried by Lambda itself is not received twice.
VISIBILITY_FACTOR = 6
# Patterns a routing parameter may list (each becomes one entry of the ROUTES JSON; more would
# risk Lambda's 4 KB limit on a function's environment with long queue URLs).
MAX_ROUTE_PATTERNS = 4
# An event-type pattern: what the providers' types are made of, plus the `*` glob. No quotes,
# backslashes, commas or spaces, so a pattern can be pasted into JSON as is.
PATTERN = r"[A-Za-z0-9._/*:-]+"
ROUTE_PARAMETER_PATTERN = f"^({PATTERN}(,{PATTERN}){{0,{MAX_ROUTE_PATTERNS - 1}}})?$"

ALARM_ACTIONS = "!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]"


# --- a small YAML writer for CloudFormation ------------------------------------------------


class Tag:
    """A CloudFormation short-form intrinsic: `!Ref X`, `!Sub "..."`, `!If [a, b, c]`."""

    def __init__(self, name: str, arg):
        self.name, self.arg = name, arg


class Raw:
    """Text written as is (an inline value already in YAML form)."""

    def __init__(self, text: str):
        self.text = text


class Note:
    """A value with a trailing `# comment`."""

    def __init__(self, value, comment: str):
        self.value, self.comment = value, comment


class Folded:
    """A long text as a folded block (`>-`), wrapped."""

    def __init__(self, text: str):
        self.text = " ".join(text.split())


class Comment:
    """Comment lines before the next key of a mapping (used as a key: `{Comment("..."): None}`)."""

    _count = 0

    def __init__(self, text: str):
        Comment._count += 1
        self.text, self.n = text, Comment._count

    def __hash__(self):
        return hash(("comment", self.n))


def Ref(name: str) -> Tag:
    return Tag("Ref", name)


def GetAtt(name: str) -> Tag:
    return Tag("GetAtt", name)


def Sub(text: str, variables: dict | None = None) -> Tag:
    return Tag("Sub", text if variables is None else [text, variables])


def If(condition: str, then, otherwise) -> Tag:
    return Tag("If", [condition, then, otherwise])


NO_VALUE = Ref("AWS::NoValue")
WIDTH = 100
_PLAIN = re.compile(r"^(\.\.|[A-Za-z][A-Za-z0-9_.:/-]*)$")
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}


def scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if _PLAIN.match(value) and value.lower() not in _RESERVED and not value.endswith(":"):
            return value
        if '"' in value and "'" not in value and value.isprintable():
            return f"'{value}'"  # JSON in YAML: easier to read without the escapes
        return json.dumps(value)
    raise TypeError(f"cannot write {value!r}")


def inline(node) -> str | None:
    """The one-line form of a node, or None when it needs a block."""
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, (str, int, bool)):
        return scalar(node)
    if isinstance(node, Tag):
        arg = node.arg
        if node.name == "GetAtt":
            return f"!GetAtt {arg}"
        text = inline(arg)
        return None if text is None else f"!{node.name} {text}"
    if isinstance(node, list):
        parts = [inline(item) for item in node]
        if any(p is None for p in parts):
            return None
        return "[" + ", ".join(parts) + "]"
    return None  # mappings, folded text, notes


def key_text(key) -> str:
    return key if _PLAIN.match(key) else json.dumps(key)


def comment_lines(text: str, pad: str) -> list[str]:
    """`# ` lines: paragraphs wrapped, lines that start with a space (diagrams) kept as they are."""
    out = []
    for paragraph in text.strip("\n").split("\n"):
        if not paragraph.strip():
            out.append(f"{pad}#")
        elif paragraph.startswith(" "):
            out.append(f"{pad}# {paragraph}".rstrip())
        else:
            out.extend(f"{pad}# {line}" for line in textwrap.wrap(paragraph, WIDTH - len(pad) - 2))
    return out


def block(node, indent: int) -> list[str]:
    """The block form of a mapping or sequence at `indent` spaces."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, Comment):
                lines.extend(comment_lines(key.text, pad))
                continue
            lines.extend(entry(f"{pad}{key_text(key)}:", value, indent))
        return lines
    if isinstance(node, list):
        for item in node:
            lines.extend(entry(f"{pad}-", item, indent, item_of_list=True))
        return lines
    raise TypeError(f"no block form for {node!r}")


def entry(head: str, value, indent: int, item_of_list: bool = False) -> list[str]:
    """`head` (a `key:` or a `-`) followed by its value, inline when it fits."""
    comment = ""
    if isinstance(value, Note):
        value, comment = value.value, f" # {value.comment}"
    if isinstance(value, Folded):
        pad = " " * (indent + 2)
        return [f"{head} >-"] + [pad + line for line in textwrap.wrap(value.text, WIDTH - indent - 2)]
    text = inline(value)
    long_ok = isinstance(value, (str, int, bool, Raw)) or (
        isinstance(value, Tag) and value.name == "Select")  # ROUTES' slots: one line each
    if text is not None and (long_ok or len(head) + 1 + len(text) + len(comment) <= WIDTH):
        return [f"{head} {text}{comment}"]
    if isinstance(value, Tag):
        if isinstance(value.arg, (list, dict)):
            return [f"{head} !{value.name}{comment}"] + block(value.arg, indent + 2)
        return [f"{head} {text}{comment}"]  # a long scalar: one line all the same
    lines = block(value, indent + 2)
    if item_of_list:
        # `- key: value` / `- - item`: the first line shares the dash; comments go above it.
        lead = 0
        while lead < len(lines) and lines[lead].lstrip().startswith("#"):
            lead += 1
        notes = [line[2:] for line in lines[:lead]]
        return notes + [f"{head} {lines[lead].lstrip()}{comment}"] + lines[lead + 1:]
    return [f"{head}{comment}"] + lines


def render_yaml(node: dict) -> str:
    """Top-level sections, a blank line before each, and before each resource."""
    out: list[str] = []
    for key, value in node.items():
        if isinstance(key, Comment):
            out.extend(comment_lines(key.text, ""))
        elif key in SECTIONS:
            out.extend(["", f"{key}:"])
            after_comment = False
            for name, item in value.items():
                if isinstance(name, Comment):
                    out.append("")
                    out.extend(comment_lines(name.text, "  "))
                    after_comment = True
                    continue
                if key == "Resources" and not after_comment:
                    out.append("")
                after_comment = False
                out.extend(entry(f"  {key_text(name)}:", item, 2))
        else:
            out.extend(entry(f"{key_text(key)}:", value, 0))
    return "\n".join(out) + "\n"


SECTIONS = ("Parameters", "Conditions", "Globals", "Resources", "Outputs")


# --- names ------------------------------------------------------------------------------------


def camel(name: str) -> str:
    """stripe-webhook -> StripeWebhook."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("-"))


def route_parameter(receiver: str, deliverer: str) -> str:
    return f"{camel(receiver)}To{camel(deliverer)}"


def route_condition(receiver: str, deliverer: str) -> str:
    return f"Route{camel(receiver)}To{camel(deliverer)}"


# --- pieces shared by receivers and deliverers --------------------------------------------------


def function_head(name: str) -> dict:
    return {
        "Type": "AWS::Serverless::Function",
        "Metadata": {"BuildMethod": "rust-cargolambda", "BuildProperties": {"Binary": name}},
    }


def log_group(name: str) -> dict:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": Sub(f"/aws/lambda/${{FunctionNamePrefix}}{name}"),
            "RetentionInDays": Ref("LogRetentionDays"),
        },
    }


def events_queue(ident: str, visibility: int, visibility_note: str) -> dict:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "SqsManagedSseEnabled": True,
            "MessageRetentionPeriod": Note(
                RETENTION_SECONDS, "14 days: outlasts the deliverer's retry period (RETRY_PERIOD, 72 h)"),
            "MaximumMessageSize": Note(MAX_MESSAGE_BYTES, "1 MiB: the envelope around a MAX_BODY_BYTES body fits"),
            "VisibilityTimeout": Note(visibility, visibility_note),
            "RedrivePolicy": {
                "deadLetterTargetArn": GetAtt(f"{ident}DeadLetterQueue.Arn"),
                Comment(f"A backstop above the deliverer's MAX_ATTEMPTS ({MAX_ATTEMPTS}): the kit "
                        "dead-letters a record itself, with class and reason, when its retry period "
                        "or attempts run out; the redrive only catches records that never reach the "
                        "runner (a function that crashes on them)."): None,
                "maxReceiveCount": MAX_RECEIVE_COUNT,
            },
        },
    }


def dead_letter_queue() -> dict:
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "SqsManagedSseEnabled": True,
            "MessageRetentionPeriod": Note(RETENTION_SECONDS, "14 days, the SQS maximum"),
            "MaximumMessageSize": MAX_MESSAGE_BYTES,
        },
    }


def alarm(name: str, suffix: str, description: str, namespace: str, metric: str,
          dimension: tuple[str, object], statistic: str = "Sum", threshold: int = 0,
          periods: int = 1, comment: str | None = None) -> dict:
    props: dict = {}
    if comment:
        props[Comment(comment)] = None
    props.update({
        "AlarmName": Sub(f"${{AWS::StackName}}-{name}-{suffix}"),
        "AlarmDescription": f"{name}: {description}",
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": dimension[0], "Value": dimension[1]}],
        "Statistic": statistic,
        "Period": 300,
        "EvaluationPeriods": periods,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": Raw(ALARM_ACTIONS),
        "OKActions": Raw(ALARM_ACTIONS),
    })
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def common_alarms(name: str, ident: str, errors_example: str) -> dict:
    """Alarms every function has: its DLQ, its queue's oldest message, errors, throttles."""
    function = ("FunctionName", Ref(f"{ident}Function"))
    return {
        f"{ident}DeadLetterAlarm": alarm(
            name, "dead-letters", "messages in the dead-letter queue (a consumer gave up on them).",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible",
            ("QueueName", GetAtt(f"{ident}DeadLetterQueue.QueueName")), statistic="Maximum"),
        f"{ident}QueueAgeAlarm": alarm(
            name, "queue-age",
            "the oldest queued event is older than 15 minutes (consumer stalled, missing, or "
            "retrying a failing destination).",
            "AWS/SQS", "ApproximateAgeOfOldestMessage",
            ("QueueName", GetAtt(f"{ident}Queue.QueueName")), statistic="Maximum", threshold=900),
        f"{ident}ErrorsAlarm": alarm(
            name, "errors", f"invocation errors (crash, timeout, failed cold start such as {errors_example}).",
            "AWS/Lambda", "Errors", function),
        f"{ident}ThrottlesAlarm": alarm(
            name, "throttles",
            "Lambda throttled invocations (the account's or region's concurrency is used up).",
            "AWS/Lambda", "Throttles", function),
    }


# --- receivers ----------------------------------------------------------------------------------


def routes_value(name: str, ident: str, deliverers: dict) -> Tag:
    """ROUTES: `{"<pattern>": "<deliverer queue URL>", ..., "*": "<own queue URL>"}`, built from
    the routing parameters. A parameter lists up to MAX_ROUTE_PATTERNS comma-separated patterns;
    CloudFormation cannot loop, so each pair has MAX_ROUTE_PATTERNS slots P0, P1, ..., filled
    from the list repeated MAX_ROUTE_PATTERNS times and split again: a shorter list fills the
    slots with repeats, which the route table absorbs (an event goes to each queue once). An
    empty parameter drops the pair (its condition)."""
    parts: list = ["{"]
    for deliverer in deliverers:
        parameter = route_parameter(name, deliverer)
        queue = f"${{{camel(deliverer)}Queue}}"
        repeated = ",".join([f"${{{parameter}}}"] * MAX_ROUTE_PATTERNS)
        entries = "".join(f'"${{P{i}}}":"{queue}",' for i in range(MAX_ROUTE_PATTERNS))
        slots = {f"P{i}": Tag("Select", [i, Tag("Split", [",", Sub(repeated)])])
                 for i in range(MAX_ROUTE_PATTERNS)}
        parts.append(If(route_condition(name, deliverer), Sub(entries, slots), ""))
    parts.append(Sub(f'"*":"${{{ident}Queue}}"}}'))
    return Tag("Join", ["", parts])


def receiver_resources(name: str, spec: dict, deliverers: dict) -> dict:
    ident = camel(name)
    provider = spec["provider"]
    env: dict = {
        "SECRET_ID": Ref(f"{ident}SigningSecret"),
        Comment("Its own events queue. ROUTES (below) is set, so the runtime uses it instead; "
                "ROUTES sends every type (\"*\") here too."): None,
        "QUEUE_URL": Ref(f"{ident}Queue"),
        Comment("Event types to the deliverers' queues (the routing parameters) and \"*\" to its "
                "own queue: see infra/README.md, Routing."): None,
        "ROUTES": routes_value(name, ident, deliverers),
        "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
    }
    if "source_parameter" in spec:
        env["SOURCE"] = Ref(spec["source_parameter"]["name"])
    env["POWERTOOLS_SERVICE_NAME"] = name
    function = function_head(name)
    function["Properties"] = {
        "FunctionName": Sub(f"${{FunctionNamePrefix}}{name}"),
        "Description": f"Switchyard receiver: {provider} webhook -> verify -> CloudEvents -> SQS",
        "CodeUri": "..",
        Comment(f"Public URL on purpose (AuthType NONE): {provider} cannot sign AWS requests. The "
                f"webhook signature is the authentication: {spec['signature']}, checked against the "
                "signing secret; a missing or wrong signature is answered 401."): None,
        "FunctionUrlConfig": {"AuthType": "NONE"},
        "LoggingConfig": {"LogGroup": Ref(f"{ident}LogGroup")},
        "Environment": {"Variables": env},
        Comment("Its own queue and secret only; sending to the deliverers' queues it routes to is "
                f"{ident}RoutesPolicy, one statement per routed deliverer."): None,
        "Policies": [
            {"SQSSendMessagePolicy": {"QueueName": GetAtt(f"{ident}Queue.QueueName")}},
            {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": Ref(f"{ident}SigningSecret")}},
        ],
    }
    routed = [route_condition(name, d) for d in deliverers]
    statements = [
        If(route_condition(name, d), {
            "Sid": f"SendTo{camel(d)}",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": GetAtt(f"{camel(d)}Queue.Arn"),
        }, NO_VALUE)
        for d in deliverers
    ]
    secret_comment = ("A random placeholder so the stack deploys before the real value exists; "
                      "nobody knows it, so every request is answered 401 until the real secret is put.")
    if spec.get("secret_note"):
        secret_comment += " " + spec["secret_note"]
    resources = {
        f"{ident}Function": function,
        f"{ident}RoutesPolicy": {
            "Type": "AWS::IAM::Policy",
            "Condition": f"{ident}RoutesToDeliverers",
            "Properties": {
                "PolicyName": "send-to-routed-deliverers",
                "Roles": [Ref(f"{ident}FunctionRole")],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            },
        },
        f"{ident}LogGroup": log_group(name),
        f"{ident}Queue": events_queue(
            ident, 60, "for a consumer: six times a 10 s function timeout (Lambda's advice)"),
        f"{ident}DeadLetterQueue": dead_letter_queue(),
        f"{ident}SigningSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": Sub(f"${{AWS::StackName}}/{name}/signing-secret"),
                "Description": Folded(
                    f"{provider} webhook signing secret for the {name} receiver. Replace the "
                    f"generated placeholder with {spec['secret']}: either the plain secret, or JSON "
                    '{"signing_secret": "...", "previous_signing_secrets": ["..."]} while rotating. '
                    "Receivers re-read it within 5 minutes (at once on a signature mismatch)."),
                Comment(secret_comment): None,
                "GenerateSecretString": {"PasswordLength": 32, "ExcludePunctuation": True},
            },
        },
    }
    if not routed:
        del resources[f"{ident}RoutesPolicy"]
    resources.update(common_alarms(name, ident, "a missing secret"))
    resources[f"{ident}Url5xxAlarm"] = alarm(
        name, "url-5xx",
        f"the Function URL answered 5xx (unusable secret, SQS refused, function error); {spec['retries']}",
        "AWS/Lambda", "Url5xxCount", ("FunctionName", Ref(f"{ident}Function")))
    return resources


# --- deliverers ---------------------------------------------------------------------------------


def deliverer_resources(name: str, spec: dict) -> dict:
    ident = camel(name)
    secret = f"{ident}{spec['secret']['suffix']}"
    timeout = spec["timeout"]
    env: dict = {
        "SECRET_ID": Ref(secret),
        "DLQ_URL": Ref(f"{ident}DeadLetterQueue"),
        "IDEMPOTENCY_TABLE": Ref("IdempotencyTable"),
    }
    for key, value in (spec.get("env") or {}).items():
        env[key] = Ref(value["parameter"]) if isinstance(value, dict) else str(value)
    env[Comment(spec["rate_reason"])] = None
    env[spec["rate_limit_env"]] = spec["rate_limit"]
    env["POWERTOOLS_SERVICE_NAME"] = name
    function = function_head(name)
    function["Properties"] = {
        "FunctionName": Sub(f"${{FunctionNamePrefix}}{name}"),
        "Description": f"Switchyard deliverer: {spec['summary']}",
        "CodeUri": "..",
        Comment(f"{spec['timeout_reason']} {spec['memory']} MB: the process holds ~10 MiB and a "
                "batch is at most Lambda's 6 MB payload; the work waits on the destination, not "
                "the CPU."): None,
        "Timeout": timeout,
        "MemorySize": spec["memory"],
        "LoggingConfig": {"LogGroup": Ref(f"{ident}LogGroup")},
        "Environment": {"Variables": env},
        Comment("No SAM `Events`: SAM would attach AWSLambdaSQSQueueExecutionRole (sqs:* actions on "
                f"every queue); the mapping is {ident}FunctionQueue and the poller rights below are "
                "on this queue only."): None,
        "Policies": [
            {"SQSPollerPolicy": {"QueueName": GetAtt(f"{ident}Queue.QueueName")}},
            {"Statement": [{
                Comment("The runner resolves its source queue's URL from the record's ARN."): None,
                "Effect": "Allow",
                "Action": "sqs:GetQueueUrl",
                "Resource": GetAtt(f"{ident}Queue.Arn"),
            }]},
            {"SQSSendMessagePolicy": {"QueueName": GetAtt(f"{ident}DeadLetterQueue.QueueName")}},
            {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": Ref(secret)}},
            {"Statement": [{
                Comment(f"The delivery ledger: only this integration's keys ({name}#<source>#<id>); "
                        "the idempotency layer reads and conditionally updates, nothing else."): None,
                "Effect": "Allow",
                "Action": Raw("[dynamodb:GetItem, dynamodb:UpdateItem]"),
                "Resource": GetAtt("IdempotencyTable.Arn"),
                "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{name}#*"]}},
            }]},
        ],
    }
    mapping_props = {
        "EventSourceArn": GetAtt(f"{ident}Queue.Arn"),
        "FunctionName": Ref(f"{ident}Function"),
        "Enabled": True,
        Comment(spec["batch_reason"]): None,
        "BatchSize": spec["batch_size"],
        "MaximumBatchingWindowInSeconds": spec["batching_window"],
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        Comment(f"Backpressure that keeps {spec['destination']}'s rate limit: at most this many "
                f"instances, each holding {spec['rate_limit_env']} ({spec['rate_limit']}); 2 is "
                "the least AWS allows."): None,
        "ScalingConfig": {"MaximumConcurrency": spec["max_concurrency"]},
    }
    resources = {
        f"{ident}Function": function,
        f"{ident}FunctionQueue": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": mapping_props},
        f"{ident}LogGroup": log_group(name),
        f"{ident}Queue": events_queue(
            ident, VISIBILITY_FACTOR * timeout,
            f"{VISIBILITY_FACTOR} x the function timeout ({timeout} s), as Lambda advises"),
        f"{ident}DeadLetterQueue": dead_letter_queue(),
        secret: {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": Sub(f"${{AWS::StackName}}/{name}/{spec['secret']['name']}"),
                "Description": Folded(spec["secret"]["description"]),
                Comment("A placeholder, never a real value: put the real one after the deploy."): None,
                "SecretString": spec["secret"]["placeholder"],
            },
        },
    }
    resources.update(common_alarms(name, ident, "an invalid mapping"))
    service = ("service", name)
    resources[f"{ident}FunctionFailuresAlarm"] = alarm(
        name, "function-failures",
        "records handed back because the function's own credentials or configuration failed "
        f"({spec['failure_hint']}).", "Switchyard", "function_failures", service)
    resources[f"{ident}DeadLetteredAlarm"] = alarm(
        name, "dead-lettered",
        "the function dead-lettered records (permanent errors, or retries ran out); class and reason "
        "are in their attributes.", "Switchyard", "dead_lettered", service)
    resources[f"{ident}ThrottledAlarm"] = alarm(
        name, "throttled",
        f"{spec['destination']} kept throttling records for 15 minutes (rate limit too high for "
        "what the destination grants).", "Switchyard", "throttled", service, periods=3,
        comment="Sustained: a 429 now and then is honoured and normal; three 5-minute periods "
                "in a row are not.")
    for extra in spec.get("extra_alarms") or []:
        resources[f"{ident}{extra['suffix']}Alarm"] = alarm(
            name, extra["name"], extra["description"], "Switchyard", extra["metric"], service)
    return resources


# --- the alarm path -----------------------------------------------------------------------------


def alarm_path(target: str) -> dict:
    ident = camel(target)
    transformer = json.dumps({
        "specversion": "1.0", "id": "<id>", "source": "aws.cloudwatch",
        "type": "alarm.state_change", "time": "<time>",
        "datacontenttype": "application/json", "data": "<detail>",
    }).replace('"<id>"', "<id>").replace('"<time>"', "<time>").replace('"<detail>"', "<detail>")
    return {
        Comment(f"Alerting through Switchyard itself: every alarm of this stack (named "
                f"<stack>-...) changing state -> EventBridge -> {target}'s queue as a CloudEvents "
                f"1.0 envelope -> Slack. data is the event's detail (alarmName, state, "
                f"previousState, configuration), which {target}'s mapping rule "
                "cloudwatch-alarm-state-change reads."): None,
        "AlarmNotificationRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": f"This stack's CloudWatch alarms -> {target} (CloudEvents envelope)",
                "State": "ENABLED",
                "EventPattern": {
                    "source": ["aws.cloudwatch"],
                    "detail-type": ["CloudWatch Alarm State Change"],
                    "detail": {"alarmName": [{"prefix": Sub("${AWS::StackName}-")}]},
                },
                "Targets": [{
                    "Id": target,
                    "Arn": GetAtt(f"{ident}Queue.Arn"),
                    "InputTransformer": {
                        "InputPathsMap": {"id": "$.id", "time": "$.time", "detail": "$.detail"},
                        Comment("Placeholders without quotes: EventBridge writes the values as "
                                "JSON (strings quoted, detail as an object)."): None,
                        "InputTemplate": transformer,
                    },
                }],
            },
        },
        f"{ident}QueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [Ref(f"{ident}Queue")],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": "AlarmNotifications",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": GetAtt(f"{ident}Queue.Arn"),
                        "Condition": {"ArnEquals": {"aws:SourceArn": GetAtt("AlarmNotificationRule.Arn")}},
                    }],
                },
            },
        },
    }


# --- the template -------------------------------------------------------------------------------


HEADER = """\
GENERATED by scripts/gen_template.py from infra/functions.yaml: do not edit by hand.
Regenerate with `make template`; `scripts/gen_template.py --check` fails while this file
differs from what the description generates.

Switchyard on AWS SAM: {receivers} webhook receivers and {deliverers} deliverers, one Rust binary each (functions/<name>/, binary name = function name), built by `sam build` through cargo-lambda (BuildMethod rust-cargolambda, CodeUri = the workspace root).

  provider --HTTPS--> Function URL --> receiver --ROUTES--> deliverer queue --> deliverer --> API
                      (AuthType NONE)       |   "*"                 | DLQ            |
                                signing secret   +--> own queue, DLQ           ledger, secret
  this stack's alarms --EventBridge, CloudEvents envelope--> slack-notify's queue --> Slack

Per receiver: <Name>Function (+ <Name>FunctionUrl, <Name>FunctionRole made by SAM), <Name>RoutesPolicy, <Name>LogGroup, <Name>Queue, <Name>DeadLetterQueue, <Name>SigningSecret, alarms. Per deliverer: <Name>Function, <Name>FunctionQueue (event source mapping), <Name>LogGroup, <Name>Queue, <Name>DeadLetterQueue, its secret, alarms. Shared: IdempotencyTable, AlarmNotificationRule, SlackNotifyQueuePolicy.

scripts/check-infra.sh lints this file (cfn-lint) and checks it against functions/*/Cargo.toml.
Everything is explained in infra/README.md."""


def parameters(receivers: dict, deliverers: dict) -> dict:
    params: dict = {
        "FunctionNamePrefix": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^[A-Za-z0-9_-]{0,24}$",
            "Description": Folded(
                "Prefix for the Lambda function names (empty: the functions are named exactly like "
                'their binaries). Set it, e.g. "staging-", to deploy a second stack in the same '
                "account and region."),
        },
    }
    for spec in receivers.values():
        if "source_parameter" in spec:
            p = spec["source_parameter"]
            params[p["name"]] = {"Type": "String", "Default": p["default"], "MinLength": 1,
                                 "Description": p["description"]}
    params["AlarmTopicArn"] = {
        "Type": "String",
        "Default": "",
        "AllowedPattern": "^(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+)?$",
        "Description": Folded(
            "SNS topic ARN for alarm notifications as well as Slack (the way to hear of "
            "slack-notify's own alarms when Slack is what fails); empty means no alarm actions."),
    }
    params["SlackAlertChannel"] = {
        "Type": "String",
        "AllowedPattern": "^[CGD][A-Z0-9]{6,}$",
        "ConstraintDescription": "a Slack channel id (C..., G..., D...), not its name",
        "Description": Folded(
            "The Slack channel id slack-notify posts to when a mapping rule names none "
            "(SLACK_CHANNEL): the stack's alarms and the default mapping's messages. Required: the "
            "embedded mapping names no channel, so slack-notify does not start without it."),
    }
    params["LogRetentionDays"] = {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": Raw("[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, "
                             "1827, 2192, 2557, 2922, 3288, 3653]"),
        "Description": "How long the functions' logs are kept.",
    }
    for receiver, spec in receivers.items():
        for deliverer in deliverers:
            default = ",".join(spec.get("routes", {}).get(deliverer, []))
            params[route_parameter(receiver, deliverer)] = {
                "Type": "String",
                "Default": default,
                "AllowedPattern": ROUTE_PARAMETER_PATTERN,
                "ConstraintDescription": (f"up to {MAX_ROUTE_PATTERNS} comma-separated event-type "
                                          "patterns without spaces (letters, digits, . _ / : - and *)"),
                "Description": (f"Event types {receiver} sends to the {deliverer} queue: up to "
                                f"{MAX_ROUTE_PATTERNS} comma-separated patterns (* matches any run "
                                "of characters); empty: none."),
            }
    return params


def conditions(receivers: dict, deliverers: dict) -> dict:
    conds: dict = {"HasAlarmTopic": Raw('!Not [!Equals [!Ref AlarmTopicArn, ""]]')}
    for receiver in receivers:
        pairs = []
        for deliverer in deliverers:
            cond = route_condition(receiver, deliverer)
            pairs.append(cond)
            conds[cond] = Raw(f'!Not [!Equals [!Ref {route_parameter(receiver, deliverer)}, ""]]')
        if len(pairs) == 1:
            conds[f"{camel(receiver)}RoutesToDeliverers"] = Raw(f"!Condition {pairs[0]}")
        elif pairs:
            conds[f"{camel(receiver)}RoutesToDeliverers"] = Tag(
                "Or", [Raw(f"!Condition {c}") for c in pairs])
    return conds


def idempotency_table() -> dict:
    return {
        Comment("The delivery ledger of every deliverer (keys <function>#<source>#<id>): on "
                "demand, TTL on `expiration`, point-in-time recovery. Each deliverer may touch "
                "only its own keys (dynamodb:LeadingKeys in its role)."): None,
        "IdempotencyTable": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        },
    }


def outputs(receivers: dict, deliverers: dict) -> dict:
    out: dict = {}
    for name, spec in receivers.items():
        ident = camel(name)
        out[f"{ident}Url"] = {
            "Description": f"{name}: the URL to give {spec['provider']} ({spec['endpoint']})",
            "Value": GetAtt(f"{ident}FunctionUrl.FunctionUrl"),
        }
        out[f"{ident}QueueUrl"] = {"Description": f"{name}: the events queue", "Value": Ref(f"{ident}Queue")}
        out[f"{ident}DeadLetterQueueUrl"] = {"Description": f"{name}: the dead-letter queue",
                                            "Value": Ref(f"{ident}DeadLetterQueue")}
        out[f"{ident}SigningSecretArn"] = {
            "Description": f"{name}: put the real signing secret here (aws secretsmanager put-secret-value)",
            "Value": Ref(f"{ident}SigningSecret"),
        }
    for name, spec in deliverers.items():
        ident = camel(name)
        out[f"{ident}QueueUrl"] = {"Description": f"{name}: its queue ({spec['queue_summary']})",
                                  "Value": Ref(f"{ident}Queue")}
        out[f"{ident}DeadLetterQueueUrl"] = {"Description": f"{name}: its dead-letter queue",
                                            "Value": Ref(f"{ident}DeadLetterQueue")}
        secret = f"{ident}{spec['secret']['suffix']}"
        out[f"{secret}Arn"] = {"Description": f"{name}: {spec['secret']['output']}", "Value": Ref(secret)}
    out["IdempotencyTableName"] = {"Description": "the delivery ledger (look up one event: switchyard trace)",
                                   "Value": Ref("IdempotencyTable")}
    return out


# --- checkov: the checks that do not apply, each with its reason on the resource ------------
# checkov (scripts/check-infra.sh) fails on any failed check a resource does not skip, and
# scripts/check_infra.py refuses a skip without a comment. Every skip below is a decision, not
# a defect left open; the reasons are read by whoever audits the stack.

FUNCTION_SKIPS = {
    "receiver": [
        ("CKV_AWS_115", "No reserved concurrency: on a new account (concurrency quota 10, AWS keeps 10 "
         "unreserved) any reservation fails the deploy. A receiver only verifies and enqueues within "
         "its 10 s timeout; set ReservedConcurrentExecutions once the quota allows."),
        ("CKV_AWS_116", "A function DLQ only receives failed asynchronous invocations; a receiver is "
         "invoked synchronously through its Function URL and a failure is answered 5xx, which the "
         "provider retries. Accepted events have their own dead-letter queue."),
        ("CKV_AWS_117", "No VPC: the function reaches only AWS public endpoints (SQS, Secrets Manager) "
         "and nothing private; a VPC would add NAT gateways or interface endpoints and ENI set-up for "
         "no isolation gained."),
        ("CKV_AWS_173", "The environment holds no secret, only resource ids and settings (the signing "
         "secret is read from Secrets Manager at run time); Lambda encrypts it at rest with its AWS "
         "managed key."),
    ],
    "deliverer": [
        ("CKV_AWS_115", "Concurrency is bounded by the SQS event source's "
         "ScalingConfig.MaximumConcurrency, which slows polling instead of throttling invocations (a "
         "throttled batch would spend receive counts); a reservation would also fail the deploy on a "
         "new account (concurrency quota 10)."),
        ("CKV_AWS_116", "A function DLQ only receives failed asynchronous invocations; this function is "
         "invoked synchronously by its SQS event source mapping. Records that cannot be delivered go "
         "to DLQ_URL (the runner, with class and reason) or, as a backstop, to the queue's "
         "RedrivePolicy dead-letter queue."),
        ("CKV_AWS_117", "No VPC: the function reaches only the SaaS API's public endpoint and AWS "
         "public endpoints (SQS, Secrets Manager, DynamoDB) and nothing private; a VPC would add NAT "
         "gateways (needed for the SaaS API) and ENI set-up for no isolation gained."),
        ("CKV_AWS_173", "The environment holds no secret, only resource ids and settings (the API "
         "token is read from Secrets Manager at run time); Lambda encrypts it at rest with its AWS "
         "managed key."),
    ],
}

TYPE_SKIPS = {
    "AWS::Logs::LogGroup": [
        ("CKV_AWS_158", "CloudWatch Logs encrypts log data at rest by default. The functions never log "
         "secrets or tokens (the kit's SecretString redacts them), so a customer managed key, with a "
         "key policy granting the Logs service, would add cost and a deploy dependency without "
         "protecting anything more."),
    ],
    "AWS::SQS::Queue": [
        ("CKV_AWS_27", "Encrypted at rest: SqsManagedSseEnabled is true (SSE-SQS). checkov's "
         "CloudFormation check only recognises KmsMasterKeyId (SSE-KMS), which would add a KMS call "
         "per batch and a key policy for nothing more here."),
    ],
    "AWS::SecretsManager::Secret": [
        ("CKV_AWS_149", "Secrets Manager always encrypts with KMS, here its AWS managed key "
         "(aws/secretsmanager). A customer managed key is needed for cross-account access only; this "
         "secret is read by one role of this account, scoped to its ARN."),
    ],
    "AWS::DynamoDB::Table": [
        ("CKV_AWS_119", "Encrypted at rest with DynamoDB's AWS managed key (SSESpecification.SSEEnabled). "
         "The ledger holds delivery state (keys, status, attempts, timestamps, error class and "
         "reason), not event payloads or secrets, and is used by this account's deliverers only: a "
         "customer managed key would add cost and a key policy for no access it could restrict "
         "further."),
    ],
}


def skips(entries: list) -> dict:
    return {"skip": [{"id": check, "comment": Folded(reason)} for check, reason in entries]}


def with_checkov_skips(resources: dict, deliverers: dict) -> dict:
    """Each resource with the checkov skips of its kind in its Metadata, right after its Type."""
    out: dict = {}
    for key, resource in resources.items():
        if not isinstance(resource, dict) or "Type" not in resource:
            out[key] = resource
            continue
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function":
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            entries = FUNCTION_SKIPS["deliverer" if binary in deliverers else "receiver"]
        else:
            entries = TYPE_SKIPS.get(kind)
        if not entries:
            out[key] = resource
            continue
        metadata = dict(resource.get("Metadata") or {})
        metadata["checkov"] = skips(entries)
        rebuilt = {"Type": kind, "Metadata": metadata}
        rebuilt.update({k: v for k, v in resource.items() if k not in ("Type", "Metadata")})
        out[key] = rebuilt
    return out


def build(description: dict) -> dict:
    receivers: dict = description["receivers"]
    deliverers: dict = description["deliverers"]
    for receiver, spec in receivers.items():
        for deliverer in spec.get("routes") or {}:
            if deliverer not in deliverers:
                raise SystemExit(f"gen_template: {receiver} routes to {deliverer!r}, which is no deliverer")
    alarm_targets = [name for name, spec in deliverers.items() if spec.get("receives_alarms")]
    if len(alarm_targets) != 1:
        raise SystemExit("gen_template: exactly one deliverer must have receives_alarms: true")

    resources: dict = {}
    for name, spec in receivers.items():
        resources[Comment(f"{'-' * 90}\n{name}: {spec['provider']} receiver\n{'-' * 90}")] = None
        resources.update(receiver_resources(name, spec, deliverers))
    resources[Comment(f"{'-' * 90}\nShared by the deliverers\n{'-' * 90}")] = None
    resources.update(idempotency_table())
    resources.update(alarm_path(alarm_targets[0]))
    for name, spec in deliverers.items():
        resources[Comment(f"{'-' * 90}\n{name}: deliverer ({spec['summary']})\n{'-' * 90}")] = None
        resources.update(deliverer_resources(name, spec))

    return {
        Comment(HEADER.format(receivers=len(receivers), deliverers=len(deliverers))): None,
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Switchyard: webhook receivers (Function URL -> verify -> CloudEvents -> SQS) and deliverers (SQS -> SaaS API)",
        "Parameters": parameters(receivers, deliverers),
        "Conditions": conditions(receivers, deliverers),
        "Globals": {
            "Function": {
                "Runtime": "provided.al2023",
                "Architectures": ["arm64"],
                "Handler": "bootstrap",
                "MemorySize": 128,
                Comment("Receivers must answer fast: providers give up after 10-30 s and retry. "
                        "Deliverers set their own."): None,
                "Timeout": 10,
                "LoggingConfig": {"LogFormat": "JSON"},
                Comment("No ReservedConcurrentExecutions: on a new account (concurrency quota 10) "
                        "any reservation fails the deploy. Set one per function once the account's "
                        "quota allows it."): None,
            },
        },
        "Resources": with_checkov_skips(resources, deliverers),
        "Outputs": outputs(receivers, deliverers),
    }


def render(functions_path: Path = FUNCTIONS) -> str:
    description = yaml.safe_load(functions_path.read_text())
    return render_yaml(build(description))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the template is not what the description generates")
    parser.add_argument("--functions", type=Path, default=FUNCTIONS)
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    text = render(args.functions)
    if args.check:
        current = args.template.read_text() if args.template.exists() else None
        if current != text:
            what = "is missing" if current is None else "is not what it generates"
            print(f"gen_template: {args.template} {what} from {args.functions}: "
                  "run `make template` and commit the result", file=sys.stderr)
            return 1
        print(f"gen_template: {args.template} is up to date with {args.functions}")
        return 0
    args.template.write_text(text)
    print(f"gen_template: wrote {args.template}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
