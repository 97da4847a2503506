"""The shape of a ``/_dash-update-component`` body, checked at the edge before Dash reads it.

Dash trusts the body's shape: ``inputs`` as an object, an input without ``id`` or an unknown ``output``
each raised inside Dash (a 500 and a traceback in the log per request). The browser always posts::

    {"output": "<callback id>", "outputs": {id, property} | [{id, property} | [...], ...],
     "inputs": [{id, property, value?} | [{...}, ...], ...], "state": [...], "changedPropIds": ["<id>.<prop>", ...]}

:func:`problem` names the first thing that is not so (the edge answers 400 with it), including an
``output`` that is no declared callback and an input or state whose id and property are not the ones
that callback declared. The values are each callback's to check (:mod:`dashboard.web.inputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_OUTPUT_CHARS = 10_000


def _item_problem(item: Any, where: str) -> str | None:
    if not isinstance(item, dict):
        return f"{where} must be an object with id and property"
    ident, prop = item.get("id"), item.get("property")
    if not isinstance(ident, str | dict) or not ident:
        return f"{where} has no id (text or object)"
    if not isinstance(prop, str) or not prop:
        return f"{where} has no property"
    return None


def _items_problem(items: Any, name: str, declared: list[dict[str, Any]] | None) -> str | None:
    if not isinstance(items, list):
        return f"{name} must be a list"
    if declared is not None and len(items) != len(declared):
        return f"{name} has {len(items)} entries, the callback declares {len(declared)}"
    for i, item in enumerate(items):
        group = item if isinstance(item, list) else [item]  # a pattern-matching (ALL) entry is a list
        for one in group:
            found = _item_problem(one, f"{name}[{i}]")
            if found:
                return found
        if declared is None:
            continue
        want = declared[i]
        if isinstance(want.get("id"), str):
            if isinstance(item, list) or item["id"] != want["id"] or item["property"] != want.get("property"):
                return f"{name}[{i}] is not an input this callback declares"
        elif any(not isinstance(one["id"], dict) or one["property"] != want.get("property") for one in group):
            return f"{name}[{i}] does not match the callback's pattern"
    return None


def problem(body: Mapping[str, Any], callbacks: Mapping[str, Any] | None) -> str | None:
    """The first shape problem of a callback body (None: the shape is the browser's).

    Parameters
    ----------
    body : mapping
        The parsed JSON object.
    callbacks : mapping, optional
        Dash's ``app.callback_map`` (output id -> spec with ``inputs`` and ``state``); None skips the
        checks against the declared callbacks.

    Examples
    --------
    >>> problem({"output": "a.children", "outputs": {"id": "a", "property": "children"},
    ...          "inputs": [{"id": "b", "property": "value", "value": 1}], "changedPropIds": ["b.value"]}, None)
    >>> problem({"output": "a.children", "inputs": {"id": "b"}}, None)
    'inputs must be a list'
    >>> problem({"output": "a.children", "inputs": [{"property": "value"}]}, None)
    'inputs[0] has no id (text or object)'
    """
    output = body.get("output")
    if not isinstance(output, str) or not output or len(output) > MAX_OUTPUT_CHARS:
        return "output must be the callback's id (text)"
    spec = None
    if callbacks:
        spec = callbacks.get(output)
        if spec is None:
            return "output is not a callback of this page"
    if "outputs" in body:
        outputs = body["outputs"]
        entries = outputs if isinstance(outputs, list) else [outputs]
        for i, entry in enumerate(entries):
            for one in entry if isinstance(entry, list) else [entry]:
                found = _item_problem(one, f"outputs[{i}]")
                if found:
                    return found
    found = _items_problem(body.get("inputs"), "inputs", spec.get("inputs") if spec else None)
    if found:
        return found
    found = _items_problem(body.get("state", []), "state", spec.get("state") if spec else None)
    if found:
        return found
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "changedPropIds must be a list of text"
    return None
