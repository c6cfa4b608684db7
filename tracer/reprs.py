"""What a state shows of a value: its `repr`, shortened, or nothing.

Every local except dunder names (`__name__`, `__builtins__`, ...), compiler temporaries (`.0`),
and modules, functions, methods and classes (definitions and imports are code, not data;
CodeExecutor keeps variables only). Values are `repr`s, cut to `limit` characters with `...`;
long lists, dicts, sets and strings are cut before `repr` runs, and default reprs lose their
address (`<__main__.Point object>`) so that traces are reproducible.

`value_text` remembers each name's last value and text in a cache shared by all frames: an
unchanged value of a `STABLE` type (the very same object) is not looked at again, nor is a list
of numbers whose shown items did not change. The text is a function of the value alone.
"""

from __future__ import annotations

import types

TYPE_CHECKING = False  # the child imports this module: `typing` costs it ~20 ms at start
if TYPE_CHECKING:
    from typing import Any

# objects whose repr (or whose being skipped) cannot change while the object stays the same
STABLE = frozenset({int, float, complex, bool, str, bytes, type(None), types.ModuleType,
                    types.FunctionType, types.BuiltinFunctionType, types.MethodType, type})
ATOMS = frozenset({int, float, bool, type(None)})  # repr'd in C, short, never an address
_SKIP = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)
_BRACKETS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})"),
             dict: ("{", "}")}


def hidden(name: str) -> bool:
    """Dunder names and compiler temporaries are never state."""
    return (name[:2] == "__" and name[-2:] == "__") or name[:1] == "."


def short_repr(value: Any, limit: int, depth: int = 0) -> str:
    """`repr(value)` cut to `limit` characters (`...` at the end), never building a huge repr:
    strings are cut first, lists, tuples, sets and dicts are written item by item until the
    limit is passed."""
    kind = type(value)
    try:
        if kind in _BRACKETS and value:
            text = _container_repr(value, kind, limit, depth)
        else:
            if (kind is str or kind is bytes) and len(value) > limit:
                value = value[:limit]
            text = repr(value)
    except BaseException as err:  # noqa: BLE001 - a broken __repr__ must not stop the trace
        text = f"<{kind.__name__} object; repr failed: {type(err).__name__}>"
    if " at 0x" in text:  # default reprs: drop the address so traces are reproducible
        import re  # here: most children never need it, and it costs ~12 ms to import

        text = re.sub(r" at 0x[0-9a-fA-F]+>", ">", text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _container_repr(value: Any, kind: type, limit: int, depth: int) -> str:
    opening, closing = _BRACKETS[kind]
    if kind is list or kind is tuple:  # fast path: a head of numbers, bools and None, repr'd in C
        head = value[:limit // 3 + 1]  # each item takes 3 characters or more: enough to pass the limit
        if ATOMS.issuperset(map(type, head)):
            return repr(head)
    if depth > 8:
        return opening + "..." + closing
    parts, size = [], len(opening)
    items = value.items() if kind is dict else value
    for item in items:
        if kind is dict:
            key, val = item
            text = (repr(key) if type(key) in ATOMS else short_repr(key, limit, depth + 1)) + ": " + (
                repr(val) if type(val) in ATOMS else short_repr(val, limit, depth + 1))
        else:
            text = repr(item) if type(item) in ATOMS else short_repr(item, limit, depth + 1)
        parts.append(text)
        size += len(text) + 2
        if size > limit:  # the rest would be cut anyway
            break
    if kind is tuple and len(value) == 1:
        return f"({parts[0]},)"
    return opening + ", ".join(parts) + closing


def value_text(name: str, value: Any, cache: dict[str, tuple], limit: int) -> str | None:
    """The text of local `name` holding `value` (None: not state), through `cache`."""
    hit = cache.get(name)
    if hit is not None and hit[0] is value and (type(value) in STABLE or (
            len(hit) == 5 and (head := value[:hit[4]]) == hit[2] and hit[3] == list(map(type, head)))):
        return hit[1]
    kind = type(value)
    if isinstance(value, _SKIP):
        text = None
    elif kind in ATOMS:
        try:
            text = repr(value)
        except ValueError:  # an int too long to print
            text = short_repr(value, limit)
        if len(text) > limit:
            text = text[:limit - 3] + "..."
    else:
        text = short_repr(value, limit)
        if kind is list:  # remember the shown items (and their types: 1 == 1.0 == True) to compare
            shown = limit // 3 + 2  # more than the text can show: a longer list compares unequal
            head = value[:shown]
            if ATOMS.issuperset(types := list(map(type, head))):
                cache[name] = (value, text, head, types, shown)
                return text
    cache[name] = (value, text)
    return text


def snapshot(local_vars: dict[str, Any], cache: dict[str, tuple], limit: int) -> dict[str, str]:
    """The state of a frame from scratch: kept names -> texts."""
    state = {}
    for name, value in local_vars.items():
        if not hidden(name) and (text := value_text(name, value, cache, limit)) is not None:
            state[name] = text
    return state
