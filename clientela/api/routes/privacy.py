"""/api/v1/purposes, consent and eligibility, /api/v1/privacy (requests, breach reports,
retention, legal holds) and /api/v1/exports: the DPO's API."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
)

from clientela.api.deps import Ctx
from clientela.api.problems import CONFLICT, MOVED, NOT_FOUND, PROBLEM_RESPONSES
from clientela.api.schemas import IsoDateTime
from clientela.domain.errors import FieldError, InvalidValue, NotFound, ValidationFailed
from clientela.domain.identity import IdentityKey, normalise_identity
from clientela.exports.audience import MEDIA_TYPES, export_audience
from clientela.exports.destinations import deliver_audience, refused
from clientela.privacy import breach, consent, holds, ledger, register, requests, retention
from clientela.segments.service import segment_member_ids

router = APIRouter(tags=["privacy"], responses=PROBLEM_RESPONSES)

#: a customer id may be unknown, erased (404) or merged into another (301)
CUSTOMER = {**NOT_FOUND, **MOVED}

Id = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")]
PurposeKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- purposes ---------------------------------------------------------------------------------


class Transfer(_Body):
    country: StrictStr = Field(min_length=2, max_length=60)
    safeguard: StrictStr = Field(
        min_length=1, max_length=200, description="adequacy, SCC, BCR, ..."
    )


class PurposeCreate(_Body):
    key: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    name: StrictStr = Field(min_length=1, max_length=200)
    description: StrictStr = Field("", max_length=4000)
    lawful_basis: StrictStr = Field(description="consent, contract, legitimate_interest, ...")
    data_categories: list[StrictStr] = Field(min_length=1)
    recipients: list[StrictStr] = []
    international_transfers: list[Transfer] = []
    retention_days: StrictInt | None = Field(None, ge=1, le=36_500)
    security_measures: StrictStr = Field("", max_length=4000)


class PurposePatch(_Body):
    name: StrictStr | None = Field(None, min_length=1, max_length=200)
    description: StrictStr | None = Field(None, max_length=4000)
    lawful_basis: StrictStr | None = None
    data_categories: list[StrictStr] | None = None
    recipients: list[StrictStr] | None = None
    international_transfers: list[Transfer] | None = None
    retention_days: StrictInt | None = Field(None, ge=1, le=36_500)
    security_measures: StrictStr | None = Field(None, max_length=4000)


class Purpose(BaseModel):
    key: str
    name: str
    description: str
    lawful_basis: str
    data_categories: list[str]
    recipients: list[str]
    international_transfers: list[Any]
    retention_days: int | None
    security_measures: str
    created_at: datetime
    updated_at: datetime


class RegisterProblem(BaseModel):
    field: str
    message: str


class RegisterCheck(BaseModel):
    ok: bool
    problems: list[RegisterProblem]


@router.get("/api/v1/purposes", response_model=list[Purpose], summary="The purposes register")
async def list_purposes(ctx: Ctx) -> list[dict[str, Any]]:
    return await ctx.read(lambda uow, actor: register.list_purposes(uow))


@router.post(
    "/api/v1/purposes",
    response_model=Purpose,
    status_code=status.HTTP_201_CREATED,
    summary="Register a purpose",
    responses=CONFLICT,
)
async def create_purpose(body: PurposeCreate, ctx: Ctx) -> dict[str, Any]:
    data = body.model_dump(mode="json")
    return await ctx.write(lambda uow, actor: register.create_purpose(uow, data, actor=actor))


@router.get(
    "/api/v1/purposes/{key}", response_model=Purpose, summary="One purpose", responses=NOT_FOUND
)
async def get_purpose(key: PurposeKey, ctx: Ctx) -> dict[str, Any]:
    return await ctx.read(lambda uow, actor: register.get_purpose(uow, key))


@router.patch(
    "/api/v1/purposes/{key}",
    response_model=Purpose,
    summary="Change a purpose",
    responses=NOT_FOUND,
)
async def patch_purpose(key: PurposeKey, body: PurposePatch, ctx: Ctx) -> dict[str, Any]:
    data = body.model_dump(mode="json", exclude_unset=True)
    return await ctx.write(lambda uow, actor: register.update_purpose(uow, key, data, actor=actor))


@router.delete(
    "/api/v1/purposes/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an unused purpose",
    responses={**NOT_FOUND, **CONFLICT},
)
async def delete_purpose(key: PurposeKey, ctx: Ctx) -> Response:
    await ctx.write(lambda uow, actor: register.delete_purpose(uow, key, actor=actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/privacy/register",
    summary="Records of processing with the data map (JSON or CSV)",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
async def export_register(
    ctx: Ctx, fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json"
) -> Response:
    text = await ctx.read(lambda uow, actor: register.export_register(uow, fmt))
    return Response(text, media_type="application/json" if fmt == "json" else "text/csv")


@router.get(
    "/api/v1/privacy/check", response_model=RegisterCheck, summary="Fields the register misses"
)
async def check_register(ctx: Ctx) -> dict[str, Any]:
    problems = await ctx.read(lambda uow, actor: register.check_register(uow))
    return {
        "ok": not problems,
        "problems": [{"field": p.field, "message": p.message} for p in problems],
    }


# --- consent ------------------------------------------------------------------------------------


class Guardian(_Body):
    name: StrictStr = Field(min_length=1, max_length=200)
    relationship: StrictStr = Field("", max_length=100)
    verified_by: StrictStr = Field("", max_length=200)


class Evidence(_Body):
    notice_version: StrictStr | None = Field(None, max_length=100)
    notice_text: StrictStr | None = Field(None, max_length=20_000, description="Stored as its hash")
    form: StrictStr | None = Field(None, max_length=200)
    ip: StrictStr | None = Field(None, max_length=45)
    user_agent: StrictStr | None = Field(None, max_length=500)
    guardian: Guardian | None = None


class ConsentCreate(_Body):
    purpose: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    action: Literal["grant", "deny", "withdraw"]
    mechanism: Literal["opt_in", "opt_out", "notice_only"] = "opt_in"
    evidence: Evidence = Field(default_factory=Evidence)
    occurred_at: IsoDateTime | None = None


class ConsentEvent(BaseModel):
    id: str
    purpose: str
    action: str
    mechanism: str
    lawful_basis: str
    evidence: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime


class ConsentState(BaseModel):
    customer_id: str
    current: dict[str, dict[str, Any]]
    events: list[ConsentEvent]


class EligibilityAnswer(BaseModel):
    customer_id: str
    purpose: str
    allowed: bool
    reason: str
    lawful_basis: str


def _evidence(body: Evidence, client_ip: str | None, user_agent: str | None) -> dict[str, Any]:
    evidence = body.model_dump(exclude_none=True)
    evidence.setdefault("ip", client_ip)
    evidence.setdefault("user_agent", user_agent)
    return {k: v for k, v in evidence.items() if v is not None}


@router.post(
    "/api/v1/customers/{customer_id}/consents",
    response_model=ConsentEvent,
    status_code=status.HTTP_201_CREATED,
    summary="Record a grant, denial or withdrawal",
    responses=CUSTOMER,
)
async def create_consent(
    customer_id: Id,
    body: ConsentCreate,
    ctx: Ctx,
    user_agent: Annotated[str | None, Header(max_length=500)] = None,
    sec_gpc: Annotated[str | None, Header(alias="Sec-GPC", max_length=8)] = None,
) -> dict[str, Any]:
    """The evidence defaults to the caller's IP and user agent. `Sec-GPC: 1` (relayed from the
    person's browser) also records an opt-out of sale and sharing, before this event: an
    explicit grant for that purpose in the same call still counts (CCPA regulations 7025(c))."""
    evidence = _evidence(body.evidence, ctx.actor.ip, user_agent)

    def use_case(uow: Any, actor: Any) -> dict[str, Any]:
        if sec_gpc == "1":
            consent.record_gpc(
                uow, customer_id, actor=actor, settings=ctx.settings, occurred_at=body.occurred_at
            )
        return consent.record_consent(
            uow,
            customer_id,
            body.purpose,
            body.action,
            actor=actor,
            settings=ctx.settings,
            mechanism=body.mechanism,
            evidence=evidence,
            occurred_at=body.occurred_at,
        )

    return await ctx.write(use_case)


@router.post(
    "/api/v1/customers/{customer_id}/consents/{purpose}/withdraw",
    response_model=ConsentEvent,
    status_code=status.HTTP_201_CREATED,
    summary="Withdraw consent for a purpose (one call)",
    responses=CUSTOMER,
)
async def withdraw_consent(
    customer_id: Id,
    purpose: PurposeKey,
    ctx: Ctx,
    user_agent: Annotated[str | None, Header(max_length=500)] = None,
) -> dict[str, Any]:
    evidence = _evidence(Evidence(), ctx.actor.ip, user_agent)
    return await ctx.write(
        lambda uow, actor: consent.record_consent(
            uow,
            customer_id,
            purpose,
            "withdraw",
            actor=actor,
            settings=ctx.settings,
            evidence=evidence,
        ),
    )


@router.get(
    "/api/v1/customers/{customer_id}/consents",
    response_model=ConsentState,
    summary="Current consent per purpose, and the ledger",
    responses=CUSTOMER,
)
async def get_consents(customer_id: Id, ctx: Ctx) -> dict[str, Any]:
    return await ctx.read(lambda uow, actor: consent.consent_state(uow, customer_id, actor=actor))


@router.get(
    "/api/v1/customers/{customer_id}/eligibility",
    response_model=EligibilityAnswer,
    summary="May this person's data be used for a purpose now?",
    responses=NOT_FOUND,
)
async def get_eligibility(
    customer_id: Id,
    ctx: Ctx,
    purpose: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_]{0,62}$")],
) -> dict[str, Any]:
    """Yes or no with the reason: consent state, lawful basis, restrictions, objections,
    disputes, minors without a guardian. The check every export and activation makes."""

    def use_case(uow: Any, actor: Any) -> dict[str, Any]:
        decision = consent.eligibility(
            uow, customer_id, purpose, settings=ctx.settings, actor=actor
        )
        return {"customer_id": customer_id, "purpose": purpose, **decision.as_dict()}

    return await ctx.read(use_case)


# --- requests -----------------------------------------------------------------------------------


class IdentityIn(_Body):
    kind: StrictStr = Field(min_length=1, max_length=80)
    value: StrictStr = Field(min_length=1, max_length=254)


class RequestDetails(_Body):
    purposes: list[StrictStr] | None = None
    changes: dict[str, Any] | None = Field(None, description="Rectification: field -> value")
    mode: Literal["deletion", "anonymisation", "blocking"] | None = None
    note: StrictStr | None = Field(None, max_length=2000)


class RequestCreate(_Body):
    kind: Literal[
        "confirmation",
        "access",
        "portability",
        "rectification",
        "erasure",
        "restriction",
        "objection",
        "opt_out",
        "sharing_info",
    ]
    identity: IdentityIn
    jurisdiction: Literal["LGPD", "GDPR", "CCPA", "152FZ"] | None = None
    received_at: IsoDateTime | None = None
    details: RequestDetails = Field(default_factory=RequestDetails)


class RequestStep(BaseModel):
    occurred_at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str


class PrivacyRequest(BaseModel):
    id: str
    kind: str
    status: str
    jurisdiction: str
    customer_id: str | None
    identity_kind: str
    erasure_mode: str | None
    received_at: datetime
    due_date: date
    days_left: int | None
    overdue: bool
    respond_by: date
    extended_respond_by: date | None
    extend_notice_by: date | None
    acknowledge_by: date | None
    acknowledged_at: datetime | None
    verification: dict[str, Any]
    result: dict[str, Any] | None
    reason: str | None
    closed_at: datetime | None
    steps: list[RequestStep] = []


class CodeIn(_Body):
    code: StrictStr = Field(min_length=4, max_length=12)


class SendCodeIn(_Body):
    channel: Literal["email", "sms"] = "email"


class NoteIn(_Body):
    note: StrictStr = Field("", max_length=2000)


class ExtendIn(_Body):
    notice: StrictStr = Field(min_length=1, max_length=4000)


class DenyIn(_Body):
    reason: StrictStr = Field(min_length=1, max_length=4000)


class RunIn(_Body):
    attest_identity: StrictBool = Field(
        False, description="Attest the identity now if it was not verified (DPO)"
    )


def _key(body: IdentityIn, region: str) -> IdentityKey:
    try:
        return normalise_identity(body.kind, body.value, region=region)
    except InvalidValue as exc:
        raise ValidationFailed(
            "The identity is not valid.", errors=[FieldError("identity", exc.message, exc.code)]
        ) from None


@router.post(
    "/api/v1/privacy/requests",
    response_model=PrivacyRequest,
    status_code=status.HTTP_201_CREATED,
    summary="Register a data-subject request",
)
async def create_request(body: RequestCreate, ctx: Ctx) -> dict[str, Any]:
    key = _key(body.identity, ctx.settings.default_region)
    details = body.details.model_dump(exclude_none=True)
    return await ctx.write(
        lambda uow, actor: requests.create_request(
            uow,
            kind=body.kind,
            identity=key,
            actor=actor,
            settings=ctx.settings,
            jurisdiction=body.jurisdiction,
            received_at=body.received_at,
            details=details,
        ),
    )


@router.get(
    "/api/v1/privacy/requests",
    response_model=list[PrivacyRequest],
    summary="Requests by due date, with days left",
)
async def list_requests(
    ctx: Ctx,
    overdue: bool = False,
    include_closed: bool = False,
) -> list[dict[str, Any]]:
    return await ctx.read(
        lambda uow, actor: requests.list_requests(
            uow, open_only=not include_closed, overdue_only=overdue
        ),
    )


@router.get(
    "/api/v1/privacy/requests/{request_id}",
    response_model=PrivacyRequest,
    summary="One request with its steps",
    responses=NOT_FOUND,
)
async def get_request(request_id: Id, ctx: Ctx) -> dict[str, Any]:
    return await ctx.read(lambda uow, actor: requests.get_request(uow, request_id))


_STEP_RESPONSES = {**NOT_FOUND, **CONFLICT}


@router.post(
    "/api/v1/privacy/requests/{request_id}/send-code",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Send a one-time code to a contact on file",
    responses=_STEP_RESPONSES,
)
async def send_code(request_id: Id, body: SendCodeIn, ctx: Ctx) -> Response:
    await ctx.write(
        lambda uow, actor: requests.send_code(uow, request_id, actor=actor, channel=body.channel),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/v1/privacy/requests/{request_id}/verify",
    response_model=PrivacyRequest,
    summary="Check the code the person gave back",
    responses=_STEP_RESPONSES,
)
async def verify_code(request_id: Id, body: CodeIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(
        lambda uow, actor: requests.confirm_code(uow, request_id, body.code, actor=actor),
    )


@router.post(
    "/api/v1/privacy/requests/{request_id}/attest",
    response_model=PrivacyRequest,
    summary="The DPO attests the requester's identity",
    responses=_STEP_RESPONSES,
)
async def attest(request_id: Id, body: NoteIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(
        lambda uow, actor: requests.attest(uow, request_id, actor=actor, note=body.note)
    )


@router.post(
    "/api/v1/privacy/requests/{request_id}/acknowledge",
    response_model=PrivacyRequest,
    summary="Record that receipt was confirmed to the person",
    responses=_STEP_RESPONSES,
)
async def acknowledge(request_id: Id, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(lambda uow, actor: requests.acknowledge(uow, request_id, actor=actor))


@router.post(
    "/api/v1/privacy/requests/{request_id}/extend",
    response_model=PrivacyRequest,
    summary="Extend the deadline, with the notice sent",
    responses=_STEP_RESPONSES,
)
async def extend(request_id: Id, body: ExtendIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(
        lambda uow, actor: requests.extend(uow, request_id, actor=actor, notice=body.notice),
    )


@router.post(
    "/api/v1/privacy/requests/{request_id}/deny",
    response_model=PrivacyRequest,
    summary="Deny, with the reason",
    responses=_STEP_RESPONSES,
)
async def deny(request_id: Id, body: DenyIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(
        lambda uow, actor: requests.deny(uow, request_id, actor=actor, reason=body.reason),
    )


@router.post(
    "/api/v1/privacy/requests/{request_id}/run",
    response_model=PrivacyRequest,
    summary="Carry the request out and complete it",
    responses=_STEP_RESPONSES,
)
async def run(request_id: Id, body: RunIn, ctx: Ctx) -> dict[str, Any]:
    """Access and portability write a bundle (download it from `/bundle`); erasure removes
    the person from every table and compacts the store before answering."""
    outcome = await ctx.apart(
        lambda: requests.run_request(
            ctx.store,
            request_id,
            actor=ctx.actor,
            settings=ctx.settings,
            attest_identity=body.attest_identity,
        ),
    )
    return outcome.request


@router.get(
    "/api/v1/privacy/requests/{request_id}/bundle",
    summary="Download the access bundle (zip)",
    responses={**NOT_FOUND, 200: {"content": {"application/zip": {}}}},
    response_class=FileResponse,
)
async def download_bundle(request_id: Id, ctx: Ctx) -> FileResponse:
    request = await ctx.read(lambda uow, actor: requests.get_request(uow, request_id))
    path = (request["result"] or {}).get("bundle")
    if not path or not FilePath(path).exists():
        raise NotFound("This request has no bundle (not run, not an access request, or erased).")
    return FileResponse(path, media_type="application/zip", filename=f"{request_id}.zip")


# --- breach, retention, holds -------------------------------------------------------------------


class BreachIn(_Body):
    kind: Literal["actor", "api_key", "user", "store"]
    id: StrictStr | None = Field(None, max_length=200, description="Actor label, key id or user id")
    window_start: IsoDateTime
    window_end: IsoDateTime
    aware_at: IsoDateTime


class LedgerEvent(BaseModel):
    id: str
    customer_id: str | None = Field(description="None once the person was erased")
    purpose: str
    action: str
    mechanism: str
    lawful_basis: str
    occurred_at: datetime
    recorded_at: datetime
    evidence: dict[str, Any] = Field(description="Proof of the notice: version, hash, form, GPC")
    evidence_held: list[str] = Field(description="Personal evidence kept but not shown here")


class LedgerList(BaseModel):
    data: list[LedgerEvent]
    next_cursor: str | None


@router.get(
    "/api/v1/privacy/consent-ledger",
    response_model=LedgerList,
    summary="Search the consent ledger: newest first, by purpose, action, person and days",
)
async def search_consent_ledger(
    ctx: Ctx,
    purpose: Annotated[str | None, Query(max_length=63)] = None,
    action: Annotated[Literal["grant", "deny", "withdraw"] | None, Query()] = None,
    person: Annotated[
        str | None, Query(max_length=254, description="Customer id, e-mail, phone or CPF")
    ] = None,
    since: date | None = None,
    until: date | None = None,
    limit: Annotated[int, Query(ge=1, le=ledger.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> dict[str, Any]:
    found = await ctx.read(
        lambda uow, actor: ledger.search_ledger(
            uow,
            actor=actor,
            region=ctx.settings.default_region,
            purpose=purpose,
            action=action,
            person=person,
            since=since,
            until=until,
            cursor=cursor,
            limit=limit,
        ),
    )
    return {"data": found.events, "next_cursor": found.next_cursor}


@router.post(
    "/api/v1/privacy/breach-reports",
    status_code=status.HTTP_201_CREATED,
    summary="Who and what a breach exposed, and the notification deadlines",
)
async def create_breach_report(body: BreachIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.write(
        lambda uow, actor: breach.breach_report(
            uow,
            kind=body.kind,
            identifier=body.id,
            start=body.window_start,
            end=body.window_end,
            aware_at=body.aware_at,
            actor=actor,
        ),
    )


@router.get(
    "/api/v1/privacy/breach-reports/{report_id}/notifications",
    summary="The people to notify, with contact details (CSV)",
    responses={**NOT_FOUND, 200: {"content": {"text/csv": {}}}},
)
async def breach_notifications(report_id: Id, ctx: Ctx) -> Response:
    text = await ctx.write(lambda uow, actor: breach.notification_list(uow, report_id, actor=actor))
    return Response(text, media_type="text/csv")


class RetentionRunIn(_Body):
    dry_run: StrictBool = True


class PolicyIn(_Body):
    category: Literal["personal", "demographic", "behavioural", "psychographic", "transactional"]
    days: StrictInt = Field(ge=1, le=36_500)
    purpose: StrictStr | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,62}$")
    description: StrictStr = Field("", max_length=2000)


@router.post("/api/v1/privacy/retention/runs", summary="Apply (or dry-run) the retention policies")
async def run_retention(body: RetentionRunIn, ctx: Ctx) -> dict[str, Any]:
    return await ctx.apart(
        lambda: retention.run_retention(
            ctx.store, actor=ctx.actor, settings=ctx.settings, dry_run=body.dry_run
        ),
    )


class PolicyOut(BaseModel):
    id: str
    category: str
    purpose: str | None
    days: int
    description: str
    created_at: datetime


@router.get(
    "/api/v1/privacy/retention/policies",
    response_model=list[PolicyOut],
    summary="Retention policies",
)
async def list_policies(ctx: Ctx) -> list[dict[str, Any]]:
    return await ctx.read(lambda uow, actor: retention.list_policies(uow))


@router.post(
    "/api/v1/privacy/retention/policies",
    response_model=PolicyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a retention policy",
    responses={**NOT_FOUND, **CONFLICT},
)
async def add_policy(body: PolicyIn, ctx: Ctx) -> dict[str, Any]:
    data = body.model_dump()
    return await ctx.write(lambda uow, actor: retention.add_policy(uow, data, actor=actor))


@router.delete(
    "/api/v1/privacy/retention/policies/{policy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a retention policy",
    responses=NOT_FOUND,
)
async def remove_policy(policy_id: Id, ctx: Ctx) -> Response:
    await ctx.write(lambda uow, actor: retention.remove_policy(uow, policy_id, actor=actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class HoldIn(_Body):
    customer_id: StrictStr = Field(pattern=r"^[0-9a-fA-F-]{36}$")
    reason: StrictStr = Field(min_length=1, max_length=2000)


class HoldOut(BaseModel):
    id: str


@router.post(
    "/api/v1/privacy/holds",
    response_model=HoldOut,
    status_code=status.HTTP_201_CREATED,
    summary="Put a person under legal hold",
    responses=CUSTOMER,
)
async def add_hold(body: HoldIn, ctx: Ctx) -> dict[str, Any]:
    hold_id = await ctx.write(
        lambda uow, actor: holds.add_hold(uow, body.customer_id, reason=body.reason, actor=actor),
    )
    return {"id": hold_id}


@router.post(
    "/api/v1/privacy/holds/{hold_id}/release",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Release a legal hold",
    responses=NOT_FOUND,
)
async def release_hold(hold_id: Id, ctx: Ctx) -> Response:
    await ctx.write(lambda uow, actor: holds.release_hold(uow, hold_id, actor=actor))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- exports ------------------------------------------------------------------------------------


class AudienceIn(_Body):
    purpose: StrictStr = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    format: Literal["csv", "jsonl", "parquet"] = "csv"
    fields: list[StrictStr] | None = Field(None, max_length=100)
    customer_ids: list[StrictStr] | None = Field(None, max_length=100_000)
    segment: StrictStr | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_]{0,62}$",
        description="A saved segment: its members at the last materialisation",
    )
    destination: StrictStr | None = Field(
        None,
        pattern=r"^[a-z0-9_]{1,63}$",
        description="Deliver to this webhook destination instead of answering with a file",
    )


@router.post(
    "/api/v1/exports/audience",
    summary="Export everyone eligible for a purpose (a file, or to a destination)",
    responses={
        **NOT_FOUND,
        200: {"content": {media: {} for media in MEDIA_TYPES.values()}},
    },
)
async def audience(body: AudienceIn, ctx: Ctx) -> Response:
    """Only people eligible for the purpose, only the fields the purpose uses, masked as the
    caller's role requires; everyone, the given ids, or a saved segment's members. The counts
    of people left out, by reason, are in the `Clientela-Excluded` header."""
    if body.segment is not None and body.customer_ids is not None:
        raise ValidationFailed(
            "Choose the people one way.",
            errors=[FieldError("segment", "give either segment or customer_ids")],
        )

    if body.destination is not None:
        destination = body.destination

        def delivery(uow: Any, actor: Any) -> dict[str, Any]:
            ids = body.customer_ids
            if body.segment is not None:
                ids = segment_member_ids(uow, body.segment)
            return deliver_audience(
                uow,
                destination,
                purpose=body.purpose,
                actor=actor,
                settings=ctx.settings,
                customer_ids=ids,
                fields=body.fields,
                segment=body.segment,
            )

        result = await ctx.write(delivery)
        failure = refused(result)
        if failure is not None:
            raise failure
        return JSONResponse(jsonable_encoder(result))

    def use_case(uow: Any, actor: Any) -> tuple[bytes, dict[str, Any]]:
        out = io.BytesIO()
        ids = body.customer_ids
        if body.segment is not None:
            ids = segment_member_ids(uow, body.segment)
        summary = export_audience(
            uow,
            out,
            purpose=body.purpose,
            actor=actor,
            settings=ctx.settings,
            customer_ids=ids,
            fields=body.fields,
            fmt=body.format,
        )
        return out.getvalue(), summary

    content, summary = await ctx.read(use_case)
    excluded = ", ".join(f"{reason}={count}" for reason, count in summary["excluded"].items())
    return Response(
        content,
        media_type=MEDIA_TYPES[body.format],
        headers={
            "Clientela-Exported": str(summary["exported"]),
            "Clientela-Excluded": excluded,
        },
    )
