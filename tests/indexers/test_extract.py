"""Extraction of functions, methods and classes with tree-sitter, per language."""

from indexers.extract import extract_file, extract_text, language_for

PY = '''import os


@cache
def top(a, b=1):
    """Add things.

    More detail.
    """
    def inner(x):
        return x
    return a + b


class Config(Base):
    """A config."""

    def load(self, path: str,
             strict: bool = False) -> dict:
        return {}

    async def fetch(self):
        pass


def broken(:
    pass


def after():
    return 2
'''


def _summary(units):
    return [(u.name, u.kind, u.start_line, u.end_line) for u in units]


def test_python_units_names_kinds_lines():
    units = extract_text(PY, "pkg/mod.py", "python")
    assert _summary(units) == [
        ("top", "function", 4, 12), ("top.inner", "function", 10, 11),
        ("Config", "class", 15, 23), ("Config.load", "method", 18, 20),
        ("Config.fetch", "method", 22, 23), ("after", "function", 30, 31)]
    top, load = units[0], units[3]
    assert top.docstring == "Add things.\n\nMore detail."
    assert top.signature == "def top(a, b=1)"
    assert top.body.startswith("def inner(x):") and '"""' not in top.body
    assert top.code.startswith("@cache\ndef top(a, b=1):")
    assert load.signature == "def load(self, path: str, strict: bool = False) -> dict"
    assert load.code.startswith("def load(")  # dedented
    assert load.path == "pkg/mod.py" and load.language == "python"


def test_syntax_error_keeps_good_units():
    names = [u.name for u in extract_text("def ok():\n    return 1\n\nclass (:\n\ndef fine(x):\n    return x\n",
                                          "m.py", "python")]
    assert "ok" in names and "fine" in names


CASES = {
    "javascript": ("// Adds two numbers.\nfunction add(a, b) { return a + b; }\n"
                   "class Foo { bar(x) { return x; } }\nconst arrow = (x) => x * 2;\n",
                   [("add", "function"), ("Foo", "class"), ("Foo.bar", "method"), ("arrow", "function")],
                   {"add": "Adds two numbers."}),
    "typescript": ("/** Greets. */\nexport function greet(name: string): string { return name; }\n"
                   "class Circle { area(): number { return 1; } }\n",
                   [("greet", "function"), ("Circle", "class"), ("Circle.area", "method")],
                   {"greet": "Greets."}),
    "go": ("package main\n// Server serves.\ntype Server struct { x int }\n"
           "func (s *Server) Start(port int) error { return nil }\nfunc main() {}\n",
           [("Server", "class"), ("Server.Start", "method"), ("main", "function")],
           {"Server": "Server serves."}),
    "java": ("/** A thing. */\npublic class Thing {\n  /** Gets. */\n  int get() { return 1; }\n}\n",
             [("Thing", "class"), ("Thing.get", "method")], {"Thing": "A thing.", "Thing.get": "Gets."}),
    "rust": ("/// A point.\nstruct Point { x: i32 }\nimpl Point {\n    /// Makes one.\n"
             "    fn new() -> Self { Point { x: 0 } }\n}\nfn main() {}\n",
             [("Point", "class"), ("Point.new", "method"), ("main", "function")],
             {"Point": "A point.", "Point.new": "Makes one."}),
    "c": ("/* Adds. */\nstatic int add(int a, int b) { return a + b; }\nint *ptr(void) { return 0; }\n",
          [("add", "function"), ("ptr", "function")], {"add": "Adds."}),
    "cpp": ("namespace ns { class A { public: void f() {} }; }\nvoid A::g() {}\n",
            [("ns.A", "class"), ("ns.A.f", "method"), ("A.g", "method")], {}),
    "ruby": ("module M\n  class K\n    # Does it.\n    def run(x)\n      x\n    end\n  end\nend\n",
             [("M", "class"), ("M.K", "class"), ("M.K.run", "method")], {"M.K.run": "Does it."}),
    "php": ("<?php\nclass P { public function go() { return 1; } }\nfunction helper() {}\n",
            [("P", "class"), ("P.go", "method"), ("helper", "function")], {}),
    "c_sharp": ("namespace N { class C { public int M(int x) { return x; } } }\n",
                [("N.C", "class"), ("N.C.M", "method")], {}),
    "bash": ("# greet someone\ngreet() { echo hi; }\n", [("greet", "function")], {"greet": "greet someone"}),
}


def test_every_language():
    for language, (source, expected, docs) in CASES.items():
        units = extract_text(source, "x", language)
        assert [(u.name, u.kind) for u in units] == expected, language
        for name, doc in docs.items():
            assert next(u for u in units if u.name == name).docstring == doc, (language, name)


def test_line_spans_are_one_based_inclusive():
    unit = extract_text("\n\nfunction f(a) {\n  return a;\n}\n", "x.js", "javascript")[0]
    assert (unit.start_line, unit.end_line) == (3, 5)
    assert unit.body.startswith("{") and unit.signature == "function f(a)"


def test_language_for_and_extract_file(tmp_path):
    assert language_for("a/b.py") == "python" and language_for("x.tsx") == "tsx"
    assert language_for("data.json") is None and language_for("Makefile") is None
    path = tmp_path / "m.go"
    path.write_text("package m\nfunc F() {}\n")
    assert [u.name for u in extract_file(path, "m.go", "go")] == ["F"]
