#!/usr/bin/env python3
"""Tests of scripts/local_stack.py against a private moto server and the real template.

The expectations are read from the translated template (every AWS::SQS::Queue, secret and
table; every function crate's function and event-source mapping), and what exists is read back
from moto with boto3, not from the script's own output, so a resource the script skipped or
misconfigured fails here.

Run (after `make setup`): .venv/bin/python -m unittest scripts/test_local_stack.py -v
moto_server is taken from $MOTO_SERVER, else .venv/bin/moto_server (as tests/src/moto.rs does).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import unittest
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_stack  # noqa: E402

ROOT = local_stack.ROOT
STACK = "switchyard-test"
REGION = "us-east-1"
SQS_DEFAULTS = {"VisibilityTimeout": 30, "MessageRetentionPeriod": 345600}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers_as_moto(port: int) -> bool:
    """Whether the server on `port` is moto: `GET /moto-api/data.json` gives 200 and JSON."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(f"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
    except OSError:
        return False
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    return len(status) > 1 and status[1] == b"200" and body.lstrip().startswith(b"{")


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """A fresh moto server on a free loopback port, once it answers (retries on another port if
    the one picked was taken in between)."""
    binary = os.environ.get("MOTO_SERVER") or str(ROOT / ".venv" / "bin" / "moto_server")
    if not Path(binary).exists():
        raise RuntimeError(f"moto_server not found at {binary}: run `make setup` first")
    last = ""
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                last = f"moto_server exited with {proc.returncode} on port {port}"
                break
            # Something listening is not enough: another process may have taken the port
            # between free_port() and moto's bind. Ask moto's own API.
            if answers_as_moto(port) and proc.poll() is None:
                return proc, f"http://127.0.0.1:{port}"
            time.sleep(0.05)
        stop(proc)
        last = last or f"moto_server did not answer on port {port} within 30 s"
    raise RuntimeError(f"could not start moto: {last}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def crate_binaries() -> set[str]:
    """The binaries of functions/*/Cargo.toml: one Lambda function each."""
    binaries = set()
    for manifest in ROOT.glob("functions/*/Cargo.toml"):
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        bins = [b["name"] for b in data.get("bin", [])] or [data["package"]["name"]]
        binaries.update(bins)
    return binaries


def of_type(resources: dict[str, Any], type_name: str) -> dict[str, Any]:
    return {lid: r for lid, r in resources.items() if r["Type"] == type_name}


def run_script(endpoint: str, *extra: str, stack: str = STACK) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "local_stack.py"), "--endpoint-url", endpoint,
         "--stack-name", stack, "--region", REGION, *extra],
        capture_output=True, text=True, timeout=120, check=False)


class LocalStackAgainstMoto(unittest.TestCase):
    """The whole script, as a command, against a private moto and infra/template.yaml."""

    @classmethod
    def setUpClass(cls) -> None:
        proc, cls.endpoint = start_moto()
        cls.addClassCleanup(stop, proc)  # also when a test or the rest of set-up fails
        template = local_stack.load_template(local_stack.DEFAULT_TEMPLATE)
        params = local_stack.parameter_values(template, {})
        cls.sam = template["Resources"]
        cls.resources = local_stack.translate(template, params, REGION)["Resources"]
        cls.secret_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
        cls.addClassCleanup(os.unlink, cls.secret_file.name)
        cls.given = {"StripeWebhookSigningSecret": "whsec_test_given",
                     f"{STACK}/slack-notify/bot-token": {"bot_token": "xoxb-local"}}
        json.dump(cls.given, cls.secret_file)
        cls.secret_file.close()
        run = run_script(cls.endpoint, "--secret-values", cls.secret_file.name)
        if run.returncode != 0:
            raise AssertionError(f"local_stack.py failed ({run.returncode}): {run.stderr}")
        cls.output = json.loads(run.stdout)
        session = boto3.session.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name=REGION)
        config = Config(connect_timeout=5, read_timeout=30)
        cls.sqs = session.client("sqs", endpoint_url=cls.endpoint, config=config)
        cls.sm = session.client("secretsmanager", endpoint_url=cls.endpoint, config=config)
        cls.ddb = session.client("dynamodb", endpoint_url=cls.endpoint, config=config)

    def queue_attributes(self, lid: str) -> dict[str, str]:
        url = self.output["queues"][lid]["url"]
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    def test_every_queue_exists_with_its_settings_and_redrive_policy(self) -> None:
        queues = of_type(self.resources, "AWS::SQS::Queue")
        self.assertGreater(len(queues), 0)
        self.assertEqual(set(self.output["queues"]), set(queues))
        with_redrive = 0
        for lid, resource in queues.items():
            props = resource.get("Properties", {})
            attrs = self.queue_attributes(lid)
            for key, default in SQS_DEFAULTS.items():
                self.assertEqual(int(attrs[key]), int(props.get(key, default)), f"{lid} {key}")
            if "MaximumMessageSize" in props:
                self.assertEqual(int(attrs["MaximumMessageSize"]), int(props["MaximumMessageSize"]), lid)
            redrive = props.get("RedrivePolicy")
            if redrive is None:
                self.assertNotIn("RedrivePolicy", attrs, lid)
                continue
            with_redrive += 1
            dlq = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            actual = json.loads(attrs["RedrivePolicy"])
            self.assertEqual(int(actual["maxReceiveCount"]), int(redrive["maxReceiveCount"]), lid)
            self.assertEqual(actual["deadLetterTargetArn"], self.queue_attributes(dlq)["QueueArn"], lid)
        self.assertGreater(with_redrive, 0, "the template's events queues have dead-letter queues")

    def test_every_secret_exists_with_its_name_and_value(self) -> None:
        secrets = of_type(self.resources, "AWS::SecretsManager::Secret")
        self.assertGreater(len(secrets), 0)
        self.assertEqual(set(self.output["secrets"]), set(secrets))
        for lid, resource in secrets.items():
            props = resource["Properties"]
            name = props["Name"]["Fn::Sub"].replace("${AWS::StackName}", STACK)
            value = self.sm.get_secret_value(SecretId=name)["SecretString"]
            self.assertEqual(self.output["secrets"][lid]["arn"], self.sm.describe_secret(SecretId=name)["ARN"])
            if lid == "StripeWebhookSigningSecret":
                self.assertEqual(value, "whsec_test_given")
            elif name == f"{STACK}/slack-notify/bot-token":
                self.assertEqual(json.loads(value), {"bot_token": "xoxb-local"})
            elif "SecretString" in props:
                self.assertEqual(value, props["SecretString"], lid)
            else:
                self.assertEqual(value, local_stack.demo_secret(name), lid)
        self.assertNotIn("xoxb-local", json.dumps(self.output), "secret values stay out of the output")

    def test_every_table_exists_with_its_key_schema_and_ttl(self) -> None:
        tables = of_type(self.resources, "AWS::DynamoDB::Table")
        self.assertGreater(len(tables), 0)
        self.assertEqual(set(self.output["tables"]), set(tables))
        for lid, resource in tables.items():
            props = resource["Properties"]
            name = self.output["tables"][lid]["name"]
            table = self.ddb.describe_table(TableName=name)["Table"]
            self.assertEqual(table["KeySchema"], props["KeySchema"], lid)
            self.assertEqual(sorted(table["AttributeDefinitions"], key=str),
                             sorted(props["AttributeDefinitions"], key=str), lid)
            ttl = self.ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            spec = props.get("TimeToLiveSpecification")
            if spec and spec.get("Enabled"):
                self.assertEqual(ttl.get("TimeToLiveStatus"), "ENABLED", lid)
                self.assertEqual(ttl.get("AttributeName"), spec["AttributeName"], lid)

    def test_every_function_crate_is_a_function_and_deliverers_have_their_queue(self) -> None:
        functions = of_type(self.resources, "AWS::Lambda::Function")
        by_binary = {r["Metadata"]["BuildProperties"]["Binary"]: lid for lid, r in functions.items()}
        self.assertEqual(set(by_binary), crate_binaries())
        mappings = of_type(self.resources, "AWS::Lambda::EventSourceMapping")
        urls = of_type(self.resources, "AWS::Lambda::Url")
        expected_mappings = 0
        for lid, resource in functions.items():
            props = resource["Properties"]
            self.assertEqual(props["Runtime"], "provided.al2023", lid)
            self.assertEqual(props["Architectures"], ["arm64"], lid)
            sam = self.sam[lid]["Properties"]
            sqs_events = [e["Properties"] for e in (sam.get("Events") or {}).values() if e["Type"] == "SQS"]
            # Mappings written out as resources (the generator's choice) count like SAM events.
            sqs_events += [{**m["Properties"], "Queue": m["Properties"]["EventSourceArn"]}
                           for m in self.sam.values()
                           if m.get("Type") == "AWS::Lambda::EventSourceMapping"
                           and m["Properties"].get("FunctionName") == {"Ref": lid}]
            for event in sqs_events:
                expected_mappings += 1
                found = [m["Properties"] for m in mappings.values()
                         if m["Properties"]["FunctionName"] == {"Ref": lid}
                         and m["Properties"]["EventSourceArn"] == event["Queue"]]
                self.assertEqual(len(found), 1, f"{lid}: one mapping from {event['Queue']}")
                self.assertEqual(found[0].get("FunctionResponseTypes"), event.get("FunctionResponseTypes"), lid)
                self.assertEqual(found[0].get("BatchSize"), event.get("BatchSize"), lid)
                queue = event["Queue"]["Fn::GetAtt"][0]
                sources = {s["queue"]: s for s in self.output["functions"][lid]["event_sources"]}
                self.assertIn(queue, sources, lid)
                self.assertEqual(sources[queue]["queue_url"], self.output["queues"][queue]["url"], lid)
            has_url = any(u["Properties"]["TargetFunctionArn"] == {"Ref": lid} for u in urls.values())
            self.assertEqual(has_url, "FunctionUrlConfig" in sam, lid)
            self.assertEqual(self.output["functions"][lid]["function_url"], has_url, lid)
        self.assertEqual(len(mappings), expected_mappings)
        self.assertGreater(expected_mappings, 0, "the deliverers are triggered by their queues")
        self.assertGreater(len(urls), 0, "the receivers have Function URLs")

    def test_function_environments_point_at_the_created_resources(self) -> None:
        physical = {lid: q["url"] for lid, q in self.output["queues"].items()}
        physical |= {lid: s["arn"] for lid, s in self.output["secrets"].items()}
        physical |= {lid: t["name"] for lid, t in self.output["tables"].items()}
        checked = 0
        for lid, resource in of_type(self.resources, "AWS::Lambda::Function").items():
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            environment = self.output["functions"][lid]["environment"]
            self.assertEqual(set(environment), set(variables), lid)
            for key, raw in variables.items():
                if isinstance(raw, dict) and raw.get("Ref") in physical:
                    self.assertEqual(environment[key], physical[raw["Ref"]], f"{lid} {key}")
                    checked += 1
        self.assertGreater(checked, 0)
        # The values are usable: a queue URL answers, a secret ARN reads.
        stripe = self.output["functions"]["StripeWebhookFunction"]["environment"]
        self.sqs.get_queue_attributes(QueueUrl=stripe["QUEUE_URL"], AttributeNames=["QueueArn"])
        self.assertEqual(self.sm.get_secret_value(SecretId=stripe["SECRET_ID"])["SecretString"], "whsec_test_given")

    def test_a_second_run_keeps_everything_and_prints_the_same(self) -> None:
        run = run_script(self.endpoint, "--secret-values", self.secret_file.name)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(json.loads(run.stdout), self.output)

    def test_a_secret_value_for_no_secret_is_refused(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump({"StripeWebhookSigningSecrett": "x"}, f)
            f.flush()
            run = run_script(self.endpoint, "--secret-values", f.name)
        self.assertEqual(run.returncode, 1)
        self.assertIn("StripeWebhookSigningSecrett", run.stderr)
        self.assertEqual(run.stdout, "")
        # Refused before anything was put: the given value is still there.
        stripe = self.output["secrets"]["StripeWebhookSigningSecret"]["arn"]
        self.assertEqual(self.sm.get_secret_value(SecretId=stripe)["SecretString"], "whsec_test_given")

    def test_an_unknown_parameter_is_refused(self) -> None:
        run = run_script(self.endpoint, "--parameter", "FunctionNamePrefx=staging-")
        self.assertEqual(run.returncode, 1)
        self.assertIn("unknown template parameter(s): FunctionNamePrefx", run.stderr)

    def test_a_parameter_changes_the_resolved_names(self) -> None:
        # Another stack on the same emulator, so the other tests' resources stay as they were.
        run = run_script(self.endpoint, "--parameter", "FunctionNamePrefix=staging-", stack="switchyard-staging")
        self.assertEqual(run.returncode, 0, run.stderr)
        names = {f["name"] for f in json.loads(run.stdout)["functions"].values()}
        self.assertEqual(names, {f"staging-{b}" for b in crate_binaries()})


class LocalStackErrors(unittest.TestCase):
    """Reject paths that need no emulator, or an absent one."""

    def test_an_unreachable_emulator_is_one_clear_line(self) -> None:
        run = run_script(f"http://127.0.0.1:{free_port()}")
        self.assertEqual(run.returncode, 1)
        self.assertIn("emulator at http://127.0.0.1:", run.stderr)
        self.assertNotIn("Traceback", run.stderr)

    def test_a_redrive_cycle_is_refused(self) -> None:
        resources = {
            "A": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["B", "Arn"]}, "maxReceiveCount": 3}}},
            "B": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["A", "Arn"]}, "maxReceiveCount": 3}}},
            "C": {"Type": "AWS::SQS::Queue", "Properties": {}},
        }
        with self.assertRaisesRegex(local_stack.StackError, "cycle: A, B"):
            local_stack.creation_order(resources, "AWS::SQS::Queue")

    def test_a_dead_letter_queue_comes_before_its_queue(self) -> None:
        resources = {
            "AQueue": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": ["ZDlq", "Arn"]}, "maxReceiveCount": 3}}},
            "ZDlq": {"Type": "AWS::SQS::Queue", "Properties": {}},
        }
        self.assertEqual(local_stack.creation_order(resources, "AWS::SQS::Queue"), ["ZDlq", "AQueue"])

    def test_intrinsics_resolve_and_unknown_ones_are_refused(self) -> None:
        resolver = local_stack.Resolver({"Prefix": "p-", "Topic": ""}, {"AWS::StackName": "s"},
                                        {"HasTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Topic"}, ""]}]}})
        resolver.refs["Q"] = "http://q"
        resolver.attrs["Q"] = {"Arn": "arn:q"}
        self.assertEqual(resolver.resolve({"Fn::Sub": "${Prefix}x/${AWS::StackName}/${Q.Arn}/${!Lit}"}),
                         "p-x/s/arn:q/${Lit}")
        self.assertEqual(resolver.resolve({"Fn::Sub": ["${A}-${Q}", {"A": {"Ref": "Prefix"}}]}), "p--http://q")
        self.assertEqual(resolver.resolve({"Fn::Join": ["", [{"Ref": "Prefix"}, "y"]]}), "p-y")
        self.assertEqual(resolver.resolve({"K": {"Fn::If": ["HasTopic", ["t"], {"Ref": "AWS::NoValue"}]},
                                           "L": 1}), {"L": 1})
        with self.assertRaisesRegex(local_stack.StackError, "unsupported intrinsic Fn::ToJsonString"):
            resolver.resolve({"Fn::ToJsonString": {"a": 1}})
        with self.assertRaisesRegex(local_stack.StackError, "Ref Missing"):
            resolver.resolve({"Ref": "Missing"})
        with self.assertRaisesRegex(local_stack.StackError, "Fn::GetAtt Q.QueueName"):
            resolver.resolve({"Fn::GetAtt": ["Q", "QueueName"]})

    def test_a_template_without_resources_is_refused(self) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("AWSTemplateFormatVersion: '2010-09-09'\n")
            f.flush()
            with self.assertRaisesRegex(local_stack.StackError, "not a template"):
                local_stack.load_template(Path(f.name))

    def test_an_invalid_sam_template_is_one_clear_error(self) -> None:
        template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {
            "F": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "provided.al2023"}}}}
        with self.assertRaisesRegex(local_stack.StackError, "SAM transform failed"):
            local_stack.translate(template, {}, REGION)


if __name__ == "__main__":
    unittest.main()
