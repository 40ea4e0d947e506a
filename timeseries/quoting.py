"""InfluxQL string literals: names come from devices and people, so they are always quoted."""

from __future__ import annotations


def quote(text: str) -> str:
    """``text`` for use inside single quotes in InfluxQL.

    >>> quote("it's")
    "it\\\\'s"
    """
    return text.replace("\\", "\\\\").replace("'", "\\'")


def where_tags(**tags: str | None) -> str:
    """`` AND "tag" = 'value'`` for each tag given (None: not filtered).

    >>> where_tags(site="s1", device=None)
    ' AND "site" = \\'s1\\''
    """
    return "".join(f" AND \"{k}\" = '{quote(v)}'" for k, v in tags.items() if v is not None)
