#!/usr/bin/env python3
"""Writes events/<function>/*.json: one ready Lambda event per function and trigger.

Each function gets the same payload through four triggers: an HTTP API request (payload 2.0,
what `sam deploy` creates), a REST API request (payload 1.0), an SQS batch, and an SQS batch
whose record is an SNS notification. Each also gets one form webhook, a sample from
`tests/fixtures/forms/` posted to its `{source}` route and signed (or tokened) as the builder
does, which the function turns into a request with its default mapping. The payloads follow each provider's documentation and
match the connections `scripts/run-local` stores in its moto server. Run it again after
changing a payload; the files are committed so that `cargo lambda invoke --data-file` and
`sam local invoke -e` can use them as they are.
"""

import base64
import hashlib
import hmac
import json
import pathlib
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent

PAYLOADS = {
    "cloudchat-create-conversation": (
        "/cloudchat/conversations",
        {
            "inbox_id": "1",
            "contact_email": "maria.souza@example.com",
            "contact_phone_number": "(85) 98769-6383",
            "message": {
                "content": "Olá! Preenchi o formulário de orçamento e gostaria de falar com um consultor.",
                "message_type": "incoming",
            },
            "custom_attributes": {"origem": "site", "plano": "empresarial"},
        },
    ),
    "cloudchat-proactive-whatsapp": (
        "/cloudchat/whatsapp",
        {
            "inbox_id": "2",
            "phone_number": "+55 11 98765-4321",
            "template_name": "pedido_enviado",
            "button_param_0": "",
            "nome": "Maria",
            "pedido": "",
        },
    ),
    "wegly-create-chat": (
        "/wegly/chats",
        {
            "whatsapp_phone_id": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
            "wa_contact_id": "(11) 99999-9999",
            "template": {"name": "saudacao_inicial", "language": "pt_BR"},
            "template_fields": [
                {"component": "BODY", "type": "TEXT", "index": 1, "value": "João"}
            ],
            "remote_profile_name": "João Pereira",
        },
    ),
    "sacflow-send-message": (
        "/sacflow/messages",
        {
            "channelId": 1,
            "contact": {"name": "Ana Lima", "phone": "(21) 99876-5432"},
            "message": {
                "type": "template",
                "name": "confirmacao_agendamento",
                "variables": ["Ana", "25/11 às 14h"],
            },
            "summary": "Agendamento confirmado pelo site",
        },
    ),
}


# The webhook_token of the local secrets (devtools/src/bin/ponte-local.rs): direct calls present
# it, as deployed callers present the token the stack generated.
LOCAL_WEBHOOK_TOKEN = "local-webhook-token"


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


# Each trigger's event carries its own order number, so that the four are four deliveries:
# identical requests within IDEMPOTENCY_TTL_SECONDS are sent once.
ORDERS = {"http-api.json": "0042", "rest-api.json": "0043", "sqs.json": "0044", "sqs-sns.json": "0045"}


def for_order(function, body, order):
    body = json.loads(json.dumps(body))
    if function == "cloudchat-create-conversation":
        body["message"]["content"] += f" Pedido PED-2026-{order}."
        body["custom_attributes"]["pedido"] = f"PED-2026-{order}"
    elif function == "cloudchat-proactive-whatsapp":
        body["button_param_0"] = body["pedido"] = f"PED-2026-{order}"
    elif function == "wegly-create-chat":
        body["template_fields"].append(
            {"component": "BODY", "type": "TEXT", "index": 2, "value": f"PED-2026-{order}"}
        )
    elif function == "sacflow-send-message":
        body["message"]["variables"].append(f"PED-2026-{order}")
        body["summary"] += f" (pedido PED-2026-{order})"
    return body


# One form webhook per function: (source, fixture, query string, headers). The secrets and tokens
# are those of the local connections (devtools/src/bin/ponte-local.rs); the query string gives the
# ids the form does not ask for, as the README's "Form builders" section tells users.
FORMS = {
    "cloudchat-create-conversation": (
        "typeform",
        "typeform.json",
        {"inbox_id": "1"},
        lambda body: {
            "user-agent": "Typeform Webhooks",
            "typeform-signature": signature("local-typeform-secret", body),
        },
    ),
    "cloudchat-proactive-whatsapp": (
        "google-forms",
        "google-forms.json",
        {"inbox_id": "2", "template_name": "boas_vindas"},
        lambda body: {
            "user-agent": "Mozilla/5.0 (compatible; Google-Apps-Script)",
            "x-ponte-signature": signature("local-google-forms-secret", body),
        },
    ),
    "wegly-create-chat": (
        "tally",
        "tally.json",
        {
            "whatsapp_phone_id": "0b28ee57-7a57-4407-a9c5-5cd4e5a5fd6c",
            "template_name": "saudacao_inicial",
        },
        # Tally sends the bare base64, without the sha256= prefix.
        lambda body: {
            "user-agent": "Tally Webhooks",
            "tally-signature": signature("local-tally-secret", body).removeprefix("sha256="),
        },
    ),
    "sacflow-send-message": (
        "rdstation",
        "rdstation-converted.json",
        {"token": "local-rdstation-token", "channel_id": "1", "template_name": "boas_vindas"},
        lambda body: {"user-agent": "RD Station Webhooks"},
    ),
}


def signature(secret, body):
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


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
    for function, (route, base) in PAYLOADS.items():
        folder = ROOT / "events" / function
        folder.mkdir(parents=True, exist_ok=True)
        body = lambda name: for_order(function, base, ORDERS[name])
        events = {
            "http-api.json": http_api(route, body("http-api.json")),
            "rest-api.json": rest_api(route, body("rest-api.json")),
            "sqs.json": sqs(function, body("sqs.json")),
            "sqs-sns.json": sqs_sns(function, body("sqs-sns.json")),
        }
        source, fixture, query, headers = FORMS[function]
        raw = (ROOT / "tests" / "fixtures" / "forms" / fixture).read_text(encoding="utf-8")
        events[f"{source}.json"] = form_webhook(route, source, raw, query, headers(raw))
        for name, event in events.items():
            text = json.dumps(event, indent=2, ensure_ascii=False) + "\n"
            (folder / name).write_text(text, encoding="utf-8")
            print(f"wrote events/{function}/{name}")


if __name__ == "__main__":
    main()
