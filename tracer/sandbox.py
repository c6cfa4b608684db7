"""Run untrusted Python in a child process with limits; the parent never hangs or crashes.

`run_in_sandbox("pkg.module:function", payload)` starts a fresh interpreter (`subprocess`,
not `multiprocessing`: a clean environment, no inherited state from a parent that may hold
torch and threads, and direct control of file descriptors, session and output caps). The child
(`tracer.sandbox_child`) imports the entry, sets rlimits (CPU, address space, file size, open
files, core dumps; processes only when asked, see `Limits.max_procs`), runs in a new session
inside a fresh temporary directory (removed afterwards) with an audit hook refusing writes
outside it, processes, sockets and ctypes (host and user names get a made-up answer), calls
`function(payload)` and sends back its JSON-able result. The parent enforces the wall-clock
limit by killing the whole process group and reads stdout, stderr and the result with size
caps. At the limit the child first gets SIGUSR1, on which it sends what it has (a tracer sends
the steps so far), and one more second.
"""

from __future__ import annotations

import contextlib
import gc
import json
import marshal
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

_ROOT = str(Path(__file__).resolve().parents[1])  # the directory holding the `tracer` package
_BOOT = "import sys; sys.path[0] = {root!r}; from tracer.sandbox_child import main; main()"
_GRACE_S = 1.0  # after the wall-clock limit: time for the child to send its partial result


@dataclass
class Limits:
    """Resource limits of one sandboxed run.

    `max_procs` sets RLIMIT_NPROC only when given: that limit counts every process of the user
    (it does nothing for root and breaks threads on a busy account), so forks, `subprocess`,
    `os.system`, `exec*` and `spawn*` are refused by the audit hook instead, always.
    """

    timeout_s: float = 10.0          # wall clock, enforced by the parent (kills the process group)
    cpu_s: int | None = None         # RLIMIT_CPU; None: the timeout rounded up, plus 1 (a backstop)
    memory_mb: int = 512             # RLIMIT_AS (address space)
    max_file_bytes: int = 16 << 20   # RLIMIT_FSIZE: the largest file the program may write
    max_open_files: int = 64         # RLIMIT_NOFILE
    max_procs: int | None = None     # RLIMIT_NPROC, see above
    max_steps: int = 10_000          # tracer: line events recorded before stopping (`too_long`)
    max_output_bytes: int = 1 << 20  # tracer: stdout characters kept (`truncated` past it)
    max_repr: int = 100              # tracer: longest value repr kept in a state
    max_result_bytes: int = 64 << 20  # the largest result the parent accepts
    max_stream_bytes: int = 64 << 10  # raw stdout/stderr bytes of the child kept by the parent

    def child_limits(self) -> dict[str, Any]:
        """The rlimit settings the child applies to itself."""
        out = asdict(self)
        out["cpu_s"] = self.cpu_s if self.cpu_s is not None else math.ceil(self.timeout_s) + 1
        return out


@dataclass
class SandboxResult:
    """What came back: status (ok | exception | timeout | memory | blocked), value, error."""

    status: str
    value: Any = None
    error: str | None = None
    returncode: int | None = None
    stdout: str = ""          # raw fd-1 output of the child (what bypassed any capture), capped
    stderr: str = ""          # raw fd-2 output, capped
    seconds: float = 0.0
    result_overflow: bool = False


def run_in_sandbox(entry: str, payload: Any = None, limits: Limits | None = None,
                   stdin: str = "") -> SandboxResult:
    """Call `entry` ("module:function") with `payload` (plain data: dicts, lists, strings,
    numbers) in a sandboxed child; never raises on anything the child does. The function must
    return something `json.dumps` accepts (anything else is sent as its repr)."""
    limits = limits or Limits()
    control = tempfile.mkdtemp(prefix="codelm-sandbox-")
    try:
        workdir = os.path.join(control, "work")
        os.mkdir(workdir)
        request = os.path.join(control, "request.marshal")
        with open(request, "wb") as f:  # marshal: the child reads it without importing json
            marshal.dump({"entry": entry, "payload": payload, "workdir": workdir,
                          "limits": limits.child_limits()}, f)
        stdin_path = os.path.join(control, "stdin")
        Path(stdin_path).write_text(stdin, encoding="utf-8")
        return _run_child(request, stdin_path, workdir, limits)
    finally:
        _remove_tree(control)


def _child_env(workdir: str) -> dict[str, str]:
    return {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0",
            "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1", "HOME": workdir,
            "USER": "sandbox", "LOGNAME": "sandbox",  # getpass.getuser(); see sandbox_child
            "TMPDIR": workdir, "MPLCONFIGDIR": workdir, "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run_child(request: str, stdin_path: str, workdir: str, limits: Limits) -> SandboxResult:
    start = time.monotonic()
    deadline = start + limits.timeout_s
    read_fd, write_fd = os.pipe()
    try:
        with open(stdin_path, "rb") as stdin:
            proc = subprocess.Popen(
                [sys.executable, "-s", "-c", _BOOT.format(root=_ROOT), request, str(write_fd)],
                stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(write_fd,),
                cwd=workdir, env=_child_env(workdir), start_new_session=True)
    except OSError as err:
        os.close(read_fd)
        os.close(write_fd)
        return SandboxResult("exception", error=f"could not start the sandbox: {err}")
    os.close(write_fd)
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    caps = {out_fd: limits.max_stream_bytes, err_fd: limits.max_stream_bytes, read_fd: limits.max_result_bytes}
    try:
        data, overflow, timed_out, deadline = _drain(caps, deadline, lambda: _signal(proc, signal.SIGUSR1))
        if not timed_out:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
    finally:
        _kill_group(proc)
        os.close(read_fd)
        proc.stdout.close()
        proc.stderr.close()
    out = data[out_fd].decode("utf-8", "replace")
    err = data[err_fd].decode("utf-8", "replace")
    result = SandboxResult("ok", returncode=proc.returncode, stdout=out, stderr=err,
                           seconds=time.monotonic() - start, result_overflow=overflow[read_fd])
    return _classify(result, data[read_fd], timed_out, limits)


def _drain(caps: dict[int, int], deadline: float, warn) -> tuple[dict[int, bytes], dict[int, bool], bool, float]:
    """Read every fd to EOF (keeping at most its cap) or until the deadline. At the deadline
    `warn()` asks the child to send what it has (SIGUSR1), then it gets `_GRACE_S` more seconds."""
    data = {fd: bytearray() for fd in caps}
    overflow = dict.fromkeys(caps, False)
    with selectors.DefaultSelector() as sel:
        for fd in caps:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if warn is None:
                    return {fd: bytes(b) for fd, b in data.items()}, overflow, True, deadline
                warn()
                warn, deadline = None, deadline + _GRACE_S
                continue
            for key, _ in sel.select(remaining):
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                room = caps[key.fd] - len(data[key.fd])
                data[key.fd] += chunk[:max(room, 0)]
                overflow[key.fd] |= len(chunk) > room
    return {fd: bytes(b) for fd, b in data.items()}, overflow, False, deadline


def _signal(proc: subprocess.Popen, signum: int) -> None:
    try:
        os.kill(proc.pid, signum)
    except ProcessLookupError:
        pass


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child leads its own session and group
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _classify(result: SandboxResult, raw: bytes, timed_out: bool, limits: Limits) -> SandboxResult:
    if result.result_overflow:
        result.status, result.error = "exception", f"result over {limits.max_result_bytes} bytes"
        return result
    if raw and not timed_out:
        try:
            with gc_paused():
                sent = json.loads(raw)
            result.status, result.error, result.value = sent["status"], sent.get("error"), sent.get("value")
            return result
        except (ValueError, KeyError, TypeError, RecursionError):
            pass  # the program wrote to the result pipe itself, or died in mid-write
    code = result.returncode
    if timed_out:
        result.status, result.error = "timeout", f"wall-clock limit of {limits.timeout_s:g} s reached"
    elif code in (-signal.SIGXCPU, -signal.SIGKILL):
        result.status, result.error = "timeout", f"CPU time limit of {limits.child_limits()['cpu_s']} s reached"
    elif "MemoryError" in result.stderr or "Cannot allocate memory" in result.stderr:
        result.status, result.error = "memory", f"memory limit of {limits.memory_mb} MB reached"
    elif code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        result.status, result.error = "exception", f"killed by signal {name}"
    else:
        result.status = "ok" if code == 0 else "exception"
        result.error = f"the program ended without a result (exit status {code})"
    return result


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection while a large result is parsed: parsing makes no cycles, and the
    collections that hundreds of thousands of fresh dicts trigger cost more than the parse."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _remove_tree(path: str) -> None:
    def retry(func, target, _exc):  # the program may have made files read-only
        try:
            os.chmod(target, 0o700)
            func(target)
        except OSError:
            pass
    shutil.rmtree(path, onerror=retry)
