"""One BLAS and OpenMP thread for the process that decides.

The models' batches are small (a round of at most 64 messages, the MiniLM forward pass on
the unsure ones), and on a 2-core machine the extra threads of OpenBLAS and OpenMP spin
against the webhook server and the writer for the same cores. `threadpoolctl` can only
limit a library that is already loaded, so `one_thread` first imports every numerical
library the models use: numpy's OpenBLAS, SciPy's own OpenBLAS and scikit-learn's OpenMP.
Limiting before they were loaded left all three at their default (one thread per core).
"""

from __future__ import annotations

from typing import Any

from threadpoolctl import threadpool_info, threadpool_limits  # type: ignore[import-untyped]


def one_thread() -> list[dict[str, Any]]:
    """Load the numerical libraries, limit each to one thread (process-wide for OpenBLAS;
    for OpenMP, the threads started afterwards), and return threadpoolctl's view of them."""
    import numpy  # noqa: F401  (its OpenBLAS)
    import scipy.sparse  # noqa: F401  (SciPy's OpenBLAS)
    import sklearn.linear_model  # noqa: F401  (scikit-learn's OpenMP)

    threadpool_limits(limits=1)
    return list(threadpool_info())
