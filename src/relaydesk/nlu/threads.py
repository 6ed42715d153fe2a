"""One BLAS and OpenMP thread for the process that decides.

The models' batches are small (a round of at most 64 messages, the MiniLM forward pass on
the unsure ones), and on a 2-core machine the extra threads of OpenBLAS and OpenMP spin
against the webhook server and the writer for the same cores. `threadpoolctl` can only
limit a library that is already loaded, so `one_thread` first imports every numerical
library the models use: numpy's OpenBLAS, SciPy's own OpenBLAS and scikit-learn's OpenMP.
Limiting before they were loaded left all three at their default (one thread per core).
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]


def one_thread() -> None:
    """Load the numerical libraries, then limit each to one thread (process-wide for
    OpenBLAS; for OpenMP, the threads started afterwards)."""
    import numpy  # noqa: F401  (its OpenBLAS)
    import scipy.sparse  # noqa: F401  (SciPy's OpenBLAS)
    import sklearn.linear_model  # noqa: F401  (scikit-learn's OpenMP)

    threadpool_limits(limits=1)
