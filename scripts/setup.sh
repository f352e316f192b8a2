#!/usr/bin/env bash
# Installs what `make demo` and `make test` need, or stops with one sentence
# naming what is missing and the command that gets it. Idempotent and quick
# when everything is in place (stamps keyed on the pinned requirements).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "setup: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ ! -f .cache/apt-updated ] || [ -n "$(find .cache/apt-updated -mmin +720 2>/dev/null)" ]; then
    as_root apt-get update -qq || return 1
    mkdir -p .cache && touch .cache/apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Python 3.11+ with venv
command -v python3 >/dev/null || die "python3 is missing: run 'sudo apt-get install -y python3 python3-venv'"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11 or newer is needed (found $(python3 -V))"

# Node 20+ for the pinned Serverless Framework (osls)
command -v node >/dev/null && command -v npm >/dev/null || die "Node.js 20+ and npm are missing: run 'sudo apt-get install -y nodejs npm'"
node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 1)' || die "Node.js 20 or newer is needed (found $(node -v))"

# Tesseract and its English data (the host binary; `make layer` builds the Lambda one)
if ! command -v tesseract >/dev/null || ! tesseract --list-langs 2>/dev/null | grep -qx eng; then
  echo "setup: installing tesseract-ocr and tesseract-ocr-eng" >&2
  apt_install tesseract-ocr tesseract-ocr-eng || die "Tesseract is missing: run 'sudo apt-get install -y tesseract-ocr tesseract-ocr-eng'"
fi

# German and French data: the language tests read real German and French pages (tests/fixtures/languages)
langs=$(tesseract --list-langs 2>/dev/null)
if ! grep -qx deu <<<"$langs" || ! grep -qx fra <<<"$langs"; then
  echo "setup: installing tesseract-ocr-deu and tesseract-ocr-fra" >&2
  apt_install tesseract-ocr-deu tesseract-ocr-fra || echo "setup: German/French data not installed ('sudo apt-get install -y tesseract-ocr-deu tesseract-ocr-fra'); the language tests will fail" >&2
fi

# strace lets a security test watch Tesseract's own file writes (it skips without it)
command -v strace >/dev/null || apt_install strace || echo "setup: strace not installed; one security test will skip" >&2

# The project's virtualenv at .venv with pinned dependencies and the pagesearch command
stamp=$(cat requirements-dev.txt requirements-lambda.txt pyproject.toml | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.stamp 2>/dev/null)" != "$stamp" ]; then
  if ! python3 -m venv .venv 2>/dev/null; then
    apt_install python3-venv && python3 -m venv .venv || die "Python's venv module is missing: run 'sudo apt-get install -y python3-venv'"
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  echo "$stamp" > .venv/.stamp
fi

# checkov pins an older boto3: it gets a virtualenv of its own
cstamp=$(sha256sum requirements-checkov.txt | cut -c1-16)
if [ ! -x .cache/checkov/bin/checkov ] || [ "$(cat .cache/checkov/.stamp 2>/dev/null)" != "$cstamp" ]; then
  python3 -m venv .cache/checkov
  .cache/checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
  echo "$cstamp" > .cache/checkov/.stamp
fi

# The pinned framework
if [ ! -x node_modules/.bin/sls ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

# Mirador's prebuilt bundle for the "Open in Mirador" page (pinned, integrity-checked, from the npm registry)
.venv/bin/python scripts/vendor_mirador.py || die "Mirador could not be fetched: run 'npm pack mirador@4.0.0' by hand to see why"

# The browser tests drive Debian's Chromium through Playwright (make test only: `setup.sh --browser`)
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/lib/chromium/chromium ]; then
  echo "setup: installing chromium for the browser tests" >&2
  apt_install chromium || echo "setup: chromium not installed ('sudo apt-get install -y chromium'); the browser tests will fail" >&2
fi
echo "setup: ready (.venv, node_modules, $(tesseract --version 2>&1 | head -1))" >&2
