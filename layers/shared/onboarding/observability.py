"""Powertools Logger and Metrics, one instance each per container (service name and namespace from env)."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
