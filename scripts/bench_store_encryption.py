"""Dialog store cost per turn with and without encryption at rest (SQLite, 400 turns):
`PYTHONPATH=. python scripts/bench_store_encryption.py`."""

import tempfile
import time
from pathlib import Path

from router.policy import Decision
from router.store.database import create_store_engine, migrate
from router.store.dialog_store import DialogStore
from router.store.encryption import TextCipher, generate_key


def run(cipher):
    folder = Path(tempfile.mkdtemp())
    engine = create_store_engine(f"sqlite:///{folder / 's.db'}", cipher)
    migrate(engine)
    store = DialogStore(engine)
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(400):
        a = store.accept_message(
            f"c{i % 20}", None, f"my card payment number {i} at Tesco was declined, why?"
        )
        store.record_decision(
            a,
            Decision(
                kind="answer",
                reason="scripted_answer",
                reply="Sorry to hear that. " * 5,
                scores={"entities": [{"kind": "merchant", "value": "Tesco"}]},
            ),
            1.0,
        )
        store.dialog_history(a.dialog_id)
    return (time.perf_counter() - started) / 400 * 1000, (time.process_time() - cpu) / 400 * 1000


for name, cipher in (
    ("plain", None),
    ("encrypted", TextCipher([generate_key()])),
    ("plain", None),
    ("encrypted", TextCipher([generate_key()])),
):
    wall, cpu = run(cipher)
    print(f"{name:10} per turn (accept + decide + history): wall {wall:.2f} ms  cpu {cpu:.2f} ms")
