"""Powertools Logger and Metrics, one instance each per container (service name and namespace from env).

No Tracer: X-Ray tracing is off, by the numbers in docs/deployment.md (Observability).
"""

import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()

# The API functions publish only the cold-start metric (`capture_cold_start_metric`): an invocation
# without other metrics is expected there, not worth Powertools' warning in every container's log.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
