"""One redaction of secrets in URLs, used by every output, message and cache name.

A chart source or index URL may carry credentials in two places: the userinfo
(``https://user:token@host/``; a password may even hold a raw ``@``) and the query string
(``?access_token=...``, ``&sig=...``, signed cloud-storage URLs). :func:`redact_url` hides
both wherever a URL appears in a text (an error message, git's stderr, a provenance), so no
output, page or cache file name can show them.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["SECRET_PARAMS", "redact_url", "redact_value"]

#: Query parameters whose value is a credential, matched case-insensitively on the whole name
#: or as its last ``_``/``-``/``.`` part (``x-amz-signature``, ``client_secret``, ...).
SECRET_PARAMS = (
    "token",
    "access_token",
    "auth",
    "key",
    "apikey",
    "api_key",
    "sig",
    "signature",
    "secret",
    "password",
    "passwd",
    "pwd",
    "credential",
    "credentials",
    "code",
)


@functools.cache
def _userinfo() -> re.Pattern[str]:
    """``scheme://USERINFO@`` (compiled on first use, ~0.4 ms: every run imports this
    module through :mod:`.errors`, and one that shows no URL never needs it). The userinfo
    runs to the *last* "@" before the path, query or fragment (greedy), so a password with
    a raw "@" is hidden whole."""
    return re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*(?:@[^/?#\s@]*)*@")


@functools.cache
def _secret_params() -> re.Pattern[str]:
    """A secret query parameter and its value (compiled on first use: most texts have no
    ``=``). The value runs to the next parameter, fragment, blank or quote; a ":" followed
    by a blank ends it too (the URL is the start of a "URL: message" line)."""
    names = "|".join(re.escape(name) for name in SECRET_PARAMS)
    return re.compile(
        rf"(?i)([?&;](?:[\w.~%-]*[_.-])?(?:{names})=)(?:[^&#;:\s'\"<>]|:(?!\s|$))*",
    )


def redact_url(text: str) -> str:
    """``text`` with URL credentials replaced by ``***`` (userinfo and secret query values).

    Works on a bare URL or on any text holding URLs (messages, git's stderr). Each pattern
    runs only on a text it can match (most texts, a commit subject or a version, have
    neither a scheme's ``://`` nor a parameter's ``=``).
    """
    if "://" in text:
        text = _userinfo().sub(r"\1***@", text)
    if "=" in text:
        text = _secret_params().sub(r"\1***", text)
    return text


def redact_value(value: Any) -> Any:
    """``value`` with :func:`redact_url` applied to every string in it (lists, tuples and
    dicts walked): a fact value or a JSON document on its way out."""
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, (list, tuple)):
        return [redact_value(item) for item in value]
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    return value
