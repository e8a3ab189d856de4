"""docs/deploy.md and the systemd units only use options and API arguments that exist."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from typer.testing import CliRunner

import dakl_etl
from dakl_etl.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "docs" / "deploy.md",
    ROOT / "docs" / "systemd" / "dakl-etl.service",
    ROOT / "docs" / "systemd" / "dakl-etl.timer",
]


def _help(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_cli_option_in_the_deploy_docs_exists():
    run_help = _help("run")
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for command in re.findall(r"dakl-etl run [^\n]*(?:\\\n[^\n]*)*", text):
            for option in re.findall(r"(?<![\w-])--[a-z][a-z-]+", command):
                assert option in run_help, f"{doc.name}: `{option}` is not an option of run"


def test_run_help_documents_exit_codes_and_nightly_options():
    run_help = _help("run")
    for text in (
        "0 delivered",
        "1 blocked",
        "3 a source could not be read",
        "4 another run",
        "--keep",
        "--log-format",
        "--quiet",
    ):
        assert text in run_help


def test_api_calls_in_the_docs_use_real_arguments():
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    params = inspect.signature(dakl_etl.run_pipeline).parameters
    calls = re.findall(r"run_pipeline\(([^)]*)\)", text)
    assert calls
    for call in calls:
        for name in re.findall(r"(\w+)=", call):
            assert name in params, f"run_pipeline has no argument {name!r}"
    fields = set(inspect.signature(dakl_etl.RunResult).parameters) | {"ok", "status"}
    for name in re.findall(r"result\.(\w+)", text):
        assert name in fields, f"RunResult has no field {name!r}"


def test_timer_and_service_belong_together():
    service = (ROOT / "docs" / "systemd" / "dakl-etl.service").read_text()
    timer = (ROOT / "docs" / "systemd" / "dakl-etl.timer").read_text()
    assert "Type=oneshot" in service and "UMask=0077" in service
    assert re.search(r"^OnCalendar=", timer, re.M) and "Persistent=true" in timer


def test_every_public_api_name_resolves():
    for name in dakl_etl.__all__:
        assert getattr(dakl_etl, name) is not None, name
    assert "exit_code" in inspect.signature(dakl_etl.RunResult).parameters
