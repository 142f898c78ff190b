"""deploy/template.yaml and deploy/Dockerfile (issue 8, items 3, 4, 6-8 and 10).

The linters (cfn-lint, checkov, hadolint) run first; then the transformed template (what SAM's translator
makes of it, what CloudFormation deploys) is read for what linters cannot know: the timeout against the
claim lease and the deadline margin, the schedule and its live condition, the alarm set and thresholds, the
IAM actions against what the code calls, Retain policies, PITR, deletion protection, LoggingConfig, and that
adopting the legacy tables changes nothing else in the stack.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from naver_sms.database.dynamo_tables import table_definitions
from naver_sms.database.dynamo_target import DynamoTarget
from tests.deploy.template import (
    PARAMETERS,
    SECRET_ARN,
    condition,
    emitted_metrics_assumed,
    raw_template,
    resolve,
    transformed,
)
from tests.standins.server import require

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "template.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

#: Every accepted checkov skip, and where; each carries its reason in the template or the Dockerfile.
ACCEPTED_SKIPS = {
    ("CKV_AWS_119", "AWS::DynamoDB::Table.SmsTable"),
    ("CKV_AWS_119", "AWS::DynamoDB::Table.SessionTable"),
    ("CKV_AWS_18", "AWS::S3::Bucket.ConfigBucket"),
    ("CKV_AWS_158", "AWS::Logs::LogGroup.RunLogGroup"),
    ("CKV_AWS_27", "AWS::SQS::Queue.FailedRunsQueue"),
    ("CKV_AWS_116", "AWS::Serverless::Function.RunFunction"),
    ("CKV_AWS_117", "AWS::Serverless::Function.RunFunction"),
    ("CKV_AWS_173", "AWS::Serverless::Function.RunFunction"),
    ("CKV_AWS_26", "AWS::SNS::Topic.AlarmTopic"),
    ("CKV_DOCKER_2", "deploy/Dockerfile."),
    ("CKV_DOCKER_7", "deploy/Dockerfile."),
}


def _tool(name: str) -> str:
    """A linter from the tools venv (`make tools`, NAVER_SMS_TOOLS), the project's venv, or $PATH."""
    for where in (
        os.environ.get("NAVER_SMS_TOOLS"),
        str(ROOT / ".tools" / "bin"),
        str(ROOT / ".venv" / "bin"),
    ):
        if where and (Path(where) / name).exists():
            return str(Path(where) / name)
    found = shutil.which(name)
    require(found, f"{name} (make tools)")
    assert found is not None
    return found


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOG_LEVEL": "WARNING"}  # checkov's own logging would mix with its report
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300, cwd=ROOT, env=env)


# --- the linters --------------------------------------------------------------------------------------------


def test_cfn_lint_with_informational_rules_is_clean() -> None:
    done = _run([_tool("cfn-lint"), "-I", str(TEMPLATE)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_is_clean_on_the_dockerfile() -> None:
    done = _run([_tool("hadolint"), str(DOCKERFILE)])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("path", "framework"),
    [(TEMPLATE, "cloudformation"), (DOCKERFILE, "dockerfile")],
    ids=["template", "dockerfile"],
)
def test_checkov_passes_with_only_the_accepted_skips(path: Path, framework: str) -> None:
    done = _run(
        [
            _tool("checkov"),
            "-f",
            str(path.relative_to(ROOT)),
            "--framework",
            framework,
            "--skip-download",
            "-o",
            "json",
        ]
    )
    report: dict[str, Any] = json.loads(done.stdout)
    results = report["results"]
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in results["failed_checks"]]
    assert failed == [], failed
    assert results["passed_checks"], "checkov checked nothing"
    skipped = {
        (c["check_id"], c["resource"] if framework != "dockerfile" else "deploy/Dockerfile.")
        for c in results["skipped_checks"]
    }
    assert skipped <= ACCEPTED_SKIPS, skipped - ACCEPTED_SKIPS
    assert done.returncode == 0, done.stderr


def test_every_checkov_skip_says_why() -> None:
    for resource in raw_template()["Resources"].values():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert len(skip.get("comment", "")) > 40, skip
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    skips = re.findall(r"#\s*checkov:skip=(CKV\w+):\s*(.*)", dockerfile)
    assert {s for s, _ in skips} == {"CKV_DOCKER_2", "CKV_DOCKER_7"}
    assert all(len(reason) > 40 for _, reason in skips), skips


# --- the function, its time and its schedule ------------------------------------------------------------


def _function(template: dict[str, Any]) -> dict[str, Any]:
    [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    return function


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_the_lease_outlasts_the_timeout_and_the_margin_fits_inside_it() -> None:
    template = transformed()
    function = _function(template)["Properties"]
    timeout = function["Timeout"]
    parameters = raw_template()["Parameters"]
    lease, margin = parameters["ClaimLeaseSeconds"], parameters["DeadlineMarginSeconds"]
    env = function["Environment"]["Variables"]
    # the variables carry the parameters the code reads
    assert env["NAVER_SMS_CLAIM_LEASE_SECONDS"] == {"Ref": "ClaimLeaseSeconds"}
    assert env["NAVER_SMS_DEADLINE_MARGIN_SECONDS"] == {"Ref": "DeadlineMarginSeconds"}
    # a claim taken at any moment of a run outlives the run: even the smallest lease allowed is twice the timeout
    assert timeout == 300
    assert lease["MinValue"] >= 2 * timeout and lease["Default"] >= lease["MinValue"]
    # the margin leaves most of the run for work, and is long enough for a send, the summary and the metrics
    assert 30 <= margin["MinValue"] <= margin["Default"] <= margin["MaxValue"] <= timeout / 2
    # Settings accepts what the stack can pass
    from naver_sms.config.settings import Settings

    assert (
        Settings.from_env({"NAVER_SMS_CLAIM_LEASE_SECONDS": str(lease["MinValue"])}).claim_lease_seconds
        == 600
    )


def test_the_schedule_runs_every_20_minutes_only_when_live() -> None:
    template = transformed()
    [rule] = _of_type(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "cron(0/20 * * * ? *)"
    state = rule["Properties"]["State"]
    assert resolve(state, {"Live": "true"}, template) == "ENABLED"
    assert resolve(state, {"Live": "false"}, template) == "DISABLED"
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["RunFunction", "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] <= 2
    # the function sends for real exactly when the schedule is on
    env = _function(template)["Properties"]["Environment"]["Variables"]
    assert env["NAVER_SMS_LIVE"] == {"Ref": "Live"}
    assert "Default" not in raw_template()["Parameters"]["Live"]


def test_async_retries_are_off_and_a_failed_invocation_lands_in_the_failed_runs_queue() -> None:
    template = transformed()
    [config] = _of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    properties = config["Properties"]
    assert properties["MaximumRetryAttempts"] == 0
    assert properties["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailedRunsQueue", "Arn"]
    }
    assert 60 <= properties["MaximumEventAgeInSeconds"] < 1200  # a queued run never overlaps the next one
    assert _function(template)["Properties"]["ReservedConcurrentExecutions"] == 1


def test_logs_are_json_at_info_into_a_log_group_with_retention() -> None:
    template = transformed()
    logging_config = _function(template)["Properties"]["LoggingConfig"]
    assert logging_config == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "WARN",
        "LogGroup": {"Ref": "RunLogGroup"},
    }
    group = template["Resources"]["RunLogGroup"]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert raw_template()["Parameters"]["LogRetentionDays"]["Default"] >= 30


def test_the_configuration_comes_from_the_bucket_and_the_image_bakes_none() -> None:
    template = transformed()
    env = _function(template)["Properties"]["Environment"]["Variables"]
    assert env["NAVER_SMS_CONFIG_DIR"] == {"Fn::Sub": "s3://${ConfigBucket}/config/"}
    assert env["NAVER_SMS_REPORTS_DIR"] == {"Fn::Sub": "s3://${ConfigBucket}/reports/"}
    bucket = template["Resources"]["ConfigBucket"]
    properties = bucket["Properties"]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ]
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    [reports] = [r for r in properties["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "reports/"]
    assert reports["ExpirationInDays"] == {"Ref": "ReportRetentionDays"}
    [policy] = _of_type(template, "AWS::S3::BucketPolicy").values()
    [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # the image: the build context holds the package only, and the Dockerfile copies no configuration
    dockerignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert dockerignore[dockerignore.index("*") :][:4] == ["*", "!pyproject.toml", "!README.md", "!src/"]
    copies = re.findall(r"^COPY\s+(.+)$", DOCKERFILE.read_text(encoding="utf-8"), re.M)
    assert copies and not any("config" in c.split()[0] for c in copies), copies


# --- the tables: adopt, keep, recover -------------------------------------------------------------------------


def test_both_tables_are_retained_recoverable_and_protected_and_match_the_code() -> None:
    template = transformed()
    code = {
        d["TableName"]: d for d in table_definitions(DynamoTarget("ap-northeast-2", None, "sms", "session"))
    }
    for logical, name in (("SmsTable", "sms"), ("SessionTable", "session")):
        table = template["Resources"][logical]
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
        properties = table["Properties"]
        assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert properties["DeletionProtectionEnabled"] is True
        assert resolve(properties["TableName"]) == name
        for key in ("KeySchema", "AttributeDefinitions", "BillingMode"):
            assert properties[key] == code[name][key], (logical, key)


def test_the_tables_are_created_only_on_request_and_their_names_are_parameters() -> None:
    parameters = raw_template()["Parameters"]
    assert (parameters["SmsTableName"]["Default"], parameters["SessionTableName"]["Default"]) == (
        "sms",
        "session",
    )
    assert "Default" not in parameters["CreateTables"]
    template = transformed()
    for logical in ("SmsTable", "SessionTable"):
        assert template["Resources"][logical]["Condition"] == "ManageTables"
    assert condition("ManageTables", {"CreateTables": "true"}) is True
    assert condition("ManageTables", {"CreateTables": "false"}) is False
    env = _function(template)["Properties"]["Environment"]["Variables"]
    db = resolve(env["NAVER_SMS_DB"], {"SmsTableName": "legacy-sms", "SessionTableName": "legacy-session"})
    target = DynamoTarget.parse(db)
    assert (target.region, target.sms_table, target.session_table, target.endpoint) == (
        "ap-northeast-2",
        "legacy-sms",
        "legacy-session",
        None,
    )


def _mentions(value: Any, names: set[str]) -> bool:
    text = json.dumps(value)
    return any(
        re.search(rf'"(Ref|Condition)": "{n}"|"Fn::GetAtt": \["{n}"|\$\{{{n}[.}}]', text) for n in names
    )


def test_adopting_the_legacy_tables_changes_no_other_resource() -> None:
    # An IMPORT change set may only add the imported resources: nothing else may change when CreateTables
    # goes from "false" to "true", so nothing else may depend on the tables or their condition.
    template = transformed()
    others = {n: r for n, r in template["Resources"].items() if n not in ("SmsTable", "SessionTable")}
    for name, resource in others.items():
        assert not _mentions(resource, {"SmsTable", "SessionTable", "ManageTables"}), name
    assert not _mentions(template.get("Outputs", {}), {"SmsTable", "SessionTable", "ManageTables"})
    assert transformed(CreateTables="false")["Resources"].keys() == template["Resources"].keys()


# --- permissions ---------------------------------------------------------------------------------------------


def _statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    roles = _of_type(template, "AWS::IAM::Role")
    assert list(roles) == ["RunRole"], "SAM made a role of its own"
    role = roles["RunRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    [policy] = role["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def test_the_role_allows_exactly_the_calls_the_code_makes_on_exactly_its_resources() -> None:
    template = transformed()
    statements = _statements(template)
    assert all(s["Effect"] == "Allow" for s in statements.values())
    resolved = {
        sid: resolve(s["Resource"], {}, template)
        if sid in ("SendLedger", "SessionCache", "Credentials")
        else s["Resource"]
        for sid, s in statements.items()
    }
    arn = "arn:aws:dynamodb:ap-northeast-2:000000000000:table"
    expected = {
        "Logs": ({"logs:CreateLogStream", "logs:PutLogEvents"}, {"Fn::GetAtt": ["RunLogGroup", "Arn"]}),
        "SendLedger": (
            {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
            f"{arn}/sms",
        ),
        "SessionCache": (
            {
                "dynamodb:BatchGetItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            },
            f"{arn}/session",
        ),
        "Credentials": ({"secretsmanager:GetSecretValue"}, [SECRET_ARN]),
        "ListConfiguration": ({"s3:ListBucket"}, {"Fn::GetAtt": ["ConfigBucket", "Arn"]}),
        "ReadConfiguration": ({"s3:GetObject"}, {"Fn::Sub": "${ConfigBucket.Arn}/config/*"}),
        "KeepLastValidConfigurationAndReports": (
            {"s3:GetObject", "s3:PutObject"},
            [{"Fn::Sub": "${ConfigBucket.Arn}/last-valid/*"}, {"Fn::Sub": "${ConfigBucket.Arn}/reports/*"}],
        ),
        "FailedInvocations": ({"sqs:SendMessage"}, {"Fn::GetAtt": ["FailedRunsQueue", "Arn"]}),
    }
    assert {sid: (_actions(s), resolved[sid]) for sid, s in statements.items()} == expected
    assert statements["ListConfiguration"]["Condition"] == {
        "StringLike": {"s3:prefix": ["config/*", "last-valid/*"]}
    }
    # no wildcard action anywhere; a wildcard in a resource only inside its own bucket's prefixes or log group
    for statement in statements.values():
        assert not any("*" in a for a in _actions(statement)), statement
    assert "*" not in json.dumps([resolved[s] for s in ("SendLedger", "SessionCache", "Credentials")])


def test_the_dynamodb_actions_granted_are_the_ones_the_adapter_calls() -> None:
    # the operations the run's adapter calls on each table (src/naver_sms/database/dynamodb_client.py, through
    # the boto3 client or the rows' wire, dynamo_wire.py - the same actions to IAM);
    # scan (history) and create/describe (db init) are operator commands, never run by the function
    source = "".join(
        (ROOT / "src" / "naver_sms" / "database" / name).read_text(encoding="utf-8")
        for name in ("dynamodb_client.py", "dynamo_runs.py")
    )
    called = set(re.findall(r'client\.(\w+)\(|_(?:call|send)\(\s*"(\w+)"', source))
    operations = {a or b for a, b in called}
    assert operations >= {"batch_get_item", "get_item", "put_item", "update_item", "delete_item"}
    granted = {
        a.split(":")[1]
        for sid in ("SendLedger", "SessionCache")
        for a in _actions(_statements(transformed())[sid])
    }
    as_actions = {"".join(part.capitalize() for part in o.split("_")) for o in operations}
    assert granted == as_actions - {"Scan", "CreateTable", "DescribeTable"}


# --- alarms ------------------------------------------------------------------------------------------------


def _alarms(template: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    found = {}
    for name, resource in _of_type(template, "AWS::CloudWatch::Alarm").items():
        if "Condition" in resource and not condition(resource["Condition"], parameters, template):
            continue
        found[name] = {
            k: resolve(v, parameters, template, keep_resources=True)
            for k, v in resource["Properties"].items()
        }
    return found


def test_the_alarms_watch_runs_sms_errors_duration_throttles_and_the_heartbeat() -> None:
    template = transformed()
    alarms = _alarms(template)
    metrics = emitted_metrics_assumed()
    service = [{"Name": metrics["ServiceDimension"], "Value": metrics["Service"]}]
    function = [{"Name": "FunctionName", "Value": {"Ref": "RunFunction"}}]
    summary = {
        name: (
            a["Namespace"],
            a["MetricName"],
            a["Statistic"],
            a["ComparisonOperator"],
            a["Threshold"],
            a["Period"],
            a["EvaluationPeriods"],
            a["TreatMissingData"],
        )
        for name, a in alarms.items()
    }
    timeout_ms = _function(template)["Properties"]["Timeout"] * 1000
    assert summary == {
        "RunFailedAlarm": (
            "NaverSms",
            "RunFailed",
            "Maximum",
            "GreaterThanOrEqualToThreshold",
            1,
            1200,
            2,
            "notBreaching",
        ),
        "SmsFailedAlarm": (
            "NaverSms",
            "SmsFailed",
            "Sum",
            "GreaterThanOrEqualToThreshold",
            1,
            1200,
            1,
            "notBreaching",
        ),
        "ErrorsAlarm": (
            "AWS/Lambda",
            "Errors",
            "Sum",
            "GreaterThanOrEqualToThreshold",
            1,
            1200,
            1,
            "notBreaching",
        ),
        "DurationAlarm": (
            "AWS/Lambda",
            "Duration",
            "Maximum",
            "GreaterThanThreshold",
            0.8 * timeout_ms,
            1200,
            1,
            "notBreaching",
        ),
        "ThrottlesAlarm": (
            "AWS/Lambda",
            "Throttles",
            "Sum",
            "GreaterThanOrEqualToThreshold",
            1,
            1200,
            1,
            "notBreaching",
        ),
        "HeartbeatAlarm": ("AWS/Lambda", "Invocations", "Sum", "LessThanThreshold", 1, 3600, 1, "breaching"),
        "FailedRunsAlarm": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            "GreaterThanOrEqualToThreshold",
            1,
            300,
            1,
            "notBreaching",
        ),
    }
    assert alarms["RunFailedAlarm"]["DatapointsToAlarm"] == 2  # two failed runs in a row
    for name in ("RunFailedAlarm", "SmsFailedAlarm"):
        assert alarms[name]["Dimensions"] == service, name
    for name in ("ErrorsAlarm", "DurationAlarm", "ThrottlesAlarm", "HeartbeatAlarm"):
        assert alarms[name]["Dimensions"] == function, name
    # every alarm wakes the topic, and says so when it clears
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] == alarm["OKActions"], name
        assert "docs/operations.md" in alarm["AlarmDescription"], name


def test_the_heartbeat_exists_only_while_live_and_the_email_is_optional() -> None:
    template = transformed()
    assert "HeartbeatAlarm" not in _alarms(template, {"Live": "false"})
    assert "HeartbeatAlarm" in _alarms(template, {"Live": "true"})
    subscription = template["Resources"]["AlarmSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail"
    assert subscription["Properties"]["Protocol"] == "email"
    assert condition("HasAlarmEmail", {"AlarmEmail": "ops@example.com"}) is True
    assert condition("HasAlarmEmail", {"AlarmEmail": ""}) is False


def test_the_dashboard_shows_the_metrics_the_alarms_watch() -> None:
    template = transformed()
    [dashboard] = _of_type(template, "AWS::CloudWatch::Dashboard").values()
    text, variables = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    local = {k: resolve(v, {}, template) for k, v in variables.items()}
    body = re.sub(r"\$\{([^}]+)\}", lambda m: str(local.get(m.group(1), "X")), text)
    widgets = json.loads(body)["widgets"]
    shown = {m[1] for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]}
    metrics = emitted_metrics_assumed()
    assert shown >= {
        metrics["RunFailed"],
        metrics["SmsFailed"],
        metrics["SmsSent"],
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
    }
    [alarm_widget] = [w for w in widgets if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == 6


def test_the_parameters_without_defaults_are_the_deployers_choices() -> None:
    without_default = {n for n, p in raw_template()["Parameters"].items() if "Default" not in p}
    assert without_default == set(PARAMETERS)
