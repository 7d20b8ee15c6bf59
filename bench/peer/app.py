"""The Python Lambda a team would write instead of Ponte, for one action: open a Cloud Chat
ticket from API Gateway and SQS events. Written the idiomatic way, with Powertools for AWS Lambda
(a cached secret with a max age, partial batch processing) and requests. The benchmark runs it
under AWS's runtime interface client (awslambdaric) beside Ponte's binary.
"""

import json
import os

import requests
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

session = requests.Session()
processor = BatchProcessor(event_type=EventType.SQS)


def connection():
    return parameters.get_secret(os.environ["SECRET_ID"], transform="json", max_age=300)


def create_conversation(body):
    conn = connection()
    for key in ("inbox_id", "message"):
        if key not in body:
            raise ValueError(f"{key} is required")
    url = f"{conn['base_url']}/api/v1/accounts/{conn['account_id']}/conversations"
    response = session.post(
        url,
        json=body,
        headers={"api_access_token": conn["api_access_token"]},
        timeout=(3, 10),
    )
    response.raise_for_status()
    return response.status_code, response.json()


def record_handler(record):
    create_conversation(json.loads(record.body))


def handler(event, context):
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    try:
        status, answer = create_conversation(json.loads(event.get("body") or "{}"))
        return {"statusCode": 200, "body": json.dumps({"ok": True, "provider": {"status": status, "body": answer}})}
    except (ValueError, json.JSONDecodeError) as error:
        return {"statusCode": 400, "body": json.dumps({"ok": False, "error": str(error)})}
    except requests.RequestException as error:
        return {"statusCode": 502, "body": json.dumps({"ok": False, "error": str(error)})}
