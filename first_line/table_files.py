"""Opening the CSV and TSV files people hand to `twoline train --data` and `twoline eval --data`.

They are often saved by a spreadsheet: UTF-8 with a byte-order mark (Excel's "CSV UTF-8"), which would
otherwise glue itself to the first column's name ("\\ufefftext": "missing column text"), or in a legacy
encoding, which fails somewhere in the middle with a bare codec message. Both read here: the mark is
dropped, and a file that is not UTF-8 is a ValueError that names the file and says what to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def open_table(path: Path | str) -> Iterator[TextIO]:
    """`path` opened for the csv module: UTF-8 with or without a byte-order mark."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        try:
            yield handle
        except UnicodeDecodeError as exc:
            byte = exc.object[exc.start : exc.start + 1].hex()
            raise ValueError(f"{path}: not UTF-8 text (a 0x{byte} byte); save it as UTF-8") from exc
