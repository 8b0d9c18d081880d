"""`twoline eval hallucination`: the whole second line on questions with known answers (or none).

Input: JSONL lines `{"question", "ask_ids", "answerable"?, "facts"?}` (`answerable` defaults to
`ask_ids` being non-empty). Each question goes through the second line as built by the service
(retrieval, relevance floor, generation, injection screen, grounding check, censor). Reported:
- `answered_rate`: answered share of the answerable questions;
- `handoff_rate_unanswerable`: hand-off share of the unanswerable ones;
- `citation_accuracy`: share of answers whose cited articles include one of `ask_ids`;
- `unsupported_sentence_rate`: share of the delivered answers' sentences that an independent
  lexical judge finds unsupported by the retrieved passages: a number absent from them, or fewer
  than `JUDGE_MIN_OVERLAP` of its content words in them. The judge shares nothing with the trained
  verifier that filtered the answer, so this is not the filter grading itself; it is strict on
  paraphrase (a reworded sentence may count as unsupported), so it errs towards reporting more;
- `raw_unsupported_sentence_rate`: the share the grounding check flagged in the generated answers
  before filtering (what the generator alone would have delivered);
- `worst_examples`: the flagged sentences with their question and the passage they should have come
  from (the best-overlapping retrieved passage);
- `fact_recall` (when `facts` are given), `censor_blocks`, hand-off reasons, `latency_ms_p50`.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from router.policy import ClientProfile, Turn

_ASK_ID = re.compile(r"/askcfpb/(\d+)")
_CITATION = re.compile(r"\s*\[\d+\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "you",
        "your",
        "are",
        "with",
        "that",
        "this",
        "can",
        "not",
        "but",
        "have",
        "has",
        "was",
        "were",
        "will",
        "would",
        "could",
        "should",
        "from",
        "they",
        "them",
        "their",
        "there",
        "about",
        "into",
        "more",
        "than",
        "any",
        "all",
        "our",
        "may",
        "also",
        "its",
        "it's",
    ]
)
JUDGE_MIN_OVERLAP = 0.6
WORST_EXAMPLES = 15


def judge_sentence(sentence: str, passages: list[str]) -> tuple[bool, str]:
    """Independent lexical judge: (supported, why not)."""
    haystack = " ".join(passages).lower()
    for number in _NUMBER.findall(sentence):
        if number.strip(".,") not in haystack:
            return False, f"number {number} not in the passages"
    words = [w for w in _WORD.findall(sentence.lower()) if w not in _STOP]
    if not words:
        return True, ""
    overlap = sum(w in haystack for w in words) / len(words)
    if overlap < JUDGE_MIN_OVERLAP:
        return False, f"{overlap:.0%} of its content words in the passages"
    return True, ""


def _best_passage(sentence: str, passages: list) -> dict:
    words = set(_WORD.findall(sentence.lower())) - _STOP
    best = max(passages, key=lambda p: len(words & set(_WORD.findall(p.text.lower()))), default=None)
    return {"title": best.title, "excerpt": best.text[:300]} if best else {}


def read_questions(path: Path) -> list[dict]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            row.setdefault("answerable", bool(row.get("ask_ids")))
            rows.append(row)
    return rows


def evaluate_hallucination(answerer: Any, path: Path, language: str = "en") -> dict:
    rows = read_questions(path)
    answered, handed_unanswerable, cited_right, cited_total = 0, 0, 0, 0
    raw_sentences, raw_flagged, delivered_sentences, delivered_flagged = 0, 0, 0, 0
    fact_hits, fact_total, censor_blocks = 0, 0, 0
    reasons: Counter[str] = Counter()
    timings = []
    worst: list[dict] = []
    for index, row in enumerate(rows):
        profile = ClientProfile(language=language)
        turn = Turn(dialog_key=f"eval-{index}", text=row["question"], profile=profile)
        started = time.perf_counter()
        decision = answerer.answer(turn)
        timings.append((time.perf_counter() - started) * 1000)
        record = (decision.scores or {}).get("second_line", {})
        grounding = record.get("grounding") or {}
        sentences = grounding.get("sentences") or []
        raw_sentences += len(sentences)
        raw_flagged += sum(not s["supported"] for s in sentences)
        censor_blocks += (record.get("censor") or {}).get("action") == "block"
        if decision.kind != "answer":
            reasons[decision.reason] += 1
            handed_unanswerable += not row["answerable"]
            continue
        answered += row["answerable"]
        passages = answerer.retriever.run(row["question"], answerer.top_k).passages
        for sentence in _SENTENCE_END.split(_CITATION.sub("", decision.reply or "").strip()):
            if not sentence.strip():
                continue
            delivered_sentences += 1
            supported, why = judge_sentence(sentence, [p.text for p in passages])
            if not supported:
                delivered_flagged += 1
                if len(worst) < WORST_EXAMPLES:
                    worst.append(
                        {"question": row["question"], "sentence": sentence, "why": why}
                        | _best_passage(sentence, passages)
                    )
        urls = [c.get("url") or "" for c in decision.scores.get("citations", [])]
        cited = {int(m) for url in urls for m in _ASK_ID.findall(url)}
        if row.get("ask_ids"):
            cited_total += 1
            cited_right += bool(cited & set(row["ask_ids"]))
        for fact in row.get("facts") or []:
            fact_total += 1
            fact_hits += fact.lower() in (decision.reply or "").lower()
    answerable = sum(r["answerable"] for r in rows)
    unanswerable = len(rows) - answerable
    return {
        "questions": len(rows),
        "answered_rate": answered / answerable if answerable else None,
        "handoff_rate_unanswerable": handed_unanswerable / unanswerable if unanswerable else None,
        "citation_accuracy": cited_right / cited_total if cited_total else None,
        "unsupported_sentence_rate": delivered_flagged / delivered_sentences if delivered_sentences else 0.0,
        "raw_unsupported_sentence_rate": raw_flagged / raw_sentences if raw_sentences else 0.0,
        "sentences_checked": raw_sentences,
        "sentences_delivered": delivered_sentences,
        "fact_recall": fact_hits / fact_total if fact_total else None,
        "censor_blocks": censor_blocks,
        "handoff_reasons": dict(reasons),
        "latency_ms_p50": float(np.percentile(timings, 50)) if timings else None,
        "worst_examples": worst,
    }
