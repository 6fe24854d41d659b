"""template.yaml: handlers that exist, routes that match the code, and the operational promises of issue 6."""

import json
import re
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

from tools.lambda_events import EVENTS_DIR
from tools.template import ROOT, FunctionSpec, functions, http_routes, load_template, loaded_module

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
SPECS = functions(TEMPLATE)
API_FUNCTIONS = [spec for spec in SPECS.values() if spec.routes]
# Every function API Gateway invokes: the API's and the catch-all routes' (tests/test_catch_all.py).
GATEWAY_FUNCTIONS = [spec for spec in SPECS.values() if spec.routes or spec.catch_all_routes]

# The contract's routes (CONTRACT.md): the template must offer exactly these.
CONTRACT_ROUTES = {
    "POST /v1/onboarding",
    "GET /v1/onboarding",
    "PUT /v1/onboarding/wizard/steps/{}",
    "POST /v1/onboarding/wizard/skip",
    "PUT /v1/onboarding/preferences",
    "POST /v1/onboarding/sample-data",
    "GET /v1/onboarding/sample-data",
    "DELETE /v1/onboarding/sample-data",
    "POST /v1/onboarding/sample-data/extend",
    "GET /v1/onboarding/checklist",
    "PUT /v1/onboarding/checklist/{}",
    "GET /v1/onboarding/tutorials",
    "POST /v1/onboarding/tutorials/{}/views",
    "PUT /v1/onboarding/tutorials/{}/progress",
    "POST /v1/onboarding/tutorials/{}/complete",
    "POST /v1/onboarding/tutorials/{}/skip",
    "POST /v1/onboarding/metrics",
    "GET /v1/onboarding/export",
    "GET /v1/analytics/funnel",
    "GET /v1/analytics/completion-time",
    "GET /v1/analytics/incomplete",
    "GET /v1/analytics/completion-rate",
    "GET /v1/analytics/experiments",  # issue 13 (docs/analytics.md), beyond CONTRACT.md
}


def resolver_route_shapes(spec: FunctionSpec) -> set[str]:
    module = loaded_module(spec)
    resolvers = [value for value in vars(module).values() if isinstance(value, ApiGatewayResolver)]
    assert len(resolvers) == 1, f"{spec.logical_id}: expected one resolver in {spec.handler_file}"
    routes = [*resolvers[0]._static_routes, *resolvers[0]._dynamic_routes]
    return {f"{route.method} {re.sub(r'\{[^/{}]+\}', '{}', route.openapi_path)}" for route in routes}


@pytest.mark.parametrize("spec", SPECS.values(), ids=list(SPECS))
def test_every_function_handler_file_exists(spec: FunctionSpec) -> None:
    assert spec.handler_file.is_file()


@pytest.mark.parametrize("spec", API_FUNCTIONS, ids=[spec.logical_id for spec in API_FUNCTIONS])
def test_template_routes_and_handler_routes_are_the_same(spec: FunctionSpec) -> None:
    template_shapes = {route.shape for route in spec.routes}
    handler_shapes = resolver_route_shapes(spec)
    assert sorted(handler_shapes - template_shapes) == [], "in the handler, not in template.yaml"
    missing = template_shapes - handler_shapes
    assert sorted(missing) == [], "in template.yaml, not in the handler"


def test_every_handler_in_functions_is_a_function_of_the_template() -> None:
    handler_dirs = {path.parent for path in (ROOT / "functions").glob("*/app.py")}
    assert sorted(map(str, handler_dirs - {spec.code_uri for spec in SPECS.values()})) == []


def test_the_template_offers_exactly_the_contract_routes() -> None:
    shapes = [route.shape for route in http_routes(TEMPLATE)]
    assert len(shapes) == len(set(shapes)), "a route is declared twice"
    assert set(shapes) == CONTRACT_ROUTES


def test_every_area_has_its_own_function() -> None:
    assert {spec.logical_id: spec.code_uri.name for spec in SPECS.values()} == {
        "OnboardingFunction": "onboarding",
        "ChecklistFunction": "checklist",
        "TutorialsFunction": "tutorials",
        "MetricsFunction": "metrics",
        "AnalyticsFunction": "analytics",
        "ExportFunction": "export",
        "CatchAllFunction": "catch_all",
        "PurgeFunction": "purge",
        "OrganizationCreatedFunction": "organization_created",
        "OutboxPublisherFunction": "outbox_publisher",
        "MigrationsFunction": "migrations",
        "AccessTokenClaimsFunction": "access_token_claims",
    }


def test_every_function_runs_python312_on_arm64_from_globals_with_the_shared_layer() -> None:
    globals_ = TEMPLATE["Globals"]["Function"]
    assert (globals_["Runtime"], globals_["Architectures"]) == ("python3.12", ["arm64"])
    assert globals_["Layers"] == [{"Ref": "SharedLayer"}]
    assert globals_["Tracing"] == "PassThrough"  # no X-Ray, by the numbers (docs/deployment.md)
    for logical_id in SPECS:
        overridden = {"Runtime", "Architectures", "Layers"} & set(RESOURCES[logical_id]["Properties"])
        assert not overridden, f"{logical_id} overrides {overridden}"
    layer = RESOURCES["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/shared"
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "ContextPath": "tools/sam-build"}


def test_every_function_and_the_layer_are_built_by_the_makefile_that_compiles_them() -> None:
    # Globals cannot hold Metadata: each resource names the build (tools/sam-build/Makefile) itself.
    for logical_id in [*SPECS, "SharedLayer"]:
        metadata = RESOURCES[logical_id].get("Metadata", {})
        assert metadata == {"BuildMethod": "makefile", "ContextPath": "tools/sam-build"}, logical_id


def test_powertools_is_configured_for_every_function() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "onboarding"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert variables["POWERTOOLS_METRICS_NAMESPACE"]


def test_the_api_requires_a_jwt_on_every_route() -> None:
    api = RESOURCES["HttpApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "JwtAuthorizer"
    jwt = api["Auth"]["Authorizers"]["JwtAuthorizer"]["JwtConfiguration"]
    assert jwt == {"issuer": {"Ref": "JwtIssuer"}, "audience": {"Ref": "JwtAudience"}}
    for spec in API_FUNCTIONS:
        for name, event in RESOURCES[spec.logical_id]["Properties"]["Events"].items():
            assert event["Properties"]["ApiId"] == {"Ref": "HttpApi"}, name
            assert "Auth" not in event["Properties"], f"{name} overrides the default authorizer"


def test_the_api_logs_every_request_and_throttles() -> None:
    api = RESOURCES["HttpApi"]["Properties"]
    assert api["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert json.loads(api["AccessLogSettings"]["Format"])["routeKey"] == "$context.routeKey"
    assert api["DefaultRouteSettings"]["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    # The web client's origin, and the analyst dashboard's when the stack hosts it.
    dashboard = "https://${DashboardDistribution.DomainName}"
    assert api["CorsConfiguration"]["AllowOrigins"] == [
        {"Ref": "CorsAllowedOrigin"},
        {"Fn::If": ["HostDashboard", {"Fn::Sub": dashboard}, {"Ref": "AWS::NoValue"}]},
    ]


def test_functions_run_in_the_vpc_and_may_call_only_what_they_call() -> None:
    vpc = TEMPLATE["Globals"]["Function"]["VpcConfig"]
    assert vpc == {"SubnetIds": {"Ref": "VpcSubnetIds"}, "SecurityGroupIds": [{"Ref": "VpcSecurityGroupId"}]}
    put_events = {"EventBridgePutEventsPolicy": {"EventBusName": {"Ref": "EventBusName"}}}
    send_to_dlq = {
        "SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": ["OrganizationCreatedDLQ", "QueueName"]}}
    }
    extra: dict[str, list[dict[str, Any]]] = {
        "OnboardingFunction": [put_events],  # publishes its domain events right after the commit
        "PurgeFunction": [put_events],  # SampleDataCleared (expired)
        "OutboxPublisherFunction": [put_events],
        # Parks malformed events itself; FeatureUnlocked when the new state finds reached milestones.
        "OrganizationCreatedFunction": [send_to_dlq, put_events],
    }
    for logical_id in SPECS:
        if logical_id in {"AccessTokenClaimsFunction", "CatchAllFunction"}:
            # Reads only its event: no database, no AWS call, so nothing beyond logs and tracing.
            assert "Policies" not in RESOURCES[logical_id]["Properties"]
            continue
        database = (
            "MigrationsDatabaseAccessPolicy" if logical_id == "MigrationsFunction" else "DatabaseAccessPolicy"
        )
        assert RESOURCES[logical_id]["Properties"]["Policies"] == [
            {"Ref": database},
            *extra.get(logical_id, []),
        ], logical_id
    statements = [
        statement["Fn::If"][1]
        for statement in RESOURCES["DatabaseAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert {(s["Action"], json.dumps(s["Resource"], sort_keys=True)) for s in statements} == {
        ("secretsmanager:GetSecretValue", json.dumps({"Fn::Sub": "${DatabaseSecretArn}"})),
        ("kms:Decrypt", json.dumps({"Ref": "DatabaseSecretKmsKeyArn"})),
        (
            "rds-db:connect",
            json.dumps(
                {
                    "Fn::Sub": "arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:"
                    "${DatabaseProxyResourceId}/${DatabaseUser}"
                }
            ),
        ),
    }


def test_database_settings_follow_the_chosen_authentication() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["DB_HOST"] == {"Ref": "DatabaseHost"}
    assert variables["DB_SECRET_ARN"] == {
        "Fn::If": ["UseSecret", {"Ref": "DatabaseSecretArn"}, {"Ref": "AWS::NoValue"}]
    }
    assert variables["DB_IAM_AUTH"] == {"Fn::If": ["UseIamAuth", "true", "false"]}
    assert set(TEMPLATE["Parameters"]["DatabaseAuth"]["AllowedValues"]) == {"secret", "iam"}


def test_purge_runs_at_0300_utc_with_retries_and_a_dead_letter_queue() -> None:
    purge = RESOURCES["PurgeFunction"]["Properties"]
    (schedule,) = purge["Events"].values()
    assert schedule["Type"] == "ScheduleV2"
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert properties["ScheduleExpressionTimezone"] == "UTC"
    assert properties["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert 60 <= properties["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400
    dead_letter_queue = {"Fn::GetAtt": ["PurgeDeadLetterQueue", "Arn"]}
    assert properties["DeadLetterConfig"] == {"Arn": dead_letter_queue}
    # Scheduler invokes asynchronously: runs that fail end up in the same queue after Lambda's retries.
    assert purge["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"] == dead_letter_queue
    assert RESOURCES["PurgeDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"


def test_alarms_watch_the_dead_letter_queue_and_function_errors() -> None:
    dlq_alarm = RESOURCES["PurgeDeadLetterAlarm"]["Properties"]
    assert dlq_alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq_alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["PurgeDeadLetterQueue", "QueueName"]}
    purge_alarm = RESOURCES["PurgeErrorsAlarm"]["Properties"]
    assert (purge_alarm["MetricName"], purge_alarm["Dimensions"][0]["Value"]) == (
        "Errors",
        {"Ref": "PurgeFunction"},
    )
    assert _alarm_functions("ApiFunctionErrorsAlarm", "Errors") == {
        spec.logical_id for spec in GATEWAY_FUNCTIONS
    }
    assert _alarm_functions("EventFunctionErrorsAlarm", "Errors") == {
        "OrganizationCreatedFunction",
        "OutboxPublisherFunction",
    }


def test_every_function_has_a_log_group_with_retention() -> None:
    for logical_id in SPECS:
        group = RESOURCES[f"{logical_id}LogGroup"]["Properties"]
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_outputs_give_the_api_url_and_every_function_name() -> None:
    outputs = TEMPLATE["Outputs"]
    assert "execute-api" in outputs["ApiUrl"]["Value"]["Fn::Sub"]
    for logical_id in SPECS:
        assert outputs[f"{logical_id}Name"]["Value"] == {"Ref": logical_id}


def test_the_purge_event_file_is_what_the_schedule_sends() -> None:
    schedule_input = RESOURCES["PurgeFunction"]["Properties"]["Events"]["Nightly"]["Properties"]["Input"]
    event = json.loads((EVENTS_DIR / "purge_scheduled.json").read_text())
    rendered = json.loads(
        schedule_input["Fn::Sub"]
        .replace("${AWS::AccountId}", event["account"])
        .replace("${AWS::Region}", event["region"])
        .replace("<aws.scheduler.execution-id>", event["id"])
        .replace("<aws.scheduler.scheduled-time>", event["time"])
        .replace("<aws.scheduler.schedule-arn>", event["resources"][0])
        .replace("<aws.scheduler.attempt-number>", event["detail"]["attempt_number"])
    )
    assert rendered == event


def test_the_metric_partitions_are_maintained_nightly_by_the_schema_owner_with_retries_and_a_queue() -> None:
    # The DDL user's function (partitions are created, attached, detached and dropped), on its own schedule.
    migrations = RESOURCES["MigrationsFunction"]["Properties"]
    schedule = migrations["Events"]["MetricPartitionsNightly"]
    assert schedule["Type"] == "ScheduleV2"
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "cron(30 2 * * ? *)"
    assert properties["ScheduleExpressionTimezone"] == "UTC"
    assert properties["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    queue = {"Fn::GetAtt": ["MetricPartitionsDeadLetterQueue", "Arn"]}
    assert properties["DeadLetterConfig"] == {"Arn": queue}
    assert migrations["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"] == queue
    alarm = RESOURCES["MetricPartitionsDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["MetricPartitionsDeadLetterQueue", "QueueName"]}
    event = json.loads((EVENTS_DIR / "migrations_maintain_metric_partitions.json").read_text())
    assert json.loads(properties["Input"].replace("<aws.scheduler.scheduled-time>", event["time"])) == event


def test_the_migrations_function_packages_the_alembic_scripts() -> None:
    spec = SPECS["MigrationsFunction"]
    assert spec.code_uri.name == "migrations"
    assert (spec.code_uri / "env.py").is_file()
    assert sorted(path.name for path in (spec.code_uri / "versions").glob("0*.py"))
    assert spec.timeout >= 60


def test_the_loader_reads_cloudformation_short_tags() -> None:
    from tools.template import CloudFormationLoader

    document = "a: !Ref X\nb: !GetAtt Q.Arn\nc: !Sub 'x-${X}'\nd: !If [C, 1, 2]\ne: !Condition C\n"
    import yaml

    assert yaml.load(document, Loader=CloudFormationLoader) == {
        "a": {"Ref": "X"},
        "b": {"Fn::GetAtt": ["Q", "Arn"]},
        "c": {"Fn::Sub": "x-${X}"},
        "d": {"Fn::If": ["C", 1, 2]},
        "e": {"Condition": "C"},
    }


def test_the_access_token_claims_trigger_is_optional_and_only_the_user_pool_may_invoke_it() -> None:
    parameter = TEMPLATE["Parameters"]["AccessTokenClaims"]
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("disabled", ["disabled", "enabled"])
    assert TEMPLATE["Conditions"]["AddAccessTokenClaims"] == {
        "Fn::Equals": [{"Ref": "AccessTokenClaims"}, "enabled"]
    }
    for name in (
        "AccessTokenClaimsFunction",
        "AccessTokenClaimsFunctionLogGroup",
        "AccessTokenClaimsPermission",
        "AccessTokenClaimsAlarm",
    ):
        assert RESOURCES[name]["Condition"] == "AddAccessTokenClaims", name
    assert SPECS["AccessTokenClaimsFunction"].timeout <= 5  # Cognito waits 5 s for a trigger
    permission = RESOURCES["AccessTokenClaimsPermission"]["Properties"]
    assert permission["Principal"] == "cognito-idp.amazonaws.com"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["AccessTokenClaimsFunction", "Arn"]}
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    # The pool of JwtIssuer (https://cognito-idp.<region>.amazonaws.com/<pool id>), and no other.
    template, names = permission["SourceArn"]["Fn::Sub"]
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123"
    resolved = template
    for name, expression in names.items():
        resolved = resolved.replace(f"${{{name}}}", _evaluate(expression, {"JwtIssuer": issuer}))
    assert resolved == (
        "arn:${AWS::Partition}:cognito-idp:eu-west-1:${AWS::AccountId}:userpool/eu-west-1_AbCdEf123"
    )


def _evaluate(expression: Any, parameters: dict[str, str]) -> Any:
    """Fn::Select / Fn::Split / Ref over literal parameters (enough for the permission's SourceArn)."""
    if isinstance(expression, dict):
        [(function, argument)] = expression.items()
        if function == "Ref":
            return parameters[argument]
        if function == "Fn::Split":
            return _evaluate(argument[1], parameters).split(argument[0])
        if function == "Fn::Select":
            return _evaluate(argument[1], parameters)[int(argument[0])]
    return expression


def test_the_migrations_may_connect_as_a_ddl_user_the_other_functions_never_get() -> None:
    # DML for the API and event functions (Globals: DatabaseSecretArn / DatabaseUser), DDL for the
    # migrations when MigrationsDatabaseSecretArn / MigrationsDatabaseUser is given.
    variables = RESOURCES["MigrationsFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["DB_SECRET_ARN"] == {
        "Fn::If": [
            "UseSecret",
            {
                "Fn::If": [
                    "HasMigrationsSecret",
                    {"Ref": "MigrationsDatabaseSecretArn"},
                    {"Ref": "DatabaseSecretArn"},
                ]
            },
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert variables["DB_USER"]["Fn::If"][1] == {
        "Fn::If": ["HasMigrationsUser", {"Ref": "MigrationsDatabaseUser"}, {"Ref": "DatabaseUser"}]
    }
    assert variables["MIGRATION_LOCK_TIMEOUT_MS"] == {"Ref": "MigrationLockTimeoutMs"}
    assert variables["MIGRATION_STATEMENT_TIMEOUT_MS"] == {"Ref": "MigrationStatementTimeoutMs"}
    statements = RESOURCES["MigrationsDatabaseAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    [secret] = [s["Fn::If"][1] for s in statements if s["Fn::If"][0] == "UseSecret"]
    assert secret["Resource"] == {
        "Fn::If": [
            "HasMigrationsSecret",
            {"Fn::Sub": "${MigrationsDatabaseSecretArn}"},
            {"Fn::Sub": "${DatabaseSecretArn}"},
        ]
    }
    # Nothing else names the DDL user's secret: no other function gets it, or may read it.
    mentioning = {
        name for name, resource in RESOURCES.items() if "MigrationsDatabaseSecretArn" in json.dumps(resource)
    }
    assert mentioning == {"MigrationsFunction", "MigrationsDatabaseAccessPolicy"}
    # The statement timeout ends a statement before the function's own timeout does.
    limit = TEMPLATE["Parameters"]["MigrationStatementTimeoutMs"]["MaxValue"]
    assert limit / 1000 + 10 < SPECS["MigrationsFunction"].timeout


def test_the_access_log_joins_the_gateways_request_id_to_the_functions() -> None:
    log_format = json.loads(RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]["Format"])
    assert log_format["requestId"] == "$context.requestId"  # the functions' correlation_id
    assert log_format["integrationRequestId"] == "$context.integration.requestId"  # Lambda's request id


def _alarm_functions(alarm: str, metric_name: str) -> set[str]:
    metrics = RESOURCES[alarm]["Properties"]["Metrics"]
    [expression] = [m["Expression"] for m in metrics if "Expression" in m]
    watched = set()
    for metric in metrics:
        if "MetricStat" in metric and metric["MetricStat"]["Metric"]["MetricName"] == metric_name:
            assert f"FILL({metric['Id']}, 0)" in expression, (alarm, metric["Id"])
            watched.add(metric["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"])
    return watched


def test_alarms_watch_every_functions_throttles_and_the_apis_5xx() -> None:
    api = {spec.logical_id for spec in GATEWAY_FUNCTIONS}
    assert _alarm_functions("ApiFunctionThrottlesAlarm", "Throttles") == api
    background = set(SPECS) - api - {"AccessTokenClaimsFunction"}
    assert _alarm_functions("BackgroundFunctionThrottlesAlarm", "Throttles") == background
    assert _alarm_functions("AccessTokenClaimsAlarm", "Throttles") == {"AccessTokenClaimsFunction"}
    assert _alarm_functions("AccessTokenClaimsAlarm", "Errors") == {"AccessTokenClaimsFunction"}
    server_errors = RESOURCES["ApiServerErrorsAlarm"]["Properties"]
    assert (server_errors["Namespace"], server_errors["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert server_errors["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    for name, resource in RESOURCES.items():
        if resource["Type"] == "AWS::CloudWatch::Alarm":
            properties = resource["Properties"]
            assert properties["TreatMissingData"] == "notBreaching", name
            assert properties["AlarmActions"] == {
                "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
            }, name
