"""SingleLine programs: a few assignments of literals, then one line computing something.

As in CodeExecutor's SingleLine set, each program exercises one operation of a built-in type
(int, str, list, dict) on freshly assigned values, e.g.

    xs = [4, 1, 7]
    n = 3
    xs.insert(1, n)

`generate(count, seed)` is deterministic. Templates name their operands by type: `{int}`,
`{int2}` (a second int), `{small}` (1..4), `{str}`, `{str2}`, `{char}` (one character of
`{str}`), `{list}`, `{list2}`, `{slist}` (a list of strings), `{dict}`, `{dict2}`,
`{key}` (a key of `{dict}`), `{idx}` (a valid index of `{list}`); each becomes a variable
assigned before the last line, or a literal written in place (`{char}`, `{key}`, `{idx}`,
`{small}`). `{out}` is the name of the result.
"""

from __future__ import annotations

import random
import string

TEMPLATES = (
    # int
    "{out} = {int} + {int2}", "{out} = {int} - {int2}", "{out} = {int} * {int2}",
    "{out} = {int} // {small}", "{out} = {int} % {small}", "{out} = {int} ** {small}",
    "{out} = max({int}, {int2})", "{out} = abs({int} - {int2})", "{out} = divmod({int}, {small})",
    "{out} = {int} if {int} > {int2} else {int2}", "{int} += {int2}", "{int} *= {small}",
    "{out} = {int} > {int2} and {int} % 2 == 0", "{out} = str({int}) + {str}",
    # str
    "{out} = {str}.upper()", "{out} = {str}[::-1]", "{out} = {str} + {str2}",
    "{out} = {str} * {small}", "{out} = len({str})", "{out} = {str}.split({char})",
    "{out} = sorted({str})", "{out} = {str}.count({char})", "{out} = {str}.find({char})",
    "{out} = {str}.replace({char}, {str2})", "{out} = {str}[1:{small}]",
    "{out} = '-'.join([{str}, {str2}])", "{out} = {char} in {str}", "{out} = {str}.capitalize()",
    "{out} = [c for c in {str} if c != {char}]",
    # list
    "{list}.append({int})", "{list}.insert({idx}, {int})", "{list}.extend({list2})",
    "{out} = {list}.pop()", "{out} = {list}[::-1]", "{out} = sorted({list})", "{out} = sum({list})",
    "{out} = {list} + {list2}", "{out} = [x * {small} for x in {list}]", "{out} = {list}[{idx}]",
    "{out} = len({list})", "{out} = list(zip({list}, {list2}))", "{out} = {list}.count({int})",
    "{out} = [x for x in {list} if x > {int}]", "{list}.reverse()", "{list}.sort()",
    "{out} = {list}[{idx}:]", "{out} = min({list}) + max({list})", "{out} = ' '.join({slist})",
    "{out} = sorted({slist}, key=len)", "{out} = set({list})", "{out} = tuple({list})",
    "{out} = list(enumerate({slist}))",
    # dict
    "{dict}[{str}] = {int}", "{out} = {dict}.get({str}, {int})", "{out} = sorted({dict})",
    "{out} = list({dict}.items())", "{out} = {dict}.pop({key})", "{out} = {dict}[{key}]",
    "{out} = {{v: k for k, v in {dict}.items()}}", "{dict}.update({dict2})", "{out} = len({dict})",
    "{out} = sum({dict}.values())", "{out} = {key} in {dict}", "{out} = max({dict}, key={dict}.get)",
    "{out} = dict(zip({slist}, {list}))",
)

NAMES = {"int": "abnxyk", "int2": "cmjq", "str": "stw", "str2": "uvp", "list": "lxs", "list2": "ly",
         "slist": "lw", "dict": "dmc", "dict2": "de", "out": "rzoef"}
WORDS = ("a", "ab", "abc", "hello", "world", "py", "code", "data", "xyz", "tree", "node", "key")


def _word(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(WORDS)
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 6)))


def _value(kind: str, rng: random.Random) -> object:
    if kind.startswith("int"):
        return rng.randint(-20, 99)
    if kind.startswith("str"):
        return _word(rng)
    if kind == "slist":
        return [_word(rng) for _ in range(rng.randint(1, 4))]
    if kind.startswith("list"):
        return [rng.randint(-9, 30) for _ in range(rng.randint(1, 5))]
    return {_word(rng): rng.randint(0, 50) for _ in range(rng.randint(1, 4))}


def _variable_name(kind: str, taken: set[str], rng: random.Random) -> str:
    pool = [c for c in NAMES[kind] if c not in taken]
    name = rng.choice(pool) if pool else f"{kind}_{len(taken)}"
    if kind in ("list", "list2", "slist") and rng.random() < 0.5:
        name = name + "s" if name + "s" not in taken else name
    taken.add(name)
    return name


def make_program(template: str, rng: random.Random) -> str:
    """One program from `template`, its literals drawn from `rng`."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    taken: set[str] = set()
    values: dict[str, object] = {}
    names: dict[str, str] = {}
    lines: list[str] = []
    kinds = ("int", "int2", "str", "str2", "list", "list2", "slist", "dict", "dict2", "out")
    for kind in (k for k in kinds if k in fields):
        names[kind] = _variable_name(kind, taken, rng)
        if kind != "out":
            values[kind] = _value(kind, rng)
            lines.append(f"{names[kind]} = {values[kind]!r}")
    rng.shuffle(lines)
    if "str" in values and not values["str"]:
        values["str"] = "a"
    literals = {
        "small": repr(rng.randint(1, 4)),
        "char": repr(rng.choice(str(values.get("str", "a")))),
        "key": repr(rng.choice(list(values["dict"]))) if "dict" in values else "None",
        "idx": repr(rng.randrange(len(values["list"]))) if "list" in values else "0",
    }
    lines.append(template.format(**names, **literals))
    return "\n".join(lines) + "\n"


def generate(count: int, seed: int = 0) -> list[str]:
    """`count` SingleLine programs, deterministic from `seed` (templates taken in turn)."""
    rng = random.Random(seed)
    order = list(TEMPLATES)
    rng.shuffle(order)
    return [make_program(order[i % len(order)], rng) for i in range(count)]
