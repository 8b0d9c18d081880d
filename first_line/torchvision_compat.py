"""Make torchvision importable next to the CPU build of torch (imported first by every package).

The registry's torchvision 0.28.0 (the release that matches torch 2.13) is a CUDA build: its C++
ops library does not load with CPU torch. torchvision tolerates that, except that importing it
registers fake (meta) kernels for `torchvision::nms` and `torchvision::qnms`, whose schemas the
library would have defined, so `import torchvision` raises, and so does `import transformers`
(which imports torchvision when it is installed) and everything built on it.

EasyOCR only needs torchvision's Python model definitions (VGG / ResNet blocks), never these ops.
So, before torchvision is imported: if its ops library loads, nothing is done; otherwise the two
schemas are defined here with `torch.library`, and torchvision's import goes through. Calling
`torchvision.ops.nms` then raises a clear "no kernel" error instead of breaking every import.

Every top-level package (`first_line`, `router`, ...) imports this module first, so that any
import path into the project is safe; it costs nothing where torchvision is not installed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path

SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None  # the torch.library.Library holding the schemas must stay alive
_state = "not_checked"


def ensure_torchvision_importable() -> str:
    """'absent' (no torchvision), 'imported' (too late to act), 'native' (its ops load) or 'patched'."""
    global _state
    if _state != "not_checked":
        return _state
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        _state = "absent"
    elif "torchvision" in sys.modules:
        _state = "imported"
    elif _native_ops_load(Path(next(iter(spec.submodule_search_locations)))):
        _state = "native"
    else:
        _define_schemas()
        _state = "patched"
    return _state


def _native_ops_load(package_dir: Path) -> bool:
    import torch

    libraries = sorted(package_dir.glob("_C*.so")) + sorted(package_dir.glob("_C*.pyd"))
    if not libraries:
        return False
    try:
        torch.ops.load_library(str(libraries[0]))
    except (OSError, ImportError, RuntimeError):
        return False
    return True


def _define_schemas() -> None:
    global _library
    import torch

    _library = torch.library.Library("torchvision", "FRAGMENT")
    for schema in SCHEMAS.values():
        with contextlib.suppress(RuntimeError):  # already defined by someone else: fine
            _library.define(schema)


ensure_torchvision_importable()
