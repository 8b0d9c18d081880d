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
import path into the project is safe. Importing it only installs an import hook: the check (and
the import of torch it needs) runs the moment something imports torchvision, so a process that
never touches torchvision pays nothing.
"""

from __future__ import annotations

import contextlib
import importlib.abc
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


class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    """Runs `ensure_torchvision_importable` just before the first `import torchvision`, then steps aside."""

    def find_spec(self, name, path=None, target=None):
        if name == "torchvision":
            _remove_hook()
            ensure_torchvision_importable()
        return None  # the regular finders import it


def _remove_hook() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _BeforeTorchvision)]


if "torchvision" in sys.modules:
    _state = "imported"
elif not any(isinstance(f, _BeforeTorchvision) for f in sys.meta_path):
    sys.meta_path.insert(0, _BeforeTorchvision())
