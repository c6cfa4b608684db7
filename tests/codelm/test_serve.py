"""The HTTP search server: JSON API through Starlette's TestClient, one real uvicorn on loopback."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from codelm.errors import UsageError
from codelm.serve import MAX_K, MAX_QUERY_BYTES, create_app
from indexers.index import build_index
from tests.conftest import ROOT, write_repo

@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    root = write_repo(tmp_path_factory.mktemp("repo"))
    build_index(root, progress=False)
    return root / ".codelm"


@pytest.fixture(scope="module")
def client(index_dir):
    with TestClient(create_app(index_dir)) as c:
        yield c


def test_search_returns_contract_fields(client):
    r = client.get("/search", params={"q": "fibonacci numbers", "k": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == "fibonacci numbers"
    top = body["results"][0]
    assert (top["path"], top["name"], top["kind"], top["language"]) == ("mathx.py", "fibonacci", "function", "python")
    assert (top["start_line"], top["end_line"]) == (1, 5)
    assert set(top) == {"id", "path", "name", "kind", "language", "start_line", "end_line", "root", "score"}
    assert len(body["results"]) == 3


def test_filters(client):
    r = client.get("/search", params={"q": "start a server", "language": "javascript"}).json()
    assert [x["name"] for x in r["results"]] == ["startServer"]
    r = client.get("/search", params={"q": "config", "path": "mathx*"}).json()
    assert r["results"] and {x["path"] for x in r["results"]} == {"mathx.py"}
    assert client.get("/search", params={"q": "config", "tests": "only"}).json()["results"] == []  # none here
    equal = client.post("/search", json={"q": "config", "tests": "equal"}).json()["results"]
    assert [x["id"] for x in equal] == [x["id"] for x in client.get("/search", params={"q": "config"}).json()["results"]]


def test_unit_with_highlighted_code(client):
    hit = client.get("/search", params={"q": "transpose a matrix", "k": 1}).json()["results"][0]
    unit = client.get(f"/units/{hit['id']}").json()
    assert unit["name"] == "Matrix.transpose" and "zip(*self.rows)" in unit["code"]
    assert unit["root"] == hit["root"] and unit["id"] == hit["id"]
    assert "highlighted" not in unit
    html = client.get(f"/units/{hit['id']}", params={"html": 1}).json()["highlighted"]
    assert 'class="hl"' in html and "transpose" in html


def test_health_and_stats(client):
    assert client.get("/health").json() == {"status": "ok"}
    stats = client.get("/stats").json()
    assert (stats["units"], stats["files"], stats["model"]) == (5, 3, "minilm-code")
    assert stats["schema"] == 2 and stats["generation"] >= 1
    assert stats["languages"] == ["javascript", "python"]


def test_page_and_its_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="q"' in page.text and "/static/search.js" in page.text
    assert client.get("/static/search.js").status_code == 200
    assert client.get("/static/search.css").status_code == 200
    css = client.get("/highlight.css")
    assert css.headers["content-type"].startswith("text/css") and ".hl" in css.text


@pytest.mark.parametrize("params, status, words", [
    ({}, 400, "empty query"),
    ({"q": "   "}, 400, "empty query"),
    ({"q": "x" * (MAX_QUERY_BYTES + 1)}, 413, "too long"),
    ({"q": "sort", "k": 0}, 400, "k must be"),
    ({"q": "sort", "k": 10**9}, 400, "k must be"),
    ({"q": "sort", "k": "ten"}, 400, "k must be"),
    ({"q": "sort", "tests": "never"}, 400, "tests must be one of rank, equal, only"),
])
def test_bad_search_input_is_a_clear_4xx(client, params, status, words):
    r = client.get("/search", params=params)
    assert r.status_code == status and words in r.json()["error"]


def test_post_search_takes_json_and_refuses_a_megabyte(client):
    r = client.post("/search", json={"q": "fibonacci", "k": 1})
    assert r.status_code == 200 and r.json()["results"][0]["name"] == "fibonacci"
    r = client.post("/search", json={"q": "a" * 1_000_000})
    assert r.status_code == 413 and "too large" in r.json()["error"]
    r = client.post("/search", content=b"not json")
    assert r.status_code == 400 and "JSON object" in r.json()["error"]


def test_execution_verified_search(client):
    r = client.get("/search", params=[("q", "fibonacci"), ("k", 2), ("check", "f(10) == 55"), ("check", "f(1) == 1")])
    assert r.status_code == 200
    top = r.json()["results"][0]
    assert top["name"] == "fibonacci" and top["verified"] is True
    assert (top["checks_passed"], top["checks_total"]) == (2, 2)
    post = client.post("/search", json={"q": "fibonacci", "k": 1, "check": ["f(10) == 55"]}).json()
    assert post["results"][0]["verified"] is True
    bad = client.get("/search", params={"q": "fibonacci", "check": "f(("})
    assert bad.status_code == 400 and bad.json()["error"]


def test_k_at_the_maximum_is_fine(client):
    assert client.get("/search", params={"q": "sort", "k": MAX_K}).status_code == 200


@pytest.mark.parametrize("unit_id", ["999999", "abc", "-1", "9" * 40])
def test_unknown_unit_is_404(client, unit_id):
    r = client.get(f"/units/{unit_id}")
    assert r.status_code == 404 and "no unit" in r.json()["error"]


def test_missing_index_is_a_clear_error(tmp_path):
    from codelm.errors import CodelmError

    with pytest.raises(CodelmError, match="no usable index"):
        create_app(tmp_path / "nothing")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _start(index_dir, log, *options: str) -> tuple[subprocess.Popen, str]:
    """`codelm serve` as a user runs it, on a free loopback port, once it answers /health."""
    import os

    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "codelm", "serve", "--index", str(index_dir),
                             "--port", str(port), *options], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if _get(url + "/health")[0] == 200:
                return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"codelm serve did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server(index_dir, tmp_path_factory):
    """A real server; yields its base URL."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"  # a file: a full pipe would block the server
    proc, url = _start(index_dir, log)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_real_server_answers_concurrent_clients(server):
    queries = ["fibonacci", "read the config file", "transpose", "start a server"] * 4
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda q: _get(f"{server}/search?q={urllib.request.quote(q)}&k=2"), queries))
    assert all(status == 200 for status, _ in answers)
    for q, (_, body) in zip(queries, answers):
        assert body["query"] == q and len(body["results"]) == 2
    assert answers[0][1]["results"][0]["name"] == "fibonacci"
    alone = {q: _get(f"{server}/search?q={urllib.request.quote(q)}&k=2")[1] for q in set(queries)}
    for q, (_, body) in zip(queries, answers):  # answered together, each got its own results
        assert [r["id"] for r in body["results"]] == [r["id"] for r in alone[q]["results"]]
    assert _get(f"{server}/search?q=&k=2")[0] == 400


def test_two_server_processes_answer_as_one_does(server, index_dir, tmp_path):
    proc, url = _start(index_dir, tmp_path / "serve.log", "--processes", "2")
    try:
        queries = ["fibonacci", "read the config file", "transpose", "start a server"] * 3
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda q: _get(f"{url}/search?q={urllib.request.quote(q)}&k=3"), queries))
        for q, (status, body) in zip(queries, answers):
            assert status == 200 and body == _get(f"{server}/search?q={urllib.request.quote(q)}&k=3")[1]
        assert _get(f"{url}/stats")[1]["units"] == _get(f"{server}/stats")[1]["units"]
        conn = http.client.HTTPConnection(*url.removeprefix("http://").split(":"), timeout=30)  # keep-alive
        for q in queries[:4]:
            conn.request("GET", f"/search?q={urllib.request.quote(q)}&k=3")
            assert json.loads(conn.getresponse().read()) == _get(f"{server}/search?q={urllib.request.quote(q)}&k=3")[1]
        conn.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_connections_send_without_waiting_for_acks():
    from codelm.serve import no_delay

    class Transport:
        def __init__(self, sock):
            self.sock = sock

        def get_extra_info(self, name):
            return self.sock if name == "socket" else None

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0) as tcp:  # no protocol number, as uvicorn's
        assert tcp.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        no_delay(Transport(tcp))
        assert tcp.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        no_delay(Transport(left))  # not TCP: left alone
    no_delay(Transport(None))


def test_real_server_refuses_a_megabyte_query_in_the_url(server):
    try:
        status = _get(f"{server}/search?q={'a' * 1_000_000}")[0]
    except (OSError, ValueError):
        status = None  # uvicorn may close the connection on an oversized request line
    assert status is None or 400 <= status < 500
    assert _get(f"{server}/health")[0] == 200  # and keeps serving


ARTIFACTS = ROOT / "test-artifacts"  # the page's screenshot is kept here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (apt-get install chromium)")
def test_web_page_in_headless_chromium(server):
    """Type a query, see the function, move with the keyboard, see highlighted code; screenshot kept."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(server + "/")
            page.fill("#q", "fibonacci numbers")
            page.keyboard.press("Enter")
            first = page.locator("#results li").first
            first.wait_for()
            assert first.locator(".name").inner_text() == "fibonacci"
            assert "mathx.py:1-5" in first.locator(".where").inner_text()
            page.locator("#code .hl").wait_for()
            assert "a, b = b, a + b" in page.locator("#code .hl").inner_text()
            second = page.locator("#results li").nth(1)
            page.keyboard.press("ArrowDown")  # arrows move through results even from the search box
            page.wait_for_function("document.querySelectorAll('#results li')[1].className === 'selected'")
            assert page.locator("#results li.selected").count() == 1
            page.wait_for_function("name => document.querySelector('#code .title').textContent.endsWith(name)",
                                   arg=second.locator(".name").inner_text())
            page.select_option("#language", "javascript")
            page.fill("#q", "start a server")
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('#results li .name')?.textContent === 'startServer'")
            assert page.locator("#results li").count() == 1
            shot = ARTIFACTS / "search-page.png"
            shot.parent.mkdir(exist_ok=True)
            assert "q=start+a+server" in page.url and "language=javascript" in page.url  # searches are linkable
            page.screenshot(path=str(shot), full_page=True)
            _linked_searches_and_history(page, server)
        finally:
            browser.close()
    assert shot.stat().st_size > 1000


def _linked_searches_and_history(page, server: str) -> None:
    """A search in the address runs on load; each search updates the address; back returns."""
    first_name = "document.querySelector('#results li .name')?.textContent"
    page.goto(server + "/?q=fibonacci+numbers&k=2")
    page.wait_for_function(f"{first_name} === 'fibonacci'")
    assert page.input_value("#q") == "fibonacci numbers" and page.locator("#results li").count() == 2
    page.fill("#q", "transpose a matrix")
    page.keyboard.press("Enter")
    page.wait_for_function(f"{first_name} === 'Matrix.transpose'")
    assert page.url == server + "/?q=transpose+a+matrix&k=2"
    page.go_back()
    page.wait_for_function(f"{first_name} === 'fibonacci'")
    assert page.input_value("#q") == "fibonacci numbers" and page.url == server + "/?q=fibonacci+numbers&k=2"
    page.go_forward()
    page.wait_for_function(f"{first_name} === 'Matrix.transpose'")
    assert page.input_value("#q") == "transpose a matrix"
    page.goto(server + "/?q=start+a+server&language=javascript&tests=equal")
    page.wait_for_function(f"{first_name} === 'startServer'")
    assert page.locator("#results li").count() == 1
    assert (page.input_value("#language"), page.input_value("#tests")) == ("javascript", "equal")


def test_two_search_workers_answer_alike_and_share_the_model_and_index(index_dir):
    import threading

    from codelm.serve import SearchPool

    pool = SearchPool(index_dir, workers=2)
    queries = ["fibonacci", "read the config file", "transpose", "start a server"] * 3
    serial = [pool.search(q, 3) for q in queries]
    with ThreadPoolExecutor(4) as clients:
        assert list(clients.map(lambda q: pool.search(q, 3), queries)) == serial
    barrier = threading.Barrier(2, timeout=30)  # both workers busy at once: one probe each

    def probe(searcher):
        barrier.wait()
        return threading.get_ident(), searcher
    (one, a), (two, b) = [f.result() for f in [pool.submit(probe), pool.submit(probe)]]
    assert one != two and a.db is not b.db  # an SQLite connection per thread
    assert a.faiss is b.faiss and a.bm25 is b.bm25 and a.encoder is b.encoder
    pool.executor.shutdown()
    inline = SearchPool(index_dir, workers=0)  # a process of several: searches on the caller's thread
    assert inline.executor is None and [inline.search(q, 3) for q in queries] == serial
    assert inline.submit(lambda searcher: threading.get_ident()).result() == threading.get_ident()
    with pytest.raises(UsageError, match="empty query"):
        inline.submit(lambda searcher: searcher.search(" ")).result()


def test_search_sees_a_reindex_without_restart(client, index_dir):
    """Last in this module: it changes the shared repository."""
    before = client.get("/stats").json()["generation"]
    (index_dir.parent / "strings.py").write_text("def reverse_words(text):\n    return ' '.join(text.split()[::-1])\n")
    build_index(index_dir.parent, index_dir, progress=False)
    top = client.get("/search", params={"q": "reverse the order of words", "k": 1}).json()["results"][0]
    assert top["name"] == "reverse_words"
    assert client.get(f"/units/{top['id']}").json()["path"] == "strings.py"
    assert client.get("/stats").json()["generation"] == before + 1


@pytest.mark.slow
def test_searches_during_a_reindex_never_fail(server, index_dir):
    """Clients keep searching the real server while the index is rebuilt twice under it."""
    import threading

    stop = threading.Event()
    answers: list[tuple[int, dict]] = []

    def client_loop():
        while not stop.is_set():
            answers.append(_get(f"{server}/search?q=fibonacci&k=5"))

    threads = [threading.Thread(target=client_loop) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for n in range(2):
            (index_dir.parent / f"extra{n}.py").write_text(f"def extra_{n}(x):\n    return x + {n}\n")
            build_index(index_dir.parent, index_dir, progress=False)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert answers and all(status == 200 for status, _ in answers)
    assert all(body["results"][0]["name"] == "fibonacci" for _, body in answers)
    status, stats = _get(f"{server}/stats")
    assert status == 200 and stats["units"] == 8


def test_serve_command_errors(tmp_path, codelm_cli):
    r = codelm_cli("serve", "--index", str(tmp_path), "--port", "70000")
    assert r.returncode == 2 and "--port" in r.stderr
    r = codelm_cli("serve", "--index", str(tmp_path), "--processes", "0")
    assert r.returncode == 2 and "--processes" in r.stderr
    for options in ([], ["--processes", "2"]):
        r = codelm_cli("serve", "--index", str(tmp_path / "none"), "--port", "0", *options)
        assert r.returncode == 1 and "no usable index" in r.stderr
