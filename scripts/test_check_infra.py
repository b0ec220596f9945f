"""Unit tests of scripts/check_infra.py: each template under infra/fixtures/ is broken in one
place, and the check must fail naming exactly that (run by scripts/check-infra.sh):

    .venv/bin/python -m unittest scripts/test_check_infra.py

The fixtures deploy two of the functions (stripe-webhook and slack-notify), so the check runs
with --partial against this repository's crates and their [package.metadata.switchyard]
declarations. Standard library only (check_infra.py itself needs PyYAML).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts/check_infra.py"
FIXTURES = ROOT / "infra/fixtures"


def run_check(template: Path, root: Path = ROOT, partial: bool = True) -> tuple[int, list[str]]:
    """(exit code, the problems check_infra.py reported: its `  FAIL ` lines, prefix removed)."""
    command = [sys.executable, "-B", str(SCRIPT), str(root), "--template", str(template)]
    if partial:
        command.append("--partial")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    problems = [line[len("  FAIL "):] for line in result.stdout.splitlines() if line.startswith("  FAIL ")]
    return result.returncode, problems


class BrokenTemplates(unittest.TestCase):
    def assert_fails_with(self, fixture: str, *expected: str) -> None:
        code, problems = run_check(FIXTURES / fixture)
        self.assertEqual(problems, list(expected))
        self.assertEqual(code, 1)

    def test_the_valid_fixture_passes(self):
        # The baseline the broken fixtures are copies of: without it, a failure below could come
        # from anywhere in the fixture rather than from the one place it breaks.
        self.assertEqual(run_check(FIXTURES / "valid.yaml"), (0, []))

    def test_a_deliverer_must_report_batch_item_failures(self):
        self.assert_fails_with(
            "no-report-batch-item-failures.yaml",
            "SlackNotifyFunction: SQS event Queue: no FunctionResponseTypes: "
            "[ReportBatchItemFailures] (one failed record would fail, and redeliver, its whole batch)",
        )

    def test_visibility_must_be_six_function_timeouts_globals_included(self):
        self.assert_fails_with(
            "visibility-below-six-timeouts.yaml",
            "SlackNotifyQueue: VisibilityTimeout 50 is below 6 × the Timeout of "
            "SlackNotifyFunction (10 s): at least 60",
        )

    def test_a_deliverer_queue_needs_a_dead_letter_queue(self):
        self.assert_fails_with(
            "deliverer-queue-without-dlq.yaml",
            "SlackNotifyQueue: the queue of deliverer SlackNotifyFunction has no dead-letter queue "
            "(RedrivePolicy.deadLetterTargetArn: !GetAtt <queue>.Arn)",
            "SlackNotifyQueue: RedrivePolicy.maxReceiveCount None must be above the deliverer's "
            "MAX_ATTEMPTS (50), a backstop: the runner dead-letters with a reason first",
        )

    def test_an_undeclared_environment_variable_is_refused(self):
        self.assert_fails_with(
            "undeclared-env.yaml",
            "SlackNotifyFunction: environment variable SLACK_TOKEN is not declared in "
            "functions/slack-notify/Cargo.toml [package.metadata.switchyard] env (nor a runtime "
            "variable: AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE, "
            "POWERTOOLS_SERVICE_NAME, RUST_LOG, SWITCHYARD_METRICS_NAMESPACE)",
        )

    def test_a_required_environment_variable_must_be_set(self):
        self.assert_fails_with(
            "missing-required-env.yaml",
            "SlackNotifyFunction: required environment variable IDEMPOTENCY_TABLE "
            "(declared in functions/slack-notify/Cargo.toml) is not set",
        )

    def test_resource_star_is_refused_for_actions_that_can_name_a_resource(self):
        # valid.yaml keeps cloudwatch:PutMetricData on "*" (no resource-level permissions).
        self.assert_fails_with(
            "resource-star.yaml",
            "SlackNotifyFunction.Policies[3].Statement[0]: allows dynamodb:GetItem, "
            "dynamodb:UpdateItem on Resource '*'; name the resource (only actions without "
            "resource-level permissions may use '*': cloudwatch:PutMetricData, "
            "xray:PutTelemetryRecords, xray:PutTraceSegments)",
        )

    def test_a_checkov_skip_must_say_why(self):
        self.assert_fails_with(
            "checkov-skip-without-reason.yaml",
            "SlackNotifyFunction: Metadata.checkov.skip CKV_AWS_117 has no comment saying why",
        )

    def test_without_partial_every_crate_needs_a_function(self):
        code, problems = run_check(FIXTURES / "valid.yaml", partial=False)
        self.assertEqual(code, 1)
        self.assertIn(
            "binary hubspot-contacts (functions/hubspot-contacts) has no function in "
            "infra/fixtures/valid.yaml (Metadata: BuildProperties: Binary: hubspot-contacts)",
            problems,
        )


class Declarations(unittest.TestCase):
    """The declarations in functions/*/Cargo.toml against the Rust sources, on a copy of the
    repository's sources whose stripe-webhook declaration is edited."""

    def setUp(self):
        self.root = Path(tempfile.mkdtemp(prefix="check-infra-"))
        self.addCleanup(shutil.rmtree, self.root)
        shutil.copytree(ROOT / "shared/src", self.root / "shared/src")
        for crate in ("stripe-webhook", "slack-notify"):
            shutil.copytree(ROOT / "functions" / crate, self.root / "functions" / crate,
                            ignore=shutil.ignore_patterns("samples", "target"))

    def edit_manifest(self, crate: str, old: str, new: str) -> None:
        manifest = self.root / "functions" / crate / "Cargo.toml"
        text = manifest.read_text()
        self.assertEqual(text.count(old), 1, f"{old!r} in {manifest}")
        manifest.write_text(text.replace(old, new))

    def test_the_copy_passes_unedited(self):
        self.assertEqual(run_check(FIXTURES / "valid.yaml", root=self.root), (0, []))

    def test_a_declared_name_the_code_never_uses_is_stale(self):
        self.edit_manifest("stripe-webhook", '"SOURCE", ', '"SOURCE", "WEBHOOK_TOLERANCE", ')
        code, problems = run_check(FIXTURES / "valid.yaml", root=self.root)
        self.assertEqual(problems, [
            "functions/stripe-webhook/Cargo.toml: declared variable WEBHOOK_TOLERANCE appears in no "
            "string literal of functions/stripe-webhook/src or shared/src (outside tests and "
            "comments): a stale declaration",
        ])
        self.assertEqual(code, 1)

    def test_a_variable_the_kit_reads_must_be_declared(self):
        self.edit_manifest("slack-notify", '"RETRY_PERIOD", ', "")
        code, problems = run_check(FIXTURES / "valid.yaml", root=self.root)
        self.assertEqual(problems, [
            "functions/slack-notify/Cargo.toml: RETRY_PERIOD is read by the code but not declared "
            "in [package.metadata.switchyard] env",
        ])
        self.assertEqual(code, 1)

    def test_a_function_must_declare_its_kind(self):
        self.edit_manifest("stripe-webhook", 'kind = "receiver"', 'kind = "webhook"')
        code, problems = run_check(FIXTURES / "valid.yaml", root=self.root)
        self.assertEqual(problems, [
            "functions/stripe-webhook/Cargo.toml: [package.metadata.switchyard] kind 'webhook' "
            "must be one of receiver, deliverer",
        ])
        self.assertEqual(code, 1)


if __name__ == "__main__":
    unittest.main()
