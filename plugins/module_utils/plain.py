"""Plain Python data from what Ansible hands a plugin.

Ansible passes variables to filters as its own lazy containers, which template each item on
access. Ansible's argument spec validator walks and copies its input many times: on those
containers, checking two apps took seconds; on plain dicts and lists, milliseconds. Plain data
also makes the validator's messages name the types as the user wrote them (a dict, a list).
"""

from __future__ import annotations

from collections.abc import Mapping


def plain(value):
    """``value`` with every mapping a dict and every list or tuple a list, all the way down."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value
