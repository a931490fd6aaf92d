"""URIs as they may be shown or stored: without the credentials some of them carry."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"//[^/@]*@")


def redact_uri(uri: str, *, keep_query: bool = True) -> str:
    """`uri` without `user:password@`; with `keep_query=False` also without its query and
    fragment (where a token may ride). A URI that cannot be parsed loses its user info by
    pattern, so a credential never survives a parse error."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return _USERINFO.sub("//", uri)
    if keep_query and not parts.username and not parts.password:
        return uri
    netloc = parts.hostname or ""
    if port:
        netloc += f":{port}"
    query, fragment = (parts.query, parts.fragment) if keep_query else ("", "")
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
