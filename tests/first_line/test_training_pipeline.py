"""`ensure_trained`, what `make run` calls before it serves: on a machine where the models are current, a
second start trains nothing and starts."""

from __future__ import annotations

import shutil

from tests.conftest import DATA_DIR, DOMAIN_DIR


def test_a_second_start_finds_the_first_line_current_and_asks_the_gates(
    artifacts_dir, domain, tmp_path, monkeypatch
):
    """The fixture's models are current for the demo domain, so the first-line checks find nothing to train
    and the gates' check runs, with the data and domain folders it needs: a second `make run` once died on a
    call without them. It reports the VOC-risk model the fixture does not train, trained elsewhere."""
    import router.gates_training as gates
    from first_line.training_pipeline import ensure_trained

    current = tmp_path / "artifacts"
    shutil.copytree(artifacts_dir, current)
    checked = []
    real_check = gates.missing_gates

    def gates_to_train(*args, **kwargs) -> list[str]:
        checked.append(real_check(*args, **kwargs))
        return []  # leave the VOC-risk model to its own tests

    monkeypatch.setattr(gates, "missing_gates", gates_to_train)
    assert ensure_trained(DATA_DIR, DOMAIN_DIR, current, domain) == []
    assert checked == [["risk"]]
