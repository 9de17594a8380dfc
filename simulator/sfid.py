"""Salesforce record IDs: 15-char case-sensitive base-62 ids and their 18-char case-safe form."""

from __future__ import annotations

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def suffix(id15: str) -> str:
    """The 3-char suffix: per 5-char chunk, bit i set when char i is upper-case (LSB first)."""
    out = []
    for k in range(3):
        bits = 0
        for i, ch in enumerate(id15[k * 5 : k * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX[bits])
    return "".join(out)


def to18(sfid: str) -> str:
    """18-char form of a 15- or 18-char id (an 18-char id is recomputed from its first 15)."""
    if len(sfid) not in (15, 18) or any(c not in _BASE62 for c in sfid[:15]):
        raise ValueError(f"malformed Salesforce id: {sfid!r}")
    return sfid[:15] + suffix(sfid[:15])


def is_valid(sfid: str) -> bool:
    """True for a well-formed 15-char id, or an 18-char id whose suffix matches."""
    if not isinstance(sfid, str) or len(sfid) not in (15, 18):
        return False
    if any(c not in _BASE62 for c in sfid[:15]):
        return False
    return len(sfid) == 15 or sfid[15:] == suffix(sfid[:15])


def make_id(prefix: str, n: int) -> str:
    """Deterministic 18-char id: 3-char key prefix, a pod-like '5g0000', then n in base 62.

    Real ids are prefix + pod/instance chars + a base-62 counter; the counter part here is
    zero-padded to fill the 15 characters, so ids sort in the order of n.
    """
    if len(prefix) != 3:
        raise ValueError("key prefix must be 3 characters")
    if n < 0:
        raise ValueError("n must be >= 0")
    digits = []
    while True:
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
        if n == 0:
            break
    body = "".join(reversed(digits))
    width = 15 - len(prefix) - 3
    if len(body) > width:
        raise ValueError("counter too large for a 15-char id")
    id15 = prefix + "5g0" + body.rjust(width, "0")
    return id15 + suffix(id15)
