#!/usr/bin/env python3
"""Writes events/<function>/*.json: one ready Lambda event per function and trigger.

The functions, their routes and their examples come from the registry of actions
(shared/src/registry.rs), printed by `ponte-registry`. Each function gets its action's example
body (`Action::example_body`) through four triggers: an HTTP API request (payload 2.0, what
`sam deploy` creates), a REST API request (payload 1.0), an SQS batch, and an SQS batch whose
record is an SNS notification. Each also gets one form webhook (`Action::EXAMPLE_FORM`), a sample
from `tests/fixtures/forms/` posted to its `{source}` route and signed (or tokened) as the builder
does, which the function turns into a request with its default mapping; the signatures and
tokens are those of the connections `scripts/run-local` stores in its moto server
(devtools/src/examples.rs). Run it again after changing an example; the files are committed so
that `cargo lambda invoke --data-file` and `sam local invoke -e` can use them as they are.
"""

import json
import pathlib
import subprocess
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent


def registry():
    """The registry of actions (shared/src/registry.rs), as `ponte-registry` prints it."""
    printed = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "ponte-devtools", "--bin", "ponte-registry"],
        cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
    )
    return json.loads(printed.stdout)


REGISTRY = registry()

# The webhook_token of the local secrets (devtools/src/examples.rs): direct calls present it, as
# deployed callers present the token the stack generated.
LOCAL_WEBHOOK_TOKEN = REGISTRY["webhook_token"]


def http_api(route, body):
    return {
        "version": "2.0",
        "routeKey": f"POST {route}",
        "rawPath": route,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "user-agent": "curl/8.5.0",
            "x-ponte-token": LOCAL_WEBHOOK_TOKEN,
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": "POST",
                "path": route,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "Jt7cnhSfoAMEJWg=",
            "routeKey": f"POST {route}",
            "stage": "$default",
            "time": "21/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795262400000,
        },
        "body": json.dumps(body, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def rest_api(route, body):
    return {
        "resource": route,
        "path": route,
        "httpMethod": "POST",
        "headers": {
            "Content-Type": "application/json",
            "User-Agent": "curl/8.5.0",
            "X-Ponte-Token": LOCAL_WEBHOOK_TOKEN,
        },
        "multiValueHeaders": {
            "Content-Type": ["application/json"],
            "User-Agent": ["curl/8.5.0"],
            "X-Ponte-Token": [LOCAL_WEBHOOK_TOKEN],
        },
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "a1b2c3",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTimeEpoch": 1795262400000,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0"},
            "path": f"/prod{route}",
            "resourcePath": route,
            "httpMethod": "POST",
            "apiId": "a1b2c3d4e5",
            "protocol": "HTTP/1.1",
        },
        "body": json.dumps(body, ensure_ascii=False),
        "isBase64Encoded": False,
    }


def sqs_record(message_id, body):
    return {
        "messageId": message_id,
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1795262400000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1795262400005",
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ponte-queue",
        "awsRegion": "us-east-1",
    }


def sqs(function, body):
    return {
        "Records": [
            sqs_record(
                f"{function}-0001-4b7c-9d2e-000000000001",
                json.dumps(body, ensure_ascii=False),
            )
        ]
    }


def sqs_sns(function, body):
    notification = {
        "Type": "Notification",
        "MessageId": "d88d4479-6ec0-54fe-b63f-1cf9df4bb16e",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ponte-events",
        "Message": json.dumps(body, ensure_ascii=False),
        "Timestamp": "2026-11-21T12:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }
    return {
        "Records": [
            sqs_record(
                f"{function}-0002-4b7c-9d2e-000000000002",
                json.dumps(notification, indent=2, ensure_ascii=False),
            )
        ]
    }


# Each trigger's event carries its own order number, so that they are distinct deliveries:
# identical requests within IDEMPOTENCY_TTL_SECONDS are sent once.
ORDERS = {"http-api.json": "0042", "rest-api.json": "0043", "sqs.json": "0044", "sqs-sns.json": "0045"}


def for_order(body, order):
    """The example body with `{order}` in its texts replaced by the order number."""
    if isinstance(body, str):
        return body.replace("{order}", order)
    if isinstance(body, list):
        return [for_order(item, order) for item in body]
    if isinstance(body, dict):
        return {key: for_order(value, order) for key, value in body.items()}
    return body


def form_webhook(route, source, body, query, headers):
    """An HTTP API (payload 2.0) request to the function's form route; JSON bodies arrive as
    text, not base64."""
    event = http_api(f"{route}/{source}", {})
    event["routeKey"] = event["requestContext"]["routeKey"] = f"POST {route}/{{source}}"
    event["rawQueryString"] = urllib.parse.urlencode(query)
    event["queryStringParameters"] = query
    event["pathParameters"] = {"source": source}
    event["headers"] = {"content-type": "application/json", **headers,
                        "host": event["headers"]["host"]}
    event["requestContext"]["http"]["userAgent"] = headers["user-agent"]
    event["body"] = body
    return event


def main():
    for function in REGISTRY["functions"]:
        name, route, form = function["name"], function["route"], function["example_form"]
        folder = ROOT / "events" / name
        folder.mkdir(parents=True, exist_ok=True)
        body = lambda event: for_order(function["example_body"], ORDERS[event])
        events = {
            "http-api.json": http_api(route, body("http-api.json")),
            "rest-api.json": rest_api(route, body("rest-api.json")),
            "sqs.json": sqs(name, body("sqs.json")),
            "sqs-sns.json": sqs_sns(name, body("sqs-sns.json")),
        }
        raw = (ROOT / "tests" / "fixtures" / "forms" / form["fixture"]).read_text(encoding="utf-8")
        events[f"{form['source']}.json"] = form_webhook(
            route, form["source"], raw, form["query"], form["headers"]
        )
        for event, content in events.items():
            text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
            (folder / event).write_text(text, encoding="utf-8")
            print(f"wrote events/{name}/{event}")


if __name__ == "__main__":
    main()
