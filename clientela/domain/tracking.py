"""Messages of the Segment HTTP Tracking API spec, read into one shape (pure; no I/O).

Spec points kept here: the seven call types; ``userId`` or ``anonymousId`` required (except
``alias``: ``userId`` and ``previousId``); ISO 8601 timestamps with offsets; clock-skew correction
``timestamp + (receivedAt - sentAt)`` when the client says when it sent the batch; unknown fields
kept (the whole message is stored).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clientela.domain.errors import InvalidValue

__all__ = ["MESSAGE_TYPES", "TrackingMessage", "parse_message", "parse_timestamp"]

MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_ID_LENGTH = 200
#: Timestamps further than this in the future are clock errors, not events.
MAX_FUTURE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TrackingMessage:
    type: str
    message_id: str
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None  # alias
    group_id: str | None  # group
    name: str | None  # event name (track) or page/screen name
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    occurred_at: datetime
    sent_at: datetime | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


def parse_timestamp(value: Any, *, field_name: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidValue(f"{field_name} must be an ISO 8601 date-time", "invalid_timestamp")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(
            f"{field_name} is not an ISO 8601 date-time", "invalid_timestamp"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # the spec's libraries send UTC without an offset
    return parsed.astimezone(UTC)


def _identifier(message: Mapping[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # some libraries send numeric ids
    if not isinstance(value, str):
        raise InvalidValue(f"{key} must be a string", "invalid_id")
    value = value.strip()
    if len(value) > MAX_ID_LENGTH:
        raise InvalidValue(f"{key} is longer than {MAX_ID_LENGTH} characters", "invalid_id")
    return value or None


def _object(message: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = message.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidValue(f"{key} must be an object", "invalid_object")
    return value


def parse_message(
    message: Any,
    *,
    default_type: str | None,
    received_at: datetime,
    batch_sent_at: datetime | None = None,
) -> TrackingMessage:
    """Read one message; ``default_type`` is the route's type (``None`` inside a batch)."""
    if not isinstance(message, dict):
        raise InvalidValue("a message must be a JSON object", "invalid_message")
    kind = message.get("type") or default_type
    if kind not in MESSAGE_TYPES:
        raise InvalidValue(f"type must be one of {', '.join(MESSAGE_TYPES)}", "invalid_type")
    if default_type is not None and message.get("type") not in (None, default_type):
        raise InvalidValue(f"this route takes {default_type} messages", "invalid_type")
    message_id = _identifier(message, "messageId")
    if message_id is None:
        raise InvalidValue("messageId is required (it makes retries safe)", "missing_message_id")
    user_id = _identifier(message, "userId")
    anonymous_id = _identifier(message, "anonymousId")
    previous_id = _identifier(message, "previousId")
    group_id = _identifier(message, "groupId")
    if kind == "alias":
        if user_id is None or previous_id is None:
            raise InvalidValue("alias needs userId and previousId", "missing_id")
    elif user_id is None and anonymous_id is None:
        raise InvalidValue("userId or anonymousId is required", "missing_id")
    if kind == "group" and group_id is None:
        raise InvalidValue("group needs groupId", "missing_id")
    name_key = "event" if kind == "track" else "name"
    name = message.get(name_key)
    if kind == "track" and (not isinstance(name, str) or not name.strip()):
        raise InvalidValue("track needs an event name", "missing_event")
    if name is not None and (not isinstance(name, str) or len(name) > 200):
        raise InvalidValue(f"{name_key} must be text of at most 200 characters", "invalid_name")
    context = _object(message, "context")
    traits = dict(_object(message, "traits"))
    if kind == "identify" and not traits:
        # Some libraries put identify traits in context.traits instead.
        traits = dict(_object(context, "traits"))
    sent_at = (
        parse_timestamp(message["sentAt"], field_name="sentAt")
        if message.get("sentAt")
        else batch_sent_at
    )
    if message.get("timestamp"):
        occurred = parse_timestamp(message["timestamp"], field_name="timestamp")
        if sent_at is not None:
            occurred = occurred + (received_at - sent_at)  # the device clock's skew
    elif message.get("originalTimestamp"):
        occurred = parse_timestamp(message["originalTimestamp"], field_name="originalTimestamp")
        if sent_at is not None:
            occurred = occurred + (received_at - sent_at)
    else:
        occurred = received_at
    if occurred > received_at + MAX_FUTURE:
        raise InvalidValue("timestamp is more than a day in the future", "future_timestamp")
    return TrackingMessage(
        type=kind,
        message_id=message_id,
        user_id=user_id,
        anonymous_id=anonymous_id,
        previous_id=previous_id,
        group_id=group_id,
        name=name.strip() if isinstance(name, str) else None,
        properties=_object(message, "properties"),
        traits=traits,
        context=context,
        occurred_at=occurred,
        sent_at=sent_at,
        raw=message,
    )
