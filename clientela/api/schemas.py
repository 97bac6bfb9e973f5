"""Request and response schemas: one per direction of travel."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)

from clientela.domain.attributes import AttributeType, Category, Sensitivity

_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def _iso_only(value: Any) -> Any:
    # Pydantic would read "1700000000" as a Unix time; filters take ISO 8601 only.
    if isinstance(value, str) and not _ISO_DATETIME.match(value.strip()):
        raise ValueError("must be an ISO 8601 date-time such as 2026-01-31T12:00:00Z")
    return value


def _utc_if_naive(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


#: A date-time filter: ISO 8601 only; without an offset it is read as UTC.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_utc_if_naive)]

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day_only(value: Any) -> Any:
    if not isinstance(value, str) or not _ISO_DAY.match(value.strip()):
        raise ValueError("must be a date such as 2026-01-31")
    return value


def _plausible_day(value: date) -> date:
    if not date(1900, 1, 1) <= value <= date(2200, 12, 31):
        raise ValueError("must be between 1900-01-01 and 2200-12-31")
    return value


#: A day: YYYY-MM-DD only (no Unix times), between 1900 and 2200.
IsoDay = Annotated[date, BeforeValidator(_day_only), AfterValidator(_plausible_day)]

Name = Annotated[StrictStr, Field(max_length=100)]
Text200 = Annotated[StrictStr, Field(max_length=200)]
Tag = Annotated[StrictStr, Field(max_length=50)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomerFields(_Input):
    """Writable profile fields. Omitted fields are left alone; ``null`` clears a field."""

    given_name: Name | None = None
    middle_name: Name | None = None
    family_name: Name | None = None
    full_name: Annotated[StrictStr, Field(max_length=300)] | None = None
    email: Annotated[StrictStr, Field(max_length=254)] | None = None
    phone: Annotated[StrictStr, Field(max_length=40, description="Any common format")] | None = None
    birth_date: date | None = None
    gender: Annotated[StrictStr, Field(max_length=30)] | None = None
    document: Annotated[StrictStr, Field(max_length=20, description="Brazilian CPF")] | None = None
    address_line1: Text200 | None = None
    address_line2: Text200 | None = None
    city: Name | None = None
    region: Name | None = None
    postal_code: Annotated[StrictStr, Field(max_length=16)] | None = None
    country: Annotated[StrictStr, Field(max_length=60, description="ISO 3166-1 alpha-2")] | None = (
        None
    )
    locale: Annotated[StrictStr, Field(max_length=12)] | None = None
    education: Annotated[StrictStr, Field(max_length=20)] | None = None
    occupation: Name | None = None
    income_band: Annotated[StrictStr, Field(max_length=40)] | None = None
    marital_status: Annotated[StrictStr, Field(max_length=24)] | None = None
    household_size: StrictInt | None = None
    interests: Annotated[list[Tag], Field(max_length=50)] | None = None
    values: Annotated[list[Tag], Field(max_length=50)] | None = None
    lifestyle: Annotated[list[Tag], Field(max_length=50)] | None = None
    preferred_channel: Annotated[StrictStr, Field(max_length=20)] | None = None
    preferred_payment_method: Annotated[StrictStr, Field(max_length=20)] | None = None
    attributes: dict[str, Any] | None = Field(
        None, description="Values of declared custom attributes; `null` removes one."
    )


class IdentityIn(_Input):
    kind: Annotated[
        StrictStr,
        Field(
            max_length=80,
            description="email, phone, document, user_id, anonymous_id or external:<source>",
        ),
    ]
    value: Annotated[StrictStr, Field(max_length=254)]


class CustomerCreate(CustomerFields):
    identities: Annotated[list[IdentityIn], Field(max_length=50)] | None = None


class CustomerUpdate(CustomerFields):
    pass


class IdentityPublic(BaseModel):
    id: str
    kind: str
    value: str
    verified: bool
    first_seen_at: datetime
    last_seen_at: datetime


class Counts(BaseModel):
    events: int
    transactions: int


class QualityParts(BaseModel):
    parts: dict[str, float] = Field(
        description="completeness, validity, freshness, consistency, uniqueness (0-1 each)"
    )
    missing: list[str]
    invalid: list[str]
    stale: list[str] = Field(description="Fields due for re-confirmation")
    inconsistent: list[str]


class CustomerPublic(BaseModel):
    id: str
    status: Literal["active", "merged", "erased"]
    merged_into: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    given_name: str | None
    middle_name: str | None
    family_name: str | None
    full_name: str | None
    email: str | None
    phone: str | None
    birth_date: date | None
    gender: str | None
    document: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str | None
    locale: str | None
    education: str | None
    occupation: str | None
    income_band: str | None
    marital_status: str | None
    household_size: int | None
    interests: list[str] | None
    values: list[str] | None
    lifestyle: list[str] | None
    preferred_channel: str | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    event_count: int
    preferred_payment_method: str | None
    order_count: int
    total_revenue: float
    average_order_value: float | None
    first_order_at: datetime | None
    last_order_at: datetime | None
    currency: str
    quality_score: int | None
    quality: QualityParts | None = Field(
        None, description="What the quality score is made of, and the fields that lower it"
    )
    attributes: dict[str, Any]
    identities: list[IdentityPublic] | None = None
    counts: Counts | None = None


class CustomerList(BaseModel):
    data: list[CustomerPublic]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class SearchRequest(_Input):
    q: Annotated[
        StrictStr,
        Field(
            min_length=1,
            max_length=200,
            description="Name prefix, e-mail, phone in any format or CPF",
        ),
    ]
    limit: Annotated[StrictInt, Field(ge=1, le=100)] = 20


class CustomerSummary(BaseModel):
    id: str
    status: str
    full_name: str | None
    email: str | None
    phone: str | None
    city: str | None
    country: str | None
    created_at: datetime


class SearchResults(BaseModel):
    data: list[CustomerSummary]
    count: int


class LookupRequest(_Input):
    kind: Annotated[StrictStr, Field(max_length=80)]
    value: Annotated[StrictStr, Field(min_length=1, max_length=254)]


class TimelineEntry(BaseModel):
    entry: Literal["event", "order"]
    id: str
    occurred_at: datetime
    type: str
    name: str | None
    details: Any
    amount: float | None
    currency: str | None
    status: str | None


class Timeline(BaseModel):
    data: list[TimelineEntry]
    next_cursor: str | None


class AttributeCreate(_Input):
    key: Annotated[StrictStr, Field(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]
    type: AttributeType
    category: Category
    sensitivity: Sensitivity
    description: Annotated[StrictStr, Field(max_length=500)] = ""
    enum_values: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=100)]], Field(max_length=200)
    ] = []
    purposes: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=63)]], Field(max_length=50)
    ] = []
    retention_days: Annotated[StrictInt, Field(ge=1, le=36500)] | None = None


class AttributeUpdate(_Input):
    description: Annotated[StrictStr, Field(max_length=500)] | None = None
    category: Category | None = None
    sensitivity: Sensitivity | None = None
    enum_values: (
        Annotated[
            list[Annotated[StrictStr, Field(min_length=1, max_length=100)]], Field(max_length=200)
        ]
        | None
    ) = None
    purposes: (
        Annotated[
            list[Annotated[StrictStr, Field(min_length=1, max_length=63)]], Field(max_length=50)
        ]
        | None
    ) = None
    retention_days: Annotated[StrictInt, Field(ge=1, le=36500)] | None = None


class AttributePublic(BaseModel):
    key: str
    type: AttributeType
    category: Category
    sensitivity: Sensitivity
    description: str
    enum_values: list[str]
    purposes: list[str]
    retention_days: int | None
    core: bool
    writable: bool


class AttributeList(BaseModel):
    data: list[AttributePublic]
    count: int


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    store: str
