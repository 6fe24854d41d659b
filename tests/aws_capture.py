"""moto helpers: an EventBridge bus whose events land in an SQS queue the test can read back."""

import json
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from onboarding import container

BUS = "signupflow-test"
SOURCE = "signupflow.onboarding"  # the default EVENT_SOURCE


@dataclass
class EventCapture:
    """Every event put on `bus_name` with `source`, as its targets receive it."""

    bus_name: str
    queue_url: str
    sqs: Any

    def received(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                return events
            for message in batch:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def capture_bus(bus_name: str, source: str) -> EventCapture:
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    events.create_event_bus(Name=bus_name)
    queue_url = sqs.create_queue(QueueName=f"{bus_name}-capture")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="capture", EventBusName=bus_name, EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule="capture", EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return EventCapture(bus_name=bus_name, queue_url=queue_url, sqs=sqs)


def queue_messages(queue_url: str) -> list[dict[str, Any]]:
    """All messages of a queue (body and message attributes), removing them."""
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def use_bus(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Point the service at the bus `name` (EVENT_BUS_NAME), e.g. one that does not exist."""
    monkeypatch.setenv("EVENT_BUS_NAME", name)
    container.reset()
