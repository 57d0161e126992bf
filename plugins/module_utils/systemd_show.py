# -*- coding: utf-8 -*-
# MIT License (see LICENSE)
"""Read the output of `systemctl show --property=Id,... UNIT...`."""

from __future__ import annotations


def parse_show(output):
    """`systemctl show --property=Id,... UNIT...` as {unit: {property: value}}; systemctl separates
    the units by a blank line, and a unit without an Id is left out."""
    units = {}
    for block in str(output or "").strip().split("\n\n"):
        properties = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if properties.get("Id"):
            units[properties["Id"]] = properties
    return units
