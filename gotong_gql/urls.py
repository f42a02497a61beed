"""Links that users give us (`avatarUrl`, `evidenceUrl`), which other people's apps display.

A link is refused when it could leave an HTML attribute or hide where it leads: quotes, angle
brackets, backticks, backslashes, whitespace and control characters anywhere; a scheme other than
http(s) (only https in production); no host; a user name or password before the host. Both the
RFC 3986 split of the standard library and the WHATWG parser that browsers follow (pydantic's
`HttpUrl`) must read it the same way, so no parser sees another host than we checked; what is
stored is the WHATWG serialisation (lower-case host, IDNA, percent-encoding).
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, HttpUrl, StringConstraints, TypeAdapter, ValidationError
from pydantic_core.core_schema import ValidationInfo

MAX_URL_LENGTH = 2048  # the columns' length
HTTPS_ONLY = "https_only"  # the validation context's key: set in production
_UNSAFE = re.compile(r"[\s\"'<>`\\\x00-\x1f\x7f]")
_WHATWG = TypeAdapter(HttpUrl)


def _checked(value: str, info: ValidationInfo) -> str:
    if _UNSAFE.search(value):
        raise ValueError(
            "a link may not contain quotes, angle brackets, backticks, backslashes or whitespace"
        )
    split = urlsplit(value)
    if split.scheme.lower() not in ("http", "https") or not split.hostname:
        raise ValueError("not an http(s) link with a host")
    try:
        url = _WHATWG.validate_python(value)
    except ValidationError:
        raise ValueError("not an http(s) link with a host") from None
    if split.username is not None or url.username or url.password:
        raise ValueError("a link may not carry a user name or password")
    if not _same_host(split.hostname, url.host):
        raise ValueError("the link's host reads differently to different parsers")
    if (info.context or {}).get(HTTPS_ONLY) and url.scheme != "https":
        raise ValueError("only https links are accepted")
    text = str(url)
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"a link has at most {MAX_URL_LENGTH} characters")
    return text


def _same_host(split_host: str, whatwg_host: str | None) -> bool:
    """Percent-escapes, numeric IPv4 spellings and the like are resolved by one parser only."""
    try:
        ascii_host = split_host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return whatwg_host in (ascii_host, f"[{split_host}]")


WebUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_URL_LENGTH),
    AfterValidator(_checked),
]
