"""One typed settings tree, read at the edge.

Settings come from the environment (``PILOTHOUSE_*``; nested fields use a double
underscore, e.g. ``PILOTHOUSE_WORKSPACE__DEFAULT_QUOTA_BYTES``) and, at the CLI,
from an optional file. Everything below the CLI receives a :class:`Settings`
instance in its constructor and never reads the environment itself, so a test can
build any configuration in one line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GiB = 1024**3


class WorkspaceSettings(BaseModel):
    """Limits of the workspace core."""

    default_quota_bytes: int = Field(50 * GiB, ge=0)
    """Quota of a new workspace, in bytes of stored versions (default 50 GiB)."""

    max_file_bytes: int = Field(1 * GiB, ge=1)
    """Largest single file version accepted, in bytes (default 1 GiB)."""

    max_path_length: int = Field(1024, ge=16)
    """Longest normalised path accepted, in characters (default 1024)."""

    lock_default_ttl_seconds: int = Field(300, ge=1, le=3600)
    """Lease of a lock when the caller names none, in seconds (default 300)."""

    lock_max_wait_seconds: float = Field(60.0, ge=0)
    """Longest an acquire may wait for a held lock, in seconds (default 60)."""

    lock_poll_seconds: float = Field(0.05, gt=0)
    """Interval between retries of a waiting acquire, in seconds (default 0.05)."""

    claim_token_ttl_hours: int = Field(72, ge=1)
    """Validity of an ownership-transfer claim token, in hours (default 72)."""

    max_open_transfers: int = Field(5, ge=1)
    """Open ownership transfers allowed per workspace (default 5)."""

    blob_gc_grace_seconds: int = Field(3600, ge=0)
    """Age an unreferenced blob must reach before garbage collection removes it (1 h)."""


class DatabaseSettings(BaseModel):
    """Where the system of record lives."""

    url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///$PILOTHOUSE_HOME/pilothouse.db``."""

    busy_timeout_seconds: float = Field(30.0, gt=0)
    """How long SQLite waits for a competing writer before giving up (default 30 s)."""


class WebhookSettings(BaseModel):
    """Outgoing webhook deliveries."""

    max_attempts: int = Field(8, ge=1, le=50)
    """Attempts before a delivery is marked failed (default 8, about an hour)."""

    base_delay_seconds: float = Field(30.0, gt=0)
    """Delay before the first retry; doubles each attempt, with ±20 % jitter (default 30)."""

    max_delay_seconds: float = Field(1800.0, gt=0)
    """Longest delay between two attempts, in seconds (default 30 min)."""

    timeout_seconds: float = Field(10.0, gt=0)
    """Time a target has to answer one attempt, in seconds (default 10)."""

    poll_seconds: float = Field(1.0, gt=0)
    """How often the dispatcher looks for due deliveries written by other processes."""

    batch: int = Field(20, ge=1, le=500)
    """Deliveries claimed per round (default 20)."""


class ImportSettings(BaseModel):
    """``import url``: the server fetching a file from the web into a workspace."""

    timeout_seconds: float = Field(3600.0, gt=0)
    """Longest one import may take in all, in seconds (default 1 h)."""

    read_timeout_seconds: float = Field(30.0, gt=0)
    """Longest wait for the next bytes from the source, in seconds (default 30)."""

    max_redirects: int = Field(5, ge=0, le=20)
    """Redirect hops followed, each re-checked against the address guard (default 5)."""

    workers: int = Field(2, ge=1, le=16)
    """Imports that run at once in one server process (default 2)."""


class IntelligenceSettings(BaseModel):
    """Indexing and search."""

    embedder: str = "local"
    """``local`` (bundled all-MiniLM-L6-v2), ``openai`` (any /v1/embeddings server) or ``none``."""

    openai_url: str | None = None
    """Base URL of an OpenAI-compatible API, e.g. ``http://127.0.0.1:11434/v1`` (Ollama)."""

    openai_model: str = "text-embedding-3-small"
    """Model name sent to the OpenAI-compatible endpoint."""

    openai_api_key: str | None = None
    """Bearer key for the OpenAI-compatible endpoint, if it needs one."""

    batch: int = Field(64, ge=1, le=1024)
    """Chunks per forward pass of the local model or per request to an endpoint (default 64)."""

    precision: str = Field("int8", pattern="^(int8|fp32)$")
    """How the local model runs (default ``int8``, ~2x faster, vectors within cosine ~0.99 of
    ``fp32``); each is its own model name, so switching re-embeds every workspace."""

    threads: int = Field(0, ge=0, le=256)
    """Local model workers, one core each (default 0: one per CPU the process may use)."""

    query_cache: int = Field(256, ge=0)
    """Vectors of recent search queries kept in memory, by exact text (default 256; 0: off)."""

    poll_seconds: float = Field(1.0, gt=0)
    """How often the indexer looks for work queued by other processes (default 1 s)."""


class ServerSettings(BaseModel):
    """``pilothouse serve``: the HTTP front door."""

    host: str = "127.0.0.1"
    """Interface to bind (default loopback only)."""

    port: int = Field(8700, ge=0, le=65535)
    """TCP port (default 8700)."""

    public_url: str | None = None
    """Base URL clients reach the server at, for signed links (default http://host:port)."""

    max_json_body_bytes: int = Field(1024 * 1024, ge=1024)
    """Largest JSON request body, in bytes (default 1 MiB); uploads use max_file_bytes."""

    max_mcp_body_bytes: int = Field(16 * 1024 * 1024, ge=1024)
    """Largest MCP message, in bytes (default 16 MiB: file writes travel inline)."""

    download_url_ttl_seconds: int = Field(3600, ge=1, le=7 * 24 * 3600)
    """Default validity of a signed download URL, in seconds (default 1 h)."""

    allow_private_webhook_targets: bool = False
    """Let webhooks and URL imports reach loopback, private and link-local addresses."""

    graceful_shutdown_seconds: float = Field(10.0, ge=0)
    """How long shutdown waits for in-flight requests, in seconds (default 10)."""


class PipelineSettings(BaseModel):
    """The pipeline engine: trigger inbox, job queue, workers, watchdogs."""

    workers: int = Field(2, ge=0, le=64)
    """Jobs run at once by one process (``serve`` or ``worker``; default 2, 0 = none)."""

    poll_seconds: float = Field(1.0, gt=0)
    """How often idle workers look for work queued by other processes (default 1 s)."""

    lease_seconds: float = Field(30.0, ge=1)
    """A running job's lease; renewed while it runs, re-queued when it lapses (default 30)."""

    default_timeout_seconds: float = Field(1800.0, gt=0)
    """A stage's time limit when it declares none (default 30 min)."""

    lock_wait_seconds: float = Field(60.0, ge=0)
    """How long a stage waits for its ``requires_lock`` tree lock (default 60 s)."""

    retry_base_seconds: float = Field(5.0, gt=0)
    """First retry delay of a temporary failure; doubles each attempt (default 5 s)."""

    retry_max_seconds: float = Field(300.0, gt=0)
    """Longest retry delay (default 5 min)."""

    max_output_bytes: int = Field(1024 * 1024, ge=1024)
    """Captured stdout/stderr kept per stream of a command agent (default 1 MiB)."""

    failure_rate_threshold: float = Field(0.5, ge=0, le=1)
    """An agent whose recent failure rate exceeds this raises an alert (default 0.5)."""

    failure_window: int = Field(10, ge=1)
    """How many recent runs the failure rate looks at (default 10)."""

    github_api_url: str = "https://api.github.com"
    """GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3)."""

    allow_local_repositories: bool = False
    """Let REST and MCP callers register a local path or ``file://`` remote (the CLI always
    may): off by default, since it would expose any repository on the server's disk."""

    git_author_domain: str = "agents.pilothouse.local"
    """Agents commit as ``<agent>@<this domain>`` unless configured otherwise."""


class RegistryLogin(BaseModel):
    username: str
    password: str = Field(repr=False)


class ValidatorSettings(BaseModel):
    """The validator agent (``builtin:validator``, ``pilothouse validate``)."""

    kubernetes_version: str | None = None
    """Validate against this Kubernetes version's schemas (default: the newest bundled)."""

    check_images: bool = True
    """Ask each image's registry whether the tag exists (``image.not-found``)."""

    registry_timeout_seconds: float = Field(3.0, gt=0)
    """Per-request timeout of registry checks; an unreachable registry is an info finding."""

    registry_credentials: dict[str, RegistryLogin] = Field(default_factory=dict)
    """Logins by registry host as written in images (``ghcr.io``, ``docker.io``), e.g.
    ``PILOTHOUSE_VALIDATOR__REGISTRY_CREDENTIALS='{"ghcr.io": {"username": "u",
    "password": "t"}}'``."""

    insecure_registries: list[str] = Field(default_factory=list)
    """Registries spoken to over plain HTTP (loopback always is)."""


class Settings(BaseSettings):
    """The root of the tree."""

    model_config = SettingsConfigDict(
        env_prefix="PILOTHOUSE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Path(".pilothouse")
    """Data directory: database, blobs and the local identity (``$PILOTHOUSE_HOME``)."""

    database: DatabaseSettings = DatabaseSettings()
    workspace: WorkspaceSettings = WorkspaceSettings()
    server: ServerSettings = ServerSettings()
    webhooks: WebhookSettings = WebhookSettings()
    imports: ImportSettings = ImportSettings()
    intelligence: IntelligenceSettings = IntelligenceSettings()
    pipeline: PipelineSettings = PipelineSettings()
    validator: ValidatorSettings = ValidatorSettings()

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(self.home / 'pilothouse.db').resolve()}"

    @property
    def repo_cache_dir(self) -> Path:
        return self.home / "repos"

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"
