"""Leaving a short-lived process that used a Temporal client, with its own exit status.

temporalio's Rust threads can call into a finalizing interpreter and abort it (SIGABRT or SIGSEGV
after all output, sdk-python#300), so a script that printed the right answer can still exit 134.
Skipping interpreter teardown once the work is done is the known remedy: these helpers flush the
standard streams and leave with ``os._exit``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Coroutine
from typing import Any, NoReturn


def leave(status: int) -> NoReturn:
    """Flush stdout and stderr, then exit with ``status`` without interpreter teardown."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe has nothing to lose
            stream.flush()
    os._exit(status)


def run(main: Coroutine[Any, Any, object]) -> NoReturn:
    """``asyncio.run(main)`` for a script, leaving with the status Python would have given it:
    0 when ``main`` returns, ``SystemExit``'s code, 130 on Ctrl-C, 1 with the traceback on
    anything else."""
    import asyncio  # here: the agento executable leaves through this module without a loop

    try:
        asyncio.run(main)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        leave(e.code if isinstance(e.code, int) else 0 if e.code is None else 1)
    except KeyboardInterrupt:
        leave(130)
    except BaseException:
        traceback.print_exc()
        leave(1)
    leave(0)
