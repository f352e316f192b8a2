"""The packaged CloudFormation templates: linters clean, least-privilege roles, locked-down storage.

Every assertion reads the template `sls package` writes (see conftest.py), in
both OpenSearch modes, so what is checked is what a deploy would create.
Roles are compared grant by grant with exact sets: a new action or resource
anywhere fails until this file (and docs/security.md) says why it is needed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import PACKAGES, ROOT, Packaged

CFN_LINT = ROOT / ".venv" / "bin" / "cfn-lint"
# Explicit: cfn-lint would read it only from the working directory, and would
# also merge a developer's ~/.cfnlintrc.
CFN_LINT_CONFIG = ROOT / ".cfnlintrc.yaml"
CHECKOV = ROOT / ".cache" / "checkov" / "bin" / "checkov"

# Pseudo parameters resolved to fixed values, so ARNs compare as plain strings.
PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"
PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "pagesearch-dev",
}
ES_VERBS = {"es:ESHttpHead", "es:ESHttpGet", "es:ESHttpPut", "es:ESHttpPost"}
OUR_BUCKETS = ("PagesBucket", "ResultsBucket", "AccessLogsBucket")
ALL_BUCKETS = (*OUR_BUCKETS, "ServerlessDeploymentBucket")

# The only Allow statements that may hold a wildcard action or a "*" resource,
# by (resource, Sid), each with the reason docs/security.md gives.
JUSTIFIED_WILDCARDS = {
    ("TopicKey", "AccountAdministration"): "key policy root statement: delegates the key to IAM; '*' is this key",
    ("LogsKey", "AccountAdministration"): "key policy root statement: delegates the key to IAM; '*' is this key",
    ("TopicKey", "S3PublishesPageEvents"): "kms:GenerateDataKey* as AWS documents for S3 -> encrypted SNS",
    ("TopicKey", "CloudWatchPublishesAlarms"): "kms:GenerateDataKey* as AWS documents for alarms -> encrypted SNS",
    ("LogsKey", "CloudWatchLogsEncryptsOurLogGroups"): "the statement AWS documents for log group encryption",
}


# ---------------------------------------------------------------- helpers


def resolve(value: Any) -> Any:
    """Intrinsic functions to strings: Ref/GetAtt of resources become ``{Ref:X}``/``{GetAtt:X.Attr}``."""
    if isinstance(value, list):
        return [resolve(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return PSEUDO.get(value["Ref"], f"{{Ref:{value['Ref']}}}")
        if set(value) == {"Fn::GetAtt"}:
            target = value["Fn::GetAtt"]
            return f"{{GetAtt:{'.'.join(target) if isinstance(target, list) else target}}}"
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(resolve(p)) for p in parts)
        if len(value) == 1 and next(iter(value)).startswith("Fn::"):
            raise AssertionError(f"resolver does not know {next(iter(value))}: extend it")
        return {k: resolve(v) for k, v in value.items()}
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    properties = template["Resources"][role]["Properties"]
    assert not properties.get("ManagedPolicyArns"), f"{role}: managed policies grant more than the code uses"
    return [resolve(s) for p in properties.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (action, resource) pair an Allow statement grants."""
    pairs = set()
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        pairs |= {(a, r) for a in as_list(statement["Action"]) for r in as_list(statement["Resource"])}
    return pairs


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every IAM-style policy document in the template, with the resource that holds it."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                yield name, policy["PolicyDocument"]
        elif kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            yield name, properties["PolicyDocument"]
        elif kind == "AWS::KMS::Key":
            yield name, properties["KeyPolicy"]
        elif kind == "AWS::OpenSearchService::Domain":
            yield name, properties["AccessPolicies"]
        elif kind == "AWS::Logs::ResourcePolicy":
            yield name, json.loads(resolve(properties["PolicyDocument"]))
        elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, properties["PolicyDocument"]


def bucket_name(template: dict[str, Any], logical: str) -> str:
    return template["Resources"][logical]["Properties"]["BucketName"]


def s3_arn(name: str) -> str:
    return f"arn:{PARTITION}:s3:::{name}"


def log_group_arn(function_name: str) -> str:
    return f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function_name}:*"


def function_name(template: dict[str, Any], logical: str) -> str:
    return template["Resources"][logical]["Properties"]["FunctionName"]


def index_paths(template: dict[str, Any]) -> tuple[str, str]:
    """(domain ARN, index alias) the indexer is configured for."""
    index = template["Resources"]["IndexerLambdaFunction"]["Properties"]["Environment"]["Variables"]["OPENSEARCH_INDEX"]
    domain = template["Resources"].get("SearchDomain", {}).get("Properties", {}).get("DomainName", "pagesearch-dev")
    return f"arn:{PARTITION}:es:{REGION}:{ACCOUNT}:domain/{domain}", index


@pytest.fixture(params=list(PACKAGES), scope="module")
def package(request: pytest.FixtureRequest, packages: dict[str, Packaged]) -> Packaged:
    return packages[request.param]


@pytest.fixture(params=["external", "create"], scope="module")
def mode(request: pytest.FixtureRequest, packages: dict[str, Packaged]) -> Packaged:
    """The two deployment modes with default parameters."""
    return packages[request.param]


# ---------------------------------------------------------------- linters


def test_cfn_lint_reports_no_errors_or_warnings(package: Packaged) -> None:
    paths = [str(package.template_path), str(package.create_template_path)]
    run = subprocess.run(
        [str(CFN_LINT), "--config-file", str(CFN_LINT_CONFIG), "--format", "json", *paths],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # The exit code is a bit mask of finding levels; the JSON says which.
    assert run.stdout.strip().startswith("["), f"cfn-lint crashed (exit {run.returncode}): {run.stderr[-2000:]}"
    findings = json.loads(run.stdout)
    summary = [f"{f['Level']} {f['Rule']['Id']} {f['Message']} ({f.get('Filename')})" for f in findings]
    errors = [s for s, f in zip(summary, findings, strict=True) if f["Level"] == "Error"]
    assert not errors, "cfn-lint errors:\n" + "\n".join(errors)
    # Warnings are bugs more often than not (a constant condition, a redundant
    # dependency): the template is kept at zero so a new one is seen.
    assert not summary, "cfn-lint findings:\n" + "\n".join(summary)


def _checkov(template: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.skip(
            f"checkov is not installed at {CHECKOV.relative_to(ROOT)}: run `make setup` "
            "(scripts/setup.sh makes its own virtualenv from requirements-checkov.txt)"
        )
    run = subprocess.run(
        # --skip-download: no call to Prisma Cloud for guideline links (offline).
        [str(CHECKOV), "-f", str(template), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.stdout.strip(), f"checkov printed nothing (exit {run.returncode}): {run.stderr[-2000:]}"
    report = json.loads(run.stdout)
    report = report[0] if isinstance(report, list) else report
    assert report["summary"]["parsing_errors"] == 0, report["summary"]
    return report


def test_checkov_has_no_failed_checks_and_every_suppression_has_a_reason(package: Packaged) -> None:
    report = _checkov(package.template_path)
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert not failed, "checkov failed checks (fix them, or suppress with a reason):\n" + "\n".join(failed)
    assert report["summary"]["passed"] > 50, report["summary"]  # the scan really ran over the template
    skipped = {
        (c["resource"], c["check_id"]): c["check_result"].get("suppress_comment", "") for c in results["skipped_checks"]
    }
    for (resource, check), comment in skipped.items():
        assert len(comment.strip()) >= 20, f"{check} on {resource} is suppressed without a reason"
    # Every suppression written in the template is one checkov really applied:
    # a stale one (a check checkov does not run here) would only mislead readers.
    declared = set()
    for name, resource in package.template["Resources"].items():
        for entry in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert entry.get("comment", "").strip(), f"{name}: suppression {entry.get('id')} has no comment"
            declared.add((f"{resource['Type']}.{name}", entry["id"]))
    assert declared == set(skipped), f"declared {sorted(declared)} vs applied {sorted(skipped)}"


# ---------------------------------------------------------------- IAM


ROLES = {"OcrLambdaFunction": "OcrRole", "IndexerLambdaFunction": "IndexerRole", "SearchLambdaFunction": "SearchRole"}


def test_each_function_has_its_own_role(mode: Packaged) -> None:
    template = mode.template
    functions = resources_of(template, "AWS::Lambda::Function")
    assert set(functions) == set(ROLES)
    for function, role in ROLES.items():
        assert functions[function]["Properties"]["Role"] == {"Fn::GetAtt": [role, "Arn"]}
    # No framework default role shared by the functions.
    assert set(resources_of(template, "AWS::IAM::Role")) == set(ROLES.values())
    for role in ROLES.values():
        trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [(s["Effect"], s["Principal"], s["Action"]) for s in trust] == [
            ("Allow", {"Service": "lambda.amazonaws.com"}, "sts:AssumeRole")
        ]


def test_ocr_role_reads_pages_and_writes_results_only(mode: Packaged) -> None:
    template = mode.template
    pages, results = bucket_name(template, "PagesBucket"), bucket_name(template, "ResultsBucket")
    logs = log_group_arn(function_name(template, "OcrLambdaFunction"))
    expected = {
        ("logs:CreateLogStream", logs),
        ("logs:PutLogEvents", logs),
        ("s3:GetObject", f"{s3_arn(pages)}/*"),
        ("s3:ListBucket", s3_arn(pages)),
        ("s3:ListBucket", s3_arn(results)),
        ("s3:GetObject", f"{s3_arn(results)}/*"),
        ("s3:PutObject", f"{s3_arn(results)}/*"),
        ("s3:DeleteObject", f"{s3_arn(results)}/*"),
        ("sqs:SendMessage", "{GetAtt:FailedEventsQueue.Arn}"),
    }
    assert grants(role_statements(template, "OcrRole")) == expected


def test_indexer_role_reads_results_writes_failures_and_uses_its_index_only(mode: Packaged) -> None:
    template = mode.template
    results = bucket_name(template, "ResultsBucket")
    logs = log_group_arn(function_name(template, "IndexerLambdaFunction"))
    domain, index = index_paths(template)
    expected = {
        ("logs:CreateLogStream", logs),
        ("logs:PutLogEvents", logs),
        ("s3:GetObject", f"{s3_arn(results)}/*"),
        ("s3:ListBucket", s3_arn(results)),
        ("s3:PutObject", f"{s3_arn(results)}/failed/*"),
        ("s3:DeleteObject", f"{s3_arn(results)}/failed/*"),
        ("sqs:SendMessage", "{GetAtt:FailedEventsQueue.Arn}"),
        # HEAD/GET/POST on the alias and its documents (_doc, _bulk); PUT only
        # to create INDEX-vN on first use.
        *(
            (verb, path)
            for verb in ("es:ESHttpHead", "es:ESHttpGet", "es:ESHttpPost")
            for path in (f"{domain}/{index}", f"{domain}/{index}/*")
        ),
        ("es:ESHttpPut", f"{domain}/{index}-v*"),
    }
    granted = grants(role_statements(template, "IndexerRole"))
    assert granted == expected
    assert {a for a, _ in granted if a.startswith("es:")} <= ES_VERBS


def test_search_role_may_only_search_the_alias_and_sign_image_urls(mode: Packaged) -> None:
    template = mode.template
    domain, index = index_paths(template)
    pages, results = bucket_name(template, "PagesBucket"), bucket_name(template, "ResultsBucket")
    logs = log_group_arn(function_name(template, "SearchLambdaFunction"))
    expected = {
        ("logs:CreateLogStream", logs),
        ("logs:PutLogEvents", logs),
        # GET/POST /INDEX/_search: pages of results, the count of hits, autocomplete, does a book exist,
        # a book's pages (manifest), the list of books.
        ("es:ESHttpGet", f"{domain}/{index}/_search"),
        ("es:ESHttpPost", f"{domain}/{index}/_search"),
        # Presigned image URLs in manifests: the uploads, and only the browser images of the results bucket.
        ("s3:GetObject", f"{s3_arn(pages)}/*"),
        ("s3:GetObject", f"{s3_arn(results)}/*.display.*"),
    }
    assert grants(role_statements(template, "SearchRole")) == expected
    variables = template["Resources"]["SearchLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["OPENSEARCH_INDEX"] == index


def _wildcard_allowed(resource: str, template: dict[str, Any]) -> bool:
    """A trailing wildcard inside one of our own buckets, index paths or log groups."""
    if resource.startswith(f"arn:{PARTITION}:logs:") and ":log-group:/aws/lambda/" in resource:
        return resource.endswith(":*") and resource.count("*") == 1
    if resource.startswith(f"arn:{PARTITION}:es:"):
        domain, index = index_paths(template)
        return resource in (f"{domain}/{index}/*", f"{domain}/{index}-v*")
    ours = {s3_arn(bucket_name(template, b)) for b in ("PagesBucket", "ResultsBucket")}
    ours |= {f"{{GetAtt:{b}.Arn}}" for b in ALL_BUCKETS}
    prefix, _, rest = resource.partition("/")
    # The browser images of the results bucket: narrower than its trailing wildcard (never a page JSON).
    if prefix == s3_arn(bucket_name(template, "ResultsBucket")) and rest == "*.display.*":
        return True
    return prefix in ours and rest.endswith("*") and rest.count("*") == 1


def test_no_wildcard_in_any_allow_statement_except_the_justified_ones(mode: Packaged) -> None:
    template = mode.template
    seen_justified = set()
    for holder, document in policy_documents(template):
        for raw in document["Statement"]:
            statement = resolve(raw)
            if statement["Effect"] == "Deny":
                continue  # a deny with a wildcard only refuses more
            principal = statement.get("Principal")
            assert principal not in ("*", {"AWS": "*"}), f"{holder}: Allow to every principal: {statement}"
            actions = as_list(statement["Action"])
            resources = as_list(statement.get("Resource", []))
            wild_actions = [a for a in actions if "*" in a]
            wild_resources = [r for r in resources if "*" in r and not _wildcard_allowed(r, template)]
            if not wild_actions and not wild_resources:
                continue
            key = (holder, statement.get("Sid"))
            assert key in JUSTIFIED_WILDCARDS, f"{holder}: wildcard in {wild_actions or wild_resources}: {statement}"
            seen_justified.add(key)
            if statement.get("Sid") != "AccountAdministration":
                # A service statement is pinned to our account and source.
                assert statement.get("Condition"), f"{holder}: {statement['Sid']} has no condition"
            else:
                assert principal == {"AWS": f"arn:{PARTITION}:iam::{ACCOUNT}:root"}, statement
    assert seen_justified == set(JUSTIFIED_WILDCARDS), "a justified exception no longer exists: drop it"


# ---------------------------------------------------------------- storage


def _bucket_policy(template: dict[str, Any], bucket: str) -> list[dict[str, Any]]:
    policies = [
        p
        for p in resources_of(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    assert len(policies) == 1, f"{bucket} should have exactly one bucket policy"
    return [resolve(s) for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]]


def test_buckets_block_public_access_encrypt_and_refuse_plain_http(mode: Packaged) -> None:
    template = mode.template
    assert set(resources_of(template, "AWS::S3::Bucket")) == set(ALL_BUCKETS)
    for bucket in ALL_BUCKETS:
        properties = template["Resources"][bucket]["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, bucket
        rules = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules and all(
            r["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms") for r in rules
        ), bucket
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, bucket
        denies = [
            s
            for s in _bucket_policy(template, bucket)
            if s["Effect"] == "Deny"
            and str(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")).lower() == "false"
        ]
        assert len(denies) == 1, f"{bucket}: no TLS-only deny"
        deny = denies[0]
        assert deny["Principal"] == "*" and deny["Action"] == "s3:*", deny
        bucket_arns = {f"{{GetAtt:{bucket}.Arn}}", s3_arn(f"{{Ref:{bucket}}}")}
        assert set(as_list(deny["Resource"])) in ({a, f"{a}/*"} for a in bucket_arns), deny["Resource"]


def test_access_logs_of_every_bucket_go_to_the_log_bucket(mode: Packaged) -> None:
    template = mode.template
    for bucket in ("PagesBucket", "ResultsBucket", "ServerlessDeploymentBucket"):
        logging = template["Resources"][bucket]["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}, bucket
    allows = [s for s in _bucket_policy(template, "AccessLogsBucket") if s["Effect"] == "Allow"]
    assert [(s["Principal"], s["Action"]) for s in allows] == [
        ({"Service": "logging.s3.amazonaws.com"}, "s3:PutObject")
    ]
    condition = allows[0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert set(condition["ArnLike"]["aws:SourceArn"]) == {
        s3_arn(bucket_name(template, "PagesBucket")),
        s3_arn(bucket_name(template, "ResultsBucket")),
        s3_arn("{Ref:ServerlessDeploymentBucket}"),
    }


@pytest.mark.parametrize(
    ("variant", "policy"), [("external", "Retain"), ("create", "Retain"), ("retain-off", "Delete")]
)
def test_buckets_and_domain_are_retained_unless_the_parameter_says_otherwise(
    packages: dict[str, Packaged], variant: str, policy: str
) -> None:
    template = packages[variant].template
    kept = [*OUR_BUCKETS, *(["SearchDomain"] if "SearchDomain" in template["Resources"] else [])]
    for name in kept:
        resource = template["Resources"][name]
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == (policy, policy), name


def test_page_topic_accepts_only_our_pages_bucket_and_is_encrypted_with_our_key(mode: Packaged) -> None:
    template = mode.template
    policies = list(resources_of(template, "AWS::SNS::TopicPolicy").values())
    assert len(policies) == 1 and policies[0]["Properties"]["Topics"] == [{"Ref": "PagesTopic"}]
    statements = [resolve(s) for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]]
    assert len(statements) == 1, statements
    statement = statements[0]
    assert (statement["Effect"], statement["Principal"], statement["Action"], statement["Resource"]) == (
        "Allow",
        {"Service": "s3.amazonaws.com"},
        "sns:Publish",
        "{Ref:PagesTopic}",
    )
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": s3_arn(bucket_name(template, "PagesBucket"))},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
    }
    # A customer-managed key in this stack (the AWS-managed alias/aws/sns
    # cannot be granted to S3, whose notifications would silently vanish).
    for topic in ("PagesTopic", "AlarmTopic"):
        assert template["Resources"][topic]["Properties"]["KmsMasterKeyId"] == {"Ref": "TopicKey"}, topic
    key = template["Resources"]["TopicKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    s3_statements = [
        resolve(s)
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "s3.amazonaws.com"}
    ]
    assert len(s3_statements) == 1
    assert set(s3_statements[0]["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert s3_statements[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert s3_statements[0]["Condition"]["ArnLike"] == {"aws:SourceArn": s3_arn(bucket_name(template, "PagesBucket"))}


def test_page_notifications_go_to_the_topic_and_page_json_to_the_indexer(mode: Packaged) -> None:
    template = mode.template
    pages = template["Resources"]["PagesBucket"]["Properties"]["NotificationConfiguration"]
    assert {json.dumps(c["Topic"]) for c in pages["TopicConfigurations"]} == {json.dumps({"Ref": "PagesTopic"})}
    results = template["Resources"]["ResultsBucket"]["Properties"]["NotificationConfiguration"]
    for config in results["LambdaConfigurations"]:
        assert config["Function"] == {"Fn::GetAtt": ["IndexerLambdaFunction", "Arn"]}
        # Only page JSON: failure records (failed/*.failure) never trigger it.
        assert config["Filter"]["S3Key"]["Rules"] == [{"Name": "suffix", "Value": ".json"}]
    permission = resolve(template["Resources"]["IndexerS3Permission"]["Properties"])
    assert (permission["Principal"], permission["SourceArn"], permission["SourceAccount"]) == (
        "s3.amazonaws.com",
        s3_arn(bucket_name(template, "ResultsBucket")),
        ACCOUNT,
    )


# ---------------------------------------------------------------- OpenSearch


def test_external_mode_creates_no_domain(packages: dict[str, Packaged]) -> None:
    assert not resources_of(packages["external"].template, "AWS::OpenSearchService::Domain")


@pytest.mark.parametrize("variant", ["create", "retain-off"])
def test_created_domain_is_encrypted_https_only_and_admits_only_the_indexer_and_search(
    packages: dict[str, Packaged], variant: str
) -> None:
    template = packages[variant].template
    domain = template["Resources"]["SearchDomain"]["Properties"]
    assert domain["EncryptionAtRestOptions"] == {"Enabled": True}
    assert domain["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert domain["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert domain["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")
    # A _bulk body may not name another index than its URL's (the grants are per index path).
    assert domain["AdvancedOptions"]["rest.action.multi.allow_explicit_index"] == "false"
    assert domain["LogPublishingOptions"]["ES_APPLICATION_LOGS"]["Enabled"] is True
    arn, index = index_paths(template)
    statements = [resolve(s) for s in domain["AccessPolicies"]["Statement"]]
    assert {s["Effect"] for s in statements} == {"Allow"}
    for role in ("IndexerRole", "SearchRole"):
        mine = [s for s in statements if s["Principal"] == {"AWS": f"{{GetAtt:{role}.Arn}}"}]
        granted = grants([{k: v for k, v in s.items() if k != "Principal"} for s in mine])
        # The domain admits exactly what each role may do (same account: either policy alone would suffice).
        assert granted == {g for g in grants(role_statements(template, role)) if g[0].startswith("es:")}, role
    assert {json.dumps(s["Principal"]) for s in statements} == {
        json.dumps({"AWS": f"{{GetAtt:{role}.Arn}}"}) for role in ("IndexerRole", "SearchRole")
    }
    resources = {r for s in statements for r in as_list(s["Resource"])}
    assert resources == {f"{arn}/{index}", f"{arn}/{index}/*", f"{arn}/{index}-v*", f"{arn}/{index}/_search"}
    url = template["Resources"]["IndexerLambdaFunction"]["Properties"]["Environment"]["Variables"]["OPENSEARCH_URL"]
    assert resolve(url) == "https://{GetAtt:SearchDomain.DomainEndpoint}"


# ---------------------------------------------------------------- functions


def test_both_functions_bound_retries_and_age_and_keep_failures_with_an_alarm(mode: Packaged) -> None:
    template = mode.template
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in resources_of(template, "AWS::Lambda::EventInvokeConfig").values()
    }
    assert set(configs) == {"OcrLambdaFunction", "IndexerLambdaFunction"}
    for function, config in configs.items():
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": ["FailedEventsQueue", "Arn"]
        }, function
        assert 0 <= config["MaximumRetryAttempts"] <= 2, function
        assert 60 <= config["MaximumEventAgeInSeconds"] <= 21600, function
    queue = template["Resources"]["FailedEventsQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] >= 4 * 86400
    alarms = [
        a["Properties"]
        for a in resources_of(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    ]
    assert any(
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedEventsQueue", "QueueName"]}} in a["Dimensions"]
        and a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and a["Threshold"] == 0
        and a["ComparisonOperator"] == "GreaterThanThreshold"
        and a["AlarmActions"]
        for a in alarms
    ), alarms


def test_log_groups_have_retention_and_our_key(mode: Packaged) -> None:
    template = mode.template
    groups = {
        g["Properties"]["LogGroupName"]: g["Properties"] for g in resources_of(template, "AWS::Logs::LogGroup").values()
    }
    for function in ROLES:
        group = groups[f"/aws/lambda/{function_name(template, function)}"]
        assert 1 <= group["RetentionInDays"] <= 400, function
    assert "/aws/http-api/pagesearch-dev" in groups, "the HTTP API's access logs"
    for name, group in groups.items():
        assert group.get("RetentionInDays"), name
        assert group.get("KmsKeyId") == {"Fn::GetAtt": ["LogsKey", "Arn"]}, name


@pytest.mark.parametrize(("variant", "indexer"), [("external", 4), ("create", 4), ("retain-off", 7)])
def test_concurrency_is_capped_by_stage_parameters(packages: dict[str, Packaged], variant: str, indexer: int) -> None:
    functions = packages[variant].template["Resources"]
    assert functions["IndexerLambdaFunction"]["Properties"]["ReservedConcurrentExecutions"] == indexer
    assert functions["OcrLambdaFunction"]["Properties"]["ReservedConcurrentExecutions"] >= 1
    assert functions["SearchLambdaFunction"]["Properties"]["ReservedConcurrentExecutions"] == 10


# ---------------------------------------------------------------- the search HTTP API


@pytest.mark.parametrize(
    ("variant", "authorization", "rate", "burst"),
    [("external", "AWS_IAM", 20, 40), ("create", "AWS_IAM", 20, 40), ("retain-off", None, 5, 9)],
)
def test_search_routes_are_private_unless_opened_and_always_throttled(
    packages: dict[str, Packaged], variant: str, authorization: str | None, rate: int, burst: int
) -> None:
    template = packages[variant].template
    routes = resources_of(template, "AWS::ApiGatewayV2::Route")
    # The routes the handler answers (lib.search.api) are the routes serverless.yml makes, each authorised.
    from lib.search.api import ROUTE_KEYS

    data = set(ROUTE_KEYS)
    pages = {"GET /viewer", "GET /viewer/{file}", "GET /mirador", "GET /mirador/{file}", "GET /vendor/{file}"}
    assert {r["Properties"]["RouteKey"] for r in routes.values()} == data | pages
    # searchAuth=iam (the default): IAM authorization on every data route; public: none, read-only routes.
    # The web pages hold no data and are never authorised (their searches are).
    kinds = {r["Properties"]["RouteKey"]: r["Properties"].get("AuthorizationType") for r in routes.values()}
    assert {kinds[key] for key in data} == {authorization}
    assert {kinds[key] for key in pages} == {None}
    [stage] = resources_of(template, "AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert (int(settings["ThrottlingRateLimit"]), int(settings["ThrottlingBurstLimit"])) == (rate, burst)
    assert stage["Properties"]["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["HttpApiLogGroup", "Arn"]}
    [api] = resources_of(template, "AWS::ApiGatewayV2::Api").values()
    cors = api["Properties"]["CorsConfiguration"]
    assert cors["AllowOrigins"] == ["*"] and cors["AllowMethods"] == ["GET"] and not cors.get("AllowCredentials")
    [permission] = [
        p["Properties"]
        for p in resources_of(template, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "apigateway.amazonaws.com"
    ]
    assert permission["FunctionName"] == {"Fn::GetAtt": ["SearchLambdaFunction", "Arn"]}
    assert resolve(permission["SourceArn"]) == f"arn:{PARTITION}:execute-api:{REGION}:{ACCOUNT}:{{Ref:HttpApi}}/*"
