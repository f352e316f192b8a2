"""Logging and metrics shared by both functions (Powertools for AWS Lambda).

Powertools gives structured JSON logs with the Lambda context and CloudWatch
embedded-metric output without a client call, at a few milliseconds of import.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

from aws_lambda_powertools import Logger, Metrics

# A page that fails nothing has no metric to publish: not worth a warning per invocation.
warnings.filterwarnings("ignore", message="No application metrics to publish")

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "pagesearch")

# The CLI keeps standard output for results (`--json`): its logs go to standard error.
_handler = logging.StreamHandler(sys.stderr) if os.environ.get("PAGESEARCH_LOG_STDERR") else None
logger = Logger(service=SERVICE, logger_handler=_handler)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "PageSearch"), service=SERVICE)
