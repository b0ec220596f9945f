#!/usr/bin/env python3
"""Tests of scripts/gen_template.py: `--check` notices a stale template, and the rendered template
keeps the deliverer and receiver invariants (visibility timeout, DLQs, partial batch responses,
routes only to deliverer queues, routing parameters that evaluate to a valid ROUTES table, no
IAM `*`). Standard library + PyYAML:

    python3 -m unittest discover -s scripts -p 'test_gen_template.py'
    .venv/bin/python scripts/test_gen_template.py
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_template  # noqa: E402


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short tags into their long form."""


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    return {f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _tagged)

DESCRIPTION = yaml.safe_load(gen_template.FUNCTIONS.read_text())
TEMPLATE = yaml.load(gen_template.render(), Loader=CfnLoader)
RESOURCES = TEMPLATE["Resources"]
FAKE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/{}"


def evaluate(node, params: dict, conditions: dict):
    """Evaluates the intrinsics ROUTES uses, queues resolving to FAKE_URL.format(logical id)."""
    if isinstance(node, list):
        return [evaluate(item, params, conditions) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref":
            return params[arg] if arg in params else FAKE_URL.format(arg)
        if key == "Fn::If":
            name, then, otherwise = arg
            return evaluate(then if conditions[name] else otherwise, params, conditions)
        if key == "Fn::Join":
            return arg[0].join(evaluate(arg[1], params, conditions))
        if key == "Fn::Split":
            return evaluate(arg[1], params, conditions).split(arg[0])
        if key == "Fn::Select":
            return evaluate(arg[1], params, conditions)[arg[0]]
        if key == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else arg
            values = {k: evaluate(v, params, conditions) for k, v in local.items()}
            return re.sub(r"\$\{([^}]+)\}",
                          lambda m: values.get(m.group(1)) or evaluate({"Ref": m.group(1)}, params, conditions),
                          text)
    raise AssertionError(f"unexpected intrinsic {node!r}")


def condition_values(params: dict) -> dict:
    """The Route<R>To<D> conditions for these parameter values (non-empty = routed)."""
    out = {}
    for receiver in DESCRIPTION["receivers"]:
        for deliverer in DESCRIPTION["deliverers"]:
            out[gen_template.route_condition(receiver, deliverer)] = (
                params[gen_template.route_parameter(receiver, deliverer)] != "")
    return out


def defaults() -> dict:
    return {name: str(p.get("Default", "")) for name, p in TEMPLATE["Parameters"].items()}


def routes_of(receiver: str, params: dict) -> dict:
    env = RESOURCES[f"{gen_template.camel(receiver)}Function"]["Properties"]["Environment"]["Variables"]
    text = evaluate(env["ROUTES"], params, condition_values(params))
    pairs = json.loads(text, object_pairs_hook=list)  # the runtime keeps duplicates, in order
    table: dict[str, set] = {}
    for pattern, url in pairs:
        table.setdefault(pattern, set()).add(url)
    return table


def statements(node):
    """Every IAM statement in a subtree (inside Fn::If too)."""
    if isinstance(node, dict):
        if "Effect" in node and ("Action" in node or "NotAction" in node):
            yield node
        for value in node.values():
            yield from statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from statements(value)


class CheckFlag(unittest.TestCase):
    def run_main(self, *args) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = gen_template.main(list(args))
        return code, err.getvalue()

    def test_check_passes_on_a_fresh_template_and_fails_on_a_stale_one(self):
        with tempfile.TemporaryDirectory() as tmp:
            template = Path(tmp) / "template.yaml"
            self.assertEqual(self.run_main("--template", str(template))[0], 0)
            self.assertEqual(self.run_main("--check", "--template", str(template))[0], 0)
            template.write_text(template.read_text().replace("maxReceiveCount: 100", "maxReceiveCount: 5", 1))
            code, message = self.run_main("--check", "--template", str(template))
            self.assertEqual(code, 1)
            self.assertIn("make template", message)
            self.assertIn("5", template.read_text())  # --check never writes

    def test_check_fails_when_the_template_is_missing(self):
        with tempfile.TemporaryDirectory() as tmp:
            code, message = self.run_main("--check", "--template", str(Path(tmp) / "none.yaml"))
            self.assertEqual(code, 1)
            self.assertIn("missing", message)

    def test_the_checked_in_template_is_current_and_rendering_is_deterministic(self):
        text = gen_template.render()
        self.assertEqual(text, gen_template.render())
        self.assertEqual(gen_template.TEMPLATE.read_text(), text, "run `make template`")
        self.assertTrue(text.startswith("# GENERATED by scripts/gen_template.py"))


class Deliverers(unittest.TestCase):
    def test_every_deliverer_has_its_queue_dlq_and_partial_batch_mapping(self):
        for name, spec in DESCRIPTION["deliverers"].items():
            ident = gen_template.camel(name)
            with self.subTest(name):
                function = RESOURCES[f"{ident}Function"]["Properties"]
                self.assertNotIn("Events", function, "SAM events would attach a managed policy on *")
                queue = RESOURCES[f"{ident}Queue"]["Properties"]
                self.assertGreaterEqual(queue["VisibilityTimeout"], 6 * function["Timeout"])
                redrive = queue["RedrivePolicy"]
                self.assertEqual(redrive["deadLetterTargetArn"], {"Fn::GetAtt": [f"{ident}DeadLetterQueue", "Arn"]})
                self.assertGreater(redrive["maxReceiveCount"], gen_template.MAX_ATTEMPTS)
                self.assertEqual(RESOURCES[f"{ident}DeadLetterQueue"]["Type"], "AWS::SQS::Queue")
                mapping = RESOURCES[f"{ident}FunctionQueue"]
                self.assertEqual(mapping["Type"], "AWS::Lambda::EventSourceMapping")
                props = mapping["Properties"]
                self.assertEqual(props["EventSourceArn"], {"Fn::GetAtt": [f"{ident}Queue", "Arn"]})
                self.assertEqual(props["FunctionName"], {"Ref": f"{ident}Function"})
                self.assertEqual(props["FunctionResponseTypes"], ["ReportBatchItemFailures"])
                self.assertLessEqual(props["BatchSize"], spec["batch_limit"])
                if props["BatchSize"] > 10:
                    self.assertGreaterEqual(props["MaximumBatchingWindowInSeconds"], 1)
                self.assertGreaterEqual(props["ScalingConfig"]["MaximumConcurrency"], 2)
                env = function["Environment"]["Variables"]
                self.assertEqual(env["DLQ_URL"], {"Ref": f"{ident}DeadLetterQueue"})
                self.assertEqual(env["IDEMPOTENCY_TABLE"], {"Ref": "IdempotencyTable"})
                self.assertEqual(env["POWERTOOLS_SERVICE_NAME"], name)
                self.assertEqual(function["LoggingConfig"], {"LogGroup": {"Ref": f"{ident}LogGroup"}})

    def test_hubspot_rate_limit_times_concurrency_is_the_app_limit(self):
        props = RESOURCES["HubspotContactsFunctionQueue"]["Properties"]
        env = RESOURCES["HubspotContactsFunction"]["Properties"]["Environment"]["Variables"]
        per_instance = int(env["HUBSPOT_RATE_LIMIT"].split("/")[0])
        self.assertEqual(per_instance * props["ScalingConfig"]["MaximumConcurrency"], 100)
        self.assertTrue(env["HUBSPOT_RATE_LIMIT"].startswith(f"{per_instance}/10s"))

    def test_the_ledger_is_limited_to_each_deliverers_own_keys(self):
        for name in DESCRIPTION["deliverers"]:
            policies = RESOURCES[f"{gen_template.camel(name)}Function"]["Properties"]["Policies"]
            ledger = [s for s in statements(policies) if s.get("Resource") == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
            self.assertEqual(len(ledger), 1, name)
            self.assertEqual(sorted(ledger[0]["Action"]), ["dynamodb:GetItem", "dynamodb:UpdateItem"])
            self.assertEqual(ledger[0]["Condition"], {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{name}#*"]}})

    def test_alarms_reach_slack_notify_as_a_cloudevent(self):
        rule = RESOURCES["AlarmNotificationRule"]["Properties"]
        self.assertEqual(rule["EventPattern"]["detail-type"], ["CloudWatch Alarm State Change"])
        self.assertEqual(rule["EventPattern"]["detail"]["alarmName"], [{"prefix": {"Fn::Sub": "${AWS::StackName}-"}}])
        target = rule["Targets"][0]
        self.assertEqual(target["Arn"], {"Fn::GetAtt": ["SlackNotifyQueue", "Arn"]})
        transformer = target["InputTransformer"]
        sample = transformer["InputTemplate"]
        for key, value in {"id": '"ev-1"', "time": '"2025-01-01T00:00:00Z"',
                           "detail": '{"alarmName": "s-x", "state": {"value": "ALARM"}}'}.items():
            self.assertIn(key, transformer["InputPathsMap"])
            sample = sample.replace(f"<{key}>", value)
        envelope = json.loads(sample)
        self.assertEqual(envelope["specversion"], "1.0")
        self.assertEqual((envelope["source"], envelope["type"]), ("aws.cloudwatch", "alarm.state_change"))
        self.assertEqual(envelope["data"]["state"]["value"], "ALARM")
        policy = RESOURCES["SlackNotifyQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
        self.assertEqual(policy["Principal"], {"Service": "events.amazonaws.com"})
        self.assertEqual(policy["Condition"], {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["AlarmNotificationRule", "Arn"]}}})

    def test_every_alarm_is_named_with_the_stack_prefix_the_rule_matches(self):
        alarms = [r for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
        self.assertGreater(len(alarms), 30)
        for resource in alarms:
            self.assertTrue(resource["Properties"]["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"))


class Receivers(unittest.TestCase):
    def test_default_routes_are_the_described_wiring_plus_the_own_queue(self):
        params = defaults()
        self.assertEqual(routes_of("stripe-webhook", params), {
            "invoice.payment_failed": {FAKE_URL.format("SlackNotifyQueue")},
            "customer.created": {FAKE_URL.format("HubspotContactsQueue")},
            "customer.updated": {FAKE_URL.format("HubspotContactsQueue")},
            "*": {FAKE_URL.format("StripeWebhookQueue")},
        })
        self.assertEqual(routes_of("github-webhook", params), {
            "issues.*": {FAKE_URL.format("SlackNotifyQueue")},
            "pull_request.*": {FAKE_URL.format("SlackNotifyQueue")},
            "*": {FAKE_URL.format("GithubWebhookQueue")},
        })
        self.assertEqual(routes_of("shopify-webhook", params)["customers/create"],
                         {FAKE_URL.format("HubspotContactsQueue")})
        self.assertEqual(routes_of("slack-events", params), {"*": {FAKE_URL.format("SlackEventsQueue")}})

    def test_a_routing_parameter_of_up_to_the_most_patterns_routes_each_one(self):
        params = defaults()
        patterns = [f"a{i}.*" for i in range(gen_template.MAX_ROUTE_PATTERNS)]
        params["SlackEventsToSlackNotify"] = ",".join(patterns)
        params["StripeWebhookToSlackNotify"] = ""
        table = routes_of("slack-events", params)
        self.assertEqual(set(table), set(patterns) | {"*"})
        self.assertNotIn("invoice.payment_failed", routes_of("stripe-webhook", params))
        allowed = re.compile(gen_template.ROUTE_PARAMETER_PATTERN)
        self.assertTrue(allowed.match(params["SlackEventsToSlackNotify"]))
        self.assertFalse(allowed.match(params["SlackEventsToSlackNotify"] + ",one.more"))
        self.assertFalse(allowed.match('a", "b'))
        self.assertFalse(allowed.match("a, b"))

    def test_routes_name_only_deliverer_queues_or_the_own_queue(self):
        deliverer_queues = {f"{gen_template.camel(d)}Queue" for d in DESCRIPTION["deliverers"]}
        for receiver in DESCRIPTION["receivers"]:
            own = f"{gen_template.camel(receiver)}Queue"
            env = RESOURCES[f"{gen_template.camel(receiver)}Function"]["Properties"]["Environment"]["Variables"]
            named = set(re.findall(r"\$\{(\w+Queue)\}", json.dumps(env["ROUTES"])))
            self.assertTrue(named <= deliverer_queues | {own}, (receiver, named))
            for name in named:
                self.assertEqual(RESOURCES[name]["Type"], "AWS::SQS::Queue")

    def test_receivers_may_send_only_to_their_own_and_routed_deliverer_queues(self):
        for receiver, spec in DESCRIPTION["receivers"].items():
            ident = gen_template.camel(receiver)
            props = RESOURCES[f"{ident}Function"]["Properties"]
            self.assertEqual(props["FunctionUrlConfig"], {"AuthType": "NONE"})
            policy = RESOURCES.get(f"{ident}RoutesPolicy")
            self.assertIsNotNone(policy, receiver)
            self.assertEqual(policy["Properties"]["Roles"], [{"Ref": f"{ident}FunctionRole"}])
            for wrapped in policy["Properties"]["PolicyDocument"]["Statement"]:
                condition, statement, otherwise = wrapped["Fn::If"]
                self.assertEqual(otherwise, {"Ref": "AWS::NoValue"})
                self.assertEqual(statement["Action"], "sqs:SendMessage")
                queue = statement["Resource"]["Fn::GetAtt"][0]
                self.assertIn(queue, {f"{gen_template.camel(d)}Queue" for d in DESCRIPTION["deliverers"]})
                self.assertTrue(condition.startswith(f"Route{ident}To"))


class Iam(unittest.TestCase):
    def test_no_statement_allows_every_resource_or_action(self):
        found = list(statements(RESOURCES))
        self.assertGreater(len(found), 10)
        for statement in found:
            for key in ("Resource", "Action"):
                values = statement.get(key)
                values = values if isinstance(values, list) else [values]
                self.assertNotIn("*", values, statement)
                for value in values:
                    if isinstance(value, str):
                        self.assertFalse(value.endswith(":*") and key == "Action", statement)

    def test_each_secret_is_readable_by_its_own_function_only(self):
        readers: dict[str, list[str]] = {}
        for logical_id, resource in RESOURCES.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            for policy in resource["Properties"]["Policies"]:
                if "AWSSecretsManagerGetSecretValuePolicy" in policy:
                    secret = policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]["Ref"]
                    readers.setdefault(secret, []).append(logical_id)
        secrets = [k for k, r in RESOURCES.items() if r["Type"] == "AWS::SecretsManager::Secret"]
        self.assertEqual(sorted(readers), sorted(secrets))
        for secret, functions in readers.items():
            self.assertEqual(len(functions), 1, secret)
        for secret in secrets:
            props = RESOURCES[secret]["Properties"]
            if "SecretString" in props:
                self.assertIn("placeholder", props["SecretString"])


if __name__ == "__main__":
    unittest.main()
