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

analytics_app = typer.Typer(help="Customer analytics: RFM, lifetime value, churn, cohorts.")
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


@analytics_app.command("cohorts")
@handle_errors
def cohorts(
    until: Annotated[
        str | None, typer.Option(help="Last day of the observation (YYYY-MM-DD); default today")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or table")] = "table",
) -> None:
    """Retention and revenue by first-order month."""
    from clientela.analytics.cohorts import cohort_matrix

    with open_store() as store, store.unit_of_work(write=False) as uow:
        result = cohort_matrix(
            uow, until=_day(until), minor_per_major=10 ** current_settings().currency_exponent
        )
    if fmt == "json":
        print_plain(to_json_text(result))
        return
    width = max((len(c["retention"]) for c in result["cohorts"]), default=0)
    table = Table("cohort", "customers", *[f"m{k}" for k in range(min(width, 13))])
    for cohort in result["cohorts"]:
        cells = [f"{share:.0%}" for share in cohort["retention"][:13]]
        table.add_row(cohort["cohort"], str(cohort["customers"]), *cells)
    console.print(table)


@analytics_app.command("churn")
@handle_errors
def churn(
    as_of: Annotated[str | None, typer.Option(help="Score as of this day (YYYY-MM-DD)")] = None,
    horizon: Annotated[int, typer.Option(help="Churned = no order within this many days")] = 90,
) -> None:
    """Check the churn model on the last complete window (ROC AUC, calibration), then store
    every customer's risk and its top reasons."""
    from clientela.analytics.churn import score_churn

    moment = parse_moment(as_of, "--as-of")
    with open_store() as store, store.unit_of_work() as uow:
        result = score_churn(
            uow, as_of=None if moment is None else moment.date(), horizon_days=horizon
        )
        uow.commit()
    print_plain(to_json_text(result))


@analytics_app.command("recommend")
@handle_errors
def recommend(
    as_of: Annotated[str | None, typer.Option(help="Orders up to this day (YYYY-MM-DD)")] = None,
    top: Annotated[int, typer.Option(min=1, max=100, help="Products per customer")] = 10,
    evaluate: Annotated[
        bool, typer.Option(help="First measure the hit rate on everyone's last order")
    ] = True,
) -> None:
    """Store each customer's next best products (none they already bought), with the model's
    hit rate on held-out last orders beside the most-popular baseline."""
    from clientela.analytics.recommend import compute_recommendations

    moment = parse_moment(as_of, "--as-of")
    with open_store() as store, store.unit_of_work() as uow:
        result = compute_recommendations(
            uow, as_of=None if moment is None else moment.date(), top=top, evaluate=evaluate
        )
        uow.commit()
    print_plain(to_json_text(result))
