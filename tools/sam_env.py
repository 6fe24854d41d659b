"""Each function's environment as `sam local invoke` would give it, computed by SAM CLI's own code.

SAM CLI passes a function only the variables its template declares (Globals merged with the
function's), with intrinsics resolved against the parameters, then overridden by `--env-vars` (the
`Parameters` section for every function, a function's logical id for that one) and, for declared
names only, by the shell. Docker is not needed for that part: this module runs it in the SAM CLI's own
virtualenv (.venv-sam; aws-sam-cli is never importable from the project's), in a clean environment so
that nothing from the caller's shell leaks in. The tests of `env.json` and the artifact journey use it.

    .venv-sam/bin/python tools/sam_env.py --template template.yaml --env-vars env.json
"""

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAM_PYTHON = Path(os.environ.get("SAM_VENV", ROOT / ".venv-sam")) / "bin" / "python"
REGION = "us-east-1"


def resolve_environments(
    template: Path,
    env_vars: dict[str, Any] | Path | None = None,
    parameter_overrides: dict[str, str] | None = None,
    *,
    region: str = REGION,
) -> dict[str, dict[str, str]]:
    """Logical id -> the environment SAM CLI would start that function with (AWS_* variables included)."""
    return resolve_environment_variants(template, [env_vars], parameter_overrides, region=region)[0]


def resolve_environment_variants(
    template: Path,
    variants: list[dict[str, Any] | Path | None],
    parameter_overrides: dict[str, str] | None = None,
    *,
    region: str = REGION,
) -> list[dict[str, dict[str, str]]]:
    """`resolve_environments` for several --env-vars files (None: without one), in one SAM CLI start."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            str(SAM_PYTHON),
            str(Path(__file__).resolve()),
            "--template",
            str(template),
            "--region",
            region,
        ]
        for index, env_vars in enumerate(variants):
            env_file = env_vars
            if isinstance(env_vars, dict):
                env_file = Path(scratch) / f"env-{index}.json"
                env_file.write_text(json.dumps(env_vars))
            command += ["--env-vars", str(env_file) if env_file is not None else ""]
        for name, value in (parameter_overrides or {}).items():
            command += ["--parameter", f"{name}={value}"]
        clean = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": scratch,  # no ~/.aws of whoever runs this
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SAM_CLI_TELEMETRY": "0",
        }
        completed = subprocess.run(command, env=clean, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"SAM CLI's environment resolution failed:\n{completed.stderr}")
    resolved: list[dict[str, dict[str, str]]] = json.loads(completed.stdout)
    return resolved


def _main() -> None:  # pragma: no cover - runs in .venv-sam
    from samcli.commands.local.cli_common.invoke_context import InvokeContext
    from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
    from samcli.lib.providers.sam_function_provider import SamFunctionProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    parser = argparse.ArgumentParser()
    parser.add_argument("--template", required=True)
    parser.add_argument("--env-vars", action="append", default=[], help="repeatable; '' for none")
    parser.add_argument("--region", default=REGION)
    parser.add_argument("--parameter", action="append", default=[])
    args = parser.parse_args()
    parameters = dict(item.split("=", 1) for item in args.parameter)
    # What InvokeContext.__enter__ does before it needs Docker: the stacks with the parameters and
    # the region resolved, the function provider, the --env-vars file.
    stacks, _ = SamLocalStackProvider.get_stacks(
        args.template, parameter_overrides=parameters, global_parameter_overrides={"AWS::Region": args.region}
    )
    provider = SamFunctionProvider(stacks)
    variants = []
    for env_vars in args.env_vars or [""]:
        runner = LocalLambdaRunner(
            local_runtime=None,  # never started: only the environment is asked for
            function_provider=provider,
            cwd=str(Path(args.template).resolve().parent),
            real_path=str(Path(args.template).resolve().parent),
            aws_region=args.region,
            env_vars_values=InvokeContext._get_env_vars_value(env_vars or None),
        )
        variants.append(
            {function.name: runner._make_env_vars(function).resolve() for function in provider.get_all()}
        )
    print(json.dumps(variants))


if __name__ == "__main__":  # pragma: no cover
    _main()
