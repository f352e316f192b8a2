"""The local servers: moto (S3, SNS, SQS) and the OpenSearch API server, started as processes on 127.0.0.1.

The local stack keeps them running after ``pagesearch up`` returns
(``detach``); the tests and benchmarks stop them when done. Both listen on a
free port and answer before these functions return.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class ServerError(RuntimeError):
    """A server did not start: the message says which and why."""


@dataclass
class Server:
    url: str
    proc: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 10) -> None:
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Until ``url`` answers; ServerError after ``timeout`` seconds or when ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as exc:
            if proc is not None and proc.poll() is not None:
                raise ServerError(f"{url}: the server exited with {proc.returncode} before answering") from None
            if time.monotonic() > deadline:
                raise ServerError(f"{url} did not answer within {timeout:.0f} s: {exc}") from None
            time.sleep(0.1)


def _bin(name: str) -> str:
    """A console script of this Python's environment, else from PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def spawn(
    args: list[str], log_path: Path, *, env: dict[str, str] | None = None, pipe_stdout: bool = False
) -> subprocess.Popen:
    """A child in a session of its own (it outlives us when detached), logging to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            args,
            stdout=subprocess.PIPE if pipe_stdout else log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )


def start_moto(log_path: Path) -> Server:
    """moto_server (S3, SNS, SQS and the rest) on a free port."""
    port = free_port()
    proc = spawn([_bin("moto_server"), "-H", "127.0.0.1", "-p", str(port)], log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/", proc=proc)
    except ServerError:
        proc.kill()
        raise
    return Server(url, proc)


def start_opensearch(log_path: Path) -> Server:
    """The OpenSearch API server (osmem-server); it prints one JSON line with its URL when ready.

    ``--no-stdin-watch``: it would exit when our standard input closes;
    ``--no-ja``: it would load a 150 MB Japanese dictionary.
    """
    from osmem_server import resolve_binary

    args = [resolve_binary(), "--addr", "127.0.0.1:0", "--no-ja", "--no-stdin-watch"]
    proc = spawn(args, log_path, pipe_stdout=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    proc.stdout.close()
    try:
        return Server(json.loads(line)["url"], proc)
    except (ValueError, KeyError):
        proc.kill()
        raise ServerError(f"the OpenSearch API server did not start: {line.strip() or 'no output'}") from None


@contextlib.contextmanager
def running(server: Server) -> Iterator[str]:
    """The server's URL for the block; the server stops after it."""
    try:
        yield server.url
    finally:
        server.stop()
