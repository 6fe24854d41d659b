"""Powertools Logger and Metrics, one instance each per container (service name and namespace from env).

No Tracer: X-Ray tracing is off, by the numbers in docs/deployment.md (Observability).
"""

import os
import warnings

from aws_lambda_powertools import Logger, Metrics

# The template sets POWERTOOLS_METRICS_NAMESPACE; without it (a tool, a test process) every handler's
# first invocation would fail publishing its ColdStart metric ("Must contain a metric namespace").
DEFAULT_METRICS_NAMESPACE = "SignUpFlow/Onboarding"

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE)

# The API functions publish only the cold-start metric (`capture_cold_start_metric`): an invocation
# without other metrics is expected there, not worth Powertools' warning in every container's log.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
