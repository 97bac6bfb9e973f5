"""``clientela quality``: the data quality report, and assessing every profile again."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from clientela.cli.common import console, handle_errors, open_store, print_plain, settings
from clientela.cli.common import to_json as to_json_text
from clientela.domain.actor import Actor
from clientela.domain.errors import BadRequest, FieldError

quality_app = typer.Typer(help="Data quality: scores, stale fields, the dataset report.")


@quality_app.command("report")
@handle_errors
def quality_report_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or html")] = "table",
) -> None:
    """Counts and example ids of invalid, missing, stale and inconsistent values, suspected
    duplicates, the distribution of scores, and scores by source."""
    from clientela.quality.service import quality_report
    from clientela.web.reports import render_html

    if fmt not in ("table", "json", "html"):
        raise BadRequest("Unknown format.", errors=[FieldError("--format", "table, json or html")])
    with open_store() as store, store.unit_of_work(write=False) as uow:
        report = quality_report(uow, settings=settings(), actor=Actor.cli())
        uow.commit()
    if fmt == "json":
        print_plain(to_json_text(report))
        return
    if fmt == "html":
        print_plain(render_html(report))
        return
    console.print(
        f"{report['profiles']} active profiles, mean quality score {report['mean_score']}"
    )
    distribution = Table("score", "profiles")
    for label, count in report["score_distribution"].items():
        distribution.add_row(label, str(count))
    console.print(distribution)
    issues = Table("issue", "field", "profiles", "examples (ids)")
    for section in ("missing", "invalid", "stale", "inconsistent"):
        for key, found in report[section].items():
            issues.add_row(section, key, str(found["count"]), ", ".join(found["examples"][:2]))
    duplicates = report["suspected_duplicates"]
    issues.add_row(
        "suspected duplicates", "", str(duplicates["count"]), ", ".join(duplicates["examples"][:2])
    )
    console.print(issues)
    sources = Table("source", "profiles", "mean score")
    for source, row in report["by_source"].items():
        sources.add_row(source, str(row["profiles"]), str(row["mean_score"]))
    console.print(sources)


@quality_app.command("refresh")
@handle_errors
def quality_refresh() -> None:
    """Assess every active profile again (freshness changes with time alone)."""
    from clientela.quality.service import refresh_all

    with open_store() as store:
        count = refresh_all(store, settings=settings())
    console.print(f"{count} profiles assessed")
