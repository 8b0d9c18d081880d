"""Building a torch network whose weights are all loaded from a file, without drawing random ones first.

EasyOCR builds its detector and recogniser with torch's random initial weights, then loads the saved
weights over every parameter (a strict `load_state_dict`). The random draws were ~80% of the reader's load
(1.6 s → 0.3 s of CPU on one core, session 25), paid by every service worker at start-up. Inside
`skipping_random_init()` the public `torch.nn.init` functions leave their tensor as it is, in the calling
thread only: another thread that builds a model meanwhile (a fine-tuning head, say) still gets its
random weights.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

INIT_FUNCTIONS = (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
)  # fmt: skip
"""What torch's layers call to initialise themselves (`reset_parameters`) and what model code calls."""

_SKIPPING = threading.local()
_INSTALL_LOCK = threading.Lock()


@contextmanager
def skipping_random_init() -> Iterator[None]:
    """Inside: torch.nn.init leaves tensors as they are in this thread. Only for networks whose every
    parameter is loaded afterwards: a parameter left out would keep uninitialised memory."""
    _install()
    outer = getattr(_SKIPPING, "active", False)
    _SKIPPING.active = True
    try:
        yield
    finally:
        _SKIPPING.active = outer


def _install() -> None:
    import torch.nn.init as init

    with _INSTALL_LOCK:
        for name in INIT_FUNCTIONS:
            original = getattr(init, name, None)
            if original is not None and not hasattr(original, "__skippable__"):
                setattr(init, name, _skippable(original))


def _skippable(original: Callable) -> Callable:
    @functools.wraps(original)
    def initialise(tensor, *args, **kwargs):
        if getattr(_SKIPPING, "active", False):
            return tensor
        return original(tensor, *args, **kwargs)

    initialise.__skippable__ = True
    return initialise
