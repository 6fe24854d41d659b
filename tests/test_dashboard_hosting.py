"""The analyst dashboard's hosting (template.yaml), its generated config, its vendored library and its
local server and demo data: what the browser test (tests/test_dashboard.py) does not see."""

import json
import re
import urllib.request
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from onboarding.models import OnboardingMetric, OnboardingState, Organization
from tools import demo_data
from tools.dashboard import (
    DEV_ANALYST_CLAIMS,
    content_security_policy,
    create_dashboard_server,
    serve_in_background,
)
from tools.serve import claims_from_authorization
from tools.template import load_template
from tools.vendor_dashboard import INDEX, PIN_FILE, VENDOR, sri

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
DASHBOARD_RESOURCES = [
    "DashboardBucket",
    "DashboardBucketPolicy",
    "DashboardOriginAccessControl",
    "DashboardResponseHeadersPolicy",
    "DashboardDistribution",
]


# --------------------------------------------------------------------------- template
def test_dashboard_hosting_is_optional_and_off_by_default() -> None:
    parameter = TEMPLATE["Parameters"]["Dashboard"]
    assert parameter["Default"] == "disabled"
    assert set(parameter["AllowedValues"]) == {"enabled", "disabled"}
    assert TEMPLATE["Conditions"]["HostDashboard"] == {"Fn::Equals": [{"Ref": "Dashboard"}, "enabled"]}
    for name in DASHBOARD_RESOURCES:
        assert RESOURCES[name]["Condition"] == "HostDashboard", name
    for name, output in TEMPLATE["Outputs"].items():
        if name.startswith("Dashboard"):
            assert output["Condition"] == "HostDashboard", name


def test_the_bucket_is_private_and_read_only_by_the_distribution() -> None:
    bucket = RESOURCES["DashboardBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    statements = RESOURCES["DashboardBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "ReadByTheDashboardDistributionOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${DashboardBucket.Arn}/*"},
            "Condition": {
                "StringEquals": {
                    "AWS:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${DashboardDistribution}"
                    }
                }
            },
        }
    ]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_cloudfront_reads_the_bucket_through_origin_access_control_over_https_only() -> None:
    control = RESOURCES["DashboardOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (
        control["OriginAccessControlOriginType"],
        control["SigningBehavior"],
        control["SigningProtocol"],
    ) == (
        "s3",
        "always",
        "sigv4",
    )
    config = RESOURCES["DashboardDistribution"]["Properties"]["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["DashboardOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
    assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "DashboardResponseHeadersPolicy"}
    assert config["DefaultRootObject"] == "index.html"


def _directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in csp.split(";"))):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_the_content_security_policy_is_strict() -> None:
    csp = _directives(content_security_policy("https://api.example.test", "https://auth.example.test"))
    assert csp == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'", "https://api.example.test", "https://auth.example.test"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
    }
    policy = RESOURCES["DashboardResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = policy["SecurityHeadersConfig"]
    assert security["ContentSecurityPolicy"]["Override"] is True
    _, origins = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    # API Gateway of the stack's region (the exact API would be a dependency cycle: docs/deployment.md).
    assert origins == {
        "ApiOrigin": {"Fn::Sub": "https://*.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
        "AuthOrigin": {"Fn::Sub": "https://${DashboardCognitoDomain}"},
    }
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    assert security["ContentTypeOptions"]["Override"] is True


def test_the_page_needs_no_inline_script_or_style() -> None:
    html = INDEX.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # every script is a file
    assert "<style" not in html
    assert not re.search(r"\son\w+=", html)  # no inline event handlers
    assert not re.search(r"\sstyle=", html)


def test_the_api_allows_the_dashboards_origin() -> None:
    origins = RESOURCES["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"]
    assert {
        "Fn::If": [
            "HostDashboard",
            {"Fn::Sub": "https://${DashboardDistribution.DomainName}"},
            {"Ref": "AWS::NoValue"},
        ]
    } in origins


def test_the_dashboards_app_client_must_be_an_audience_of_the_api() -> None:
    rule = TEMPLATE["Rules"]["DashboardNeedsItsSignIn"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Dashboard"}, "enabled"]}
    asserted = [assertion["Assert"] for assertion in rule["Assertions"]]
    assert {"Fn::Contains": [{"Ref": "JwtAudience"}, {"Ref": "DashboardClientId"}]} in asserted


def _deployed_config(**values: str) -> dict[str, Any]:
    """The DashboardConfig output as CloudFormation would resolve it."""
    text = TEMPLATE["Outputs"]["DashboardConfig"]["Value"]["Fn::Sub"]
    resolved = re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)
    loaded: dict[str, Any] = json.loads(resolved)
    return loaded


def test_the_deployed_config_signs_in_through_the_hosted_ui_and_has_no_dev_mode() -> None:
    config = _deployed_config(
        HttpApi="abc123",
        **{"AWS::Region": "eu-west-1", "AWS::URLSuffix": "amazonaws.com"},
        DashboardCognitoDomain="signupflow.auth.eu-west-1.amazoncognito.com",
        DashboardClientId="dashboardclient",
        **{"DashboardDistribution.DomainName": "d111.cloudfront.net"},
    )
    assert config == {
        "apiBaseUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com",
        "auth": {
            "mode": "cognito",
            "domain": "signupflow.auth.eu-west-1.amazoncognito.com",
            "clientId": "dashboardclient",
            "redirectUri": "https://d111.cloudfront.net/",
            "scopes": ["openid", "email"],
        },
    }
    assert "devToken" not in json.dumps(config)


# --------------------------------------------------------------------------- the vendored library
def test_the_vendored_chart_js_is_the_pinned_npm_package() -> None:
    pins = json.loads(PIN_FILE.read_text())["chart.js"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pins["version"])
    assert pins["integrity"].startswith("sha512-")
    for name, digest in pins["files"].items():
        assert sri((VENDOR / name).read_bytes()) == digest, (
            f"{name} differs from the pin: make vendor-dashboard"
        )
    bundle = (VENDOR / "chart.umd.min.js").read_bytes()
    assert f"Chart.js v{pins['version']}".encode() in bundle[:200]
    # The page loads it with Subresource Integrity: a changed file is refused by the browser.
    assert f'src="vendor/chart.umd.min.js" integrity="{sri(bundle)}"' in INDEX.read_text()


# --------------------------------------------------------------------------- the local server
def test_the_local_dashboard_is_served_under_the_templates_policy_with_a_dev_config() -> None:
    server = create_dashboard_server("http://127.0.0.1:3999", "127.0.0.1", 0, quiet=True)
    serve_in_background(server)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with urllib.request.urlopen(f"{base}/") as response:  # loopback only
            headers = dict(response.headers)
            assert b"Onboarding analytics" in response.read()
        with urllib.request.urlopen(f"{base}/config.json") as response:
            config = json.loads(response.read())
    finally:
        server.shutdown()
        server.server_close()
    expected = " ".join(content_security_policy("http://127.0.0.1:3999", "").split())
    assert headers["Content-Security-Policy"] == expected
    assert headers["X-Frame-Options"] == "DENY"
    assert config["apiBaseUrl"] == "http://127.0.0.1:3999"
    assert config["auth"]["mode"] == "dev"
    # The unsigned token only the DEV ONLY local API accepts, as a platform analyst.
    claims = claims_from_authorization(f"Bearer {config['auth']['devToken']}")
    assert claims is not None and claims["cognito:groups"] == "[platform_analyst]"
    assert claims["email"] == DEV_ANALYST_CLAIMS["email"]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1"])
def test_the_local_dashboard_listens_on_loopback_only(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        create_dashboard_server("http://127.0.0.1:3000", host, 0)


# --------------------------------------------------------------------------- the demo data
def test_demo_journeys_cover_every_stage_and_repeat(engine: Engine) -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    ids = demo_data.org_ids(200)
    first = demo_data.journeys(ids, now=now)
    assert [j.started_at for j in first] == [j.started_at for j in demo_data.journeys(ids, now=now)]
    completed = [j for j in first if j.completed]
    skipped = [j for j in first if j.skipped_at]
    resumed = [j for j in first if j.skipped_steps and not j.skipped_at]
    assert completed and skipped and resumed
    assert {j.current_step for j in skipped} == {1, 2, 3, 4, 5}
    assert all(j.started_at <= j.completed_steps[-1] <= now for j in completed)
    assert min(j.started_at for j in first) < now.replace(year=2025)  # older than 12 months too

    with engine.begin() as connection:
        demo_data.seed(connection, 50)
        counts = connection.execute(
            select(
                select(func.count()).select_from(Organization).scalar_subquery(),
                select(func.count()).select_from(OnboardingState).scalar_subquery(),
                select(func.count())
                .select_from(OnboardingMetric)
                .where(OnboardingMetric.event_type == "wizard_started")
                .scalar_subquery(),
            )
        ).one()
        again = demo_data.seed_once(connection)
        variants = connection.execute(
            select(OnboardingState.experiments[demo_data.DEMO_EXPERIMENT.key]["variant"].astext)
        ).scalars()
        assert set(variants) == set(demo_data.DEMO_EXPERIMENT.variants)  # assigned by the service's rule
    assert tuple(counts) == (50, 50, 50)
    assert again is False  # make dev seeds once
