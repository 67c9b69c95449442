"""``RegistryClient``: does this image exist, asked of the registry that would serve it.

A manifest that names an image nobody pushed deploys fine and then fails on every
node with ``ImagePullBackOff``. The validator asks first, with the cheapest
question the Distribution API has: ``HEAD /v2/<repository>/manifests/<tag|digest>``,
which answers 200 with ``Docker-Content-Digest`` or 404 and transfers no manifest.
The ``Accept`` header lists the OCI and Docker v2 index and manifest types, because
a registry hides a manifest whose type the client did not say it accepts (CNCF
Distribution answers 404 for an OCI image asked for without the OCI types).

Authentication follows the registry's ``401`` challenge (:mod:`.challenges`):
anonymous first, then Basic with the configured credentials, or Docker's token
flow (anonymous at the token server when no credentials are configured, which is
how public images on Docker Hub, GHCR and Quay are read). Each registry's
challenge is remembered, so later checks go straight to the right scheme; bearer
tokens are cached per ``(registry, scope)`` until shortly before ``expires_in``,
and fetched once even when many threads need the same one at the same time. A
cached token the registry no longer accepts is replaced once, then the check is
``unauthorized``.

Validation runs often and must never hang on a registry that is down, so each
request has a short timeout, transport failures become ``unreachable`` results
rather than exceptions, and a registry that failed is not asked again for
:data:`UNREACHABLE_MEMO_SECONDS`: one dead registry costs one timeout per batch,
not one per image. ``found`` and ``not_found`` are cached for ``cache_ttl``
seconds; the other outcomes describe the path to the image, not the image, and
are asked again next time.

One client pools connections and may be shared between threads; its caches sit
behind a lock that is never held during network I/O. :meth:`RegistryClient.check_many`
fans a batch out over a small thread pool after deduplicating references that
normalise to the same manifest.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar

import httpx

from pilothouse import __version__
from pilothouse.integrations.registry import challenges
from pilothouse.integrations.registry.challenges import Challenge, Token
from pilothouse.integrations.registry.models import CheckStatus, Credential, ImageCheck
from pilothouse.integrations.registry.references import DEFAULT_REGISTRY, ImageRef, parse_image

__all__ = [
    "MANIFEST_MEDIA_TYPES",
    "DOCKER_HUB_API_HOST",
    "MAX_WORKERS",
    "UNREACHABLE_MEMO_SECONDS",
    "TOKEN_MARGIN_SECONDS",
    "RegistryClient",
    "registry_key",
]

MANIFEST_MEDIA_TYPES: tuple[str, ...] = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
"""Sent as ``Accept``: multi-platform indexes and single manifests, OCI and Docker."""
DOCKER_HUB_API_HOST = "registry-1.docker.io"
"""Where ``docker.io`` images are actually served."""
MAX_WORKERS = 8
"""Threads :meth:`RegistryClient.check_many` uses at most."""
UNREACHABLE_MEMO_SECONDS = 10.0
"""How long a registry that gave no answer is reported unreachable without asking."""
TOKEN_MARGIN_SECONDS = 5.0
"""A cached token is dropped this long before it expires, so it never expires in flight."""
MAX_CACHE_ENTRIES = 4096
"""Results and tokens kept at most; the oldest go first."""

_DOCKER_HUB_ALIASES = frozenset({"index.docker.io", DOCKER_HUB_API_HOST})
_TOKEN_LOCK_STRIPES = 32
_CACHED_STATUSES: frozenset[CheckStatus] = frozenset({"found", "not_found"})

_CacheKey = tuple[str, str, str]
"""``(registry, repository, tag or digest)``: one manifest."""
_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


def registry_key(name: str) -> str:
    """The form registries are matched in, so ``https://index.docker.io/v1/`` (as in
    Docker's ``config.json``), ``registry-1.docker.io`` and ``docker.io`` are one key."""
    text = name.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    return DEFAULT_REGISTRY if text in _DOCKER_HUB_ALIASES else text


def _host_of(registry: str) -> str:
    if registry.startswith("["):
        return registry[1:].split("]", 1)[0]
    host, colon, port = registry.rpartition(":")
    return host if colon and port.isdigit() else registry


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _describe(error: httpx.HTTPError, timeout: float) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g} s ({type(error).__name__})"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _put_bounded(
    cache: dict[_K, tuple[float, _V]], key: _K, value: _V, *, now: float, until: float
) -> None:
    cache.pop(key, None)
    if len(cache) >= MAX_CACHE_ENTRIES:
        for stale in [k for k, (expiry, _) in cache.items() if expiry <= now]:
            del cache[stale]
        while len(cache) >= MAX_CACHE_ENTRIES:
            del cache[next(iter(cache))]
    cache[key] = (until, value)


@dataclass(frozen=True)
class _Auth:
    header: str
    reused: bool
    """A cached bearer token: the registry may have stopped accepting it since."""


class RegistryClient:
    """Checks whether images exist, for any number of registries, from any thread."""

    def __init__(
        self,
        *,
        credentials: Mapping[str, Credential] | None = None,
        timeout: float = 3.0,
        cache_ttl: float = 300,
        transport: httpx.BaseTransport | None = None,
        insecure_registries: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``credentials`` and ``insecure_registries`` are keyed by registry as written
        in image references (``ghcr.io``, ``localhost:5000``; ``docker.io`` for Docker
        Hub); an insecure entry without a port covers every port of that host, and
        loopback registries always use plain HTTP. ``timeout`` bounds each request in
        seconds; ``cache_ttl`` is how long found/not-found answers are reused, in
        seconds (0 disables the cache). ``clock`` is a monotonic clock in seconds.
        Raises ``ValueError`` for a non-positive timeout or a negative ``cache_ttl``.
        """
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if cache_ttl < 0:
            raise ValueError(f"cache_ttl must not be negative, got {cache_ttl!r}")
        self._credentials = {registry_key(k): v for k, v in (credentials or {}).items()}
        self._insecure = frozenset(registry_key(r) for r in insecure_registries)
        self._timeout = timeout
        self._cache_ttl = cache_ttl
        self._clock = clock
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": f"pilothouse/{__version__}"},
        )
        self._lock = threading.Lock()
        self._results: dict[_CacheKey, tuple[float, ImageCheck]] = {}
        self._tokens: dict[tuple[str, str], tuple[float, str]] = {}
        self._challenges: dict[str, Challenge] = {}
        self._down: dict[str, tuple[float, str]] = {}
        self._token_locks = tuple(threading.Lock() for _ in range(_TOKEN_LOCK_STRIPES))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def clear_cache(self) -> None:
        """Forget cached results, tokens, challenges and unreachable registries."""
        with self._lock:
            self._results.clear()
            self._tokens.clear()
            self._challenges.clear()
            self._down.clear()

    # -- public checks ----------------------------------------------------------------

    def check(self, image: str | ImageRef) -> ImageCheck:
        """Ask the image's registry whether its manifest exists.

        Never raises for anything the network or the registry does; raises
        :class:`~.errors.InvalidImage` if ``image`` is not an image reference.
        """
        ref = image if isinstance(image, ImageRef) else parse_image(image)
        key = (ref.registry, ref.repository, ref.reference)
        url = self.manifest_url(ref)
        now = self._clock()
        with self._lock:
            cached = self._results.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
            down = self._down.get(ref.registry)
        if down is not None and down[0] > now:
            return ImageCheck(
                "unreachable", f"{down[1]} (remembered for {UNREACHABLE_MEMO_SECONDS:g} s)", url
            )
        result = self._probe(ref, url)
        if result.status in _CACHED_STATUSES and self._cache_ttl > 0:
            now = self._clock()
            with self._lock:
                _put_bounded(self._results, key, result, now=now, until=now + self._cache_ttl)
        return result

    def check_many(self, images: Iterable[str | ImageRef]) -> dict[str, ImageCheck]:
        """:meth:`check` for each image, concurrently, each distinct manifest asked once.

        Keys are the images as given (an :class:`ImageRef` under its ``str``). Every
        reference is parsed before any request, so an invalid one raises
        :class:`~.errors.InvalidImage` and nothing is asked.
        """
        refs: dict[str, ImageRef] = {}
        for image in images:
            if isinstance(image, ImageRef):
                refs[str(image)] = image
            else:
                refs[image] = parse_image(image)
        unique: dict[_CacheKey, ImageRef] = {}
        for ref in refs.values():
            unique.setdefault((ref.registry, ref.repository, ref.reference), ref)
        if not unique:
            return {}
        workers = min(MAX_WORKERS, len(unique))
        with ThreadPoolExecutor(workers, thread_name_prefix="registry-check") as pool:
            answers = dict(zip(unique, pool.map(self.check, unique.values()), strict=True))
        return {
            image: answers[(ref.registry, ref.repository, ref.reference)]
            for image, ref in refs.items()
        }

    def manifest_url(self, image: str | ImageRef) -> str:
        """The URL :meth:`check` asks for ``image``; raises :class:`~.errors.InvalidImage`."""
        ref = image if isinstance(image, ImageRef) else parse_image(image)
        host = DOCKER_HUB_API_HOST if ref.registry == DEFAULT_REGISTRY else ref.registry
        scheme = "http" if self._plain_http(ref.registry) else "https"
        return f"{scheme}://{host}/v2/{ref.repository}/manifests/{ref.reference}"

    # -- the probe ----------------------------------------------------------------------

    def _plain_http(self, registry: str) -> bool:
        key = registry_key(registry)
        host = _host_of(key)
        return _is_loopback(host) or key in self._insecure or host in self._insecure

    def _credential(self, registry: str) -> Credential | None:
        return self._credentials.get(registry_key(registry))

    def _mark_down(self, registry: str, reason: str) -> None:
        until = self._clock() + UNREACHABLE_MEMO_SECONDS
        with self._lock:
            self._down[registry] = (until, reason)

    def _probe(self, ref: ImageRef, url: str) -> ImageCheck:
        try:
            return self._ask(ref, url)
        except httpx.TransportError as e:
            reason = f"{ref.registry} is unreachable: {_describe(e, self._timeout)}"
            self._mark_down(ref.registry, reason)
            return ImageCheck("unreachable", reason, url)
        except httpx.HTTPError as e:
            return ImageCheck("error", f"{ref.registry}: {_describe(e, self._timeout)}", url)

    def _head(self, url: str, auth: _Auth | None) -> httpx.Response:
        headers = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
        if auth is not None:
            headers["Authorization"] = auth.header
        return self._http.head(url, headers=headers)

    def _ask(self, ref: ImageRef, url: str) -> ImageCheck:
        """Anonymous or remembered auth first; on 401 answer the challenge, once."""
        scope = f"repository:{ref.repository}:pull"
        with self._lock:
            known = self._challenges.get(ref.registry)
        first: _Auth | None = None
        if known is not None and (known.scheme != "basic" or self._credential(ref.registry)):
            prepared = self._authorize(ref, url, scope, known, stale=None)
            if isinstance(prepared, ImageCheck):
                return prepared
            first = prepared
        response = self._head(url, first)
        if response.status_code != 401:
            return self._interpret(ref, url, response)
        challenge = self._challenge_of(response)
        if challenge is None:
            return ImageCheck(
                "unauthorized", f"{ref.registry} answered 401 without a usable challenge", url
            )
        with self._lock:
            self._challenges[ref.registry] = challenge
        if first is not None and not first.reused:
            return self._refused(ref, url, challenge)
        stale = first.header if first is not None else None
        second = self._authorize(ref, url, scope, challenge, stale=stale)
        if isinstance(second, ImageCheck):
            return second
        response = self._head(url, second)
        if response.status_code == 401:
            return self._refused(ref, url, self._challenge_of(response) or challenge)
        return self._interpret(ref, url, response)

    @staticmethod
    def _challenge_of(response: httpx.Response) -> Challenge | None:
        found = challenges.parse_challenges(response.headers.get_list("www-authenticate"))
        return challenges.preferred_challenge(found)

    def _interpret(self, ref: ImageRef, url: str, response: httpx.Response) -> ImageCheck:
        status = response.status_code
        if response.is_success:
            digest = response.headers.get("docker-content-digest") or ref.digest
            return ImageCheck("found", f"{ref} exists", url, digest)
        if status == 404:
            return ImageCheck(
                "not_found",
                f"{ref.registry} has no manifest {ref.reference} for {ref.repository}",
                url,
            )
        if status == 403:
            return ImageCheck("unauthorized", f"{ref.registry} denied access to {ref.name}", url)
        if status == 429:
            return ImageCheck("error", f"{ref.registry} is rate limiting requests (429)", url)
        return ImageCheck("error", f"{ref.registry} answered {status} for {ref}", url)

    def _refused(self, ref: ImageRef, url: str, challenge: Challenge) -> ImageCheck:
        credential = self._credential(ref.registry)
        if credential is not None:
            detail = f"{ref.registry} refused the credentials of {credential.username!r}"
            detail += f" for {ref.repository}"
        elif challenge.scheme == "bearer":
            detail = (
                f"{ref.registry} denied anonymous access to {ref.repository}: it is private, or "
                "it does not exist"
            )
        else:
            detail = f"{ref.registry} requires credentials and none are configured for it"
        if challenge.params.get("error"):
            detail += f" ({challenge.params['error']})"
        return ImageCheck("unauthorized", detail, url)

    # -- authorization ------------------------------------------------------------------

    def _authorize(
        self, ref: ImageRef, url: str, scope: str, challenge: Challenge, *, stale: str | None
    ) -> _Auth | ImageCheck:
        """How to answer ``challenge``, or the result that ends the check."""
        if challenge.scheme == "basic":
            credential = self._credential(ref.registry)
            if credential is None:
                return self._refused(ref, url, challenge)
            header = challenges.basic_authorization(credential.username, credential.password)
            return _Auth(header, reused=False)
        if challenge.scheme == "bearer":
            if not challenge.realm:
                return ImageCheck(
                    "error", f"{ref.registry} sent a Bearer challenge without a realm", url
                )
            return self._bearer(ref, url, scope, challenge, stale=stale)
        return ImageCheck(
            "error",
            f"{ref.registry} asks for {challenge.scheme!r} authentication, which is not supported",
            url,
        )

    def _bearer(
        self, ref: ImageRef, url: str, scope: str, challenge: Challenge, *, stale: str | None
    ) -> _Auth | ImageCheck:
        """A token for ``scope``: the cached one unless it expired or is ``stale`` (the
        ``Authorization`` value the registry just refused), else a new one, fetched
        once for every thread that needs it at the same time."""
        key = (ref.registry, scope)
        with self._token_locks[hash(key) % _TOKEN_LOCK_STRIPES]:
            now = self._clock()
            with self._lock:
                cached = self._tokens.get(key)
                if cached is not None and (cached[0] <= now or f"Bearer {cached[1]}" == stale):
                    del self._tokens[key]
                    cached = None
            if cached is not None:
                return _Auth(f"Bearer {cached[1]}", reused=True)
            token = self._fetch_token(ref, url, scope, challenge)
            if isinstance(token, ImageCheck):
                return token
            lifetime = token.expires_in - TOKEN_MARGIN_SECONDS
            if lifetime > 0:
                now = self._clock()
                with self._lock:
                    _put_bounded(self._tokens, key, token.value, now=now, until=now + lifetime)
            return _Auth(f"Bearer {token.value}", reused=False)

    def _fetch_token(
        self, ref: ImageRef, url: str, scope: str, challenge: Challenge
    ) -> Token | ImageCheck:
        realm = challenge.realm or ""
        params = {"scope": scope}
        if challenge.service:
            params["service"] = challenge.service
        credential = self._credential(ref.registry)
        auth: httpx.BasicAuth | None = None
        if credential is not None:
            params["account"] = credential.username
            auth = httpx.BasicAuth(credential.username, credential.password)
        try:
            target = httpx.URL(realm)
            if target.scheme not in ("http", "https") or not target.host:
                raise httpx.InvalidURL("not an http(s) URL")
            response = self._http.get(target.copy_merge_params(params), auth=auth)
        except httpx.InvalidURL as e:
            return ImageCheck("error", f"{ref.registry} names an invalid token realm: {e}", url)
        except httpx.TransportError as e:
            reason = f"token server {realm} is unreachable: {_describe(e, self._timeout)}"
            self._mark_down(ref.registry, reason)
            return ImageCheck("unreachable", reason, url)
        except httpx.HTTPError as e:
            return ImageCheck("error", f"token server {realm}: {_describe(e, self._timeout)}", url)
        if response.status_code in (401, 403):
            who = (
                f"the credentials of {credential.username!r}" if credential else "anonymous access"
            )
            return ImageCheck(
                "unauthorized", f"token server {realm} refused {who} to {ref.name}", url
            )
        if not response.is_success:
            return ImageCheck("error", f"token server {realm} answered {response.status_code}", url)
        try:
            data = response.json()
        except ValueError:
            return ImageCheck("error", f"token server {realm} answered without JSON", url)
        token = challenges.token_from_json(data)
        if token is None:
            return ImageCheck("error", f"token server {realm} answered without a token", url)
        return token
