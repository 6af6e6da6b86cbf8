"""Stable logical names for resources declared once per item of a set (ASG tags, cluster admins).

A resource named by its position in a list is renamed, and so replaced, whenever an item before
it is added or removed; one named by the item itself keeps its name for as long as it exists.
"""

from __future__ import annotations

import hashlib
import re

_NOT_NAME = re.compile(r"[^a-z0-9]+")


def stable_suffix(key: str, drop_prefix: str = "") -> str:
    """A logical-name suffix for `key`: a readable slug of it (lower case, runs of anything but
    letters and digits as one `-`, `drop_prefix` removed first) plus 8 hex digits of the key's
    SHA-256, so keys that slug alike (`a.b/c`, `a-b/c`) still get distinct names. It depends on
    `key` alone."""
    slug = _NOT_NAME.sub("-", key.removeprefix(drop_prefix).lower()).strip("-") or "x"
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
