"""How the build talks to its user: progress on stderr, and errors that end it with an exit code."""

from __future__ import annotations

import sys

EXIT_STALE_LOCK = 3
LOCK_COMMAND = "make layer-lock ARCH={arch}"
LOCK_COMMAND_RAW = "python3 layers/build.py --relock --arch {arch}"


class BuildError(Exception):
    exit_code = 1


class StaleLockError(BuildError):
    """The lock no longer matches what Debian serves: the fix is a relock, and scripts can tell."""

    exit_code = EXIT_STALE_LOCK


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def relock_hint(arch: str) -> str:
    # Both spellings: `make` for people, the raw command for scripts and CI logs.
    return f"`{LOCK_COMMAND.format(arch=arch)}` (that is `{LOCK_COMMAND_RAW.format(arch=arch)}`)"
