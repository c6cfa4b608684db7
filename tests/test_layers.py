"""The layers of shared/DESIGN.md, checked from every module's imports (read with `ast`, nothing
imported): a layer that reaches where it must not fails here, with the file and the import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FACES = ("codelm.cli", "codelm.commands", "codelm.serve", "codelm.mcp_server")

# package -> prefixes of modules it must never import
RULES = {
    "codelm.core": ("codelm.objectives", "codelm.train", "codelm.recipes", "codelm.tasks", *FACES,
                    "indexers", "tracer"),
    "codelm.objectives": ("codelm.recipes", "codelm.tasks", *FACES),
    "codelm.train": ("codelm.objectives", "codelm.recipes", "codelm.tasks", *FACES, "indexers", "tracer"),
    "codelm.recipes": FACES,
    "codelm.tasks": (*FACES, "codelm.recipes"),
    "indexers": (*FACES, "codelm.recipes", "codelm.tasks", "codelm.objectives", "codelm.train", "tracer"),
    "tracer": ("codelm", "indexers", "torch", "transformers", "numpy"),
}
ALLOWED = {"codelm.core": ("codelm.errors",)}  # the one leaf every layer may raise from


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in the file, at any depth (lazy imports count too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            # `from codelm import x` reaches codelm.x
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path = ROOT) -> list[str]:
    """Every import that breaks a rule, as "file:line imports module (layer must not reach X)"."""
    bad = []
    for package in ("codelm", "indexers", "tracer"):
        for path in sorted((root / package).rglob("*.py")):
            name = module_name(path, root)
            for layer, banned in RULES.items():
                if not _within(name, layer):
                    continue
                for line, imported in imports_of(path):
                    if any(_within(imported, ok) for ok in ALLOWED.get(layer, ())):
                        continue
                    hit = next((b for b in banned if _within(imported, b)), None)
                    if hit:
                        bad.append(f"{path.relative_to(root)}:{line} imports {imported} ({layer} must not reach {hit})")
    return bad


def test_no_layer_reaches_where_it_must_not():
    assert violations() == []


def test_the_check_sees_violations(tmp_path):
    """The rules bite: lazy and `from package import module` imports are seen too."""
    (tmp_path / "codelm" / "core").mkdir(parents=True)
    (tmp_path / "codelm" / "core" / "bad.py").write_text(
        "from codelm.errors import CodelmError\n\ndef f():\n    from codelm import serve\n")
    (tmp_path / "tracer").mkdir()
    (tmp_path / "tracer" / "bad.py").write_text("import torch\n")
    found = violations(tmp_path)
    assert found == ["codelm/core/bad.py:4 imports codelm.serve (codelm.core must not reach codelm.serve)",
                     "tracer/bad.py:1 imports torch (tracer must not reach torch)"]


@pytest.mark.parametrize("layer", sorted(RULES))
def test_every_layer_exists(layer):
    path = ROOT / layer.replace(".", "/")
    assert path.is_dir() or path.with_suffix(".py").is_file(), layer
