"""Reports as stand-alone HTML pages (no scripts, no external resources), for the CLI to save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_environment = Environment(
    loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html"])
)


def render_html(report: dict[str, Any]) -> str:
    return _environment.get_template("quality_report.html").render(report=report)
