"""The analyst dashboard (dashboard/) served locally, beside the local API. DEV ONLY.

`make dev` starts it on http://127.0.0.1:3001/ (loopback only, like the local API). It serves the
static files as they are uploaded to S3, with the security headers of the template's CloudFront
response headers policy (the same Content-Security-Policy, its API and sign-in origins pointed at the
local API), and a generated `config.json` that signs the page in as a dev analyst: an unsigned
token only the DEV ONLY local API accepts. The deployed config.json is the stack's `DashboardConfig`
output, which has no dev mode (tests/test_dashboard_hosting.py).
"""

import argparse
import json
import re
import sys
import threading
from collections.abc import Mapping
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tools.serve import dev_token, ensure_loopback
from tools.template import load_template

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD_DIR = ROOT / "dashboard"
DEFAULT_PORT = 3001
POLICY = "DashboardResponseHeadersPolicy"
DEV_ANALYST_CLAIMS: dict[str, Any] = {
    "sub": "dev-analyst",
    "email": "dev.analyst@localhost",
    "cognito:groups": ["platform_analyst"],
}
_PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def _policy_config(template: Mapping[str, Any] | None = None) -> dict[str, Any]:
    resources = (template or load_template())["Resources"]
    config: dict[str, Any] = resources[POLICY]["Properties"]["ResponseHeadersPolicyConfig"]
    return config


def content_security_policy(
    api_origin: str, auth_origin: str, template: Mapping[str, Any] | None = None
) -> str:
    """The template's CSP with its two origins given: `!Sub [format, {ApiOrigin, AuthOrigin}]`."""
    csp = _policy_config(template)["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    text, variables = csp["Fn::Sub"]
    values = {"ApiOrigin": api_origin, "AuthOrigin": auth_origin}
    if set(variables) != set(values):
        raise ValueError(f"{POLICY}: expected the variables {sorted(values)}, found {sorted(variables)}")

    def substitute(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ValueError(f"{POLICY}: unexpected ${{{match.group(1)}}} in the CSP")
        return values[match.group(1)]

    return " ".join(_PLACEHOLDER.sub(substitute, str(text)).split())


def security_headers(api_origin: str, auth_origin: str) -> list[tuple[str, str]]:
    """The response headers CloudFront adds, as far as they apply to plain-HTTP localhost (no HSTS)."""
    config = _policy_config()
    security = config["SecurityHeadersConfig"]
    headers = [
        ("Content-Security-Policy", content_security_policy(api_origin, auth_origin)),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", security["FrameOptions"]["FrameOption"]),
        ("Referrer-Policy", security["ReferrerPolicy"]["ReferrerPolicy"]),
    ]
    headers += [(item["Header"], item["Value"]) for item in config["CustomHeadersConfig"]["Items"]]
    return headers


def dev_config(api_url: str, claims: Mapping[str, Any] = DEV_ANALYST_CLAIMS) -> dict[str, Any]:
    """config.json for local use: DEV ONLY sign-in with an unsigned token."""
    return {
        "apiBaseUrl": api_url,
        "auth": {"mode": "dev", "devToken": dev_token(claims), "user": str(claims.get("email", "dev"))},
    }


class _Handler(SimpleHTTPRequestHandler):
    server: "DashboardServer"

    def end_headers(self) -> None:
        for name, value in self.server.extra_headers:
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/config.json":
            body = json.dumps(self.server.config).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.quiet:
            return
        sys.stderr.write(f"[dashboard] {self.address_string()} {format % args}\n")


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        config: dict[str, Any],
        headers: list[tuple[str, str]],
        directory: Path = DASHBOARD_DIR,
        quiet: bool = False,
    ) -> None:
        self.config = config
        self.extra_headers = headers
        self.quiet = quiet
        super().__init__(address, partial(_Handler, directory=str(directory)))


def create_dashboard_server(
    api_url: str,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    config: dict[str, Any] | None = None,
    quiet: bool = False,
) -> DashboardServer:
    """The dashboard on `host:port` (loopback only; port 0: any free port), talking to `api_url`."""
    ensure_loopback(host)
    # The sign-in origin of the deployed policy has no local counterpart: dev mode needs none.
    headers = security_headers(api_url.rstrip("/"), _auth_origin(config or {}))
    return DashboardServer((host, port), config=config or dev_config(api_url), headers=headers, quiet=quiet)


def _auth_origin(config: Mapping[str, Any]) -> str:
    domain = config.get("auth", {}).get("domain")
    return f"https://{domain}" if domain else ""


def serve_in_background(server: DashboardServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="DEV ONLY: the analyst dashboard beside the local API")
    parser.add_argument("--api-url", default="http://127.0.0.1:3000")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    server = create_dashboard_server(args.api_url, args.host, args.port)
    print(f"Dashboard (DEV ONLY, signed in as a dev analyst): http://{args.host}:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
