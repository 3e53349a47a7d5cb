"""regopy, with rego-cpp's native library loaded where other extension modules cannot disturb it.

regopy's ``librego_shared.so`` carries its own copies of C++ runtime functions (its allocator's
``operator new``/``delete``, parts of libstdc++) with default visibility. When libstdc++ is loaded
*before* it, as protobuf's upb extension does in every process that imports temporalio, libstdc++
has already bound its internal calls to its own copies while rego-cpp binds to its own: memory
allocated on one side is freed on the other. The first policy that names a time zone
(``time.date([ns, "UTC"])``) then aborts the process with "double free or corruption", taking the
worker and every run on it down.

Loaded with ``dlmopen`` into a link namespace of its own, the library gets a private libstdc++
relocated against it, as in a process that loaded regopy first. regopy loads its library once, at
import, through ``ctypes.cdll.LoadLibrary``; this module imports regopy with that one call answered
by the isolated copy. The library must never be loaded twice (two copies of its allocator in one
process crash), so when regopy was imported before agento, or ``dlmopen`` does not exist (not
glibc), regopy is used as it was loaded.

A library in a namespace of its own also gets a libc of its own, and two libcs in one process
hand out the same thread-specific keys: both start at key 0, and both keep the values in the one
slot table each thread has. The first digest (``crypto.sha256``) made OpenSSL, inside rego-cpp,
read another library's value from its key as its own and crash the process. Before anything in
the namespace asks for a key, its libc's first `_RESERVED_KEYS` keys are taken and never used, so
its keys are slots the process's own libc would hand out only after that many of its own.

agento imports regopy only through this module.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path

from pydantic import JsonValue

_LM_ID_NEWLM = -1
_RTLD_DI_LMID = 1
_RESERVED_KEYS = 16
"""Keys the namespace's libc hands out first and nobody uses. A worker process's own libc has
handed out about 7 once temporalio runs; OpenSSL takes 7 more, which stay among the 32 kept in
each thread's own table (beyond them, libc allocates, and each libc would free the other's)."""
_log = logging.getLogger("agento")


def _isolated_library() -> ctypes.CDLL | None:
    spec = importlib.util.find_spec("regopy")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "librego_shared.so"
    dlmopen = getattr(ctypes.CDLL(None), "dlmopen", None)
    if dlmopen is None or not path.exists():
        return None
    dlmopen.restype = ctypes.c_void_p
    dlmopen.argtypes = [ctypes.c_long, ctypes.c_char_p, ctypes.c_int]
    handle = dlmopen(_LM_ID_NEWLM, os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL)
    if handle:
        _reserve_thread_keys(handle, dlmopen)
    # As a PyDLL, its calls keep the GIL: building one input document takes a few dozen calls
    # of microseconds each, and a worker's other threads took the GIL at every one of them, so
    # that a decision waited for the GIL far longer than it computed.
    return ctypes.PyDLL(str(path), handle=handle) if handle else None


def _reserve_thread_keys(handle: int, dlmopen: ctypes._NamedFuncPointer) -> None:
    """Take the first `_RESERVED_KEYS` thread-specific keys of the libc in ``handle``'s
    namespace, before OpenSSL (loaded there with rego-cpp, initialized on first use) takes any."""
    process = ctypes.CDLL(None)
    namespace = ctypes.c_long()
    process.dlinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    if process.dlinfo(handle, _RTLD_DI_LMID, ctypes.byref(namespace)) != 0:
        return
    libc = dlmopen(namespace.value, b"libc.so.6", os.RTLD_NOW | os.RTLD_LOCAL)
    if not libc:
        return
    create = ctypes.CDLL("libc.so.6", handle=libc).pthread_key_create
    key = ctypes.c_uint()
    for _ in range(_RESERVED_KEYS):
        create(ctypes.byref(key), None)


def _import_isolated() -> bool:
    """Import regopy with its library in a namespace of its own; whether that happened."""
    if "regopy.rego_shared" in sys.modules:
        _log.warning(
            "regopy was imported before agento: rego-cpp shares this process's libstdc++, and a "
            "policy naming a time zone can abort it. Import agento first."
        )
        return False
    library = _isolated_library()
    if library is None:
        return False
    load = ctypes.cdll.LoadLibrary

    def load_isolated(name: str) -> ctypes.CDLL:  # a PyDLL is a CDLL
        return library if Path(name).name == "librego_shared.so" else load(name)

    ctypes.cdll.LoadLibrary = load_isolated  # type: ignore[method-assign]
    try:
        import regopy.rego_shared  # noqa: F401 (loads the library, through the line above)
    finally:
        ctypes.cdll.LoadLibrary = load  # type: ignore[method-assign]
    return True


ISOLATED = _import_isolated()
"""Whether rego-cpp runs in a link namespace of its own."""

from regopy import (  # noqa: E402
    Bundle,
    Interpreter,
    LogLevel,
    NodeKind,
    RegoError,
    rego_version,
)
from regopy import rego_shared as native  # noqa: E402

_INT64 = range(-(2**63), 2**63)


class _Unrepresentable(Exception):
    """A value rego-cpp's structured input cannot hold as it is."""


def structured_input(document: JsonValue) -> int | None:
    """``document`` as a rego-cpp input handle (free it with ``rego_free_input``), built with one
    native call per value; ``None`` when a value would not arrive intact: an integer beyond 64 bits
    (ctypes masks it: 2**64 + 50 arrives as 50) or any float (rego-cpp writes a float it is given
    as ``%f`` does: 0.1234567891 arrived as 0.123457, 1e-300 as 0, and 1.15 as 1.150000, which
    `json.marshal` and the numbers module read). Hand such a document over as a term
    (``set_input_term``), which rego-cpp parses with arbitrary-precision integers, as OPA reads
    JSON numbers. Strings arrive escaped as in JSON text, the form in which rego-cpp holds the
    string literals of a policy and the strings of a term: a quote, a backslash or a newline in
    the input then equals the same character written in the policy, and NUL no longer cuts a
    string short."""
    lib = native.rego
    handle: int = lib.regoNewInput()

    def add(value: JsonValue) -> None:
        if value is True or value is False:
            code = lib.regoInputBoolean(handle, value)
        elif isinstance(value, int):
            if value not in _INT64:
                raise _Unrepresentable
            code = lib.regoInputInt(handle, value)
        elif isinstance(value, float):
            raise _Unrepresentable
        elif isinstance(value, str):  # escaped as JSON, as rego-cpp keeps the policy's literals
            code = lib.regoInputString(handle, json.dumps(value, ensure_ascii=False)[1:-1].encode())
        elif value is None:
            code = lib.regoInputNull(handle)
        elif isinstance(value, dict):
            for key, item in value.items():
                add(key)
                add(item)
                if lib.regoInputObjectItem(handle) != 0:
                    raise RegoError("Unable to create input", 1)
            code = lib.regoInputObject(handle, len(value))
        else:
            for item in value:
                add(item)
            code = lib.regoInputArray(handle, len(value))
        if code != 0:
            raise RegoError("Unable to create input", code)

    try:
        add(document)
    except _Unrepresentable:
        native.rego_free_input(handle)
        return None
    except BaseException:
        native.rego_free_input(handle)
        raise
    return handle


__all__ = [
    "ISOLATED",
    "Bundle",
    "Interpreter",
    "LogLevel",
    "NodeKind",
    "RegoError",
    "native",
    "rego_version",
    "structured_input",
]
