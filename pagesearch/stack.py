"""The embedded local stack: moto's S3/SNS/SQS and an OpenSearch API server on 127.0.0.1.

It is wired the way serverless.yml wires AWS: pages bucket -> topic (image
suffixes, ObjectCreated and ObjectRemoved) -> an SQS subscription standing in
for the OCR function's SNS trigger; pages bucket (``.pdf``) -> the split
queue, the splitter's SQS trigger on AWS too; results bucket -> a queue
standing in for the indexer's S3 trigger. The dispatcher (``pagesearch.dispatcher``) drains
both queues and calls the handlers with the events Lambda would deliver.
Nothing persists: ``up`` rebuilds everything.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lib.failed_events import FailedQueue
from lib.keys import NOTIFICATIONS
from pagesearch import servers
from pagesearch.lambda_local import REGION

ROOT = Path(__file__).resolve().parent.parent
# The Lambda layer's own Tesseract, when `make layer` has built it: what runs
# locally is then what runs in Lambda.
LAYER_TESSERACT = ROOT / "layers" / "tesseract" / "bin" / "tesseract"
DEFAULT_PAGES_BUCKET = "pagesearch-dev-pages"
DEFAULT_RESULTS_BUCKET = "pagesearch-dev-results"
DEFAULT_INDEX = "pages"
# Lambda's SNS and S3 triggers retry twice; the third failure goes to the DLQ.
MAX_RECEIVES = 3
# A message is hidden while its handler runs, up to the OCR function's timeout (a dense newspaper page
# takes minutes); a handler that fails makes it visible again after RETRY_DELAY, as Lambda retries
# about a minute later (PAGESEARCH_RETRY_DELAY shortens it, for tests of what reaches the dead-letter queues).
VISIBILITY_TIMEOUT = 960
RETRY_DELAY = 60


class StackError(RuntimeError):
    """The local stack cannot start or is not running: the message says what to do."""


def state_dir() -> Path:
    configured = os.environ.get("PAGESEARCH_STATE_DIR")
    base = Path(configured) if configured else Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local/state"))
    return base if configured else base / "pagesearch"


@dataclass
class Stack:
    aws_endpoint: str
    opensearch_url: str
    opensearch_index: str = DEFAULT_INDEX
    pages_bucket: str = DEFAULT_PAGES_BUCKET
    results_bucket: str = DEFAULT_RESULTS_BUCKET
    topic_arn: str = ""
    ocr_queue: str = ""
    index_queue: str = ""
    ocr_dead_letters: str = ""
    index_dead_letters: str = ""
    split_queue: str = ""
    split_dead_letters: str = ""
    pids: dict[str, int] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """What the functions, ``sls invoke local`` and the CLI need to reach this stack."""
        tesseract = os.environ.get("TESSERACT_CMD") or (str(LAYER_TESSERACT) if LAYER_TESSERACT.exists() else "")
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "PAGES_BUCKET": self.pages_bucket,
            "RESULTS_BUCKET": self.results_bucket,
            "OPENSEARCH_URL": self.opensearch_url,
            "OPENSEARCH_INDEX": self.opensearch_index,
            "SPLIT_QUEUE_URL": self.split_queue,
            **({"TESSERACT_CMD": tesseract} if tesseract else {}),
        }

    def failed_event_queues(self) -> list[FailedQueue]:
        """The dead-letter queues of the local functions, each with the queue its messages go back to."""
        return [
            FailedQueue(self.ocr_dead_letters, "ocr", self.ocr_queue),
            FailedQueue(self.index_dead_letters, "indexer", self.index_queue),
            *([FailedQueue(self.split_dead_letters, "splitter", self.split_queue)] if self.split_queue else []),
        ]

    def save(self) -> None:
        path = state_dir() / "stack.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls) -> Stack | None:
        path = state_dir() / "stack.json"
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))


def _logs() -> Path:
    return state_dir() / "logs"


def _clients(endpoint: str) -> tuple[Any, Any, Any]:
    import boto3

    kwargs = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return boto3.client("s3", **kwargs), boto3.client("sns", **kwargs), boto3.client("sqs", **kwargs)


def _queue(sqs: Any, name: str) -> tuple[str, str, str]:
    """The function's queue and its dead-letter queue: (url, arn, dead-letter url)."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq_url


def notification_configuration(
    bucket_role: str, target_arn: str, others: dict[str, str] | None = None
) -> dict[str, Any]:
    """The notification configuration of the ``pages`` or ``results`` bucket, from lib/notifications.json.

    One configuration per suffix (lower and upper case) and event, as
    resources/buckets.js declares them on AWS; the pages bucket notifies a
    topic (and, for book files, the split queue), the results bucket a queue
    standing in for the indexer's trigger. ``others`` maps the other entries
    wired to this bucket (``books``) to their target's ARN; entries not given
    are left out (tests that wire only the page path).
    """
    configuration: dict[str, list[dict[str, Any]]] = {}
    targets = {bucket_role: target_arn, **(others or {})}
    for entry, arn in targets.items():
        wiring = NOTIFICATIONS[entry]
        cases = (str.lower, str.upper) if wiring["upper_case_too"] else (str.lower,)
        suffixes = sorted({case(suffix) for suffix in wiring["suffixes"] for case in cases})
        topic = wiring["via"] == "topic"
        kind, arn_name = ("TopicConfigurations", "TopicArn") if topic else ("QueueConfigurations", "QueueArn")
        configuration.setdefault(kind, []).extend(
            {
                arn_name: arn,
                "Events": [event],
                "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": suffix}]}},
            }
            for suffix in suffixes
            for event in wiring["events"]
        )
    return configuration


def provision(stack: Stack) -> None:
    """Buckets, topic, queues and notifications, as serverless.yml declares them in AWS."""
    s3, sns, sqs = _clients(stack.aws_endpoint)
    for bucket in (stack.pages_bucket, stack.results_bucket):
        s3.create_bucket(Bucket=bucket)
        # Versioned, as on AWS: deleting an old version must not remove a page (lib.ocr.flow).
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    stack.topic_arn = sns.create_topic(Name="pagesearch-dev-pages")["TopicArn"]
    stack.ocr_queue, ocr_arn, stack.ocr_dead_letters = _queue(sqs, "pagesearch-ocr")
    stack.index_queue, index_arn, stack.index_dead_letters = _queue(sqs, "pagesearch-indexer")
    stack.split_queue, split_arn, stack.split_dead_letters = _queue(sqs, "pagesearch-split")
    sns.subscribe(TopicArn=stack.topic_arn, Protocol="sqs", Endpoint=ocr_arn)
    s3.put_bucket_notification_configuration(
        Bucket=stack.pages_bucket,
        NotificationConfiguration=notification_configuration("pages", stack.topic_arn, {"books": split_arn}),
    )
    s3.put_bucket_notification_configuration(
        Bucket=stack.results_bucket, NotificationConfiguration=notification_configuration("results", index_arn)
    )


def start_dispatcher(stack: Stack) -> int:
    env = {
        **os.environ,
        **stack.env(),
        "PAGESEARCH_RETRY_DELAY": os.environ.get("PAGESEARCH_RETRY_DELAY") or str(RETRY_DELAY),
        "PAGESEARCH_OCR_QUEUE": stack.ocr_queue,
        "PAGESEARCH_INDEX_QUEUE": stack.index_queue,
        "PAGESEARCH_SPLIT_QUEUE": stack.split_queue,
        "POWERTOOLS_METRICS_NAMESPACE": "PageSearchLocal",
    }
    proc = servers.spawn([sys.executable, "-m", "pagesearch.dispatcher"], _logs() / "dispatcher.log", env=env)
    return proc.pid


def _alive(pid: int) -> bool:
    try:
        # Reap our own exited children (tests start and stop stacks in-process).
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def running() -> Stack | None:
    stack = Stack.load()
    if stack and stack.pids and all(_alive(pid) for pid in stack.pids.values()):
        return stack
    return None


def _history_path() -> Path:
    return state_dir() / "endpoints.json"


def ours(url: str) -> bool:
    """True when ``url`` is an endpoint a local stack of this machine started (now or before)."""
    path = _history_path()
    return bool(url) and path.exists() and url.rstrip("/") in json.loads(path.read_text())


def _remember(*urls: str) -> None:
    path = _history_path()
    known = json.loads(path.read_text()) if path.exists() else []
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sorted({*known, *(u.rstrip("/") for u in urls)})[-200:]))


def up(*, dispatcher: bool = True) -> Stack:
    """Start (or restart) the local stack and record its endpoints.

    An OPENSEARCH_URL in the environment is used instead of starting the
    OpenSearch API server, unless it is one an earlier local stack started
    (the exports of a previous ``pagesearch up`` still in the shell).
    """
    down()
    pids: dict[str, int] = {}
    try:
        moto = servers.start_moto(_logs() / "moto.log")
        aws_endpoint, pids["moto"] = moto.url, moto.pid
        opensearch_url = os.environ.get("OPENSEARCH_URL", "")
        if ours(opensearch_url):
            opensearch_url = ""
        if not opensearch_url:
            opensearch = servers.start_opensearch(_logs() / "opensearch.log")
            opensearch_url, pids["opensearch"] = opensearch.url, opensearch.pid
        stack = Stack(
            aws_endpoint=aws_endpoint,
            opensearch_url=opensearch_url,
            opensearch_index=os.environ.get("OPENSEARCH_INDEX", DEFAULT_INDEX),
            pages_bucket=os.environ.get("PAGES_BUCKET", DEFAULT_PAGES_BUCKET),
            results_bucket=os.environ.get("RESULTS_BUCKET", DEFAULT_RESULTS_BUCKET),
            pids=pids,
        )
        _remember(aws_endpoint, *([opensearch_url] if "opensearch" in pids else []))
        provision(stack)
        if dispatcher:
            pids["dispatcher"] = start_dispatcher(stack)
        stack.save()
        return stack
    except servers.ServerError as exc:
        for pid in pids.values():
            _terminate(pid)
        raise StackError(str(exc)) from None
    except BaseException:
        for pid in pids.values():
            _terminate(pid)
        raise


def _terminate(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except OSError:
        return
    for _ in range(50):
        if not _alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def down() -> bool:
    """Stop the recorded stack; True if something was running."""
    stack = Stack.load()
    if stack is None:
        return False
    for pid in stack.pids.values():
        _terminate(pid)
    (state_dir() / "stack.json").unlink(missing_ok=True)
    return True
