"""The CLI's commands and options do not change by accident: a refactoring (splitting
the CLI by command group, moving modules) must leave every command path, option and
argument as it was. A deliberate change regenerates the snapshot, and the diff of
tests/snapshots/cli.json shows it:

    MOTCUA_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/cli/test_cli_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer.main

from motcua.cli import app

SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "cli.json"


def _describe(command: Any, path: str) -> list[dict[str, Any]]:
    params = [
        {
            "name": p.name,
            "kind": p.param_type_name,
            "opts": sorted([*p.opts, *p.secondary_opts]),
            "required": p.required,
            "multiple": getattr(p, "multiple", False),
            "flag": getattr(p, "is_flag", False),
            "nargs": p.nargs,
            "default": repr(p.default),
        }
        for p in command.params
        if p.name not in ("help", "install_completion", "show_completion")
    ]
    described = [{"command": path, "params": params}]
    # Typer vendors its own click: groups are told by their commands, not by class.
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            described += _describe(command.commands[name], f"{path} {name}")
    return described


def test_the_cli_commands_and_options_are_the_committed_ones() -> None:
    tree = _describe(typer.main.get_command(app), "motcua")
    text = json.dumps(tree, indent=1, ensure_ascii=False) + "\n"
    if os.environ.get("MOTCUA_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8"), (
        "the CLI's commands or options changed; if that is intended, regenerate "
        "tests/snapshots/cli.json (see this module's docstring) and review its diff"
    )
