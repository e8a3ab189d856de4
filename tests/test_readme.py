"""The README opens with the two set-up commands, and CI runs the second one verbatim."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```(?:sh|bash)?\n(.*?)```", text, re.S)
    assert first_block, "README.md must open with a code block of set-up commands"
    assert text.index(first_block.group(0)) < text.index("\n## "), "commands come first"
    return [line for line in first_block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands_run_and_test():
    run, test = _setup_commands()
    for command in (run, test):
        assert command.startswith("python3 -m venv .venv && "), "only python3 is assumed"
    assert "dakl-etl run pipelines/sample.yaml" in run
    assert "pytest" in test


def test_ci_runs_the_readme_test_command_verbatim():
    _, test = _setup_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test in ci.splitlines()
