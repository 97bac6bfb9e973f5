"""Legal deadlines per jurisdiction: month ends, time zones, Brazilian, Californian and
Russian working-day calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientela.domain.deadlines import (
    Jurisdiction,
    add_months,
    add_working_days,
    breach_deadlines,
    request_deadlines,
)

SP = ZoneInfo("America/Sao_Paulo")
MSK = ZoneInfo("Europe/Moscow")


def at(year: int, month: int, day: int, hour: int = 12, zone: ZoneInfo | None = None) -> datetime:
    return datetime(year, month, day, hour, tzinfo=zone or UTC)


def test_lgpd_fifteen_calendar_days_no_extension() -> None:
    deadlines = request_deadlines(Jurisdiction.LGPD, at(2026, 3, 10, zone=SP))
    assert deadlines.respond_by == date(2026, 3, 25)
    assert deadlines.extended_respond_by is None


def test_lgpd_counts_from_the_sao_paulo_day_of_receipt() -> None:
    # 01:30 UTC on 1 March is still 28 February in São Paulo (UTC-3).
    deadlines = request_deadlines(Jurisdiction.LGPD, datetime(2026, 3, 1, 1, 30, tzinfo=UTC))
    assert deadlines.respond_by == date(2026, 2, 28) + timedelta(days=15)


@pytest.mark.parametrize(
    ("received", "due", "extended"),
    [
        (date(2026, 1, 31), date(2026, 2, 28), date(2026, 4, 30)),  # 31 Jan + 1 month
        (date(2028, 1, 31), date(2028, 2, 29), date(2028, 4, 30)),  # leap year
        (date(2026, 3, 31), date(2026, 4, 30), date(2026, 6, 30)),
        (date(2026, 8, 31), date(2026, 9, 30), date(2026, 11, 30)),
        (date(2026, 12, 15), date(2027, 1, 15), date(2027, 3, 15)),  # over the year end
        (date(2026, 11, 30), date(2026, 12, 30), date(2027, 2, 28)),
    ],
)
def test_gdpr_one_calendar_month_extendable_by_two(
    received: date, due: date, extended: date
) -> None:
    brussels = ZoneInfo("Europe/Brussels")
    deadlines = request_deadlines(
        Jurisdiction.GDPR,
        datetime.combine(received, datetime.min.time(), brussels).replace(hour=10),
    )
    assert deadlines.respond_by == due
    assert deadlines.extended_respond_by == extended
    assert deadlines.extend_notice_by == due  # the extension is notified inside the first month


def test_ccpa_45_days_plus_45_and_receipt_within_ten_business_days() -> None:
    la = ZoneInfo("America/Los_Angeles")
    # Received Friday 13 November 2026; Veterans Day (11 Nov) is before, Thanksgiving (26 Nov)
    # and the day after (27 Nov) fall inside the ten business days.
    deadlines = request_deadlines(Jurisdiction.CCPA, datetime(2026, 11, 13, 9, tzinfo=la))
    assert deadlines.respond_by == date(2026, 12, 28)
    assert deadlines.extended_respond_by == date(2027, 2, 11)
    # 16,17,18,19,20, 23,24,25, (26,27 holidays), 30, 1 Dec
    assert deadlines.acknowledge_by == date(2026, 12, 1)


def test_152fz_ten_working_days_over_the_russian_new_year_holidays() -> None:
    # Received 29 December 2025 (Moscow): 30 Dec is a working day, 31 Dec to 11 Jan are
    # holidays or weekend, so day 2 is 12 January 2026: 12-16, 19-22 make ten.
    deadlines = request_deadlines(Jurisdiction.FZ152, datetime(2025, 12, 29, 15, tzinfo=MSK))
    assert deadlines.respond_by == date(2026, 1, 22)
    # + 5 working days: 23, 26, 27, 28, 29
    assert deadlines.extended_respond_by == date(2026, 1, 29)


def test_152fz_skips_may_holidays() -> None:
    # Received Thursday 30 April 2026: 1 May (Fri) and 11 May (Victory Day observed) are off.
    deadlines = request_deadlines(Jurisdiction.FZ152, datetime(2026, 4, 30, 10, tzinfo=MSK))
    # 4,5,6,7,8 (5), 12,13,14,15,18 (10)
    assert deadlines.respond_by == date(2026, 5, 18)


def test_russian_transferred_working_saturday_counts() -> None:
    # 1 November 2025 was a working Saturday in Russia (transferred from 3 November).
    assert add_working_days(date(2025, 10, 31), 1, Jurisdiction.FZ152) == date(2025, 11, 1)


def test_brazilian_holidays_in_working_days() -> None:
    # Friday 17 April 2026 + 3 working days: 20 Apr (Mon), 21 Apr Tiradentes off, 22, 23.
    assert add_working_days(date(2026, 4, 17), 3, Jurisdiction.LGPD) == date(2026, 4, 23)
    # Carnival is not a national holiday; 20 November (Black Awareness) is.
    assert add_working_days(date(2026, 11, 19), 1, Jurisdiction.LGPD) == date(2026, 11, 23)


def test_breach_deadlines_from_awareness() -> None:
    aware = datetime(2026, 4, 17, 14, 0, tzinfo=UTC)  # a Friday, 11:00 in São Paulo
    by_law = {(d.jurisdiction, d.notify): d for d in breach_deadlines(aware)}
    assert by_law[(Jurisdiction.GDPR, "supervisory authority")].due_at == aware + timedelta(
        hours=72
    )
    anpd = by_law[(Jurisdiction.LGPD, "ANPD")].due_at
    assert anpd is not None
    # three working days: Mon 20, (Tue 21 Tiradentes), Wed 22, Thu 23 — end of day in São Paulo
    assert anpd.astimezone(SP).date() == date(2026, 4, 23)
    assert anpd.astimezone(SP).hour == 23
    fz = [d for d in breach_deadlines(aware) if d.jurisdiction is Jurisdiction.FZ152]
    assert [d.due_at for d in fz] == [aware + timedelta(hours=24), aware + timedelta(hours=72)]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        request_deadlines(Jurisdiction.GDPR, datetime(2026, 1, 1))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 36))
def test_add_months_never_overflows_and_keeps_the_day_when_it_can(day: date, months: int) -> None:
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day == day.day or result.day < day.day  # clamped only at a month end
    if result.day < day.day:
        assert (result + timedelta(days=1)).month != result.month


@given(
    st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
    st.integers(1, 20),
    st.sampled_from([Jurisdiction.LGPD, Jurisdiction.FZ152, Jurisdiction.CCPA]),
)
def test_working_days_land_on_a_working_day_after_the_start(
    day: date, count: int, law: Jurisdiction
) -> None:
    from clientela.domain.deadlines import is_working_day

    result = add_working_days(day, count, law)
    assert result > day
    assert is_working_day(result, law)
    assert (result - day).days >= count
