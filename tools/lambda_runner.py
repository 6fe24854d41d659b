"""A Lambda container for one built function, as a child process speaking JSON lines (standard library
only: it runs as `python -S -P tools/lambda_runner.py`, with nothing but the artifact on PYTHONPATH).

    argv: handler module, handler attribute, then the directories modules may come from (the
          function's build directory and the layer's python/)
    stdout: {"ready": ...} once the handler is imported, then one {"result": ...} or {"error": ...}
            per event line read on stdin; at end of input {"done": ...} with what was imported.
The function's own output (logs, EMF metrics) goes to stderr, as the Lambda runtime separates it.
Internet connections are refused (`--no-inet`): a local run must not reach AWS.
"""

import importlib
import json
import os
import socket
import sys
import sysconfig
import time
import traceback
import uuid
from typing import Any


class Context:
    """The attributes of the Lambda context object the service (and Powertools) read."""

    def __init__(self, function_name: str, memory_mb: int, timeout_s: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _refuse_inet() -> None:
    original = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise ConnectionRefusedError(f"no network in the artifact runner: {address}")
        original(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]


def _imported_from(roots: list[str]) -> dict[str, Any]:
    stdlib = sysconfig.get_paths()
    allowed = (*roots, stdlib["stdlib"], stdlib["platstdlib"])
    strays, without_bytecode, from_artifact = [], [], 0
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not path or name == "__main__":  # this runner
            continue
        if not path.startswith(allowed):
            strays.append(f"{name} ({path})")
        elif path.startswith(tuple(roots)):
            from_artifact += 1
            cached = getattr(module, "__cached__", None)
            if path.endswith(".py") and not (cached and os.path.isfile(cached)):
                without_bytecode.append(name)
    onboarding = sys.modules.get("onboarding")
    return {
        "strays": sorted(strays),
        "without_bytecode": sorted(without_bytecode),
        "modules_from_artifact": from_artifact,
        "onboarding_file": getattr(onboarding, "__file__", None),
    }


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg != "--no-inet"]
    if "--no-inet" in sys.argv:
        _refuse_inet()
    module_name, attribute, *roots = args
    # The protocol keeps the real stdout; everything the function prints goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    started = time.perf_counter()
    handler = getattr(importlib.import_module(module_name), attribute)
    ready = {"ready": True, "import_seconds": time.perf_counter() - started, **_imported_from(roots)}
    protocol.write(json.dumps(ready) + "\n")
    name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", module_name)
    memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
    timeout = int(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "15"))
    for line in sys.stdin:
        try:
            answer = {"result": handler(json.loads(line), Context(name, memory, timeout))}
        except Exception as error:
            answer = {
                "error": {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_tb(error.__traceback__),
                }
            }
        protocol.write(json.dumps(answer, default=str) + "\n")
    protocol.write(json.dumps({"done": True, **_imported_from(roots)}) + "\n")


if __name__ == "__main__":
    main()
