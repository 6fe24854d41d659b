"""User agents are stored coarsened: browser family, major version, OS family; never copied text."""

import pytest

from onboarding.client_metrics import MAX_USER_AGENT_CHARS, coarse_user_agent

CHROME_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.127 Safari/537.36"
)


@pytest.mark.parametrize(
    ("header", "coarse"),
    [
        (CHROME_ON_WINDOWS, "Chrome 126 / Windows"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Safari/605.1.15",
            "Safari 17 / macOS",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari 17 / iOS",
        ),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox 127 / Linux"),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
            "Samsung Internet 25 / Android",
        ),
        (CHROME_ON_WINDOWS + " Edg/126.0.2592.87", "Edge 126 / Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
            "Chrome 126 / iOS",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
            "Firefox 127 / iOS",
        ),
        (CHROME_ON_WINDOWS + " OPR/111.0.0.0", "Opera 111 / Windows"),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 Chrome/126.0.0.0 Safari/537.36",
            "Chrome 126 / ChromeOS",
        ),
        ("Mozilla/5.0 (Windows NT 10.0) HeadlessChrome/126.0.0.0", "Bot"),
        ("python-requests/2.32.3", "Bot"),
        ("Mozilla/5.0 (Windows NT 10.0) Chrome/126 <script>alert(1)</script>", "Chrome 126 / Windows"),
        ("Mozilla/5.0 (compact; pat@example.com)", "Other / Other"),
        ("curl/8.5.0", "Bot"),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "Bot"),
        ("something\x00odd " + "z" * 5000, "Other / Other"),
        (None, None),
        ("   ", None),
    ],
)
def test_a_user_agent_is_reduced_to_browser_major_version_and_os(header, coarse) -> None:
    assert coarse_user_agent(header) == coarse


def test_a_coarse_user_agent_never_exceeds_its_column() -> None:
    result = coarse_user_agent("Mozilla/5.0 (Windows NT 10.0) Chrome/9999.1 " + "x" * 10_000)
    assert result is not None and len(result) <= MAX_USER_AGENT_CHARS
