"""The child side of the sandbox: limits, audit hook, and the one result it sends back.

`tracer.sandbox.run_in_sandbox` starts a fresh interpreter that runs `main()`. It reads the
request, imports the entry function (trusted code, before any restriction), then sets the
resource limits, moves into the working directory, installs the audit hook and calls the
entry. Exactly one JSON result goes back through the result pipe, then the process ends with
`os._exit` (no atexit handlers, no waiting for threads).

The audit hook (PEP 578) is a guard against accidents and ordinary hostile programs, not a
security boundary: code that sets out to defeat it from inside the interpreter can. Any refused
operation ends the run at once with status `blocked` (a program cannot catch it).

Harmless look-ups of who and where the program runs get a fixed, made-up answer instead
(`SANDBOX_NAME`): libraries call them at import (`socket.gethostname()` in a module's globals),
and a trace must not depend on the machine. The host name (`socket.gethostname`, `os.uname()`'s
nodename, hence `platform.node()`) and the user name (`getpass.getuser()` reads `USER`, set by
the parent; `os.getlogin()`) say "sandbox". Resolving names (`getaddrinfo`, `gethostbyname`,
`getfqdn`), sockets, processes and ctypes stay refused; `pwd` reads the system's user database
(not refused, not faked).
"""

from __future__ import annotations

import importlib
import marshal
import os
import resource
import sys
# every child imports this module first: what it imports, each traced program pays at start.
# `signal` without its enums (~10 ms), json's own C encoder without the `json` package (its
# regular expressions, ~15 ms), no `typing` at run time (~20 ms)
from _signal import SIG_IGN, SIGUSR1, SIGXFSZ, signal

try:
    from _json import encode_basestring, make_encoder
except ImportError:  # pragma: no cover - an interpreter without the accelerator
    make_encoder = None

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

_RESULT_FD = -1
SANDBOX_NAME = "sandbox"  # the host name and user name a program sees
_REAL_EXIT = os._exit
_abort_handler: Callable[[str, str | None], Any] | None = None
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
# events refused outright: processes, signals to others, raw memory, network
_FORBIDDEN = {
    "os.system", "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "pty.spawn", "os.startfile", "os.symlink", "os.killpg",
    "signal.pthread_kill",
}
# events that change the file system: (index of the path argument, index of dir_fd or None)
_PATH_EVENTS = {
    "os.remove": (0, 1), "os.rmdir": (0, 1), "os.mkdir": (0, 2), "os.chmod": (0, 2),
    "os.chown": (0, 3), "os.utime": (0, 3), "os.truncate": (0, None), "os.chflags": (0, None),
    "os.lchflags": (0, None), "os.setxattr": (0, None), "os.removexattr": (0, None),
    "shutil.rmtree": (0, 1),
}


class Refused(ImportError):
    """An import the sandbox refuses; uncaught, the run ends with status `blocked`."""


def send(result: dict[str, Any]) -> None:
    """Write the one result to the parent and end the process at once."""
    try:
        data = to_json(result).encode("utf-8", "replace")
    except BaseException as err:  # noqa: BLE001 - e.g. MemoryError: still say something
        data = to_json({"status": "exception", "error": f"result not serialisable: {type(err).__name__}"}).encode()
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(_RESULT_FD, view):]
    except OSError:
        pass
    _REAL_EXIT(0)


def to_json(value: Any, default: Callable[[Any], Any] = repr) -> str:
    """`json.dumps(value, ensure_ascii=False, default=default)`, by the same C encoder."""
    if make_encoder is None:  # pragma: no cover
        import json

        return json.dumps(value, ensure_ascii=False, default=default)
    return "".join(make_encoder({}, default, encode_basestring, None, ": ", ", ", False, False, True)(value, 0))


def _not_json(value: Any) -> None:
    raise TypeError(f"{type(value).__name__} is not JSON")


def set_abort_handler(handler: Callable[[str, str | None], Any] | None) -> None:
    """`handler(status, error)` gives the value sent when the run is cut short (blocked, os._exit)."""
    global _abort_handler
    _abort_handler = handler


def abort(status: str, error: str | None) -> None:
    """End the run now with this status; the abort handler supplies the partial value."""
    value = None
    if _abort_handler is not None:
        handler = _abort_handler
        set_abort_handler(None)  # never re-enter (a hook firing inside the handler)
        try:
            value = handler(status, error)
        except BaseException as err:  # noqa: BLE001
            error = f"{error} (partial result lost: {type(err).__name__})"
    send({"status": status, "error": error, "value": value})


def _program_exit(code: int = 0) -> None:
    """Replacement for `os._exit`: the program's hard exit still reports its result."""
    abort("ok", None if code == 0 else f"os._exit({code})")


def _refuse_fork_exec(*args: Any, **kwargs: Any) -> None:
    abort("blocked", "blocked: _posixsubprocess.fork_exec (processes are not allowed)")


def _refuse_node(*args: Any, **kwargs: Any) -> None:
    abort("blocked", "blocked: os.mknod/os.mkfifo (special files are not allowed)")


def _sandbox_name() -> str:
    return SANDBOX_NAME


def _fake_identity() -> None:
    """Host and user look-ups answer `SANDBOX_NAME` (the real ones are refused or machine-bound)."""
    import _socket  # ~0.5 ms; `socket` copies its names from here when the program imports it
    import posix
    real_uname = posix.uname

    def uname() -> os.uname_result:
        real = real_uname()
        return os.uname_result((real.sysname, SANDBOX_NAME, real.release, real.version, real.machine))
    _socket.gethostname = _sandbox_name
    if "socket" in sys.modules:  # pragma: no cover - imported by the entry's module
        sys.modules["socket"].gethostname = _sandbox_name
    posix.uname = os.uname = uname
    posix.getlogin = os.getlogin = _sandbox_name


def _inside(path: Any, dir_fd: Any, root: str) -> bool:
    if isinstance(path, int):
        return False  # an operation on a file descriptor: cannot tell where it points
    path = os.fsdecode(os.fspath(path))
    if dir_fd not in (None, -1):
        try:
            path = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
        except OSError:
            return False
    real = os.path.realpath(path)
    return real == root or real.startswith(root + os.sep)


def _outside_dir_fd(root: str) -> bool:
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("/") and os.path.isdir(target) and not _inside(target, None, root):
            return True
    return False


def _make_hook(root: str) -> Callable[[str, tuple], None]:
    def hook(event: str, args: tuple) -> None:
        reason = None
        if event == "open":
            path, mode, flags = args
            writes = (any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & _WRITE_FLAGS))
            if writes and not isinstance(path, int):
                if mode is None and not os.path.isabs(os.fsdecode(os.fspath(path))) and _outside_dir_fd(root):
                    # os.open's dir_fd is not in the event: refuse while a directory outside is open
                    reason = f"os.open for writing {path!r} relative to a directory descriptor"
                elif not _inside(path, None, root):
                    reason = f"writing {os.fsdecode(os.fspath(path))!r} outside the working directory"
        elif event in _PATH_EVENTS:
            where, fd_at = _PATH_EVENTS[event]
            if not _inside(args[where], args[fd_at] if fd_at is not None else None, root):
                reason = f"{event} on {args[where]!r} outside the working directory"
        elif event in ("os.rename", "os.link"):  # both ends: a hard link to a file outside is a way out
            if not (_inside(args[0], args[2], root) and _inside(args[1], args[3], root)):
                reason = f"{event} of {args[0]!r} to {args[1]!r} outside the working directory"
        elif event == "os.kill":
            if args[0] not in (0, os.getpid()):
                reason = f"os.kill of process {args[0]}"
        elif event in _FORBIDDEN or event.startswith(("socket.", "ctypes.", "os.exec", "os.spawn")):
            reason = f"{event} (processes, sockets and ctypes are not allowed)"
        elif event == "import" and args[0] == "_ctypes":
            # a catchable refusal: libraries such as numpy try `import ctypes` and live without it
            raise Refused("ctypes is not available in the sandbox")
        elif event == "import" and args[0] == "_posixsubprocess":
            reason = "re-importing _posixsubprocess (processes are not allowed)"
        if reason is not None:
            abort("blocked", f"blocked: {reason}")
    return hook


def _set_limits(limits: dict[str, Any]) -> None:
    def cap(which: int, value: int | None) -> None:
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else
                                   (value + 1 if hard == resource.RLIM_INFINITY else min(value + 1, hard))))

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_CPU, limits.get("cpu_s"))
    mb = limits.get("memory_mb")
    cap(resource.RLIMIT_AS, mb * 1024 * 1024 if mb else None)
    cap(resource.RLIMIT_FSIZE, limits.get("max_file_bytes"))
    cap(resource.RLIMIT_NOFILE, limits.get("max_open_files"))
    cap(resource.RLIMIT_NPROC, limits.get("max_procs"))
    signal(SIGXFSZ, SIG_IGN)  # oversized writes fail with OSError, no kill


def call_function(payload: dict[str, Any]) -> dict[str, Any]:
    """A ready entry for candidate code: run `payload["source"]` as a module, then call
    `payload["function"](*payload.get("args", []))`; returns its value (when JSON can hold it)
    and its repr."""
    namespace: dict[str, Any] = {"__name__": "__sandbox__"}
    exec(compile(payload["source"], payload.get("path", "<candidate>"), "exec"), namespace)
    value = namespace[payload["function"]](*payload.get("args", []))
    try:
        to_json(value, _not_json)
    except (TypeError, ValueError):
        return {"value": None, "repr": repr(value)}
    return {"value": value, "repr": repr(value)}


def main() -> None:
    """Entry of the child interpreter: `argv = [request_file, result_fd]`."""
    global _RESULT_FD
    _RESULT_FD = int(sys.argv[2])
    with open(sys.argv[1], "rb") as f:
        request = marshal.load(f)  # written by the parent (tracer.sandbox)
    module, _, name = request["entry"].partition(":")
    func = getattr(importlib.import_module(module), name)
    workdir = os.path.realpath(request["workdir"])
    sys.dont_write_bytecode = True
    os.chdir(workdir)
    _set_limits(request["limits"])
    os._exit = _program_exit
    timeout = request["limits"]["timeout_s"]
    signal(SIGUSR1, lambda signum, frame: abort("timeout", f"wall-clock limit of {timeout:g} s reached"))
    import _posixsubprocess  # these raise no audit event: replace them
    import posix
    _posixsubprocess.fork_exec = _refuse_fork_exec
    for name in ("mknod", "mkfifo"):  # as root, mknod could make a device node in the workdir
        setattr(posix, name, _refuse_node)
        setattr(os, name, _refuse_node)
    _fake_identity()
    sys.addaudithook(_make_hook(workdir))
    try:
        value = func(request["payload"])
    except MemoryError:
        send({"status": "memory", "error": "MemoryError", "value": None})
    except Refused as err:
        send({"status": "blocked", "error": f"blocked: {err}", "value": None})
    except BaseException as err:  # noqa: BLE001 - everything the entry lets out is reported
        send({"status": "exception", "error": f"{type(err).__name__}: {err}", "value": None})
    send({"status": "ok", "error": None, "value": value})
