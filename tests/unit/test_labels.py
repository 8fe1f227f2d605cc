"""The server's Vietnamese words for roles and events are the web interface's."""

from __future__ import annotations

import re
from pathlib import Path

from domain.labels import ACTION_LABELS, EVENT_LABELS, ROLE_LABELS

APP_JS = Path(__file__).resolve().parents[2] / "api" / "ui" / "static" / "app.js"


def _js_map(name: str) -> dict[str, str]:
    match = re.search(
        rf"export const {name} = \{{(.*?)\n\}};", APP_JS.read_text(encoding="utf-8"), re.S
    )
    assert match, name
    return dict(re.findall(r'^\s*(\w+): "([^"]*)",', match.group(1), re.M))


def test_the_labels_are_the_web_interfaces() -> None:
    assert _js_map("ROLE_LABELS") == ROLE_LABELS
    assert _js_map("ACTION_LABELS") == ACTION_LABELS
    assert {**ACTION_LABELS, **_js_map("EVENT_LABELS")} == EVENT_LABELS
