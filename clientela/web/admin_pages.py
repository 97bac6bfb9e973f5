"""The admin's pages beside users and API keys: tracking sources with their write keys, and
backups (made and verified here; a restore replaces the store, so it stays in the CLI with the
server stopped)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from clientela.audit import service as audit
from clientela.backup.service import BackupInfo, create_backup, list_backups, verify_backup
from clientela.domain.errors import ClientelaError, FieldError, NotFound, ValidationFailed
from clientela.sources.keys import create_tracking_source, revoke_source
from clientela.sources.service import list_sources
from clientela.web.auth import Page
from clientela.web.i18n import N_
from clientela.web.pages import PageContext, error_text, templates, unknown_action

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: the sub-navigation of the admin pages: (path, label)
ADMIN_TABS = (
    ("/admin", N_("Users and API keys")),
    ("/admin/sources", N_("Sources")),
    ("/admin/backups", N_("Backups")),
)
templates.env.globals["admin_tabs"] = ADMIN_TABS


# --- sources and write keys -------------------------------------------------------------------


async def _sources_page(
    request: Request, page: Page, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    def listed() -> list[dict[str, Any]]:
        with page.store.unit_of_work(write=False) as uow:
            return list_sources(uow)

    context = {"page": page, "sources": await run_in_threadpool(listed), "error": None}
    context["created"] = None
    context.update(extra)
    return templates.TemplateResponse(request, "sources.html", context, status_code=status_code)


@router.get("/admin/sources", response_class=HTMLResponse)
async def sources_page(request: Request, page: PageContext) -> HTMLResponse:
    """Where data comes from, how far each is trusted, and which have a write key."""
    return await _sources_page(request, page)


@router.post("/admin/sources", response_model=None)
async def sources_action(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    action = str(form.get("action", ""))
    name = str(form.get("name", "")).strip()
    rank_text = str(form.get("trust_rank", "50")).strip() or "50"

    def use_case() -> Any:
        with page.store.unit_of_work() as uow:
            created = None
            if action == "create":
                if not rank_text.isdigit():
                    raise ValidationFailed(
                        N_("The trust rank is invalid."),
                        errors=[FieldError("trust_rank", N_("must be a whole number, 0 to 100"))],
                    )
                created = create_tracking_source(
                    uow,
                    name,
                    actor=page.actor,
                    trust_rank=int(rank_text),
                    description=str(form.get("description", "")).strip()[:500],
                )
            elif action == "disable":
                revoke_source(uow, name, actor=page.actor)
            else:
                raise unknown_action()
            uow.commit()
            return created

    try:
        created = await run_in_threadpool(use_case)
    except ClientelaError as exc:
        return await _sources_page(
            request, page, status_code=exc.status, error=error_text(request, exc)
        )
    if created is not None:  # the write key is shown on this answer only
        return await _sources_page(request, page, created=created)
    return RedirectResponse("/admin/sources?done=disable", status_code=303)


# --- backups ----------------------------------------------------------------------------------


async def _backups_page(
    request: Request, page: Page, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    backups = await run_in_threadpool(lambda: list_backups(page.settings.backups_dir))
    context: dict[str, Any] = {
        "page": page,
        "backups": backups,
        "directory": page.settings.backups_dir,
        "error": None,
        "made": None,
        "verified": None,
        **extra,
    }
    return templates.TemplateResponse(request, "backups.html", context, status_code=status_code)


@router.get("/admin/backups", response_class=HTMLResponse)
async def backups_page(request: Request, page: PageContext) -> HTMLResponse:
    """The store's encrypted backups: make one now, check one byte by byte."""
    return await _backups_page(request, page)


def _backup_file(directory: Path, name: str) -> Path:
    """A backup of this directory by its file name (never a path elsewhere)."""
    if not name or Path(name).name != name or not name.endswith(".backup"):
        raise ValidationFailed(
            N_("The backup name is invalid."),
            errors=[FieldError("name", N_("must be the file name of a backup listed here"))],
        )
    path = directory / name
    if not path.is_file():
        raise NotFound(f"No backup named {name}.")
    return path


@router.post("/admin/backups", response_model=None)
async def backups_action(request: Request, page: PageContext) -> Response:
    form = await request.form()
    page.check_csrf(str(form.get("csrf_token", "")))
    action = str(form.get("action", ""))
    directory = page.settings.backups_dir

    def make() -> BackupInfo:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        info = create_backup(page.store, directory / f"clientela-{stamp}.backup")
        _audited(page, "backup.create", info)
        return info

    def check() -> BackupInfo:
        info = verify_backup(
            _backup_file(directory, str(form.get("name", ""))), page.store.keyring()
        )
        _audited(page, "backup.verify", info)
        return info

    try:
        if action == "create":
            return await _backups_page(request, page, made=await run_in_threadpool(make))
        if action == "verify":
            return await _backups_page(request, page, verified=await run_in_threadpool(check))
        raise unknown_action()
    except ClientelaError as exc:
        return await _backups_page(
            request, page, status_code=exc.status, error=error_text(request, exc)
        )


def _audited(page: Page, action: str, info: BackupInfo) -> None:
    with page.store.unit_of_work() as uow:
        audit.record(uow, page.actor, action, [None], [info.path.name])
        uow.commit()
