"""The analyst dashboard in a real browser: Debian's headless Chromium driven by Playwright.

The local API (tools/serve.py) runs on the test database seeded with the demo data set
(tools/demo_data.py); the dashboard is served as `make dev` serves it (tools/dashboard.py: the
template's CSP, a generated config.json). Every number a chart draws is read back twice, from the
chart itself (Chart.js's data) and from its table alternative, and compared with what the API
answers for the same request.
"""

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright_api
from playwright.sync_api import expect
from sqlalchemy import Engine

from tools import demo_data, serve
from tools.dashboard import DEV_ANALYST_CLAIMS, create_dashboard_server, dev_config, serve_in_background
from tools.serve import dev_token

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / ".local" / "screenshots" / "dashboard.png"
# As the probe of this machine runs it: no sandbox as root, no background connections to the outside.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANALYST = dev_token(DEV_ANALYST_CLAIMS)
ORG_ADMIN = {"sub": "admin-1", "custom:org_id": "org_a", "cognito:groups": ["org_admin"]}
EXPERIMENT = demo_data.DEMO_EXPERIMENT.key
FUNNEL_KEYS = [
    "reached",
    "completed",
    "dropped",
    "dropped_skipped",
    "dropped_inactive",
    "drop_off_count",
    "drop_off_percent",
]
TIME_KEYS = [
    "completed_count",
    "p25_minutes",
    "median_minutes",
    "p75_minutes",
    "avg_minutes",
    "fastest_minutes",
    "slowest_minutes",
]


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("Debian's chromium is not installed: `make browser` (tools/chromium.sh) installs it")
    return found


# --------------------------------------------------------------------------- servers and browser
@contextmanager
def running(server: Any) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def api_url(database_url: str) -> Iterator[str]:
    with running(serve.create_server("127.0.0.1", 0)) as url:
        yield url


@contextmanager
def dashboard_at(api: str, config: dict[str, Any] | None = None) -> Iterator[str]:
    server = create_dashboard_server(api, "127.0.0.1", 0, config=config, quiet=True)
    serve_in_background(server)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def dashboard_url(api_url: str) -> Iterator[str]:
    with dashboard_at(api_url) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Console:
    """Errors the page logged, threw or caused (CSP violations are logged as errors too)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on(
            "console", lambda message: self.errors.append(message.text) if message.type == "error" else None
        )
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    opened.console = Console(opened)
    yield opened
    context.close()


@pytest.fixture
def demo(engine: Engine) -> list[demo_data.Journey]:
    with engine.begin() as connection:
        return demo_data.seed(connection, 160)


# The page's CSP forbids eval, so waits are selectors and `expect`, never wait_for_function.
def open_dashboard(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-loaded]", state="attached")


def wait_reload(page: Any, action: Callable[[], None]) -> None:
    """Do `action` and wait until the page has drawn the answers it asked for."""
    before = page.get_attribute("body", "data-loaded")
    action()
    page.wait_for_selector(f'body[data-loaded]:not([data-loaded="{before}"])', state="attached")


# --------------------------------------------------------------------------- what the API answers
def api_get(api: str, path: str, token: str = ANALYST, **params: Any) -> Any:
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v not in (None, "")})
    request = urllib.request.Request(f"{api}{path}?{query}", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
        return json.loads(response.read())


def reports(api: str, *, experiment: str | None = None, **period: Any) -> dict[str, Any]:
    return {
        "funnel": api_get(api, "/v1/analytics/funnel", inactive_days=7, experiment=experiment, **period),
        "rate": api_get(api, "/v1/analytics/completion-rate", experiment=experiment, **period),
        "time": api_get(api, "/v1/analytics/completion-time", experiment=experiment, **period),
        "incomplete": api_get(api, "/v1/analytics/incomplete", limit=25, **period),
    }


# --------------------------------------------------------------------------- what the page shows
READ_TABLES = """(section) => [...document.querySelectorAll(`#${section} table.data`)].map((table) => ({
  caption: table.caption.textContent,
  rows: [...table.tBodies[0].rows].map((row) => ({
    item: row.dataset.item,
    label: row.cells[0].textContent,
    cells: Object.fromEntries([...row.querySelectorAll("td")].map((td) =>
      [td.dataset.key, {value: JSON.parse(td.dataset.value), text: td.textContent}])),
  })),
}))"""
READ_CHARTS = """(section) => [...document.querySelectorAll(`#${section} canvas`)].map((canvas) => {
  const chart = Chart.getChart(canvas);
  return {
    label: canvas.getAttribute("aria-label"),
    labels: chart.data.labels,
    datasets: chart.data.datasets.map((d) => ({label: d.label, data: d.data})),
  };
})"""


def tables(page: Any, section: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(READ_TABLES, section)
    return found


def charts(page: Any, section: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(READ_CHARTS, section)
    return found


def values(row: dict[str, Any]) -> dict[str, Any]:
    return {key: cell["value"] for key, cell in row["cells"].items()}


def dataset(chart: dict[str, Any], label: str) -> list[Any]:
    return next(d["data"] for d in chart["datasets"] if d["label"] == label)


def percent(fraction: float | None) -> float | None:
    return None if fraction is None else round(fraction * 100, 4)


def number_text(value: float) -> str:
    """What the page shows for a number: Intl.NumberFormat("en", {maximumFractionDigits: 2})."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def duration_text(minutes: float) -> str:
    """The page's duration(): minutes, hours and minutes, or days and hours."""
    whole = int(minutes + 0.5)
    if whole < 60:
        return f"{whole} min"
    if whole < 24 * 60:
        return f"{whole // 60} h" + (f" {whole % 60} min" if whole % 60 else "")
    hours = whole // 60
    return f"{hours // 24} d" + (f" {hours % 24} h" if hours % 24 else "")


def assert_funnel_shown(
    panel_table: dict[str, Any], chart: dict[str, Any], steps: list[dict[str, Any]]
) -> None:
    assert [row["item"] for row in panel_table["rows"]] == [f"step {s['step']}" for s in steps]
    for row, step in zip(panel_table["rows"], steps, strict=True):
        assert values(row) == {key: step[key] for key in FUNNEL_KEYS}
        for key in ("reached", "completed", "dropped", "dropped_skipped", "dropped_inactive"):
            assert row["cells"][key]["text"] == f"{step[key]:,}"
    assert dataset(chart, "Reached") == [s["reached"] for s in steps]
    assert dataset(chart, "Completed") == [s["completed"] for s in steps]
    assert dataset(chart, "Dropped: skipped") == [s["dropped_skipped"] for s in steps]
    assert dataset(chart, "Dropped: inactive") == [s["dropped_inactive"] for s in steps]


def assert_time_shown(row: dict[str, Any], answer: dict[str, Any]) -> None:
    assert values(row) == {key: answer[key] for key in TIME_KEYS}
    assert row["cells"]["median_minutes"]["text"] == duration_text(answer["median_minutes"])
    assert row["cells"]["p25_minutes"]["text"] == duration_text(answer["p25_minutes"])


def assert_rich(answers: dict[str, Any]) -> None:
    """The seeded data draws something in every chart (else the comparisons below prove little)."""
    steps = answers["funnel"]["steps"]
    assert all(step["reached"] > 0 for step in steps)
    assert sum(step["dropped_skipped"] for step in steps) > 0
    assert sum(step["dropped_inactive"] for step in steps) > 0
    assert 0 < answers["rate"]["completed_count"] < answers["rate"]["started_count"]
    assert sum(1 for bucket in answers["time"]["distribution"] if bucket["count"]) >= 3
    assert answers["incomplete"]["next_cursor"] is not None


# --------------------------------------------------------------------------- the tests
def test_every_chart_shows_what_the_api_answers(page, demo, api_url, dashboard_url) -> None:
    open_dashboard(page, dashboard_url)
    answers = reports(api_url)
    assert_rich(answers)

    funnel_tables, funnel_charts = tables(page, "funnel"), charts(page, "funnel")
    assert len(funnel_tables) == len(funnel_charts) == 1
    assert_funnel_shown(funnel_tables[0], funnel_charts[0], answers["funnel"]["steps"])

    rate = answers["rate"]
    [rate_table] = tables(page, "rate")
    [rate_chart] = charts(page, "rate")
    [rate_row] = rate_table["rows"]
    interval = rate["completion_interval"]
    assert values(rate_row) == {
        "started_count": rate["started_count"],
        "completed_count": rate["completed_count"],
        "completion_rate_percent": rate["completion_percent"],
        "interval_low_percent": percent(interval["low"]),
        "interval_high_percent": percent(interval["high"]),
    }
    assert (
        rate_row["cells"]["completion_rate_percent"]["text"] == f"{number_text(rate['completion_percent'])} %"
    )
    assert interval["low"] < rate["completion_percent"] / 100 < interval["high"]
    # The interval is drawn as a floating bar from low to high, the rate as a mark inside it.
    assert dataset(rate_chart, "95 % interval") == [[percent(interval["low"]), percent(interval["high"])]]
    assert dataset(rate_chart, "Estimate") == [rate["completion_percent"]]

    time = answers["time"]
    time_tables, time_charts = tables(page, "time"), charts(page, "time")
    assert [t["caption"] for t in time_tables] == ["Median and quartiles", "Distribution of completion times"]
    assert_time_shown(time_tables[0]["rows"][0], time)
    assert dataset(time_charts[0], "95 % interval") == [[time["p25_minutes"], time["p75_minutes"]]]
    assert dataset(time_charts[0], "Estimate") == [time["median_minutes"]]
    distribution = [bucket["count"] for bucket in time["distribution"]]
    assert [values(row)["all organizations"] for row in time_tables[1]["rows"]] == distribution
    assert dataset(time_charts[1], "Organizations") == distribution

    [incomplete] = tables(page, "incomplete")
    shown = [(row["item"], row["label"], values(row)["wizard_current_step"]) for row in incomplete["rows"]]
    listed = answers["incomplete"]["organizations"]
    assert shown == [(o["id"], o["name"], o["wizard_current_step"]) for o in listed]

    summary = page.inner_text("#summary-tiles")
    assert f"Started\n{rate['started_count']:,}" in summary
    assert f"Median time to complete\n{duration_text(time['median_minutes'])}" in summary

    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert page.console.errors == []


def test_the_variant_split_draws_each_variant_side_by_side_and_back(
    page, demo, api_url, dashboard_url
) -> None:
    open_dashboard(page, dashboard_url)
    options = page.eval_on_selector_all("#experiment option", "(os) => os.map((o) => o.value)")
    assert options == ["", EXPERIMENT]

    wait_reload(page, lambda: page.select_option("#experiment", EXPERIMENT))
    split = reports(api_url, experiment=EXPERIMENT)
    variants = split["funnel"]["variants"]
    assert [v["variant"] for v in variants] == list(demo_data.DEMO_EXPERIMENT.variants)
    funnel_tables, funnel_charts = tables(page, "funnel"), charts(page, "funnel")
    assert [t["caption"] for t in funnel_tables] == [f"Funnel, variant {v['variant']}" for v in variants]
    for table, chart, variant in zip(funnel_tables, funnel_charts, variants, strict=True):
        assert variant["steps"][0]["reached"] > 0
        assert_funnel_shown(table, chart, variant["steps"])
    # Side by side: the variants' panels share a row.
    boxes = page.eval_on_selector_all(
        "#funnel .panel", "(ps) => ps.map((p) => p.getBoundingClientRect().top)"
    )
    assert len(boxes) == 2 and boxes[0] == boxes[1]

    rate_tables = tables(page, "rate")
    by_variant = {row["item"]: values(row) for row in rate_tables[0]["rows"]}
    for variant in split["rate"]["variants"]:
        assert by_variant[variant["variant"]] == {
            "started_count": variant["started_count"],
            "completed_count": variant["completed_count"],
            "completion_rate_percent": percent(variant["completion_rate"]),
            "interval_low_percent": percent(variant["completion_interval"]["low"]),
            "interval_high_percent": percent(variant["completion_interval"]["high"]),
        }
    [comparison] = split["rate"]["comparisons"]
    difference = values(rate_tables[1]["rows"][0])
    assert difference == {
        "baseline": comparison["baseline"],
        "difference_points": percent(comparison["difference"]),
        "interval_low_points": percent(comparison["difference_interval"]["low"]),
        "interval_high_points": percent(comparison["difference_interval"]["high"]),
    }
    rate_charts = charts(page, "rate")
    assert dataset(rate_charts[0], "95 % interval") == [
        [percent(v["completion_interval"]["low"]), percent(v["completion_interval"]["high"])]
        for v in split["rate"]["variants"]
    ]

    time_rows = {row["item"]: row for row in tables(page, "time")[0]["rows"]}
    for variant in split["time"]["variants"]:
        assert_time_shown(time_rows[variant["variant"]], variant)

    page.screenshot(path=str(SCREENSHOT.with_name("dashboard-by-variant.png")), full_page=True)

    wait_reload(page, lambda: page.select_option("#experiment", ""))
    assert [t["caption"] for t in tables(page, "funnel")] == ["Funnel, all organizations"]
    assert len(tables(page, "rate")) == 1
    assert page.console.errors == []


def test_the_csv_holds_exactly_what_is_shown(page, demo, api_url, dashboard_url) -> None:
    open_dashboard(page, dashboard_url)
    with page.expect_download() as download:
        page.click("#download-csv")
    path = download.value.path()
    assert download.value.suggested_filename == "onboarding-analytics_all_today.csv"
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    answers = reports(api_url)

    def measures(section: str, item: str) -> dict[str, str]:
        return {r["measure"]: r["value"] for r in rows if r["section"] == section and r["item"] == item}

    for step in answers["funnel"]["steps"]:
        assert measures("funnel", f"step {step['step']}") == {k: _csv(step[k]) for k in FUNNEL_KEYS}
    rate = measures("rate", "all organizations")
    assert rate["started_count"] == str(answers["rate"]["started_count"])
    assert rate["completion_rate_percent"] == _csv(answers["rate"]["completion_percent"])
    time = measures("time", "all organizations")
    assert {k: time[k] for k in TIME_KEYS} == {k: _csv(answers["time"][k]) for k in TIME_KEYS}
    # Incomplete organizations as the page listed them (hours_since_start grows while the test runs).
    [page_list] = tables(page, "incomplete")
    for row, organization in zip(page_list["rows"], answers["incomplete"]["organizations"], strict=True):
        listed = measures("incomplete", organization["id"])
        assert listed["name"] == organization["name"] == row["label"]
        assert listed["hours_since_start"] == _csv(values(row)["hours_since_start"])
        assert float(listed["hours_since_start"]) == pytest.approx(
            organization["hours_since_start"], abs=0.05
        )
    # Nothing more than the page shows: every table row is in the CSV and the other way round.
    shown = {
        (section, row["item"])
        for section in ("funnel", "rate", "time", "incomplete")
        for table in tables(page, section)
        for row in table["rows"]
    }
    section_of = {"time_distribution": "time", "rate_difference": "rate"}
    in_csv = {
        (section_of.get(r["section"], r["section"]), r["item"]) for r in rows if r["section"] != "period"
    }
    assert in_csv == shown
    assert measures("period", "") == {"from": "", "to": "", "inactive_days": "7", "experiment": ""}


def _csv(value: Any) -> str:
    """How JavaScript's String() writes a JSON number (1.0 -> "1"), as the CSV has it."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_a_period_asks_the_api_for_its_days(page, demo, api_url, dashboard_url) -> None:
    open_dashboard(page, dashboard_url)
    everything = reports(api_url)["rate"]["started_count"]

    wait_reload(page, lambda: page.select_option("#period", "30d"))
    today = datetime.now(UTC).date()
    month = reports(api_url, **{"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()})
    assert 0 < month["rate"]["started_count"] < everything
    assert values(tables(page, "rate")[0]["rows"][0])["started_count"] == month["rate"]["started_count"]
    assert_funnel_shown(tables(page, "funnel")[0], charts(page, "funnel")[0], month["funnel"]["steps"])
    assert page.inner_text("#period-label") == f"{today - timedelta(days=29)} to {today} (UTC, inclusive)"

    page.select_option("#period", "custom")
    page.fill("#from", "2026-02-01")
    page.fill("#to", "2026-01-01")
    page.click("#apply-custom")
    assert page.inner_text("#controls-error") == "The first day is after the last day."

    start = today - timedelta(days=200)
    page.fill("#from", start.isoformat())
    page.fill("#to", (start + timedelta(days=99)).isoformat())
    wait_reload(page, lambda: page.click("#apply-custom"))
    custom = reports(api_url, **{"from": start.isoformat(), "to": (start + timedelta(days=99)).isoformat()})
    assert values(tables(page, "rate")[0]["rows"][0])["started_count"] == custom["rate"]["started_count"]
    assert page.console.errors == []


def test_incomplete_organizations_page_forward_and_back(page, demo, api_url, dashboard_url) -> None:
    open_dashboard(page, dashboard_url)
    first = api_get(api_url, "/v1/analytics/incomplete", limit=25)
    second = api_get(api_url, "/v1/analytics/incomplete", limit=25, cursor=first["next_cursor"])

    def listed() -> list[str]:
        return [row["item"] for row in tables(page, "incomplete")[0]["rows"]]

    assert listed() == [o["id"] for o in first["organizations"]]
    assert page.is_disabled("#incomplete-prev")
    page.click("#incomplete-next")
    expect(page.locator("#incomplete-page")).to_have_text("2")
    expect(page.locator("#incomplete-table tbody tr").first).to_have_attribute(
        "data-item", second["organizations"][0]["id"]
    )
    assert listed() == [o["id"] for o in second["organizations"]]
    stuck = page.inner_text(
        f"#incomplete-table tr[data-item={second['organizations'][0]['id']!r}] td[data-key=hours_since_start]"
    )
    assert stuck == duration_text(second["organizations"][0]["hours_since_start"] * 60)
    page.click("#incomplete-prev")
    expect(page.locator("#incomplete-page")).to_have_text("1")
    expect(page.locator("#incomplete-table tbody tr").first).to_have_attribute(
        "data-item", first["organizations"][0]["id"]
    )
    assert listed() == [o["id"] for o in first["organizations"]]
    assert page.console.errors == []


def test_an_empty_period_says_there_is_nothing_to_draw(page, demo, dashboard_url) -> None:
    open_dashboard(page, dashboard_url)
    page.select_option("#period", "custom")
    page.fill("#from", "2001-01-01")
    page.fill("#to", "2001-12-31")
    wait_reload(page, lambda: page.click("#apply-custom"))
    assert "No organization started the wizard in this period" in page.inner_text("#funnel .state")
    assert "completion rate is undefined" in page.inner_text("#rate .state")
    assert "No organization completed the wizard in this period" in page.inner_text("#time .state")
    assert "No incomplete organizations" in page.inner_text("#incomplete .state")
    assert page.eval_on_selector_all("canvas", "(cs) => cs.length") == 0
    assert page.console.errors == []


def test_an_account_that_is_not_an_analyst_is_told_so(page, api_url) -> None:
    with dashboard_at(api_url, dev_config(api_url, ORG_ADMIN)) as url:
        open_dashboard(page, url)
        alert = page.inner_text("#alert")
    assert "This account is not an analyst" in alert
    assert "platform_analyst" in alert
    assert page.is_hidden("#controls") and page.is_hidden("#funnel")


def test_an_unreachable_api_is_reported_in_each_section(page, database_url) -> None:
    closed = serve.create_server("127.0.0.1", 0)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    api = f"http://127.0.0.1:{port}"
    with dashboard_at(api) as url:
        open_dashboard(page, url)
        for section in ("funnel", "rate", "time", "incomplete"):
            text = page.inner_text(f"#{section} .state")
            assert "could not be reached" in text, section
    assert "could not be listed" in page.inner_text("#controls-error")
    assert not [e for e in page.console.errors if e.startswith("uncaught")]


def test_sign_in_with_the_hosted_ui_uses_pkce_and_keeps_tokens_in_memory(page, demo, api_url) -> None:
    domain = "signupflow.auth.example.test"
    config = {
        "apiBaseUrl": api_url,
        "auth": {"mode": "cognito", "domain": domain, "clientId": "dashboardclient", "redirectUri": ""},
    }
    seen: dict[str, Any] = {}

    def authorize(route: Any) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))
        seen["authorize"] = query
        back = f"{query['redirect_uri']}?code=one-time-code&state={query['state']}"
        route.fulfill(status=302, headers={"Location": back})

    def token(route: Any) -> None:
        form = dict(urllib.parse.parse_qsl(route.request.post_data))
        seen["token"] = form
        route.fulfill(
            status=200,
            content_type="application/json",
            headers={"Access-Control-Allow-Origin": "*"},
            body=json.dumps(
                {
                    "id_token": ANALYST,
                    "access_token": "access",
                    "refresh_token": "refresh",
                    "expires_in": 3600,
                }
            ),
        )

    page.route(f"https://{domain}/oauth2/authorize*", authorize)
    page.route(f"https://{domain}/oauth2/token", token)
    with dashboard_at(api_url, config) as url:
        config["auth"]["redirectUri"] = url
        page.goto(url)
        page.wait_for_selector("#sign-in:not([hidden])")
        assert "Sign in" in page.inner_text("#alert")
        page.click("#sign-in")
        page.wait_for_selector("body[data-loaded]", state="attached")
        asked, exchanged = seen["authorize"], seen["token"]
        assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
        assert asked["client_id"] == exchanged["client_id"] == "dashboardclient"
        assert asked["redirect_uri"] == exchanged["redirect_uri"] == url
        assert exchanged["grant_type"] == "authorization_code" and exchanged["code"] == "one-time-code"
        verifier = exchanged["code_verifier"]
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        assert asked["code_challenge"] == challenge
        # Signed in with the token from the exchange; nothing of it is stored in the browser.
        assert page.inner_text("#account-name") == DEV_ANALYST_CLAIMS["email"]
        assert page.url == url  # the code is gone from the address
        storage = page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]")
        assert storage == [0, 0, ""]
        assert tables(page, "funnel")
    assert page.console.errors == []


def test_the_dev_sign_in_refuses_to_run_off_loopback(page, dashboard_url) -> None:
    # The same page and config, reached under another host name (a deployed dashboard would be).
    def proxy(route: Any) -> None:
        path = urllib.parse.urlsplit(route.request.url).path
        route.fulfill(response=route.fetch(url=dashboard_url.rstrip("/") + path))

    page.route("http://dashboard.example.test/**", proxy)
    page.goto("http://dashboard.example.test/")
    page.wait_for_selector("#alert:not([hidden])")
    assert "for local development only" in page.inner_text("#alert")
    assert page.is_hidden("#controls")


def test_every_control_and_table_is_reachable_by_keyboard_and_every_chart_labelled(
    page, demo, dashboard_url
) -> None:
    open_dashboard(page, dashboard_url)
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()")
        )
    for control in ("period", "experiment", "inactive-days", "download-csv", "incomplete-next"):
        assert control in reached, control
    for table in (
        "Table: Funnel, all organizations",
        "Table: Completion rate",
        "Table: Median and quartiles",
    ):
        assert table in reached, table
    # Every chart is an image with a name, described by the table beside it.
    for chart in page.query_selector_all("canvas"):
        assert chart.get_attribute("role") == "img"
        assert len(chart.get_attribute("aria-label") or "") > 20
        described = page.query_selector(f"#{chart.get_attribute('aria-describedby')} table")
        assert described is not None


CONTRAST = """() => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const ch = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
  };
  const background = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      if (rgb(c).length === 3 || rgb(c)[3] === 1) return rgb(c).slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const node of document.querySelectorAll("body *")) {
    if (!node.offsetParent || ![...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim())) continue;
    const fg = lum(rgb(getComputedStyle(node).color).slice(0, 3));
    const bg = lum(background(node));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) worst.push(`${node.tagName}#${node.id}.${node.className}: ${ratio.toFixed(2)}`);
  }
  return worst;
}"""


def test_text_contrast_meets_wcag_aa(page, demo, dashboard_url) -> None:
    open_dashboard(page, dashboard_url)
    page.click("#funnel summary")  # an open table too
    assert page.evaluate(CONTRAST) == []


def test_the_page_keeps_no_token_in_storage(page, demo, dashboard_url) -> None:
    open_dashboard(page, dashboard_url)
    assert page.evaluate("() => [localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]
    for script in (ROOT / "dashboard").glob("*.js"):
        code = script.read_text()
        assert not re.search(r"\blocalStorage\s*[.\[]", code), script.name
        # sessionStorage holds the PKCE verifier and state across the Hosted UI's redirect, nothing else.
        assert re.findall(r"sessionStorage\.setItem\((\w+)", code) in ([], ["PENDING_KEY"]), script.name


def test_a_missing_config_is_reported(page, api_url) -> None:
    with dashboard_at(api_url) as url:
        page.route("**/config.json", lambda route: route.fulfill(status=404, body="Not Found"))
        page.goto(url)
        page.wait_for_selector("#alert:not([hidden])")
    assert "not configured" in page.inner_text("#alert")
