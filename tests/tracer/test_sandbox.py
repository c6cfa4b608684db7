"""The sandbox: limits, audit hook, and a parent that survives whatever the child does."""

from __future__ import annotations

import os

import pytest

from tracer.sandbox import Limits, run_in_sandbox

FAST = Limits(timeout_s=2, memory_mb=256)


def call(source: str, *args, limits: Limits = FAST, stdin: str = ""):
    """Run `f(*args)` from `source` in the sandbox."""
    return run_in_sandbox("tracer.sandbox_child:call_function",
                          {"source": source, "function": "f", "args": list(args)}, limits, stdin)


def test_returns_the_value_and_its_repr():
    result = call("def f(x, y):\n    return {'sum': x + y}", 2, 3)
    assert result.status == "ok" and result.value == {"value": {"sum": 5}, "repr": "{'sum': 5}"}
    assert call("def f():\n    return {1, 2}").value == {"value": None, "repr": "{1, 2}"}  # not JSON


def test_exception_is_reported_as_one_line():
    result = call("def f():\n    return 1 / 0")
    assert result.status == "exception" and result.error == "ZeroDivisionError: division by zero"


def test_runs_in_a_fresh_directory_that_is_removed(tmp_path):
    result = call("import os\ndef f():\n    open('out.txt', 'w').write('x')\n    return os.getcwd()")
    assert result.status == "ok"
    workdir = result.value["value"]
    assert workdir != os.getcwd() and not os.path.exists(workdir)


def test_stdin_is_fed_and_empty_by_default():
    assert call("def f():\n    return input()", stdin="hello\n").value["value"] == "hello"
    assert call("def f():\n    return input()").error == "EOFError: EOF when reading a line"


def test_wall_clock_and_cpu_limits():
    sleeper = call("import time\ndef f():\n    time.sleep(100)", limits=Limits(timeout_s=1))
    assert (sleeper.status, sleeper.error) == ("timeout", "wall-clock limit of 1 s reached")  # SIGUSR1
    deaf = call("import signal, time\ndef f():\n    signal.signal(signal.SIGUSR1, signal.SIG_IGN)\n"
                "    time.sleep(100)", limits=Limits(timeout_s=1))
    assert (deaf.status, deaf.returncode) == ("timeout", -9)  # killed by the parent after the grace
    busy = call("def f():\n    while True:\n        pass", limits=Limits(timeout_s=1))
    assert busy.status == "timeout"  # by the wall clock or RLIMIT_CPU, whichever comes first


def test_memory_limit():
    result = call("def f():\n    return len(bytearray(50 * 10**9))")
    assert result.status == "memory"


@pytest.mark.parametrize("body", [
    "import os\n    os.fork()",
    "import os\n    while True:\n        os.fork()",  # a fork bomb: the first fork is refused
    "import subprocess\n    subprocess.run(['true'])",
    "import os\n    os.system('true')",
    "import os\n    os.execv('/bin/true', ['true'])",
    "import _posixsubprocess\n    _posixsubprocess.fork_exec()",
    "import socket\n    socket.socket()",
    "import ctypes",
    "import os\n    os.kill(os.getppid(), 9)",
    "import socket\n    socket.getaddrinfo('localhost', 80)",
    "import socket\n    socket.gethostbyname('localhost')",
    "import socket\n    socket.gethostbyaddr('127.0.0.1')",
    "import socket\n    socket.getfqdn()",  # a name resolution (of the made-up host name)
    "import socket\n    socket.create_connection(('127.0.0.1', 80))",
    "import socket\n    socket.socket().bind(('127.0.0.1', 0))",
    "import socket\n    socket.sethostname('evil')",
    "import os\n    os.posix_spawn('/bin/true', ['true'], {})",
])
def test_processes_sockets_ctypes_and_signals_to_others_are_blocked(body):
    result = call(f"def f():\n    {body}")
    assert result.status == "blocked", result
    assert result.error.startswith("blocked: ")


@pytest.mark.parametrize("expr", [
    "__import__('socket').gethostname()", "__import__('_socket').gethostname()",
    "__import__('platform').node()", "__import__('os').uname().nodename",
    "__import__('getpass').getuser()", "__import__('os').getlogin()",
])
def test_host_and_user_names_are_made_up(expr):
    result = call(f"def f():\n    return {expr}")
    assert (result.status, result.value) == ("ok", {"value": "sandbox", "repr": "'sandbox'"}), result


def test_a_module_that_asks_for_the_host_name_at_import_runs():
    source = "import socket, os\nHOST = socket.gethostname()\ndef f():\n    return HOST, os.uname().sysname"
    assert call(source).value["value"] == ["sandbox", os.uname().sysname]


def test_writes_and_deletions_outside_the_workdir_are_blocked(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("keep")
    for body in (f"open({str(keep)!r}, 'w').write('gone')", f"import os\n    os.remove({str(keep)!r})",
                 f"import os\n    os.rename({str(keep)!r}, 'stolen.txt')",
                 f"open({str(tmp_path / 'new.txt')!r}, 'x')",
                 f"import shutil\n    shutil.rmtree({str(tmp_path)!r})"):
        result = call(f"def f():\n    {body}")
        assert result.status == "blocked", (body, result)
    assert keep.read_text() == "keep" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_a_caught_refusal_still_ends_the_run():
    result = call("import os\ndef f():\n    try:\n        os.system('true')\n    except BaseException:\n"
                  "        pass\n    return 'escaped'")
    assert result.status == "blocked" and result.value is None


def test_temporary_files_inside_the_workdir_are_allowed():
    result = call("import tempfile\ndef f():\n    with tempfile.TemporaryDirectory() as d:\n"
                  "        open(d + '/a', 'w').write('1')\n    return 'done'")
    assert result.status == "ok" and result.value["value"] == "done"


def test_child_that_dies_or_closes_its_pipes_is_reported():
    assert call("import os, signal\ndef f():\n    os.kill(os.getpid(), signal.SIGSEGV)").error == \
        "killed by signal SIGSEGV"
    closed = call("import os\ndef f():\n    os.closerange(0, 100)\n    return 1")
    assert closed.error.startswith("the program ended without a result")
    garbage = call("import os, sys\ndef f():\n    import posix\n    os.write(int(sys.argv[2]), b'{not json')\n"
                   "    posix._exit(2)")  # argv[2]: the result pipe
    assert garbage.status == "exception" and "exit status 2" in garbage.error


def test_raw_output_flood_is_capped():
    result = call("import os\ndef f():\n    for _ in range(50):\n        os.write(1, b'x' * 10**6)\n    return 1",
                  limits=Limits(timeout_s=5, max_stream_bytes=1000))
    assert result.status == "ok" and len(result.stdout) == 1000


def test_oversized_result_is_refused():
    result = call("def f():\n    return 'x' * 10**6", limits=Limits(timeout_s=5, max_result_bytes=1000))
    assert result.status == "exception" and result.result_overflow


def test_links_special_files_and_dir_fd_tricks_are_blocked(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("keep")
    for body in (f"import os\n    os.link({str(keep)!r}, 'inside')", "import os\n    os.symlink('/etc', 'etc')",
                 "import os\n    os.mknod('disk', 0o600 | 0o060000, os.makedev(8, 0))",
                 f"import os\n    d = os.open({str(tmp_path)!r}, os.O_RDONLY)\n"
                 "    os.open('keep.txt', os.O_WRONLY | os.O_TRUNC, dir_fd=d)",
                 f"import os\n    d = os.open({str(tmp_path)!r}, os.O_RDONLY)\n    os.remove('keep.txt', dir_fd=d)"):
        result = call(f"def f():\n    {body}")
        assert result.status == "blocked", (body, result)
    assert keep.read_text() == "keep"
    touched = call("import os, pathlib\ndef f():\n    pathlib.Path('t').touch()\n"
                   "    fd = os.open('u', os.O_WRONLY | os.O_CREAT)\n    os.close(fd)\n    return sorted(os.listdir())")
    assert touched.value["value"] == ["t", "u"]


def test_the_child_modules_import_no_json_typing_re_or_enum():
    # each costs every traced program 10-20 ms of start-up (the child reads marshal, writes JSON
    # with json's own C encoder, and imports `re` only to drop an address from a repr); -S: what
    # a site's .pth files import (an editable install's finder imports `re`) is not ours
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    code = (f"import sys; sys.path.insert(0, {root!r}); import tracer.sandbox_child, tracer.recorder; "
            "print(sorted({'json', 'typing', 're', 'enum'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_child_writes_json_as_json_dumps_does():
    import json

    from tracer.sandbox_child import to_json

    value = {"s": "é\n\"q\" \\ \t\x00", "n": [1, -2.5, float("nan"), True, None, (3, "x")], "big": 10 ** 30,
             "o": {1, 2}, "nested": {"k": [[], {}]}}
    assert to_json(value) == json.dumps(value, ensure_ascii=False, default=repr)
    assert json.loads(to_json(value))["o"] == repr({1, 2})
