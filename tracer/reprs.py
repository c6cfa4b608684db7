"""What a state shows of a value: its `repr`, shortened, or nothing.

Every local except dunder names (`__name__`, `__builtins__`, ...), compiler temporaries (`.0`),
and modules, functions, methods and classes (definitions and imports are code, not data;
CodeExecutor keeps variables only). Values are `repr`s, cut to `limit` characters with `...`;
long lists, dicts, sets and strings are cut before `repr` runs, and default reprs lose their
address (`<socket.socket object>`) so that traces are reproducible.

An instance of a class defined in the traced program (`__module__ == "__main__"`) that keeps
`object`'s repr shows its attributes one level deep, in the form of a dataclass repr:
`Counter(n=3)`, `Node(value=1, next=Node(...))` (an attribute holding such an instance shows
as `Name(...)`), from its `__dict__` and its slots, in definition order. A class with its own
`__repr__` (dataclasses included) shows that. Instances of other modules' classes keep the
default form: looking inside them costs every step and they are the libraries' business.

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
_OBJECT_REPR = object.__repr__
_BRACKETS = {list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"), frozenset: ("frozenset({", "})"),
             dict: ("{", "}")}


def hidden(name: str) -> bool:
    """Dunder names and compiler temporaries are never state."""
    return (name[:2] == "__" and name[-2:] == "__") or name[:1] == "."


def short_repr(value: Any, limit: int, depth: int = 0, expand: bool = True) -> str:
    """`repr(value)` cut to `limit` characters (`...` at the end), never building a huge repr:
    strings are cut first, lists, tuples, sets and dicts are written item by item until the
    limit is passed; the program's own objects show their attributes (when `expand`)."""
    kind = type(value)
    try:
        if kind in _BRACKETS and value:
            text = _container_repr(value, kind, limit, depth, expand)
        elif kind.__repr__ is _OBJECT_REPR and kind.__module__ == "__main__":
            text = _object_repr(value, kind, limit, depth) if expand else kind.__qualname__ + "(...)"
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


def _object_repr(value: Any, kind: type, limit: int, depth: int) -> str:
    """`Name(attr=value, ...)` from the instance's `__dict__` and slots, attributes not expanded."""
    parts, size = [], len(kind.__qualname__) + 2
    attributes = _attributes(value, kind)
    for count, (name, attr) in enumerate(attributes, 1):
        text = name + "=" + (repr(attr) if type(attr) in ATOMS else short_repr(attr, limit, depth + 1, False))
        parts.append(text)
        size += len(text) + 2
        if size > limit:  # the rest would be cut anyway: an ellipsis says so, whatever the lengths
            if count < len(attributes):
                parts.append("...")
            break
    return kind.__qualname__ + "(" + ", ".join(parts) + ")"


def _attributes(value: Any, kind: type) -> list[tuple[str, Any]]:
    """An instance's attributes without running its code: `__dict__` items, then set slots."""
    out = []
    attrs = object.__getattribute__(value, "__dict__") if kind.__dictoffset__ else {}
    out.extend((name, attr) for name, attr in attrs.items() if type(name) is str and not hidden(name))
    for klass in reversed(kind.__mro__[:-1]):
        for name in klass.__dict__.get("__slots__", ()):
            slot = klass.__dict__.get(name)
            if isinstance(slot, types.MemberDescriptorType) and not hidden(name):
                try:
                    out.append((name, slot.__get__(value, kind)))
                except AttributeError:  # an unset slot
                    pass
    return out


def _container_repr(value: Any, kind: type, limit: int, depth: int, expand: bool = True) -> str:
    opening, closing = _BRACKETS[kind]
    if kind is list or kind is tuple:  # fast path: a head of numbers, bools and None, repr'd in C
        head = value[:limit // 3 + 1]  # each item takes 3 characters or more: enough to pass the limit
        if ATOMS.issuperset(map(type, head)):
            return repr(head)
    if depth > 8:
        return opening + "..." + closing
    parts, size = [], len(opening)
    items = value.items() if kind is dict else value
    for count, item in enumerate(items, 1):
        if kind is dict:
            key, val = item
            text = (repr(key) if type(key) in ATOMS else short_repr(key, limit, depth + 1, expand)) + ": " + (
                repr(val) if type(val) in ATOMS else short_repr(val, limit, depth + 1, expand))
        else:
            text = repr(item) if type(item) in ATOMS else short_repr(item, limit, depth + 1, expand)
        parts.append(text)
        size += len(text) + 2
        if size > limit:  # the rest would be cut anyway: an ellipsis says so, whatever the lengths
            if count < len(value):
                parts.append("...")
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
