#!/usr/bin/env python3
"""Writes template.yaml from the registry of actions (shared/src/registry.rs).

Each function's block (its connection secret, trigger queue and dead-letter queue, the
function with its routes, its log group, alarms and outputs) is written from the same text, so
they never drift apart and a new action needs nothing here. The template itself stays
plain CloudFormation and SAM: per-function conditions (a stack-made or a given secret) cannot
be expressed inside an `Fn::ForEach` loop, whose `Fn::If` condition names CloudFormation does
not substitute. The logical ids are the ones deployed stacks already have.

  scripts/make-template.py           write template.yaml
  scripts/make-template.py --check   exit 1 if template.yaml is not what this writes, if the
                                     README's parameter table differs from its parameters, or if
                                     Cargo.toml, functions/, events/ or docs/providers/ list
                                     other functions than the registry (CI)
  scripts/make-template.py --list    the functions' binary names, one per line (scripts/bench)
"""

import json
import pathlib
import re
import subprocess
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent



def registry():
    """The functions as the registry of actions lists them (shared/src/registry.rs), printed by
    `ponte-registry`. Each action's `stem` begins the logical id of each of its resources and
    parameters (CloudChatConversationFunction, CloudChatConversationSecret, …): deployed stacks
    know them by these ids, so they never change."""
    printed = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "-p", "ponte-devtools", "--bin", "ponte-registry"],
        cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
    )
    return [
        {
            "binary": f["name"],
            "stem": f["stem"],
            "route": f["route"],
            "does": f["does"],
            "contract": f["contract"],
            "action_type": f["action_type"],
            "connection": f"{f['provider']} connection for Ponte: {f['secret_shape']}",
            "secret_help": f"Name or ARN of an existing secret holding the {f['provider']} connection "
            f"({f['secret_shape']}) for {f['name']}; functions of one provider may share one. Leave "
            "empty to have the stack create one, with a generated webhook_token, to fill in.",
        }
        for f in json.loads(printed.stdout)["functions"]
    ]


FUNCTIONS = registry()

FORM_SOURCES = "typeform, tally, jotform, google-forms, elementor, rdstation, cf7 or generic"


def folded(text, indent):
    """A YAML folded block (`>-`) of `text`, wrapped at 100 columns."""
    lines, line = [], ""
    for word in text.split():
        if line and len(indent) + len(line) + 1 + len(word) > 100:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return ">-\n" + "\n".join(indent + l for l in lines)


HEAD_BEFORE_SECRETS = r"""AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: >-
  Ponte: turns webhooks and queue messages into Cloud Chat tickets and WhatsApp template
  messages (Cloud Chat, Wegly, Sacflow). Rust functions, one per provider action, each behind an HTTP API route and
  an SQS queue with a dead-letter queue, each reading its provider connection from Secrets
  Manager.

Metadata:
  AWS::CloudFormation::Interface:
    ParameterGroups:
      - Label: { default: Provider connections (Secrets Manager) }
        Parameters:
"""

HEAD_AFTER_SECRETS = r"""      - Label: { default: Queues }
        Parameters:
          - BatchSize
          - MaximumBatchingWindowInSeconds
          - MaxReceiveCount
          - QueueMaximumConcurrency
          - QueueKmsKeyArn
      - Label: { default: Webhook API }
        Parameters:
          - ApiThrottlingRateLimit
          - ApiThrottlingBurstLimit
      - Label: { default: Behaviour and alarms }
        Parameters:
          - PhoneDefaultRegion
          - LogRetentionInDays
          - AlarmTopicArn

Parameters:
"""

OTHER_PARAMETERS = r"""  QueueKmsKeyArn:
    Type: String
    Default: ""
    Description: >-
      Optional ARN of a customer-managed KMS key to encrypt every queue and dead-letter queue
      with (they hold leads' contact data). Empty: SQS-managed encryption. Whatever sends to
      the queues (SNS topics, EventBridge rules) needs kms:GenerateDataKey and kms:Decrypt on it.
  BatchSize:
    Type: Number
    Default: 10
    MinValue: 1
    MaxValue: 100
    Description: >-
      SQS records per invocation. Records of a batch are delivered concurrently (up to
      BATCH_CONCURRENCY, 10), so up to 10 costs no extra time.
  MaximumBatchingWindowInSeconds:
    Type: Number
    Default: 0
    MinValue: 0
    MaxValue: 300
    Description: >-
      Seconds SQS may wait to fill a batch. 0 delivers each message as soon as it arrives.
  MaxReceiveCount:
    Type: Number
    Default: 14
    MinValue: 1
    MaxValue: 1000
    Description: >-
      Deliveries of one message before SQS moves it to the dead-letter queue. A message that
      fails for now waits twice as long on each receive (30 s, 1 min, 2 min, ... up to 12 h), so
      14 receives ride out a provider outage of more than a day.
  QueueMaximumConcurrency:
    Type: Number
    Default: 5
    MinValue: 2
    MaxValue: 1000
    Description: >-
      The most concurrent invocations one function's queue drives. The rate of provider calls is
      the connection secret's requests_per_second, kept across all instances.
  ApiThrottlingRateLimit:
    Type: Number
    Default: 20
    MinValue: 1
    Description: Requests per second the webhook API accepts on each route (steady state).
  ApiThrottlingBurstLimit:
    Type: Number
    Default: 50
    MinValue: 1
    Description: Requests the webhook API accepts at once on each route (burst).
  LogRetentionInDays:
    Type: Number
    Default: 30
    AllowedValues: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
    Description: Days the functions' logs are kept.
  PhoneDefaultRegion:
    Type: String
    Default: BR
    AllowedPattern: "^[A-Za-z]{2}$"
    Description: Country of phone numbers written without a country code (ISO 3166, two letters).
  AlarmTopicArn:
    Type: String
    Default: ""
    Description: >-
      Optional SNS topic ARN that the alarms notify. Leave empty for alarms without
      notifications.

"""

GLOBALS_AND_SHARED = r"""# 128 MB is plenty for a Rust function whose peak resident memory is a few MB (BENCHMARKS.md).
# 30 s covers a provider call (PROVIDER_TIMEOUT_MS, 10 s) with room for the secret read, and is
# also the longest an HTTP API waits for its integration. The SQS visibility timeout is six
# times this, as AWS recommends for event source mappings.
Globals:
  Function:
    Runtime: provided.al2023
    Architectures: [arm64]
    Handler: bootstrap
    CodeUri: .
    MemorySize: 128
    Timeout: 30
    Tracing: Active
    LoggingConfig:
      LogFormat: JSON
    Environment:
      Variables:
        PHONE_DEFAULT_REGION: !Ref PhoneDefaultRegion
        IDEMPOTENCY_TABLE: !Ref IdempotencyTable
        # A kept request is run for as long as its dead letter is kept (the dead-letter queues'
        # MessageRetentionPeriod, 14 days), and a delivery is remembered a day longer, so that
        # no copy of a lead outlives the memory that it was sent.
        RECORD_MAX_AGE_SECONDS: "1209600"
        IDEMPOTENCY_TTL_SECONDS: "1296000"
        # The key every function seals the records it keeps with, and checks them by.
        RECORD_KEY_SECRET_ID: !Ref RecordKey

Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Description: Ponte webhooks (form builders and direct callers)
      # Every route is throttled, so that a flood of requests costs at most this much.
      DefaultRouteSettings:
        ThrottlingRateLimit: !Ref ApiThrottlingRateLimit
        ThrottlingBurstLimit: !Ref ApiThrottlingBurstLimit

  # The stack's record key: every function seals the requests it keeps on its queue with it
  # and checks them by it, so that a message that merely sits on a queue never runs as one.
  RecordKey:
    Type: AWS::SecretsManager::Secret
    Properties:
      Name: !Sub "${AWS::StackName}/record-key"
      Description: Ponte's record key (generated; rotate it only when every queue is empty)
      GenerateSecretString:
        SecretStringTemplate: "{}"
        GenerateStringKey: record_key
        PasswordLength: 64
        ExcludePunctuation: true

  # One table of delivery claims for all the functions; each may touch only its own keys,
  # which start with its name. Expired claims are removed by DynamoDB's TTL.
  IdempotencyTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: id
          AttributeType: S
      KeySchema:
        - AttributeName: id
          KeyType: HASH
      TimeToLiveSpecification:
        AttributeName: expiration
        Enabled: true
"""


def secret_group(f):
    return f"          - {f['stem']}Secret\n"


def secret_parameter(f):
    return f"""  {f['stem']}Secret:
    Type: String
    Default: ""
    Description: {folded(f['secret_help'], '      ')}
"""


def conditions(f):
    s = f["stem"]
    return f"""  Create{s}Secret: !Equals [!Ref {s}Secret, ""]
  {s}SecretIsArn: !Equals [!Select [0, !Split [":", !Ref {s}Secret]], "arn"]
"""


def others(f):
    return [o for o in FUNCTIONS if o["binary"] != f["binary"]]


def fan_out_env(f):
    """FAN_OUT_QUEUES: `<function>=<queue URL>` of every other function of the stack."""
    return ",".join(f"{o['binary']}=${{{o['stem']}Queue}}" for o in others(f))


def fan_out_arns(f):
    return "\n".join(f"                - !GetAtt {o['stem']}Queue.Arn" for o in others(f))


def function_block(f):
    s, b = f["stem"], f["binary"]
    rule = f"  # {'-' * (93 - len(b))} {b}"
    return f"""
{rule}
  {s}Connection:
    Type: AWS::SecretsManager::Secret
    Condition: Create{s}Secret
    Properties:
      Name: !Sub "${{AWS::StackName}}/{b}"
      Description: {folded(f['connection'], '        ')}
      # A generated webhook_token protects every route of a fresh stack (closed by default):
      # callers present it as ?token=… or X-Ponte-Token. Fill in the provider's keys beside it.
      GenerateSecretString:
        SecretStringTemplate: "{{}}"
        GenerateStringKey: webhook_token
        PasswordLength: 40
        ExcludePunctuation: true

  {s}DeadLetters:
    Type: AWS::SQS::Queue
    Properties:
      # An intake record carries a webhook body of up to 256 KB in base64.
      MaximumMessageSize: 1048576
      MessageRetentionPeriod: 1209600
      SqsManagedSseEnabled: !If [EncryptQueuesWithKey, !Ref AWS::NoValue, true]
      KmsMasterKeyId: !If [EncryptQueuesWithKey, !Ref QueueKmsKeyArn, !Ref AWS::NoValue]

  {s}Queue:
    Type: AWS::SQS::Queue
    Properties:
      # An intake record carries a webhook body of up to 256 KB in base64.
      MaximumMessageSize: 1048576
      VisibilityTimeout: 180
      MessageRetentionPeriod: 345600
      SqsManagedSseEnabled: !If [EncryptQueuesWithKey, !Ref AWS::NoValue, true]
      KmsMasterKeyId: !If [EncryptQueuesWithKey, !Ref QueueKmsKeyArn, !Ref AWS::NoValue]
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt {s}DeadLetters.Arn
        maxReceiveCount: !Ref MaxReceiveCount

  {s}Function:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: {b}
    Properties:
      LoggingConfig:
        LogFormat: JSON
        LogGroup: !Ref {s}Logs
      Description: {f['does']}
      Environment:
        Variables:
          DEAD_LETTER_QUEUE_URL: !Ref {s}DeadLetters
          # Requests that cannot be delivered now are kept here and delivered from it.
          INTAKE_QUEUE_URL: !Ref {s}Queue
          # The other functions' queues, where a route's `also` hands submissions.
          FAN_OUT_QUEUES: !Sub "{fan_out_env(f)}"
          SECRET_ID: !If
            - Create{s}Secret
            - !Ref {s}Connection
            - !Ref {s}Secret
      Policies:
        - Statement:
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: !Ref RecordKey
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: !If
                - Create{s}Secret
                - !Ref {s}Connection
                - !If
                  - {s}SecretIsArn
                  - !Ref {s}Secret
                  - !Sub "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:${{{s}Secret}}-??????"
        - Statement:
            - Effect: Allow
              Action: sqs:SendMessage
              Resource:
                - !GetAtt {s}DeadLetters.Arn
                - !GetAtt {s}Queue.Arn
            # Hand-overs (a route's `also`): the other functions of the stack, each only through
            # its own queue, where it checks the record's seal before running it.
            - Effect: Allow
              Action: sqs:SendMessage
              Resource:
{fan_out_arns(f)}
            # An operator's replay command (scripts/replay) reads the function's own dead
            # letters, puts back the ones it did not choose and deletes the ones it redrove.
            - Effect: Allow
              Action: [sqs:ReceiveMessage, sqs:ChangeMessageVisibility, sqs:DeleteMessage]
              Resource: !GetAtt {s}DeadLetters.Arn
            # A message of its own queue that fails for now is hidden longer on each receive.
            - Effect: Allow
              Action: sqs:ChangeMessageVisibility
              Resource: !GetAtt {s}Queue.Arn
            # Queues encrypted with the operator's key: writing and reading them needs it.
            - !If
              - EncryptQueuesWithKey
              - Effect: Allow
                Action: [kms:GenerateDataKey, kms:Decrypt]
                Resource: !Ref QueueKmsKeyArn
              - !Ref AWS::NoValue
            - Effect: Allow
              Action: [dynamodb:PutItem, dynamodb:GetItem, dynamodb:DeleteItem]
              Resource: !GetAtt IdempotencyTable.Arn
              Condition:
                ForAllValues:StringLike:
                  dynamodb:LeadingKeys: ["{b}#*"]
            # The provider's pace: the turns of each connection, shared by every function that
            # calls with it (items pace#<hash of host and credentials>, nothing else).
            - Effect: Allow
              Action: dynamodb:UpdateItem
              Resource: !GetAtt IdempotencyTable.Arn
              Condition:
                ForAllValues:StringLike:
                  dynamodb:LeadingKeys: ["pace#*"]
      Events:
        Webhook:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: POST
            Path: {f['route']}
        FormWebhook:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            # POST only: nothing else reaches the function.
            Method: POST
            Path: {f['route']}/{{source}}
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt {s}Queue.Arn
            BatchSize: !Ref BatchSize
            MaximumBatchingWindowInSeconds: !Ref MaximumBatchingWindowInSeconds
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:
              MaximumConcurrency: !Ref QueueMaximumConcurrency

  {s}Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      # The stack's own group, not Lambda's default one, which a stack deployed before this
      # group existed would already have (CloudFormation cannot create a group that exists).
      LogGroupName: !Sub "/ponte/${{AWS::StackName}}/{b}"
      RetentionInDays: !Ref LogRetentionInDays

  {s}DeadLetterAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {folded(b + ': messages that failed every delivery wait in the dead-letter queue (see docs/operator-guide.md, "Dead letters").', '        ')}
      Namespace: AWS/SQS
      MetricName: ApproximateNumberOfMessagesVisible
      Dimensions:
        - Name: QueueName
          Value: !GetAtt {s}DeadLetters.QueueName
      Statistic: Maximum
      Period: 60
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [NotifyAlarms, [!Ref AlarmTopicArn], !Ref AWS::NoValue]

  {s}FailureRateAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {folded(b + ': more than 10% of deliveries failed in 5 minutes (with at least 5 deliveries). The function' + "'" + 's log says why (outcome and error), see docs/operator-guide.md, "Operating Ponte".', '        ')}
      Metrics:
        - Id: delivered
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: Ponte
              MetricName: Delivered
              Dimensions: [{{Name: function, Value: {b}}}]
            Period: 300
            Stat: Sum
        - Id: failed
          ReturnData: false
          MetricStat:
            Metric:
              Namespace: Ponte
              MetricName: Failed
              Dimensions: [{{Name: function, Value: {b}}}]
            Period: 300
            Stat: Sum
        - Id: rate
          Label: failed deliveries (%)
          Expression: "IF(FILL(delivered, 0) + FILL(failed, 0) >= 5, 100 * FILL(failed, 0) / (FILL(delivered, 0) + FILL(failed, 0)), 0)"
          ReturnData: true
      EvaluationPeriods: 1
      Threshold: 10
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [NotifyAlarms, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
      OKActions: !If [NotifyAlarms, [!Ref AlarmTopicArn], !Ref AWS::NoValue]

  {s}ProviderLatencyAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {folded(b + ": the provider's p95 answer time stayed above 5 s for 15 minutes.", '        ')}
      Namespace: Ponte
      MetricName: ProviderLatency
      Dimensions:
        - Name: function
          Value: {b}
      ExtendedStatistic: p95
      Period: 300
      EvaluationPeriods: 3
      Threshold: 5000
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [NotifyAlarms, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
      OKActions: !If [NotifyAlarms, [!Ref AlarmTopicArn], !Ref AWS::NoValue]

  {s}ErrorAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {folded(b + ": invocations failed as a whole (an event of unknown shape, or a crash).", '        ')}
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - Name: FunctionName
          Value: !Ref {s}Function
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [NotifyAlarms, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
"""


# The dashboard: one widget per measure, each a search over every function's metrics, so that a
# function added to the registry appears on it with no change here.
WIDGETS = [
    ("Delivered, by function", [("delivered", r'{Ponte,function} MetricName=\"Delivered\"', "Sum")]),
    ("Failed, by function", [("failed", r'{Ponte,function} MetricName=\"Failed\"', "Sum")]),
    ("Failures, by kind", [("kinds", r'{Ponte,function,error_kind} MetricName=\"FailedByKind\"', "Sum")]),
    ("Queued for later and dead-lettered, by function", [
        ("queued", r'{Ponte,function} MetricName=\"Queued\"', "Sum"),
        ("dead", r'{Ponte,function} MetricName=\"DeadLettered\"', "Sum"),
    ]),
    ("Provider answer time p95 (ms), by function", [("latency", r'{Ponte,function} MetricName=\"ProviderLatency\"', "p95")]),
    ("Duplicates and retries, by function", [
        ("duplicate", r'{Ponte,function} MetricName=\"Duplicate\"', "Sum"),
        ("retried", r'{Ponte,function} MetricName=\"Retried\"', "Sum"),
    ]),
    ("Dead-letter queues: messages waiting", [("dlq", r'{AWS/SQS,QueueName} MetricName=\"ApproximateNumberOfMessagesVisible\" ${AWS::StackName} DeadLetters', "Maximum")]),
    ("Invocation errors and cold starts", [
        ("errors", r'{AWS/Lambda,FunctionName} MetricName=\"Errors\" ${AWS::StackName}', "Sum"),
        ("cold", r'{Ponte,function} MetricName=\"ColdStart\"', "Sum"),
    ]),
]


def dashboard():
    widgets = []
    for i, (title, searches) in enumerate(WIDGETS):
        metrics = ",\n".join(
            f'             [{{"expression": "SEARCH(\'{query}\', \'{stat}\', 300)", "id": "{id}"}}]'
            for id, query, stat in searches
        )
        widgets.append(
            f"""          {{
           "type": "metric", "x": {12 * (i % 2)}, "y": {6 * (i // 2)}, "width": 12, "height": 6,
           "properties": {{
            "title": "{title}", "view": "timeSeries", "region": "${{AWS::Region}}", "period": 300,
            "metrics": [
{metrics}
            ]
           }}
          }}"""
        )
    return (
        """
  # One widget per measure, each a search over every function's metrics (see WIDGETS in
  # scripts/make-template.py).
  Dashboard:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardName: !Sub "${AWS::StackName}-ponte"
      DashboardBody: !Sub |
        {
         "widgets": [
"""
        + ",\n".join(widgets)
        + """
         ]
        }
"""
    )


def outputs():
    out = """
Outputs:
  DashboardUrl:
    Description: The CloudWatch dashboard, one widget per measure across the functions
    Value: !Sub "https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name=${AWS::StackName}-ponte"
  IdempotencyTableName:
    Description: The DynamoDB table of delivery claims
    Value: !Ref IdempotencyTable
  ApiUrl:
    Description: Base URL of the webhook API
    Value: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
"""
    for f in FUNCTIONS:
        s, b, r = f["stem"], f["binary"], f["route"]
        out += f"""  {s}Url:
    Description: Webhook URL of {b}
    Value: !Sub "https://${{Api}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}{r}"
  {s}FormUrl:
    Description: Form webhook URL template; replace {{source}} with {FORM_SOURCES}
    Value: !Sub "https://${{Api}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}{r}/{{source}}"
"""
    for f in FUNCTIONS:
        s = f["stem"]
        out += f"""  {s}QueueUrl:
    Value: !Ref {s}Queue
  {s}QueueArn:
    Value: !GetAtt {s}Queue.Arn
  {s}DeadLetterQueueUrl:
    Value: !Ref {s}DeadLetters
"""
    for f in FUNCTIONS:
        s, b = f["stem"], f["binary"]
        out += f"""  {s}FunctionName:
    Description: The Lambda function of {b} (scripts/replay invokes it)
    Value: !Ref {s}Function
"""
    for f in FUNCTIONS:
        s, b = f["stem"], f["binary"]
        out += f"""  {s}SecretId:
    Description: The secret {b} reads (fill it in with put-secret-value)
    Value: !If [Create{s}Secret, !Ref {s}Connection, !Ref {s}Secret]
"""
    return out


def template():
    return (
        HEAD_BEFORE_SECRETS
        + "".join(secret_group(f) for f in FUNCTIONS)
        + HEAD_AFTER_SECRETS
        + "".join(secret_parameter(f) for f in FUNCTIONS)
        + OTHER_PARAMETERS
        + "\nConditions:\n"
        + "".join(conditions(f) for f in FUNCTIONS)
        + '  NotifyAlarms: !Not [!Equals [!Ref AlarmTopicArn, ""]]\n'
        + '  EncryptQueuesWithKey: !Not [!Equals [!Ref QueueKmsKeyArn, ""]]\n\n'
        + GLOBALS_AND_SHARED
        + "".join(function_block(f) for f in FUNCTIONS)
        + dashboard()
        + outputs()
    )


def readme_parameter_problems():
    """Every parameter of the template is in the README's `sam deploy --guided` table (the rows
    after `| parameter | default | meaning |`), and the table names no other."""
    text = template()
    params = text[text.index("\nParameters:\n"):text.index("\nConditions:\n")]
    names = {line.strip().rstrip(":") for line in params.splitlines()
             if line.startswith("  ") and not line.startswith("   ") and line.strip().endswith(":")}
    # Each function's secret parameter is one row, `<Function>Secret`, whatever the functions.
    per_function = {f"{f['stem']}Secret" for f in FUNCTIONS}
    names = {"<Function>Secret" if name in per_function else name for name in names}
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| parameter | default | meaning |"):].split("\n\n", 1)[0]
    listed = {name for row in table.splitlines()[2:]
              for name in re.findall(r"`([^`]+)`", row.split("|")[1])} - per_function
    return [f"README.md's parameter table lacks {name}" for name in sorted(names - listed)] + [
        f"README.md's parameter table has {name}, which the template does not" for name in sorted(listed - names)]


def elsewhere_disagreements():
    """Where the rest of the repository does not list the same functions: the places the tools
    need a function named again (Cargo.toml's binaries and their local environments, a folder
    in functions/, its ready events, its provider contract)."""
    names = {f["binary"] for f in FUNCTIONS}
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    places = {
        "Cargo.toml [[bin]]": {b["name"] for b in cargo.get("bin", [])},
        "Cargo.toml [package.metadata.lambda.bin]": set(cargo["package"]["metadata"]["lambda"]["bin"]),
        "functions/": {p.parent.name for p in (ROOT / "functions").glob("*/main.rs")},
        "events/": {p.name for p in (ROOT / "events").iterdir() if p.is_dir()},
        "docs/providers/": {f["binary"] for f in FUNCTIONS if (ROOT / f["contract"]).is_file()},
    }
    problems = []
    for place, listed in places.items():
        for name in sorted(names - listed):
            problems.append(f"{place} lacks {name}")
        for name in sorted(listed - names):
            problems.append(f"{place} has {name}, which is not in the registry of actions (shared/src/registry.rs)")
    problems += readme_parameter_problems()
    for f in FUNCTIONS:
        main = ROOT / "functions" / f["binary"] / "main.rs"
        action = f["action_type"].rsplit("::", 1)[-1]
        if main.is_file() and f"::{action}>" not in main.read_text():
            problems.append(f"functions/{f['binary']}/main.rs does not run {action} (ponte::run::<{action}>())")
    return problems


def main():
    path = ROOT / "template.yaml"
    text = "# Written by scripts/make-template.py from the registry of actions: edit that, not this.\n" + template()
    if sys.argv[1:] == ["--list"]:
        print("\n".join(f["binary"] for f in FUNCTIONS))
        return
    if sys.argv[1:] == ["--check"]:
        problems = elsewhere_disagreements()
        if path.read_text() != text:
            problems.append("template.yaml is not what scripts/make-template.py writes: run it and commit the result")
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            sys.exit(1)
        print(f"template.yaml: current; Cargo.toml, functions/, events/ and docs/providers/ list the same {len(FUNCTIONS)} functions")
        return
    if sys.argv[1:]:
        print(__doc__)
        sys.exit(0 if sys.argv[1:] in (["-h"], ["--help"]) else 2)
    path.write_text(text)
    print(f"wrote {path.relative_to(ROOT)} ({len(text.splitlines())} lines, {len(FUNCTIONS)} functions)")


if __name__ == "__main__":
    main()
