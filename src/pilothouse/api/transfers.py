"""Signed download links and URL imports.

``GET /download/{token}`` is the one data route without a bearer key: the signed,
expiring token is the credential, so a manifest can point at an artifact by URL.
It honours ``Range`` like the authenticated download.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status

from pilothouse.api import API, wire
from pilothouse.api.auth import ActorDep, ServiceDep
from pilothouse.api.files import stream_version

router = APIRouter(tags=["transfers"])


def public_base(request: Request, service: ServiceDep) -> str:
    configured = service.settings.server.public_url
    return (configured or str(request.base_url)).rstrip("/")


@router.post(f"{API}/workspaces/{{workspace}}/downloads", status_code=status.HTTP_201_CREATED)
def create_download(
    workspace: str,
    body: wire.DownloadCreate,
    request: Request,
    service: ServiceDep,
    actor: ActorDep,
) -> dict[str, Any]:
    """A signed, expiring URL for one version; no API key needed to fetch it."""
    link = service.create_download_link(
        actor, workspace, body.path, version=body.version, ttl_seconds=body.ttl_seconds
    )
    result = link.to_dict()
    result["url"] = f"{public_base(request, service)}/download/{link.token}"
    return result


@router.get("/download/{token}")
def download(
    token: str,
    service: ServiceDep,
    range_: Annotated[str | None, Header(alias="range")] = None,
) -> Response:
    info, stream = service.open_download(token)
    return stream_version(info, stream, range_)


@router.head("/download/{token}")
def download_head(token: str, service: ServiceDep) -> Response:
    info, stream = service.open_download(token)
    return stream_version(info, stream, None, head=True)


@router.post(f"{API}/workspaces/{{workspace}}/imports", status_code=status.HTTP_202_ACCEPTED)
def start_import(
    workspace: str, body: wire.ImportCreate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """Queue a fetch of ``url`` into ``path``; poll ``…/imports/{id}`` for progress."""
    return service.start_import(
        actor, workspace, body.url, body.path, bearer_token=body.bearer_token
    ).to_dict()


@router.get(f"{API}/workspaces/{{workspace}}/imports")
def list_imports(workspace: str, service: ServiceDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [j.to_dict() for j in service.list_imports(actor, workspace)]


@router.get(f"{API}/workspaces/{{workspace}}/imports/{{import_id}}")
def import_status(
    workspace: str, import_id: str, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """``status`` (queued, running, succeeded, failed), bytes so far, the new version."""
    return service.get_import(actor, workspace, import_id).to_dict()
