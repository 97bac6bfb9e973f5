"""Settings: typed, described, read from ``CLIENTELA_*`` environment variables (or a .env file).

docs/settings.md is generated from this module (``clientela settings --markdown``) and a test fails
when it is out of date.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from clientela.domain.deadlines import Jurisdiction
from clientela.domain.quality import DEFAULT_STALENESS_DAYS
from clientela.domain.survivorship import RULES
from clientela.domain.values import country_codes

__all__ = ["Settings", "get_settings", "settings_reference"]

#: Digits after the decimal point, for currencies that do not have two (ISO 4217).
CURRENCY_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "ISK": 0, "KWD": 3, "BHD": 3}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLIENTELA_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses unsafe settings (such as SQL echo, which would log "
        "personal data) at start-up.",
    )
    data_dir: Path = Field(
        Path(".clientela"),
        description="Directory of the embedded store (SQLite file), exports and backups.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store, e.g. `postgresql://user:pass@host/db`. "
        "Empty: the SQLite file `clientela.db` in the data directory.",
    )
    default_region: str = Field(
        "BR",
        description="ISO 3166-1 country used to read phone numbers written without a country code.",
    )
    currency: str = Field(
        "BRL", description="ISO 4217 currency of revenue summaries and analytics."
    )
    check_email_deliverability: bool = Field(
        False,
        description="Look up the MX records of e-mail domains when validating (needs DNS; slow).",
    )
    blind_index_bytes: int = Field(
        16,
        ge=8,
        le=32,
        description="Bytes kept of each blind index (keyed HMAC-SHA256 of an e-mail, phone or "
        "document) that makes sealed identities searchable. Fixed when the store is created.",
    )
    host: str = Field("127.0.0.1", description="Address `clientela serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `clientela serve` listens on.")
    max_page_size: int = Field(
        500, ge=1, le=10000, description="Largest `limit` a list endpoint accepts."
    )
    api_key_touch_seconds: int = Field(
        60,
        ge=0,
        description="How often an API key's last-used time is written (seconds); 0 writes on "
        "every request.",
    )
    api_key_cache_seconds: float = Field(
        2.0,
        ge=0,
        le=60,
        description="How long a server keeps a checked API key in memory. A key revoked through "
        "the server stops at once; one revoked by another process (the CLI) within this time.",
    )
    identity_conflict_limit: int = Field(
        3,
        ge=1,
        description="How many times an identity value (e-mail, phone, anonymous id) may point at "
        "a different account before it is blocked from linking people and flagged for review.",
    )
    dedupe_auto_merge_probability: float = Field(
        0.99,
        gt=0,
        lt=1,
        description="Match probability at or above which `dedupe run --auto-merge` merges a "
        "pair (when its cluster passes the chaining guard).",
    )
    dedupe_review_probability: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="Match probability at or above which a pair goes to the review queue.",
    )
    dedupe_max_cluster_size: int = Field(
        10, ge=2, description="Largest cluster merged automatically; larger ones are split."
    )
    dedupe_u_max_pairs: float = Field(
        5e6,
        ge=1e4,
        description="Random pairs sampled to train the u probabilities (more: better "
        "estimates, longer training).",
    )
    dedupe_em_max_pairs: float = Field(
        2e6,
        ge=1e4,
        description="Pairs sampled from each blocked training session to learn the m "
        "probabilities by expectation maximisation (a session with fewer uses them all).",
    )
    dedupe_keep_profiles: bool = Field(
        True,
        description="Keep the comparison table of the last duplicate run in the data directory "
        "(sealed with a key of the store; removed when a person is erased), so the next run "
        "reads again only the profiles changed since.",
    )
    dedupe_memory_limit: str | None = Field(
        "3GB",
        pattern=r"^$|^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="Memory DuckDB may use for duplicate detection before it spills to disk "
        "(e.g. `3GB`); empty: DuckDB's default, 80% of the machine's memory.",
    )
    dedupe_backend: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="Where Splink runs: embedded DuckDB, or Spark (needs pyspark and Java 17) "
        "for stores beyond one machine.",
    )
    survivorship: dict[str, str] = Field(
        default_factory=dict,
        description="Survivorship rule per field or field group (`name`, `address`, `email`, "
        "...): most_recent, most_trusted, most_complete, most_frequent or manual. JSON, e.g. "
        '`{"email": "most_trusted"}`; unnamed fields keep their default rule.',
    )
    staleness_days: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_STALENESS_DAYS),
        description="Days after which a field not confirmed again is stale and flagged for "
        "re-confirmation (lowers the freshness part of the quality score). JSON per field.",
    )
    default_jurisdiction: Jurisdiction = Field(
        Jurisdiction.LGPD,
        description="Law that applies when a request or a consent names none: LGPD, GDPR, CCPA "
        "or 152FZ (deadlines, the age under which a guardian must consent).",
    )
    segment_refresh_check_seconds: int = Field(
        60,
        ge=0,
        le=3600,
        description="How often the server looks for saved segments due a refresh (each has "
        "its own interval); 0 to refresh them only with `clientela segments refresh`.",
    )
    retention_daily_at: str | None = Field(
        "03:30",
        description="UTC time (HH:MM) at which the server applies the retention policies "
        "each day; empty to run them only with `clientela retention run`.",
    )
    erasure_keeps_sales_aggregates: bool = Field(
        True,
        description="On erasure, fold the person's orders into anonymous daily sales totals "
        "(LGPD Art. 16 lets anonymised data be kept) instead of dropping them.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Level of the application log (which never holds personal data)."
    )
    echo_sql: bool = Field(
        False,
        description="Log every SQL statement (development only: statements carry personal data).",
    )

    @field_validator("retention_daily_at")
    @classmethod
    def _time_of_day(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError("must be HH:MM, e.g. 03:30")
        return f"{int(hours):02d}:{int(minutes):02d}"

    @field_validator("dedupe_memory_limit")
    @classmethod
    def _default_when_empty(cls, value: str | None) -> str | None:
        return value or None  # empty: DuckDB's own default

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        value = value.upper()
        if value not in country_codes():
            raise ValueError("must be an ISO 3166-1 alpha-2 code such as BR")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        value = value.upper()
        if len(value) != 3 or not value.isalpha():
            raise ValueError("must be an ISO 4217 code such as BRL")
        return value

    @field_validator("survivorship")
    @classmethod
    def _known_rules(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = {k: v for k, v in value.items() if v not in RULES}
        if unknown:
            raise ValueError(f"unknown rules {sorted(unknown.values())}; use one of {RULES}")
        return value

    @model_validator(mode="after")
    def _dedupe_thresholds(self) -> Settings:
        if not self.dedupe_review_probability <= self.dedupe_auto_merge_probability:
            raise ValueError("dedupe_review_probability must not exceed the auto-merge one")
        return self

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.environment == "production" and self.echo_sql:
            raise ValueError("echo_sql logs personal data; it is refused in production")
        return self

    @property
    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+pysqlite:///{(self.data_dir / 'clientela.db').resolve()}"

    @property
    def backups_dir(self) -> Path:
        """Where the web application writes backups and looks for them."""
        return self.data_dir / "backups"

    @property
    def currency_exponent(self) -> int:
        return CURRENCY_EXPONENTS.get(self.currency, 2)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def settings_reference() -> str:
    """Markdown table of every setting (docs/settings.md is this text)."""
    lines = [
        "# Settings",
        "",
        "Every setting is read from an environment variable with the prefix `CLIENTELA_` (or from",
        "a `.env` file in the working directory). Generated by `clientela settings --markdown`.",
        "",
        "| variable | type | default | description |",
        "|---|---|---|---|",
    ]
    for name, info in Settings.model_fields.items():
        annotation = getattr(info.annotation, "__name__", None) or str(info.annotation)
        annotation = annotation.replace("typing.", "").replace("|", "\\|")
        default = info.get_default(call_default_factory=True)
        shown = "" if default is None else f"`{default}`"
        lines.append(
            f"| `CLIENTELA_{name.upper()}` | {annotation} | {shown} | {info.description} |"
        )
    return "\n".join(lines) + "\n"
