"""The analyses the analytics page shows, by name, run the same way from the page and after a
demo load: each recomputes and stores its results (scores per person, or a whole-base result)."""

from __future__ import annotations

from typing import Any

from clientela.analytics.churn import score_churn
from clientela.analytics.clv import score_clv
from clientela.analytics.cohorts import save_cohorts
from clientela.analytics.recommend import compute_recommendations
from clientela.analytics.rfm import compute_rfm
from clientela.domain.errors import FieldError, ValidationFailed
from clientela.settings import Settings
from clientela.storage.uow import UnitOfWork

__all__ = ["ANALYSES", "run_analysis"]

#: name -> what it computes, in the order a full refresh runs them
ANALYSES = {
    "rfm": "RFM groups",
    "clv": "lifetime value",
    "churn": "churn risk",
    "recommend": "next best products",
    "cohorts": "cohort retention",
}


def run_analysis(uow: UnitOfWork, name: str, *, settings: Settings) -> dict[str, Any]:
    """Recompute one analysis up to today and store it (the caller commits)."""
    if name == "rfm":
        return compute_rfm(uow)
    if name == "clv":
        return score_clv(uow, settings=settings, horizon=52)
    if name == "churn":
        return score_churn(uow)
    if name == "recommend":
        return compute_recommendations(uow)
    if name == "cohorts":
        return save_cohorts(uow, minor_per_major=10**settings.currency_exponent)
    raise ValidationFailed("Unknown analysis.", errors=[FieldError("what", ", ".join(ANALYSES))])
