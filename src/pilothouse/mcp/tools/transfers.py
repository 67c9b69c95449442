"""``webhook``, ``import`` and ``download``: the workspace talking to the web.

Webhook management needs the admin role; the secret of a subscription is in the
reply that creates it (or rotates it) only. An import is a job the server runs;
``status`` reports its progress. A download URL is signed and expiring and needs
no key, so a manifest can reference an artifact by it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.wire import Arguments, FilePath, Limit, TextList, Version, WorkspaceRef

webhook = registry.tool(
    "webhook",
    title="Webhooks",
    description="Signed HTTP callbacks for workspace events, with retries and a delivery log.",
)
importing = registry.tool(
    "import",
    title="URL import",
    description="Fetch an http(s) URL (share links of Drive, OneDrive, Dropbox, Box included) "
    "into a new file version, as a job.",
)
download = registry.tool(
    "download",
    title="Download links",
    description="Signed, expiring URLs to one file version; no API key needed to fetch them.",
)

WebhookId = Field(min_length=1, max_length=64, description="The webhook's id.")


class WorkspaceArgs(Arguments):
    workspace: WorkspaceRef


class CreateArgs(Arguments):
    workspace: WorkspaceRef
    url: str = Field(min_length=1, max_length=4096, description="Target URL (http or https).")
    event_types: TextList = Field(
        default_factory=list, description="Event types or families (file.*); empty: all."
    )
    path_glob: str | None = Field(None, max_length=1024, description="Only events under it.")
    active: bool = True


class WebhookArgs(Arguments):
    workspace: WorkspaceRef
    webhook_id: str = WebhookId


class DeliveriesArgs(Arguments):
    workspace: WorkspaceRef
    webhook_id: str | None = Field(None, max_length=64, description="Only this webhook's.")
    status: Literal["pending", "delivered", "failed"] | None = None
    limit: Limit = 100


class ImportArgs(Arguments):
    workspace: WorkspaceRef
    url: str = Field(min_length=1, max_length=4096, description="What to fetch.")
    path: FilePath
    bearer_token: str | None = Field(
        None, max_length=8192, description="OAuth token for the source (first host only)."
    )


class ImportStatusArgs(Arguments):
    workspace: WorkspaceRef
    import_id: str = Field(min_length=1, max_length=64, description="From import url.")


class DownloadArgs(Arguments):
    workspace: WorkspaceRef
    path: FilePath
    version: Version = None
    ttl_seconds: int | None = Field(None, ge=1, le=604800, description="Validity (1 h).")


@webhook.action("create", CreateArgs, read_only=False, open_world=True)
def create(call: Call, args: CreateArgs) -> Reply:
    """Subscribe a URL to events; the signing secret is in this reply only (admins)."""
    return call.service.create_webhook(
        call.actor,
        args.workspace,
        args.url,
        event_types=args.event_types,
        path_glob=args.path_glob,
        active=args.active,
    ).to_dict()


@webhook.action("list", WorkspaceArgs, read_only=True)
def list_webhooks(call: Call, args: WorkspaceArgs) -> Reply:
    """Subscriptions of the workspace (without secrets)."""
    found = call.service.list_webhooks(call.actor, args.workspace)
    return {"webhooks": [w.to_dict() for w in found]}


@webhook.action("delete", WebhookArgs, read_only=False, destructive=True, idempotent=False)
def delete(call: Call, args: WebhookArgs) -> Reply:
    """Remove a subscription; its pending deliveries are marked failed."""
    call.service.delete_webhook(call.actor, args.workspace, args.webhook_id)
    return {"webhook_id": args.webhook_id, "deleted": True}


@webhook.action("rotate_secret", WebhookArgs, read_only=False, destructive=True)
def rotate_secret(call: Call, args: WebhookArgs) -> Reply:
    """A new signing secret (in this reply only); the old one stops at once."""
    return call.service.rotate_webhook_secret(call.actor, args.workspace, args.webhook_id).to_dict()


@webhook.action("deliveries", DeliveriesArgs, read_only=True)
def deliveries(call: Call, args: DeliveriesArgs) -> Reply:
    """The delivery log, newest first: status, attempts, last response code."""
    found = call.service.list_deliveries(
        call.actor,
        args.workspace,
        webhook_id=args.webhook_id,
        status=args.status,
        limit=args.limit,
    )
    return {"deliveries": [d.to_dict() for d in found]}


@importing.action("url", ImportArgs, read_only=False, open_world=True)
def import_url(call: Call, args: ImportArgs) -> Reply:
    """Queue a fetch of a URL into a path; poll ``status`` with the returned id."""
    return call.service.start_import(
        call.actor, args.workspace, args.url, args.path, bearer_token=args.bearer_token
    ).to_dict()


@importing.action("status", ImportStatusArgs, read_only=True)
def import_status(call: Call, args: ImportStatusArgs) -> Reply:
    """queued, running (bytes so far), succeeded (the new version) or failed (a code)."""
    return call.service.get_import(call.actor, args.workspace, args.import_id).to_dict()


@download.action("url", DownloadArgs, read_only=False)
def download_url(call: Call, args: DownloadArgs) -> Reply:
    """A signed URL to one version that anyone holding it can fetch until it expires."""
    link = call.service.create_download_link(
        call.actor, args.workspace, args.path, version=args.version, ttl_seconds=args.ttl_seconds
    )
    server = call.service.settings.server
    base = (server.public_url or f"http://{server.host}:{server.port}").rstrip("/")
    return {**link.to_dict(), "url": f"{base}/download/{link.token}"}
