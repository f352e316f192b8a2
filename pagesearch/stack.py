"""The embedded local stack: moto's S3/SNS/SQS and an OpenSearch API server on 127.0.0.1.

It is wired the way serverless.yml wires AWS: pages bucket -> topic (image
suffixes, ObjectCreated and ObjectRemoved) -> an SQS subscription standing in
for the OCR function's SNS trigger; results bucket -> a queue standing in for
the indexer's S3 trigger. The dispatcher (``pagesearch.dispatcher``) drains
both queues and calls the handlers with the events Lambda would deliver.
Nothing persists: ``up`` rebuilds everything.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lib.keys import IMAGE_SUFFIXES, RESULT_SUFFIX

ROOT = Path(__file__).resolve().parent.parent
# The Lambda layer's own Tesseract, when `make layer` has built it: what runs
# locally is then what runs in Lambda.
LAYER_TESSERACT = ROOT / "layers" / "tesseract" / "bin" / "tesseract"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's account
DEFAULT_PAGES_BUCKET = "pagesearch-dev-pages"
DEFAULT_RESULTS_BUCKET = "pagesearch-dev-results"
DEFAULT_INDEX = "pages"
# Lambda's SNS and S3 triggers retry twice; the third failure goes to the DLQ.
MAX_RECEIVES = 3
VISIBILITY_TIMEOUT = 60


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
            **({"TESSERACT_CMD": tesseract} if tesseract else {}),
        }

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def _spawn(name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    logs = state_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child, which outlives us
    return subprocess.Popen(
        args,
        stdout=subprocess.PIPE if name == "opensearch" else log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )


def _wait_http(url: str, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise StackError(f"{url} did not answer within {timeout:.0f} s: {exc}") from None
            time.sleep(0.1)


def start_moto() -> tuple[str, int]:
    port = free_port()
    proc = _spawn("moto", [_bin("moto_server"), "-H", "127.0.0.1", "-p", str(port)])
    url = f"http://127.0.0.1:{port}"
    _wait_http(f"{url}/moto-api/")
    return url, proc.pid


def start_opensearch() -> tuple[str, int]:
    from osmem_server import resolve_binary

    # --no-stdin-watch: we detach; --no-ja: skips a 150 MB Japanese dictionary.
    proc = _spawn("opensearch", [resolve_binary(), "--addr", "127.0.0.1:0", "--no-ja", "--no-stdin-watch"])
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    try:
        url = json.loads(line)["url"]
    except (ValueError, KeyError):
        raise StackError(f"the OpenSearch API server did not start: {line.strip() or 'no output'}") from None
    proc.stdout.close()
    return url, proc.pid


def _clients(endpoint: str) -> tuple[Any, Any, Any]:
    import boto3

    kwargs = {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return boto3.client("s3", **kwargs), boto3.client("sns", **kwargs), boto3.client("sqs", **kwargs)


def _queue(sqs: Any, name: str) -> tuple[str, str]:
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
    return url, arn


def provision(stack: Stack) -> None:
    """Buckets, topic, queues and notifications, as serverless.yml declares them in AWS."""
    s3, sns, sqs = _clients(stack.aws_endpoint)
    for bucket in (stack.pages_bucket, stack.results_bucket):
        s3.create_bucket(Bucket=bucket)
    stack.topic_arn = sns.create_topic(Name="pagesearch-dev-pages")["TopicArn"]
    stack.ocr_queue, ocr_arn = _queue(sqs, "pagesearch-ocr")
    stack.index_queue, index_arn = _queue(sqs, "pagesearch-indexer")
    sns.subscribe(TopicArn=stack.topic_arn, Protocol="sqs", Endpoint=ocr_arn)
    suffixes = sorted({s for suffix in IMAGE_SUFFIXES for s in (suffix, suffix.upper())})
    s3.put_bucket_notification_configuration(
        Bucket=stack.pages_bucket,
        NotificationConfiguration={
            "TopicConfigurations": [
                {
                    "TopicArn": stack.topic_arn,
                    "Events": [event],
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": suffix}]}},
                }
                for suffix in suffixes
                for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
            ]
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=stack.results_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": index_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": RESULT_SUFFIX}]}},
                },
                {
                    "QueueArn": index_arn,
                    "Events": ["s3:ObjectRemoved:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": RESULT_SUFFIX}]}},
                },
            ]
        },
    )


def start_dispatcher(stack: Stack) -> int:
    env = {
        **os.environ,
        **stack.env(),
        "PAGESEARCH_OCR_QUEUE": stack.ocr_queue,
        "PAGESEARCH_INDEX_QUEUE": stack.index_queue,
        "POWERTOOLS_METRICS_NAMESPACE": "PageSearchLocal",
    }
    proc = _spawn("dispatcher", [sys.executable, "-m", "pagesearch.dispatcher"], env=env)
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


def up(*, dispatcher: bool = True) -> Stack:
    """Start (or restart) the local stack and record its endpoints."""
    down()
    pids: dict[str, int] = {}
    try:
        aws_endpoint, pids["moto"] = start_moto()
        opensearch_url = os.environ.get("OPENSEARCH_URL", "")
        if not opensearch_url:
            opensearch_url, pids["opensearch"] = start_opensearch()
        stack = Stack(
            aws_endpoint=aws_endpoint,
            opensearch_url=opensearch_url,
            opensearch_index=os.environ.get("OPENSEARCH_INDEX", DEFAULT_INDEX),
            pages_bucket=os.environ.get("PAGES_BUCKET", DEFAULT_PAGES_BUCKET),
            results_bucket=os.environ.get("RESULTS_BUCKET", DEFAULT_RESULTS_BUCKET),
            pids=pids,
        )
        provision(stack)
        if dispatcher:
            pids["dispatcher"] = start_dispatcher(stack)
        stack.save()
        return stack
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
