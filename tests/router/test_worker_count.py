"""How many workers `twoline serve` runs when TWOLINE_WORKERS is not set."""

from __future__ import annotations

import pytest

from router.settings import Settings
from router.worker_count import (
    MAX_DEFAULT_WORKERS,
    WORKER_MEMORY_BYTES,
    available_memory,
    default_workers,
    usable_cores,
)

GIB = 2**30


@pytest.mark.parametrize(
    ("cores", "memory", "expected"),
    [
        (2, 22 * GIB, 2),  # this project's 2-core machine: one per core
        (1, 22 * GIB, 1),
        (64, 512 * GIB, MAX_DEFAULT_WORKERS),  # a big host: capped
        (8, 6 * GIB, 2),  # little memory: as many as it holds
        (4, GIB, 1),  # too little for even one: still one
        (3, None, 3),  # the kernel does not say: one per core
    ],
)
def test_one_worker_per_core_as_memory_allows(cores, memory, expected):
    assert default_workers(cores=cores, memory=memory) == expected


def test_this_machine_gets_at_least_one_worker_and_no_more_than_its_cores():
    assert 1 <= default_workers() <= usable_cores()


def test_available_memory_reads_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemAvailable:   20971520 kB\n", encoding="ascii")
    assert available_memory(meminfo) == 20 * GIB
    assert default_workers(cores=16, memory=available_memory(meminfo)) == 20 * GIB // WORKER_MEMORY_BYTES


@pytest.mark.parametrize("text", [None, "MemTotal:       24000000 kB\n", "MemAvailable: lots\n"])
def test_available_memory_is_none_when_the_kernel_does_not_say(tmp_path, text):
    meminfo = tmp_path / "meminfo"
    if text is not None:
        meminfo.write_text(text, encoding="ascii")
    assert available_memory(meminfo) is None


def test_workers_setting_is_unset_by_default_and_checked(monkeypatch):
    monkeypatch.delenv("TWOLINE_WORKERS", raising=False)
    assert Settings().workers is None
    monkeypatch.setenv("TWOLINE_WORKERS", "3")
    assert Settings().workers == 3
    monkeypatch.setenv("TWOLINE_WORKERS", "0")
    with pytest.raises(ValueError, match="workers"):
        Settings()
