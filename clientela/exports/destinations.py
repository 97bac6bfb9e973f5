"""Destinations: webhooks of marketing and CRM tools that receive audiences.

An audience is delivered as JSON batches, each POSTed with a signature the receiver checks:

    Clientela-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    Clientela-Delivery:  <delivery id>:<batch number>   (the same on a retry: an idempotency key)

Connection errors, timeouts, 429 and 5xx answers are retried with growing pauses; any other
answer stops the delivery, which reports how many batches arrived. The secret is shown once at
creation and kept sealed with a key derived from the master key.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import ipaddress
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from clientela.audit import service as audit
from clientela.domain.actor import Actor, utcnow
from clientela.domain.errors import (
    ClientelaError,
    Conflict,
    ErrorCollector,
    FieldError,
    NotFound,
)
from clientela.domain.ids import new_id
from clientela.exports.audience import export_audience
from clientela.settings import Settings
from clientela.storage.errors import DuplicateKey
from clientela.storage.uow import UnitOfWork

__all__ = [
    "DeliveryFailed",
    "create_destination",
    "delete_destination",
    "deliver_audience",
    "list_destinations",
    "refused",
    "sign",
]

_SEAL_LABEL = "destination-secret"
_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")
RETRY_PAUSES = (0.5, 2.0, 8.0)


class DeliveryFailed(ClientelaError):
    status = 502
    code = "delivery_failed"
    title = "The destination did not accept the audience"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def list_destinations(uow: UnitOfWork) -> list[dict[str, Any]]:
    return [_public(row) for row in uow.destinations.list()]


def create_destination(
    uow: UnitOfWork,
    data: Mapping[str, Any],
    *,
    actor: Actor,
) -> dict[str, Any]:
    """A webhook destination; returns it with its signing secret, shown this once."""
    errors = ErrorCollector()
    for unknown in sorted(set(data) - {"key", "url", "batch_size", "secret"}):
        errors.add(unknown, "is not a field of a destination")
    key = data.get("key")
    if not (isinstance(key, str) and 0 < len(key) <= 63 and set(key) <= _KEY_CHARS):
        errors.add("key", "lower-case letters, digits and _ (at most 63)")
    url = data.get("url")
    problem = _url_problem(url)
    if problem:
        errors.add("url", problem)
    batch_size = data.get("batch_size", 500)
    whole = isinstance(batch_size, int) and not isinstance(batch_size, bool)
    if not whole or not 1 <= batch_size <= 10_000:
        errors.add("batch_size", "1 to 10000 records per request")
    secret = data.get("secret") or secrets.token_urlsafe(32)
    if not isinstance(secret, str) or len(secret) < 24:
        errors.add("secret", "at least 24 characters (or leave it out to get one)")
    errors.raise_if_any("The destination is invalid.")
    row = {
        "id": new_id(),
        "key": key,
        "kind": "webhook",
        "url": url,
        "secret_sealed": uow.keyring.seal(_SEAL_LABEL, secret.encode(), str(key).encode()),
        "batch_size": batch_size,
        "created_by": actor.label,
        "created_at": utcnow(),
        "last_delivery_at": None,
        "last_delivery": None,
    }
    try:
        uow.destinations.add(row)
    except DuplicateKey:
        raise Conflict("A destination with this key exists.") from None
    audit.record(uow, actor, "destination.create", [None], [str(key)])
    return {**_public(row), "secret": secret}


def delete_destination(uow: UnitOfWork, key: str, *, actor: Actor) -> None:
    if uow.destinations.get_by_key(key) is None:
        raise NotFound("No destination has this key.")
    uow.destinations.delete(key)
    audit.record(uow, actor, "destination.delete", [None], [key])


def deliver_audience(
    uow: UnitOfWork,
    destination: str,
    *,
    purpose: str,
    actor: Actor,
    settings: Settings,
    customer_ids: Sequence[str] | None = None,
    fields: Sequence[str] | None = None,
    segment: str | None = None,
    post: Callable[[str, bytes, dict[str, str]], int] | None = None,
) -> dict[str, Any]:
    """Export the audience (eligibility, purpose's fields, role masking as for a file) and POST
    it to the destination in signed batches; ``status`` says whether every batch arrived.
    ``post`` sends one request and returns the HTTP status (tests replace it); the default uses
    urllib with a 30 s timeout."""
    row = uow.destinations.get_by_key(destination)
    if row is None:
        raise NotFound(
            "No destination has this key.", errors=[FieldError("destination", "unknown")]
        )
    sealed = str(row["secret_sealed"])
    secret = uow.keyring.open(_SEAL_LABEL, sealed, destination.encode()).decode()
    buffer = io.BytesIO()
    summary = export_audience(
        uow,
        buffer,
        purpose=purpose,
        actor=actor,
        settings=settings,
        customer_ids=customer_ids,
        fields=fields,
        fmt="jsonl",
    )
    records = [json.loads(line) for line in buffer.getvalue().splitlines() if line]
    size = int(row["batch_size"])
    batches = [records[i : i + size] for i in range(0, len(records), size)] or [[]]
    delivery = new_id()
    send = post or _post
    delivered = 0
    error: str | None = None
    for number, batch in enumerate(batches, start=1):
        body = json.dumps(
            {
                "delivery": delivery,
                "purpose": purpose,
                "segment": segment,
                "batch": number,
                "batches": len(batches),
                "fields": summary["fields"],
                "records": batch,
            },
            ensure_ascii=False,
        ).encode()
        error = _send_with_retries(send, str(row["url"]), body, secret, f"{delivery}:{number}")
        if error is not None:
            break
        delivered += 1
    outcome = {
        "delivery": delivery,
        "status": "delivered" if error is None else "failed",
        "records": len(records),
        "batches": len(batches),
        "batches_delivered": delivered,
        "error": error,
    }
    uow.destinations.record_delivery(destination, utcnow(), outcome)
    audit.record(uow, actor, "destination.deliver", [None], [destination], purpose=purpose)
    # a failed delivery is returned, not raised: what was sent stays in the audit log
    return {**summary, "destination": destination, **outcome}


def refused(result: Mapping[str, Any]) -> DeliveryFailed | None:
    """The error to report for a delivery that failed (after its records were committed)."""
    if result["status"] != "failed":
        return None
    return DeliveryFailed(
        f"Batch {result['batches_delivered'] + 1} of {result['batches']} was refused: "
        f"{result['error']}.",
        extra={k: result[k] for k in ("delivery", "batches", "batches_delivered", "error")},
    )


def _send_with_retries(
    send: Callable[[str, bytes, dict[str, str]], int],
    url: str,
    body: bytes,
    secret: str,
    delivery: str,
) -> str | None:
    """None when the receiver accepted the batch, else why not."""
    reason = ""
    for pause in (*RETRY_PAUSES, None):
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Clientela-Webhook/1",
            "Clientela-Delivery": delivery,
            "Clientela-Signature": sign(secret, int(time.time()), body),
        }
        try:
            status = send(url, body, headers)
        except (OSError, urllib.error.URLError) as exc:  # connection refused, timeout, DNS
            status, reason = 0, f"no answer ({type(exc).__name__})"
        else:
            reason = f"HTTP {status}"
            if 200 <= status < 300:
                return None
            if status != 429 and status < 500:
                return reason  # the receiver says the request is wrong: retrying will not help
        if pause is not None:
            time.sleep(pause)
    return reason


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - checked URL
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _url_problem(url: Any) -> str | None:
    """HTTPS, or HTTP to this machine only (a receiver under test)."""
    if not isinstance(url, str) or len(url) > 2000:
        return "an https:// URL"
    parts = urlsplit(url)
    if not parts.hostname or parts.username or parts.password:
        return "an https:// URL with a host and no credentials in it"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return None
    return "must be https:// (http:// only to this machine)"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _public(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: row[name]
        for name in (
            "key",
            "kind",
            "url",
            "batch_size",
            "created_by",
            "created_at",
            "last_delivery_at",
            "last_delivery",
        )
    }
