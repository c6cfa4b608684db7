"""`codelm mcp`, driven by the MCP SDK's own stdio client."""

from __future__ import annotations

import json
import os
import sys

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from indexers.index import build_index
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    (root / "mathx.py").write_text("def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
                                   "        a, b = b, a + b\n    return a\n")
    (root / "config.py").write_text('def load_config(path):\n    """Read the config file."""\n'
                                    '    return open(path).read()\n')
    build_index(root, progress=False)
    return root


async def _session_calls(index_dir, calls, errlog_path=os.devnull):
    """Start `codelm mcp`, run `calls(session)` against it, return what it returns."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "codelm", "mcp", "--index", str(index_dir)],
                                   env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=str(ROOT))
    with open(errlog_path, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await calls(session)


def _json(result) -> dict:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


def test_tools_over_stdio(repo, tiny_model_dir, tmp_path):
    async def calls(session):
        tools = {t.name for t in (await session.list_tools()).tools}
        found = _json(await session.call_tool("search_code", {"query": "fibonacci numbers", "k": 1}))
        checked = _json(await session.call_tool("search_code", {"query": "fibonacci", "k": 1,
                                                                "checks": ["f(10) == 55"]}))
        only_tests = _json(await session.call_tool("search_code", {"query": "fibonacci", "tests": "only"}))
        unit = _json(await session.call_tool("show_unit", {"unit_id": found["results"][0]["id"]}))
        status = _json(await session.call_tool("index_status", {}))
        (repo / "strings.py").write_text("def reverse_words(text):\n    return ' '.join(text.split()[::-1])\n")
        report = _json(await session.call_tool("reindex", {}))
        after = _json(await session.call_tool("search_code", {"query": "reverse the words", "k": 1}))
        trace = _json(await session.call_tool("trace_program", {"source": "x = 2\nprint(x * 21)\n"}))
        doc = _json(await session.call_tool("write_docstring", {"code": "def add(a, b):\n    return a + b\n",
                                                                "model": str(tiny_model_dir)}))
        errors = [await session.call_tool("search_code", {"query": ""}),
                  await session.call_tool("search_code", {"query": "sort", "k": 0}),
                  await session.call_tool("search_code", {"query": "sort", "k": 10**9}),
                  await session.call_tool("search_code", {"query": "x" * 1_000_000}),
                  await session.call_tool("show_unit", {"unit_id": 999999}),
                  await session.call_tool("show_unit", {"unit_id": "abc"}),
                  await session.call_tool("reindex", {"path": "/no/such/dir"}),
                  await session.call_tool("write_docstring", {"code": "def f(): pass",
                                                              "model": str(repo / "no-model")}),
                  await session.call_tool("no_such_tool", {}),
                  await session.call_tool("search_code", {"query": "sort", "tests": "never"})]
        still = _json(await session.call_tool("index_status", {}))
        return tools, found, checked, unit, status, report, after, trace, doc, errors, still, only_tests

    tools, found, checked, unit, status, report, after, trace, doc, errors, still, only_tests = anyio.run(
        _session_calls, repo / ".codelm", calls, tmp_path / "stderr.log")
    logged = (tmp_path / "stderr.log").read_text()
    assert "INFO" not in logged and "faiss" not in logged  # no loader chatter on the agent's stderr
    assert only_tests["results"] == []  # the repository has no tests
    assert tools == {"search_code", "show_unit", "index_status", "reindex", "write_docstring",
                     "trace_program"}
    assert found["results"][0]["name"] == "fibonacci"
    assert checked["results"][0]["verified"] is True
    assert unit["path"] == "mathx.py" and "a, b = b, a + b" in unit["code"]
    assert unit["root"] == found["results"][0]["root"]
    assert (status["units"], status["files"], status["model"]) == (2, 2, "minilm-code")
    assert report["files"] == 3 and report["embedded"] == 1
    assert after["results"][0]["name"] == "reverse_words"
    assert trace["status"] == "ok" and trace["stdout"] == "42\n"
    assert isinstance(doc["docstring"], str) and "\n" not in doc["docstring"]
    assert all(e.is_error for e in errors)
    assert "not a docstring model" in errors[7].content[0].text
    assert "no unit with id 999999" in errors[4].content[0].text
    assert "not a directory" in errors[6].content[0].text
    assert still["units"] == 3  # the server survived every bad call


def test_missing_index_exits_with_a_clear_error(tmp_path, codelm_cli):
    r = codelm_cli("mcp", "--index", str(tmp_path / "none"))
    assert r.returncode == 1 and "no usable index" in r.stderr


def test_help_lists_the_tools_the_server_offers(codelm_cli):
    from codelm.mcp_server import create_server

    offered = [t.name for t in anyio.run(create_server(".").list_tools)]
    shown = codelm_cli("mcp", "--help").stdout.split("tools:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split(":")[0].strip() for line in shown] == offered and len(offered) == 6
