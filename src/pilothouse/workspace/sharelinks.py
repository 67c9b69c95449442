"""Share links of file-hosting services, rewritten to their direct-download form.

People paste the link their browser shows; that page is HTML, not the file. These
rewrites turn the documented share-link shapes into URLs that answer with the
bytes (all other URLs pass through unchanged):

============================================  ==============================================
Share link                                    Fetched as
============================================  ==============================================
drive.google.com/file/d/ID/view?…             drive.google.com/uc?export=download&id=ID
drive.google.com/open?id=ID                   drive.google.com/uc?export=download&id=ID
docs.google.com/uc?id=ID                      drive.google.com/uc?export=download&id=ID
www.dropbox.com/s/…?dl=0 (and /scl/fi/…)      same URL with dl=1
1drv.ms/… and onedrive.live.com/redir?…       onedrive.live.com/download?… (same query)
onedrive.live.com/?cid=…&resid=…              onedrive.live.com/download?cid=…&resid=…
*.sharepoint.com/…?…                          same URL with download=1
app.box.com/s/ID (and *.app.box.com/s/ID)     app.box.com/shared/static/ID
============================================  ==============================================

A 1drv.ms short link redirects to onedrive.live.com/redir; the redirect is
followed and the hop rewritten by the importer.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DRIVE_FILE = re.compile(r"^/file/d/([A-Za-z0-9_-]+)")
BOX_SHARE = re.compile(r"^/s/([A-Za-z0-9]+)/?$")


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in changes]
    query += list(changes.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def direct(url: str) -> str:
    """The direct-download form of a known share link, else ``url`` itself."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    query = dict(parse_qsl(parts.query))
    if host in ("drive.google.com", "docs.google.com"):
        match = DRIVE_FILE.match(parts.path)
        file_id = match.group(1) if match else query.get("id")
        if file_id:
            return f"https://drive.google.com/uc?export=download&id={file_id}"
    if host in ("www.dropbox.com", "dropbox.com"):
        return _with_query(url, dl="1")
    if host == "onedrive.live.com" and (
        parts.path.startswith("/redir") or (parts.path in ("", "/") and "resid" in query)
    ):
        return urlunsplit(parts._replace(path="/download"))
    if host.endswith(".sharepoint.com") and "download" not in query:
        return _with_query(url, download="1")
    if host == "app.box.com" or host.endswith(".app.box.com"):
        match = BOX_SHARE.match(parts.path)
        if match:
            return urlunsplit(parts._replace(path=f"/shared/static/{match.group(1)}", query=""))
    return url
