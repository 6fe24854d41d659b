"""The suite's environment, and its shared fixtures and helpers (`tests/fixtures.py`, a plugin)."""

import os

# Env the service reads, fixed for the whole run (and the Powertools logger kept quiet).
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "onboarding-tests")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "SignUpFlowOnboardingTests")
os.environ.setdefault("DB_MAX_OVERFLOW", "60")  # concurrency tests run many requests in one process

pytest_plugins = ["tests.fixtures"]
