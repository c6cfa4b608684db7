"""Extraction: names, kinds, line spans, signatures, docstrings and bodies per language."""

from __future__ import annotations

import textwrap

import pytest

from codelm.errors import CodelmError
from indexers.extract import LANGUAGES, extract_file, extract_text, language_for

PY = '''\
import os


@cache
def top(a, b=1) -> int:
    """Add things.

    More detail.
    """
    def inner(x):
        return x
    return a + b


class Foo(Base):
    """A foo."""
    x = 1

    def method(self):
        # a comment
        return 1

    async def fetch(self, url):
        return url

    class Inner:
        def deep(self): pass
'''


def spans(units) -> list[tuple[str, str, int, int]]:
    return [(u.name, u.kind, u.start_line, u.end_line) for u in units]


def test_python_names_kinds_lines():
    units = extract_text(PY, "pkg/mod.py", "python")
    assert spans(units) == [
        ("top", "function", 4, 12), ("top.inner", "function", 10, 11),
        ("Foo", "class", 15, 27), ("Foo.method", "method", 19, 21),
        ("Foo.fetch", "method", 23, 24), ("Foo.Inner", "class", 26, 27),
        ("Foo.Inner.deep", "method", 27, 27)]
    assert {u.path for u in units} == {"pkg/mod.py"} and {u.language for u in units} == {"python"}


def test_python_parts():
    units = {u.name: u for u in extract_text(PY, "mod.py", "python")}
    top = units["top"]
    assert top.signature == "def top(a, b=1) -> int:"
    assert top.docstring == "Add things.\n\nMore detail."
    assert top.body == "    def inner(x):\n        return x\n    return a + b"
    assert top.code.startswith("@cache\ndef top(a, b=1) -> int:\n") and top.code.endswith("a + b")
    method = units["Foo.method"]
    assert method.signature == "def method(self):" and method.docstring == ""
    assert method.code == "def method(self):\n    # a comment\n    return 1"  # dedented
    assert units["Foo"].docstring == "A foo." and units["Foo"].body.startswith("    x = 1\n")
    assert units["Foo.fetch"].signature == "async def fetch(self, url):"
    assert units["Foo.Inner.deep"].body == "pass"


def test_python_docstring_only_body_and_raw_strings():
    text = 'def f():\n    r"""Raw \\d docstring."""\n\ndef g():\n    x = "not a docstring"\n'
    f, g = extract_text(text, "m.py", "python")
    assert (f.docstring, f.body) == ("Raw \\d docstring.", "")
    assert (g.docstring, g.body) == ("", '    x = "not a docstring"')


def test_syntax_error_still_yields_good_functions():
    text = "def good():\n    return 1\n\ndef bad(:\n    pass\n\nclass Ok:\n    def m(self):\n        return 2\n"
    names = [u.name for u in extract_text(text, "broken.py", "python")]
    assert "good" in names and "Ok" in names and "Ok.m" in names


def test_garbage_and_empty_input():
    assert extract_text("", "e.py", "python") == []
    assert extract_text("}}}{{{ ((( not code", "x.js", "javascript") == []


def test_extract_file_reads_the_file(tmp_path):
    path = tmp_path / "a.py"
    path.write_text("def héllo():\n    return 'ü'\n", encoding="utf-8")
    [unit] = extract_file(path, "a.py", "python")
    assert unit.name == "héllo" and unit.code == "def héllo():\n    return 'ü'"
    path.write_bytes(b"\xef\xbb\xbfdef f():\n    pass\n")  # with a byte order mark
    assert spans(extract_file(path, "a.py", "python")) == [("f", "function", 1, 2)]


SOURCES = {
    "a.js": ('''\
        // Adds two numbers.
        // Really.
        function add(a, b) {
          return a + b;
        }

        /**
         * A shape.
         */
        export class Shape extends Base {
          constructor(x) { this.x = x; }
          area() {
            const helper = (y) => y * 2;
            return helper(this.x);
          }
        }
        const arrow = async (q) => { return q; };
        ''', [("add", "function", 3, 5), ("Shape", "class", 10, 16),
              ("Shape.constructor", "method", 11, 11), ("Shape.area", "method", 12, 15),
              ("Shape.area.helper", "function", 13, 13), ("arrow", "function", 17, 17)]),
    "b.ts": ('''\
        interface Point { x: number; y: number }
        abstract class A {
          abstract f(): void;
          g(): number { return 1; }
        }
        export function typed<T>(x: T): T { return x; }
        ''', [("Point", "class", 1, 1), ("A", "class", 2, 5), ("A.g", "method", 4, 4),
              ("typed", "function", 6, 6)]),
    "c.tsx": ("export function App(props: Props) { return <div>{props.x}</div>; }\n",
              [("App", "function", 1, 1)]),
    "a.go": ('''\
        package main

        // Point is a point.
        type Point struct { X int }

        // Dist computes.
        func (p *Point) Dist(q Point) int {
        	return p.X - q.X
        }

        func main() {}
        ''', [("Point", "class", 4, 4), ("Point.Dist", "method", 7, 9), ("main", "function", 11, 11)]),
    "A.java": ('''\
        /** Javadoc for A. */
        public class A {
            public A(int x) { this.x = x; }
            @Override
            public int get() { return x; }
            interface I { void f(); default int g() { return 1; } }
        }
        ''', [("A", "class", 2, 7), ("A.A", "method", 3, 3), ("A.get", "method", 4, 5),
              ("A.I", "class", 6, 6), ("A.I.g", "method", 6, 6)]),
    "a.rs": ('''\
        /// A point.
        #[derive(Debug)]
        pub struct Point { x: i32 }

        impl<T> Point {
            /// Make one.
            pub fn new(x: i32) -> Self { Point { x } }
        }
        trait Shape { fn area(&self) -> f64; fn name(&self) -> String { "s".into() } }
        mod inner { pub fn helper() {} }
        fn main() { fn nested() {} }
        ''', [("Point", "class", 3, 3), ("Point.new", "method", 7, 7), ("Shape", "class", 9, 9),
              ("Shape.name", "method", 9, 9), ("inner.helper", "function", 10, 10),
              ("main", "function", 11, 11), ("main.nested", "function", 11, 11)]),
    "a.c": ('''\
        /* Adds. */
        static int add(int a, int b) { return a + b; }
        int proto(int);
        struct point { int x; };
        char *name(void) { return "x"; }
        ''', [("add", "function", 2, 2), ("point", "class", 4, 4), ("name", "function", 5, 5)]),
    "a.cpp": ('''\
        namespace geo {
        // A shape.
        class Shape {
         public:
          virtual double area() const { return 0; }
          Shape();
        };
        }
        geo::Shape::Shape() {}
        ''', [("geo.Shape", "class", 3, 7), ("geo.Shape.area", "method", 5, 5),
              ("geo.Shape.Shape", "method", 9, 9)]),
    "a.rb": ('''\
        # Utilities.
        module Util
          # Say hi.
          def self.hi(name)
            "hi"
          end

          class Greeter < Base
            def greet
              puts "x"
            end
          end
        end
        ''', [("Util", "class", 2, 13), ("Util.hi", "method", 4, 6),
              ("Util.Greeter", "class", 8, 12), ("Util.Greeter.greet", "method", 9, 11)]),
    "a.php": ('''\
        <?php
        namespace App\\Models;
        /** A user. */
        class User {
            public function name(): string { return "x"; }
        }
        function helper($a) { return $a; }
        ''', [("User", "class", 4, 6), ("User.name", "method", 5, 5), ("helper", "function", 7, 7)]),
    "a.cs": ('''\
        namespace App {
            public class Thing {
                /// Does it.
                public int Do(int x) { return x; }
                public int Arrow(int x) => x;
            }
        }
        ''', [("App.Thing", "class", 2, 6), ("App.Thing.Do", "method", 4, 4),
              ("App.Thing.Arrow", "method", 5, 5)]),
    "a.sh": ('''\
        #!/bin/bash
        # Greets.
        greet() {
          echo hi
        }
        function other { echo x; }
        ''', [("greet", "function", 3, 5), ("other", "function", 6, 6)]),
}


@pytest.mark.parametrize("rel", sorted(SOURCES))
def test_languages_names_kinds_lines(rel):
    text, expected = SOURCES[rel]
    units = extract_text(textwrap.dedent(text), rel, language_for(rel))
    assert spans(units) == expected


def test_comment_docstrings_and_signatures():
    def unit(rel: str, name: str):
        units = extract_text(textwrap.dedent(SOURCES[rel][0]), rel, language_for(rel))
        return next(u for u in units if u.name == name)

    assert unit("a.js", "add").docstring == "Adds two numbers.\nReally."
    assert unit("a.js", "Shape").docstring == "A shape."
    assert unit("a.js", "add").signature == "function add(a, b)"
    assert unit("a.js", "add").body == "{\n  return a + b;\n}"
    assert unit("a.go", "Point.Dist").docstring == "Dist computes."
    assert unit("a.go", "Point.Dist").signature == "func (p *Point) Dist(q Point) int"
    assert unit("a.go", "Point").signature == "type Point"
    assert unit("A.java", "A").docstring == "Javadoc for A."
    assert unit("a.rs", "Point").docstring == "A point."  # across the #[derive] attribute
    assert unit("a.rs", "Point.new").signature == "pub fn new(x: i32) -> Self"
    assert unit("a.c", "add").docstring == "Adds."
    assert unit("a.cpp", "geo.Shape").docstring == "A shape."
    assert unit("a.rb", "Util.hi").docstring == "Say hi."
    assert unit("a.php", "User").docstring == "A user."
    assert unit("a.cs", "App.Thing.Do").docstring == "Does it."
    assert unit("a.sh", "greet").docstring == "Greets."
    assert unit("a.sh", "greet").code == "greet() {\n  echo hi\n}"


@pytest.mark.parametrize("rel", ["f.js", "f.ts"])
def test_class_fields_holding_functions_are_methods(rel):
    text = "class C {\n  handle = (e) => { return e; };\n  count = 1;\n  m() {}\n}\n"
    units = extract_text(text, rel, language_for(rel))
    assert spans(units) == [("C", "class", 1, 5), ("C.handle", "method", 2, 2), ("C.m", "method", 4, 4)]
    assert units[1].signature == "handle = (e) =>" and units[1].body == "{ return e; }"


def test_language_table():
    assert len(LANGUAGES) >= 9
    with pytest.raises(CodelmError, match="unsupported language 'cobol'"):
        extract_text("x", "a.cob", "cobol")
    assert language_for("x/y.PY") == "python" and language_for("a.tsx") == "typescript"
    assert language_for("Makefile") is None and language_for("data.json") is None
