"""How the finance kernels are compiled and launched, decided once for the whole package.

Every kernel is compiled by numba on its first call and cached on disk (``cache=True``), so a
second process loads machine code instead of compiling. Kernels release the GIL so the
engine's thread executor runs them side by side, and floating-point errors follow numpy
(``error_model="numpy"``): a kernel never raises on bad data, it writes NaN.

Parallel kernels (``prange``) run on numba's ``workqueue`` threading layer unless the user
chose one with ``NUMBA_THREADING_LAYER``: it is fork-safe (GNU OpenMP, numba's other default
here, aborts a forked child such as a ``ProcessPoolExecutor`` worker), and the lock below makes
it thread-safe by letting one parallel kernel run at a time (each already uses every core).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

import numba

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]

_OPTIONS: dict[str, Any] = {"cache": True, "nogil": True, "error_model": "numpy"}

#: a single-threaded kernel: cheap to compile, for work too small or too sequential to split
serial = numba.njit(**_OPTIONS)
#: a ``prange`` kernel: costs ~0.5 s more to compile, pays on large element-wise batches
parallel = numba.njit(parallel=True, **_OPTIONS)

_PARALLEL_LAUNCH = threading.Lock()


def launch(kernel: Callable[..., Any], *args: Any) -> Any:
    """Run a parallel kernel under the launch lock, since ``workqueue`` admits one caller."""
    with _PARALLEL_LAUNCH:
        return kernel(*args)
