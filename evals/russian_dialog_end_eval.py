"""`twoline eval dialog-end --language ru`: does a Russian client's last message get the VOC form?

Data: a CSV `dialog_id,turn,text,is_last` of Russian client messages (the bot's replies left out), one row a
message, `is_last` 1 for the last message of a dialog that ended naturally (default:
`evals/data/dialog_end_ru_test.csv`, 180 dialogs by a writer who saw no repository file). Each message is
scored with the client's earlier messages of its dialog, as the service scores it. Reported at the
domain's threshold: F1, the share of last messages that get the form (`shown_on_last`) and of the others
(`shown_on_others`); beside it the English detector (what a Russian client got before: it reads English
words) and a keyword baseline ("спасибо", "до свидания", "пока", ...).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from first_line.dialog_end_model import DialogEndModel
from first_line.russian_dialog_end import RussianDialogEnd, read_dialog_turns

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "dialog_end_ru_test.csv"
KEYWORDS = re.compile(
    r"спасиб|спс|благодар|до свидания|пока\b|всего доброго|хорошего (дня|вечера)", re.IGNORECASE
)


def _scores(shown: np.ndarray, is_last: np.ndarray) -> dict[str, float]:
    return {
        "f1": float(f1_score(is_last, shown, zero_division=0)),
        "shown_on_last": float(shown[is_last].mean()) if is_last.any() else 0.0,
        "shown_on_others": float(shown[~is_last].mean()) if (~is_last).any() else 0.0,
    }


def evaluate_russian_dialog_end(artifact_dir: Path, threshold: float, data: Path | None = None) -> dict:
    so_far, is_last = read_dialog_turns(data or DEFAULT_DATA)
    russian = RussianDialogEnd(artifact_dir)
    english = DialogEndModel(artifact_dir)
    p = np.array([russian.probability(list(texts)) for texts in so_far])
    p_english = np.array([english.probability(list(texts)) for texts in so_far])
    keywords = np.array([KEYWORDS.search(texts[-1]) is not None for texts in so_far])
    return {
        "messages": len(so_far),
        "last_messages": int(is_last.sum()),
        "threshold": threshold,
        **_scores(p >= threshold, is_last),
        "english_detector": _scores(p_english >= threshold, is_last),
        "keyword_baseline": _scores(keywords, is_last),
    }
