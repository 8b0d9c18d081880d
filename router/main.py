"""ASGI entry point for uvicorn workers: `uvicorn router.main:app`.

The service runs one request per thread and one process per core: numpy's BLAS and OpenMP
thread pools only add spinning threads that compete with the other workers (a turn cost 22 ms of
CPU with two workers and default pools, 14 ms with one thread each). So each worker starts with
single-threaded math libraries (set before numpy is imported; `TWOLINE_MATH_THREADS` or the
usual OPENBLAS/OMP/MKL variables override).
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, os.environ.get("TWOLINE_MATH_THREADS", "1"))

from router.app import create_app  # noqa: E402
from router.logging_setup import configure_logging  # noqa: E402
from router.settings import get_settings  # noqa: E402

configure_logging(get_settings().log_level, get_settings().log_json)
app = create_app()
