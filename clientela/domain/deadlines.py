"""Legal deadlines: data-subject requests and breach notifications, per jurisdiction.

The clock starts at receipt (or, for a breach, at awareness). As in EU Regulation 1182/71 and
the Brazilian and Russian civil codes, the day of the event itself is not counted: a period of
N days ends at the end of the Nth day after it. A period in months ends on the same day of the
month, or on the last day of a shorter month (31 January + one month = 28 or 29 February).
Working days follow each country's public holidays (and Russia's transferred working
Saturdays) from the ``holidays`` package; dates are taken in the jurisdiction's own time zone,
so a request received at 23:30 in São Paulo counts from that São Paulo day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "BreachDeadline",
    "Jurisdiction",
    "RequestDeadlines",
    "add_months",
    "add_working_days",
    "breach_deadlines",
    "request_deadlines",
]


class Jurisdiction(StrEnum):
    LGPD = "LGPD"  # Brazil, Lei 13.709/2018
    GDPR = "GDPR"  # European Union, Regulation 2016/679
    CCPA = "CCPA"  # California, Civil Code 1798.100 ff. as amended by the CPRA
    FZ152 = "152FZ"  # Russia, Federal Law 152-FZ


#: the zone whose calendar day a receipt falls on, and whose holidays count
_ZONES = {
    Jurisdiction.LGPD: ZoneInfo("America/Sao_Paulo"),
    Jurisdiction.GDPR: ZoneInfo("Europe/Brussels"),
    Jurisdiction.CCPA: ZoneInfo("America/Los_Angeles"),
    Jurisdiction.FZ152: ZoneInfo("Europe/Moscow"),
}
_CALENDARS = {
    Jurisdiction.LGPD: ("BR", None),
    Jurisdiction.CCPA: ("US", "CA"),
    Jurisdiction.FZ152: ("RU", None),
}


@dataclass(frozen=True, slots=True)
class RequestDeadlines:
    """Last days (inclusive, in the jurisdiction's zone) for a data-subject request."""

    respond_by: date
    #: the latest an extension can move ``respond_by`` to; None when no extension is allowed
    extended_respond_by: date | None
    #: an extension must be notified by this day (GDPR: inside the first month)
    extend_notice_by: date | None
    #: receipt must be confirmed by this day (CCPA: 10 business days)
    acknowledge_by: date | None
    legal_reference: str


@dataclass(frozen=True, slots=True)
class BreachDeadline:
    jurisdiction: Jurisdiction
    notify: str  # whom, and what
    due_at: datetime | None  # None: "without undue delay", no fixed period
    legal_reference: str


def zone_of(jurisdiction: Jurisdiction) -> ZoneInfo:
    return _ZONES[jurisdiction]


def local_date(moment: datetime, jurisdiction: Jurisdiction) -> date:
    """The calendar day ``moment`` falls on in the jurisdiction's zone."""
    if moment.tzinfo is None:
        raise ValueError("a deadline needs an aware datetime")
    return moment.astimezone(_ZONES[jurisdiction]).date()


def end_of_day(day: date, jurisdiction: Jurisdiction) -> datetime:
    """The last moment of ``day`` in the jurisdiction's zone, in UTC."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=_ZONES[jurisdiction])
    return (local - timedelta(microseconds=1)).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later; the last day of the month when that month is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@cache
def _calendar(country: str, subdiv: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdiv, years=range(year - 1, year + 3))


def is_working_day(day: date, jurisdiction: Jurisdiction) -> bool:
    country, subdiv = _CALENDARS[jurisdiction]
    return bool(_calendar(country, subdiv, day.year).is_working_day(day))


def add_working_days(day: date, count: int, jurisdiction: Jurisdiction) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself is not counted)."""
    current, left = day, count
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current, jurisdiction):
            left -= 1
    return current


def request_deadlines(jurisdiction: Jurisdiction, received_at: datetime) -> RequestDeadlines:
    received = local_date(received_at, jurisdiction)
    if jurisdiction is Jurisdiction.LGPD:
        # Art. 19 II: a full declaration within 15 days of the request; no extension.
        return RequestDeadlines(
            respond_by=received + timedelta(days=15),
            extended_respond_by=None,
            extend_notice_by=None,
            acknowledge_by=None,
            legal_reference="LGPD Art. 19 II",
        )
    if jurisdiction is Jurisdiction.GDPR:
        # Art. 12(3): one month, extendable by two further months with notice inside the first.
        first_month = add_months(received, 1)
        return RequestDeadlines(
            respond_by=first_month,
            extended_respond_by=add_months(received, 3),
            extend_notice_by=first_month,
            acknowledge_by=None,
            legal_reference="GDPR Art. 12(3)",
        )
    if jurisdiction is Jurisdiction.CCPA:
        # Civ. Code 1798.130(a)(2): 45 calendar days, once more 45 with notice; CCR 7021:
        # confirm receipt within 10 business days.
        respond_by = received + timedelta(days=45)
        return RequestDeadlines(
            respond_by=respond_by,
            extended_respond_by=received + timedelta(days=90),
            extend_notice_by=respond_by,
            acknowledge_by=add_working_days(received, 10, jurisdiction),
            legal_reference="CCPA 1798.130(a)(2); CCR 7021",
        )
    # 152-FZ Art. 14 part 3 and Art. 20: 10 working days, extendable by 5 with a reasoned notice.
    respond_by = add_working_days(received, 10, jurisdiction)
    return RequestDeadlines(
        respond_by=respond_by,
        extended_respond_by=add_working_days(respond_by, 5, jurisdiction),
        extend_notice_by=respond_by,
        acknowledge_by=None,
        legal_reference="152-FZ Art. 14(3), Art. 20",
    )


def breach_deadlines(aware_at: datetime) -> list[BreachDeadline]:
    """Notification deadlines from the moment the controller became aware of a breach."""
    if aware_at.tzinfo is None:
        raise ValueError("a deadline needs an aware datetime")
    aware_at = aware_at.astimezone(UTC)
    anpd_day = add_working_days(local_date(aware_at, Jurisdiction.LGPD), 3, Jurisdiction.LGPD)
    anpd_due = end_of_day(anpd_day, Jurisdiction.LGPD)
    return [
        BreachDeadline(
            Jurisdiction.GDPR,
            "supervisory authority",
            aware_at + timedelta(hours=72),
            "GDPR Art. 33(1)",
        ),
        BreachDeadline(
            Jurisdiction.GDPR,
            "data subjects, when the risk to them is high",
            None,
            "GDPR Art. 34(1): without undue delay",
        ),
        BreachDeadline(
            Jurisdiction.LGPD, "ANPD", anpd_due, "LGPD Art. 48; Res. CD/ANPD 15/2024 Art. 6"
        ),
        BreachDeadline(
            Jurisdiction.LGPD,
            "data subjects",
            anpd_due,
            "LGPD Art. 48; Res. CD/ANPD 15/2024 Art. 9",
        ),
        BreachDeadline(
            Jurisdiction.FZ152,
            "Roskomnadzor: the incident, its presumed causes and harm",
            aware_at + timedelta(hours=24),
            "152-FZ Art. 21(3.1)(1)",
        ),
        BreachDeadline(
            Jurisdiction.FZ152,
            "Roskomnadzor: results of the internal investigation",
            aware_at + timedelta(hours=72),
            "152-FZ Art. 21(3.1)(2)",
        ),
        BreachDeadline(
            Jurisdiction.CCPA,
            "California residents",
            None,
            "Civ. Code 1798.82(a): most expedient time possible, without unreasonable delay",
        ),
    ]
