"""``clientela analytics``: lifetime value (RFM, churn, cohorts and recommendations follow)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from clientela.cli.common import console, handle_errors, open_store, parse_moment, print_plain
from clientela.cli.common import settings as current_settings
from clientela.cli.common import to_json as to_json_text
from clientela.domain.errors import FieldError, ValidationFailed

analytics_app = typer.Typer(help="Customer analytics: RFM, lifetime value.")
clv_app = typer.Typer(help="Lifetime value: BG/NBD and Gamma-Gamma.")
analytics_app.add_typer(clv_app, name="clv")


@clv_app.command("fit")
@handle_errors
def clv_fit(
    until: Annotated[
        str | None, typer.Option(help="Last day of the observation (YYYY-MM-DD); default today")
    ] = None,
    time_unit: Annotated[str, typer.Option(help="day or week")] = "week",
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or table")] = "table",
) -> None:
    """Fit the purchase (BG/NBD) and spend (Gamma-Gamma) models on the store's orders."""
    from clientela.analytics.clv import fit_clv

    if time_unit not in ("day", "week"):
        raise ValidationFailed(
            "Unknown time unit.", errors=[FieldError("--time-unit", "day or week")]
        )
    with open_store() as store, store.unit_of_work(write=False) as uow:
        fitted = fit_clv(
            uow,
            settings=current_settings(),
            until=_day(until),
            unit="day" if time_unit == "day" else "week",
        )
    if fmt == "json":
        print_plain(to_json_text(fitted))
        return
    table = Table("parameter", "value")
    for name in ("r", "alpha", "a", "b", "p", "q", "gamma"):
        table.add_row(name, f"{fitted[name]:.4f}")
    console.print(
        f"{fitted['customers']} customers with orders, {fitted['repeat_customers']} repeat, "
        f"time unit {fitted['time_unit']}"
    )
    console.print(table)


def _day(text: str | None) -> date | None:
    moment = parse_moment(text, "--until")
    return None if moment is None else moment.date()


@clv_app.command("score")
@handle_errors
def clv_score(
    horizon: Annotated[float, typer.Option(help="Time units ahead, e.g. 52 weeks")] = 52,
    until: Annotated[
        str | None, typer.Option(help="Last day of the observation (YYYY-MM-DD); default today")
    ] = None,
    time_unit: Annotated[str, typer.Option(help="day or week")] = "week",
) -> None:
    """Fit, then store each customer's expected purchases, probability alive and value."""
    from clientela.analytics.clv import score_clv

    if time_unit not in ("day", "week"):
        raise ValidationFailed(
            "Unknown time unit.", errors=[FieldError("--time-unit", "day or week")]
        )
    with open_store() as store, store.unit_of_work() as uow:
        result = score_clv(
            uow,
            settings=current_settings(),
            horizon=horizon,
            until=_day(until),
            unit="day" if time_unit == "day" else "week",
        )
        uow.commit()
    print_plain(to_json_text(result))


@analytics_app.command("rfm")
@handle_errors
def rfm(
    as_of: Annotated[str | None, typer.Option(help="Score as of this day (YYYY-MM-DD)")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or table")] = "table",
) -> None:
    """Recency, frequency and monetary scores and groups for every customer with orders."""
    from clientela.analytics.rfm import compute_rfm

    moment = parse_moment(as_of, "--as-of")
    with open_store() as store, store.unit_of_work() as uow:
        result = compute_rfm(uow, as_of=None if moment is None else moment.date())
        uow.commit()
    if fmt == "json":
        print_plain(to_json_text(result))
        return
    table = Table("group", "customers")
    for name, count in result["segments"].items():
        table.add_row(name, str(count))
    console.print(f"{result['customers']} customers scored as of {result['as_of']}")
    console.print(table)
