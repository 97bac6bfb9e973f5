"""People who use Clientela: accounts, sign-in with throttling, TOTP MFA, sessions.

Follows OWASP ASVS 5.0 and the password storage guidance: argon2id (``passwords.py``);
passwords of 8–128 characters, refused when among the 30,000 most common (zxcvbn's list), no
composition rules; one generic error for every failed sign-in, whether the account exists or
not; at most 100 failures per account per hour with growing delays after the fifth, and 300
per IP address per hour. TOTP per RFC 6238 (30-second steps, one step either side, 160-bit
secrets kept encrypted), each code usable once, ten single-use recovery codes. MFA is required
for the admin and dpo roles. Session tokens are 256-bit random values stored as digests,
replaced at every sign-in and MFA step, ended by idle and absolute timeouts, by sign-out and
when the account is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pyotp

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import (
    ClientelaError,
    Conflict,
    ErrorCollector,
    FieldError,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from clientela.domain.ids import new_id
from clientela.domain.values import normalise_email
from clientela.security.apikeys import ROLES
from clientela.security.passwords import hash_password, verify_password
from clientela.storage.errors import DuplicateKey
from clientela.storage.uow import UnitOfWork

__all__ = [
    "MFA_REQUIRED_ROLES",
    "SignIn",
    "SignInRefused",
    "TooManyAttempts",
    "change_password",
    "check_csrf",
    "check_password",
    "confirm_mfa",
    "create_user",
    "disable_user",
    "end_session",
    "session_actor",
    "set_language",
    "sign_in",
    "start_mfa_enrolment",
    "verify_mfa",
]

MFA_REQUIRED_ROLES = frozenset({"admin", "dpo"})
MIN_PASSWORD, MAX_PASSWORD = 8, 128
ACCOUNT_FAILURES_PER_HOUR = 100
IP_FAILURES_PER_HOUR = 300
FREE_FAILURES = 5  # before delays start
MAX_DELAY = timedelta(minutes=15)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
RECOVERY_CODES = 10
_GENERIC = "Wrong e-mail or password."


@cache
def _dummy_hash() -> str:
    """Verifying against this when the account does not exist takes as long as a real check."""
    return hash_password(secrets.token_urlsafe(16))


class SignInRefused(Unauthorized):
    """A failed sign-in. The failure was recorded in the unit of work: the interface commits it
    before answering (throttling must remember failures)."""


class TooManyAttempts(ClientelaError):
    status = 429
    code = "too_many_attempts"
    title = "Too many attempts"


@dataclass(frozen=True, slots=True)
class SignIn:
    """A new session: its token (set as a cookie, shown once) and what is still needed."""

    token: str
    csrf_token: str
    user_id: str
    role: str
    mfa_required: bool  # a code must be given before anything else
    mfa_enrolment_required: bool  # the role needs MFA and the account has none yet


@cache
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, errors: ErrorCollector, field: str = "password") -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        errors.add(field, f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long", "length")
    elif password.lower() in _common_passwords():
        errors.add(field, "is one of the most common passwords: choose another", "common")


def create_user(
    uow: UnitOfWork, *, email: str, role: str, password: str, actor: Actor, display_name: str = ""
) -> dict[str, Any]:
    errors = ErrorCollector()
    try:
        address = normalise_email(email)
    except Exception as exc:
        errors.add("email", str(getattr(exc, "message", exc)), "invalid")
        address = ""
    if role not in ROLES:
        errors.add("role", "must be one of " + ", ".join(ROLES), "invalid_choice")
    check_password(password, errors)
    errors.raise_if_any("The user is invalid.")
    now = utcnow()
    row = {
        "id": new_id(),
        "email": address,
        "display_name": display_name.strip()[:100],
        "password_hash": hash_password(password),
        "role": role,
        "must_change_password": False,
        "created_at": now,
        "password_changed_at": now,
    }
    try:
        uow.users.add(row)
    except DuplicateKey:
        raise Conflict("A user with this e-mail exists.") from None
    audit.record(uow, actor, "user.create", [None], ["email", "role"])
    return {k: row[k] for k in ("id", "email", "role", "created_at")}


def disable_user(uow: UnitOfWork, email: str, *, actor: Actor) -> int:
    """Disable an account and end all its sessions at once; returns the sessions ended."""
    user = uow.users.get_by_email(email.strip().lower())
    if user is None:
        raise NotFound("No user with this e-mail.")
    now = utcnow()
    uow.users.update(str(user["id"]), {"disabled_at": now})
    ended = uow.users.end_sessions(str(user["id"]), now)
    audit.record(uow, actor, "user.disable", [None], [str(user["id"])])
    return ended


def _account_hash(uow: UnitOfWork, email: str) -> str:
    return uow.keyring.keyed_hash("sign-in", email.strip().lower())


def sign_in(
    uow: UnitOfWork, email: str, password: str, *, ip: str | None, now: datetime | None = None
) -> SignIn:
    """Check the password (throttled); on success start a session (the caller commits)."""
    now = now or utcnow()
    account = _account_hash(uow, email)
    hour_ago = now - timedelta(hours=1)
    failures = uow.users.failures_since(account_hash=account, since=hour_ago)
    if failures >= ACCOUNT_FAILURES_PER_HOUR or (
        ip is not None and uow.users.failures_since(ip=ip, since=hour_ago) >= IP_FAILURES_PER_HOUR
    ):
        raise TooManyAttempts("Too many failed sign-ins: try again later.")
    if failures >= FREE_FAILURES:
        last = uow.users.last_failure(account)
        delay = min(timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_DELAY)
        if last is not None and now < last + delay:
            raise TooManyAttempts(
                "Too many failed sign-ins: wait a moment before trying again.",
                extra={"retry_after": int((last + delay - now).total_seconds()) + 1},
            )
    user = uow.users.get_by_email(email.strip().lower())
    good = verify_password(user["password_hash"] if user else _dummy_hash(), password)
    if user is None or not good or user["disabled_at"] is not None:
        uow.users.add_failure(account, ip, now)
        raise SignInRefused(_GENERIC)
    uow.users.clear_failures(account)
    needs_mfa = user["mfa_enabled_at"] is not None
    return _start_session(
        uow,
        user,
        ip=ip,
        now=now,
        mfa_passed=not needs_mfa,
        enrolment=user["role"] in MFA_REQUIRED_ROLES and not needs_mfa,
    )


def _start_session(
    uow: UnitOfWork,
    user: dict[str, Any],
    *,
    ip: str | None,
    now: datetime,
    mfa_passed: bool,
    enrolment: bool,
) -> SignIn:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    uow.users.add_session(
        {
            "id": new_id(),
            "token_hash": _digest(token),
            "user_id": user["id"],
            "csrf_token": csrf,
            "mfa_passed": mfa_passed,
            "created_at": now,
            "last_seen_at": now,
            "ip": ip,
            "ended_at": None,
        }
    )
    audit.record(
        uow, _user_actor(user, ip), "user.sign_in", [None], ["mfa" if mfa_passed else "password"]
    )
    return SignIn(
        token, csrf, str(user["id"]), str(user["role"]), not mfa_passed, enrolment and mfa_passed
    )


def session_actor(
    uow: UnitOfWork,
    token: str,
    *,
    ip: str | None,
    request_id: str | None,
    now: datetime | None = None,
    allow_pending_mfa: bool = False,
) -> tuple[Actor, dict[str, Any]]:
    """The user behind a session token, with the session row; refuses ended, idle, expired
    sessions, disabled users, and (unless allowed) sessions still waiting for an MFA code."""
    now = now or utcnow()
    session = uow.users.session_by_token(_digest(token))
    if session is None or session["ended_at"] is not None:
        raise Unauthorized("Sign in again.")
    if (
        now - session["last_seen_at"] > IDLE_TIMEOUT
        or now - session["created_at"] > ABSOLUTE_TIMEOUT
    ):
        uow.users.stamp_session(str(session["id"]), {"ended_at": now})
        raise Unauthorized("The session expired: sign in again.")
    user = uow.users.get(str(session["user_id"]))
    if user is None or user["disabled_at"] is not None:
        raise Unauthorized("Sign in again.")
    if not session["mfa_passed"] and not allow_pending_mfa:
        raise Unauthorized("Enter the code from your authenticator app first.")
    if (
        user["role"] in MFA_REQUIRED_ROLES
        and user["mfa_enabled_at"] is None
        and not allow_pending_mfa
    ):
        raise Unauthorized("Your role requires two-factor authentication: enrol first.")
    if now - session["last_seen_at"] > timedelta(minutes=1):
        uow.users.stamp_session(str(session["id"]), {"last_seen_at": now})
    actor = Actor(
        kind="user",
        id=str(user["id"]),
        role=str(user["role"]),
        request_id=request_id,
        ip=ip,
    )
    return actor, session


def check_csrf(session: dict[str, Any], header: str | None) -> None:
    """A change made with a session carries the session's CSRF token (``X-CSRF-Token``)."""
    if not secrets.compare_digest(header or "", str(session["csrf_token"])):
        raise Forbidden("The X-CSRF-Token header is missing or wrong.")


def end_session(uow: UnitOfWork, token: str) -> None:
    session = uow.users.session_by_token(_digest(token))
    if session is not None and session["ended_at"] is None:
        uow.users.update_session(str(session["id"]), {"ended_at": utcnow()})


def change_password(
    uow: UnitOfWork, token: str, current: str, new: str, *, ip: str | None
) -> SignIn:
    """Re-authenticate with the current password, set the new one, end every session of the
    account and start a fresh one (a stolen session dies with the old password)."""
    _, session = session_actor(uow, token, ip=ip, request_id=None)
    user = _user(uow, str(session["user_id"]))
    if not verify_password(user["password_hash"], current):
        raise Unauthorized(_GENERIC)
    errors = ErrorCollector()
    check_password(new, errors, "new_password")
    if new == current:
        errors.add("new_password", "is the current password", "unchanged")
    errors.raise_if_any("The new password is not acceptable.")
    now = utcnow()
    uow.users.update(
        str(user["id"]),
        {
            "password_hash": hash_password(new),
            "password_changed_at": now,
            "must_change_password": False,
        },
    )
    uow.users.end_sessions(str(user["id"]), now)
    audit.record(uow, _user_actor(user, ip), "user.password_changed", [None], [])
    return _start_session(uow, user, ip=ip, now=now, mfa_passed=True, enrolment=False)


def change_email(
    uow: UnitOfWork, token: str, password: str, new_email: str, *, ip: str | None
) -> SignIn:
    """Re-authenticate with the password, change the sign-in e-mail, tell the old address (a
    taken-over session cannot quietly move the account), end every session of the account and
    start a fresh one."""
    _, session = session_actor(uow, token, ip=ip, request_id=None)
    user = _user(uow, str(session["user_id"]))
    if not verify_password(user["password_hash"], password):
        raise Unauthorized(_GENERIC)
    errors = ErrorCollector()
    try:
        address = normalise_email(new_email)
    except Exception as exc:
        errors.add("email", str(getattr(exc, "message", exc)), "invalid")
        address = ""
    if address and address == user["email"]:
        errors.add("email", "is the current e-mail", "unchanged")
    errors.raise_if_any("The new e-mail is not acceptable.")
    if uow.users.get_by_email(address) is not None:
        raise Conflict("Another user has this e-mail.")
    now = utcnow()
    try:
        uow.users.update(str(user["id"]), {"email": address})
    except DuplicateKey:
        raise Conflict("Another user has this e-mail.") from None
    uow.outbox.add(
        {
            "id": new_id(),
            "customer_id": None,
            "channel": "email",
            "address": user["email"],
            "subject": "Your Clientela sign-in e-mail was changed",
            "body": "The e-mail you sign in to Clientela with was changed. If you did not do "
            "this, tell your administrator at once.",
            "created_at": now,
            "sent_at": None,
        }
    )
    uow.users.end_sessions(str(user["id"]), now)
    audit.record(uow, _user_actor(user, ip), "user.email_changed", [None], ["email"])
    return _start_session(
        uow, {**user, "email": address}, ip=ip, now=now, mfa_passed=True, enrolment=False
    )


# --- MFA ----------------------------------------------------------------------------------------


def set_language(
    uow: UnitOfWork, user_id: str, language: str | None, *, supported: Collection[str]
) -> None:
    """Set the language of the user's pages (None or empty: follow the browser's)."""
    language = language or None
    if language is not None and language not in supported:
        raise ValidationFailed(
            "Unknown language.",
            errors=[FieldError("language", "one of " + ", ".join(sorted(supported)))],
        )
    _user(uow, user_id)
    uow.users.update(user_id, {"language": language})


def start_mfa_enrolment(uow: UnitOfWork, user_id: str, *, password: str) -> dict[str, str]:
    """A new secret (kept encrypted, not active until a code confirms it); re-authentication
    by password first."""
    user = _user(uow, user_id)
    if not verify_password(user["password_hash"], password):
        raise Unauthorized(_GENERIC)
    secret = pyotp.random_base32(length=32)  # 160 bits
    uow.users.update(
        user_id,
        {
            "mfa_secret": uow.keyring.seal("mfa", secret.encode(), user_id.encode()),
            "mfa_enabled_at": None,
            "mfa_last_step": None,
        },
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user["email"], issuer_name="Clientela")
    return {"secret": secret, "otpauth_uri": uri}


def confirm_mfa(
    uow: UnitOfWork, user_id: str, code: str, *, now: datetime | None = None
) -> list[str]:
    """Activate MFA with a first code; returns the recovery codes (shown once)."""
    user = _user(uow, user_id)
    if user["mfa_secret"] is None:
        raise Conflict("Start the enrolment first.")
    _check_totp(uow, user, code, now or utcnow())
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    uow.users.replace_recovery_codes(user_id, [_digest(c) for c in codes])
    uow.users.update(user_id, {"mfa_enabled_at": now or utcnow()})
    audit.record(uow, _user_actor(user, None), "user.mfa_enrolled", [None], [])
    return codes


def verify_mfa(
    uow: UnitOfWork, token: str, code: str, *, ip: str | None, now: datetime | None = None
) -> SignIn:
    """Finish a sign-in with a TOTP or recovery code: the pending session is replaced."""
    now = now or utcnow()
    _, session = session_actor(uow, token, ip=ip, request_id=None, now=now, allow_pending_mfa=True)
    user = _user(uow, str(session["user_id"]))
    if user["mfa_enabled_at"] is None:
        raise Conflict("This account has no second factor yet.")
    cleaned = code.strip().replace(" ", "")
    if "-" in cleaned:
        if not uow.users.use_recovery_code(str(user["id"]), _digest(cleaned), now):
            raise Unauthorized("The code is not valid.")
    else:
        _check_totp(uow, user, cleaned, now)
    uow.users.update_session(str(session["id"]), {"ended_at": now})
    return _start_session(uow, user, ip=ip, now=now, mfa_passed=True, enrolment=False)


def _check_totp(uow: UnitOfWork, user: dict[str, Any], code: str, now: datetime) -> None:
    secret = uow.keyring.open("mfa", user["mfa_secret"], str(user["id"]).encode()).decode()
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // 30
    for candidate in (step - 1, step, step + 1):  # one step of clock drift either way
        if secrets.compare_digest(totp.at(candidate * 30), code.strip()):
            if user["mfa_last_step"] is not None and candidate <= user["mfa_last_step"]:
                break  # replay: this code (or a later one) was used already
            uow.users.update(str(user["id"]), {"mfa_last_step": candidate})
            return
    raise Unauthorized("The code is not valid.")


def _user(uow: UnitOfWork, user_id: str) -> dict[str, Any]:
    user = uow.users.get(user_id)
    if user is None or user["disabled_at"] is not None:
        raise Unauthorized("Sign in again.")
    return user


def _user_actor(user: dict[str, Any], ip: str | None) -> Actor:
    return Actor(kind="user", id=str(user["id"]), role=str(user["role"]), ip=ip)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
