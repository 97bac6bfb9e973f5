"""Who may do what: the one policy table, and the one place it is enforced.

Every API route names one permission in ``ROUTES``; ``api/deps.request_context`` looks the
route up and calls ``check`` before the handler runs, so a route missing from the table is
refused (and the authorisation matrix test fails the build). A permission is granted when the
actor's role has it and, for API keys, the key's scopes include the scope it needs.

Field-level access (``field_access``) decides per role and field whether a value is shown,
masked (``j***@g***.com``) or left out; ``mask_profile`` applies it to every profile the
services hand out, to the API, the CLI and the web pages alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Any

from clientela.domain.actor import Actor
from clientela.domain.errors import Forbidden

__all__ = [
    "PERMISSIONS",
    "PUBLIC",
    "ROLE_PERMISSIONS",
    "ROUTES",
    "SESSION",
    "UNMASKED_ROLES",
    "WRITE_KEY",
    "Access",
    "allowed",
    "check",
    "field_access",
    "mask_profile",
    "walk_routes",
]

#: permission -> the API-key scope it needs
PERMISSIONS: dict[str, str] = {
    "customers.read": "read",
    "customers.write": "write",
    "customers.delete": "write",
    "attributes.read": "read",
    "attributes.manage": "admin",
    "imports.read": "read",
    "imports.run": "write",
    "dedupe.run": "admin",
    "dedupe.review": "write",
    "merges.write": "write",
    "quality.read": "read",
    "consent.read": "read",
    "consent.write": "write",
    "consent.search": "privacy",
    "register.read": "read",
    "register.manage": "privacy",
    "privacy.requests": "privacy",
    "privacy.breach": "privacy",
    "privacy.retention": "privacy",
    "privacy.holds": "privacy",
    "audit.read": "privacy",
    "exports.audience": "read",
    "destinations.manage": "admin",
    "users.manage": "admin",
    "sources.manage": "admin",
    "backups.manage": "admin",
    "segments.read": "read",
    "segments.manage": "write",
    "analytics.read": "read",
    "analytics.run": "write",
}

_READ_BASICS = {
    "customers.read",
    "attributes.read",
    "quality.read",
    "register.read",
    "analytics.read",
}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(PERMISSIONS),
    "dpo": frozenset(
        _READ_BASICS
        | {
            "customers.write",
            "customers.delete",
            "imports.read",
            "consent.read",
            "consent.write",
            "consent.search",
            "register.manage",
            "privacy.requests",
            "privacy.breach",
            "privacy.retention",
            "privacy.holds",
            "audit.read",
        }
    ),
    "support": frozenset(
        _READ_BASICS
        | {"customers.write", "consent.read", "consent.write", "dedupe.review", "merges.write"}
    ),
    "analyst": frozenset(
        _READ_BASICS | {"imports.read", "segments.read", "segments.manage", "analytics.run"}
    ),
    "marketer": frozenset(
        _READ_BASICS | {"consent.read", "exports.audience", "segments.read", "segments.manage"}
    ),
    "viewer": frozenset(_READ_BASICS),
    "integration": frozenset(
        _READ_BASICS
        | {
            "customers.write",
            "imports.read",
            "imports.run",
            "consent.read",
            "consent.write",
            "exports.audience",
        }
    ),
}

#: routes that do not take an API key: documentation, probes
PUBLIC = "public"
#: the tracking API: a source's write key, not an API key
WRITE_KEY = "write_key"
#: sign-in steps: the session cookie itself (possibly still waiting for MFA) is the credential
SESSION = "session"

#: (method, path) -> permission; PUBLIC and WRITE_KEY routes authenticate otherwise
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/api/health"): PUBLIC,
    ("POST", "/api/v1/auth/sign-in"): PUBLIC,
    ("POST", "/api/v1/auth/mfa"): SESSION,
    ("POST", "/api/v1/auth/mfa/enrolment"): SESSION,
    ("POST", "/api/v1/auth/mfa/enrolment/confirm"): SESSION,
    ("POST", "/api/v1/auth/sign-out"): SESSION,
    ("POST", "/api/v1/auth/password"): SESSION,
    ("POST", "/api/v1/auth/email"): SESSION,
    ("GET", "/api/ping"): PUBLIC,
    # the web application: sign-in steps are public (the form is the credential), pages need
    # a session and the same permissions as the API routes they mirror
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    ("GET", "/sign-in/mfa"): PUBLIC,
    ("POST", "/sign-in/mfa"): PUBLIC,
    ("POST", "/sign-in/mfa/enrol"): PUBLIC,
    ("POST", "/sign-in/mfa/confirm"): PUBLIC,
    ("POST", "/sign-out"): SESSION,
    ("GET", "/account"): SESSION,
    ("POST", "/account"): SESSION,
    ("GET", "/dashboard"): "analytics.read",
    ("GET", "/admin"): "users.manage",
    ("POST", "/admin"): "users.manage",
    ("GET", "/imports"): "imports.read",
    ("POST", "/imports/preview"): "imports.run",
    ("POST", "/imports"): "imports.run",
    ("GET", "/imports/{import_id}"): "imports.read",
    ("GET", "/imports/{import_id}/rejects"): "imports.read",
    ("GET", "/analytics"): "analytics.read",
    ("POST", "/analytics/run"): "analytics.run",
    ("GET", "/customers"): "customers.read",
    ("POST", "/customers"): "customers.read",
    ("GET", "/customers/{customer_id}"): "customers.read",
    ("GET", "/customers/{customer_id}/edit"): "customers.write",
    ("POST", "/customers/{customer_id}/unmerge"): "merges.write",
    ("POST", "/customers/{customer_id}/edit"): "customers.write",
    ("GET", "/audit"): "audit.read",
    ("GET", "/segments"): "segments.read",
    ("GET", "/duplicates"): "dedupe.review",
    ("POST", "/duplicates/{candidate_id}"): "dedupe.review",
    ("POST", "/segments"): "segments.read",
    ("POST", "/segments/{key}/export"): "exports.audience",
    ("GET", "/privacy/requests"): "privacy.requests",
    ("POST", "/privacy/requests"): "privacy.requests",
    ("GET", "/privacy/requests/{request_id}"): "privacy.requests",
    ("POST", "/privacy/requests/{request_id}/run"): "privacy.requests",
    ("GET", "/privacy/requests/{request_id}/bundle"): "privacy.requests",
    ("POST", "/audit/verify"): "audit.read",
    ("GET", "/privacy/consents"): "consent.search",
    ("GET", "/privacy/purposes"): "register.read",
    ("POST", "/privacy/purposes"): "register.manage",
    ("GET", "/privacy/retention"): "register.read",
    ("POST", "/privacy/retention"): "privacy.retention",
    ("GET", "/privacy/breach"): "privacy.breach",
    ("POST", "/privacy/breach"): "privacy.breach",
    ("GET", "/privacy/breach/{report_id}/notifications"): "privacy.breach",
    ("GET", "/admin/sources"): "sources.manage",
    ("POST", "/admin/sources"): "sources.manage",
    ("GET", "/admin/backups"): "backups.manage",
    ("POST", "/admin/backups"): "backups.manage",
    ("GET", "/api/v1/customers"): "customers.read",
    ("POST", "/api/v1/customers"): "customers.write",
    ("POST", "/api/v1/customers/search"): "customers.read",
    ("POST", "/api/v1/customers/lookup"): "customers.read",
    ("GET", "/api/v1/customers/{customer_id}"): "customers.read",
    ("PATCH", "/api/v1/customers/{customer_id}"): "customers.write",
    ("DELETE", "/api/v1/customers/{customer_id}"): "customers.delete",
    ("GET", "/api/v1/customers/{customer_id}/timeline"): "customers.read",
    ("GET", "/api/v1/attributes"): "attributes.read",
    ("POST", "/api/v1/attributes"): "attributes.manage",
    ("GET", "/api/v1/attributes/{key}"): "attributes.read",
    ("PATCH", "/api/v1/attributes/{key}"): "attributes.manage",
    ("DELETE", "/api/v1/attributes/{key}"): "attributes.manage",
    ("POST", "/v1/batch"): WRITE_KEY,
    ("POST", "/v1/identify"): WRITE_KEY,
    ("POST", "/v1/track"): WRITE_KEY,
    ("POST", "/v1/page"): WRITE_KEY,
    ("POST", "/v1/screen"): WRITE_KEY,
    ("POST", "/v1/group"): WRITE_KEY,
    ("POST", "/v1/alias"): WRITE_KEY,
    ("GET", "/api/v1/imports"): "imports.read",
    ("POST", "/api/v1/imports"): "imports.run",
    ("GET", "/api/v1/imports/{import_id}"): "imports.read",
    ("GET", "/api/v1/imports/{import_id}/rejects"): "imports.read",
    ("POST", "/api/v1/dedupe/runs"): "dedupe.run",
    ("GET", "/api/v1/dedupe/candidates"): "dedupe.review",
    ("POST", "/api/v1/dedupe/candidates/{candidate_id}/accept"): "dedupe.review",
    ("POST", "/api/v1/dedupe/candidates/{candidate_id}/reject"): "dedupe.review",
    ("POST", "/api/v1/merges"): "merges.write",
    ("POST", "/api/v1/merges/{merge_id}/undo"): "merges.write",
    ("GET", "/api/v1/quality/report"): "quality.read",
    ("GET", "/api/v1/purposes"): "register.read",
    ("POST", "/api/v1/purposes"): "register.manage",
    ("GET", "/api/v1/purposes/{key}"): "register.read",
    ("PATCH", "/api/v1/purposes/{key}"): "register.manage",
    ("DELETE", "/api/v1/purposes/{key}"): "register.manage",
    ("GET", "/api/v1/privacy/register"): "register.read",
    ("GET", "/api/v1/privacy/check"): "register.read",
    ("POST", "/api/v1/customers/{customer_id}/consents"): "consent.write",
    ("GET", "/api/v1/customers/{customer_id}/consents"): "consent.read",
    ("POST", "/api/v1/customers/{customer_id}/consents/{purpose}/withdraw"): "consent.write",
    ("GET", "/api/v1/customers/{customer_id}/eligibility"): "consent.read",
    ("POST", "/api/v1/privacy/requests"): "privacy.requests",
    ("GET", "/api/v1/privacy/requests"): "privacy.requests",
    ("GET", "/api/v1/privacy/requests/{request_id}"): "privacy.requests",
    ("POST", "/api/v1/privacy/requests/{request_id}/send-code"): "privacy.requests",
    ("POST", "/api/v1/privacy/requests/{request_id}/verify"): "privacy.requests",
    ("POST", "/api/v1/privacy/requests/{request_id}/attest"): "privacy.requests",
    ("POST", "/api/v1/privacy/requests/{request_id}/acknowledge"): "privacy.requests",
    ("POST", "/api/v1/privacy/requests/{request_id}/extend"): "privacy.requests",
    ("POST", "/api/v1/privacy/requests/{request_id}/deny"): "privacy.requests",
    ("POST", "/api/v1/privacy/requests/{request_id}/run"): "privacy.requests",
    ("GET", "/api/v1/privacy/requests/{request_id}/bundle"): "privacy.requests",
    ("GET", "/api/v1/privacy/consent-ledger"): "consent.search",
    ("POST", "/api/v1/privacy/breach-reports"): "privacy.breach",
    ("GET", "/api/v1/privacy/breach-reports/{report_id}/notifications"): "privacy.breach",
    ("POST", "/api/v1/privacy/retention/runs"): "privacy.retention",
    ("GET", "/api/v1/privacy/retention/policies"): "register.read",
    ("POST", "/api/v1/privacy/retention/policies"): "privacy.retention",
    ("DELETE", "/api/v1/privacy/retention/policies/{policy_id}"): "privacy.retention",
    ("POST", "/api/v1/privacy/holds"): "privacy.holds",
    ("POST", "/api/v1/privacy/holds/{hold_id}/release"): "privacy.holds",
    ("POST", "/api/v1/exports/audience"): "exports.audience",
    ("GET", "/api/v1/audit"): "audit.read",
    ("GET", "/api/v1/destinations"): "exports.audience",
    ("POST", "/api/v1/destinations"): "destinations.manage",
    ("DELETE", "/api/v1/destinations/{key}"): "destinations.manage",
    ("POST", "/api/v1/segments/preview"): "segments.read",
    ("GET", "/api/v1/segments"): "segments.read",
    ("POST", "/api/v1/segments"): "segments.manage",
    ("GET", "/api/v1/segments/{key}"): "segments.read",
    ("PATCH", "/api/v1/segments/{key}"): "segments.manage",
    ("DELETE", "/api/v1/segments/{key}"): "segments.manage",
    ("POST", "/api/v1/segments/{key}/materialise"): "segments.manage",
    ("GET", "/api/v1/segments/{key}/members"): "segments.read",
    ("GET", "/api/v1/segments/{key}/changes"): "segments.read",
    ("GET", "/api/v1/customers/{customer_id}/segments"): "customers.read",
    ("POST", "/api/v1/analytics/rfm"): "analytics.run",
    ("POST", "/api/v1/analytics/clv/fit"): "analytics.read",
    ("POST", "/api/v1/analytics/clv/scores"): "analytics.run",
    ("POST", "/api/v1/analytics/churn"): "analytics.run",
    ("POST", "/api/v1/analytics/recommendations"): "analytics.run",
    ("GET", "/api/v1/analytics/cohorts"): "analytics.read",
    ("GET", "/api/v1/customers/{customer_id}/scores"): "analytics.read",
    ("GET", "/api/v1/audit/verification"): "audit.read",
}


def walk_routes(routes: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route of an application, through included routers."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from walk_routes(nested.routes)
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield method, str(route.path)


def allowed(actor: Actor, permission: str) -> bool:
    if permission not in ROLE_PERMISSIONS.get(actor.role, frozenset()):
        return False
    if actor.kind != "api_key":
        return True
    return PERMISSIONS[permission] in actor.scopes or "admin" in actor.scopes


def check(actor: Actor, permission: str) -> None:
    if permission not in PERMISSIONS:
        raise Forbidden("No policy covers this action.")
    if permission not in ROLE_PERMISSIONS.get(actor.role, frozenset()):
        raise Forbidden(f"The {actor.role} role may not do this ({permission}).")
    if not allowed(actor, permission):
        raise Forbidden(f"This API key lacks the {PERMISSIONS[permission]!r} scope.")


# --- field level --------------------------------------------------------------------------------


class Access(StrEnum):
    FULL = "full"
    MASKED = "masked"
    HIDDEN = "hidden"


#: fields whose value reaches a person directly: shown to roles that contact customers
_CONTACT = frozenset({"given_name", "middle_name", "family_name", "full_name", "email", "phone"})
_DOCUMENTS = frozenset({"document"})
#: per role: access to contact fields, to other personal fields, to documents, to sensitive
#: and special-category data
_FIELD_RULES: dict[str, tuple[Access, Access, Access, Access]] = {
    "admin": (Access.FULL, Access.FULL, Access.FULL, Access.FULL),
    "dpo": (Access.FULL, Access.FULL, Access.FULL, Access.FULL),
    "support": (Access.FULL, Access.FULL, Access.MASKED, Access.HIDDEN),
    "integration": (Access.FULL, Access.FULL, Access.FULL, Access.HIDDEN),
    "marketer": (Access.FULL, Access.FULL, Access.HIDDEN, Access.HIDDEN),
    "analyst": (Access.MASKED, Access.FULL, Access.HIDDEN, Access.HIDDEN),
    "viewer": (Access.MASKED, Access.MASKED, Access.HIDDEN, Access.HIDDEN),
}


def field_access(role: str, field: str, sensitivity: str) -> Access:
    contact, personal, documents, sensitive = _FIELD_RULES.get(
        role, (Access.HIDDEN, Access.HIDDEN, Access.HIDDEN, Access.HIDDEN)
    )
    if field in _DOCUMENTS:
        return documents
    if sensitivity in ("sensitive", "special"):
        return sensitive
    if field in _CONTACT:
        return contact
    if sensitivity == "personal":
        return personal
    return Access.FULL  # non-personal: summaries, scores


def mask_value(field: str, value: Any) -> Any:
    """Enough to recognise, not enough to use: ``j***@g***.com``, ``+55 *** **21``, ``A***``."""
    if value is None or value == "":
        return value
    text = str(value)
    if field == "email" and "@" in text:
        user, _, domain = text.partition("@")
        host, dot, tld = domain.rpartition(".")
        return f"{user[:1]}***@{(host or domain)[:1]}***{dot}{tld if dot else ''}"
    if field == "phone":
        return text[:3] + "*" * max(len(text) - 5, 0) + text[-2:]
    if field == "document":
        return "*" * max(len(text) - 2, 0) + text[-2:]
    if isinstance(value, list):
        return ["***" for _ in value]
    return text[:1] + "***"


#: roles that see every value as stored
UNMASKED_ROLES = frozenset({"admin", "dpo"})


def mask_profile(
    profile: Mapping[str, Any], role: str, sensitivities: Mapping[str, str]
) -> dict[str, Any]:
    """The profile as ``role`` may see it: values masked or emptied (hidden), hidden
    attributes and identities left out."""
    if role in UNMASKED_ROLES:
        return dict(profile)
    shown: dict[str, Any] = {}
    for key, value in profile.items():
        if key == "attributes" and isinstance(value, Mapping):
            shown[key] = {
                name: _one(role, name, item, sensitivities.get(name, "personal"))
                for name, item in value.items()
                if field_access(role, name, sensitivities.get(name, "personal")) != Access.HIDDEN
            }
            continue
        if key == "identities" and isinstance(value, list):
            shown[key] = [
                {
                    **identity,
                    "value": _one(
                        role,
                        str(identity.get("kind")),
                        identity.get("value"),
                        sensitivities.get(str(identity.get("kind")), "personal"),
                    ),
                }
                for identity in value
                if field_access(
                    role,
                    str(identity.get("kind")),
                    sensitivities.get(str(identity.get("kind")), "personal"),
                )
                != Access.HIDDEN
            ]
            continue
        if key not in sensitivities:
            shown[key] = value
            continue
        access = field_access(role, key, sensitivities[key])
        if access is Access.FULL:
            shown[key] = value
        elif access is Access.MASKED:
            shown[key] = mask_value(key, value)
        else:
            shown[key] = None  # hidden: the field is there (the schema says so), its value not
    return shown


def _one(role: str, field: str, value: Any, sensitivity: str) -> Any:
    return (
        value if field_access(role, field, sensitivity) is Access.FULL else mask_value(field, value)
    )
