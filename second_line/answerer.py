"""The second line: question → (guardrails) → retrieval → relevance floor → generation → citations.

`SecondLineAnswerer.answer(turn)` is the router policy's `SecondLine`: it returns a `Decision`,
an answer with citations or a hand-off with its reason (`prompt_injection`, `no_relevant_passage`,
`no_citation`, `ungrounded`, `censored`, `second_line_error`). The guardrails are optional
duck-typed objects (SECOND_LINE_CONTRACT.md), run in the contract's order.

Every LLM call is bounded: it runs in a worker thread with a deadline; past it, or on any
error, the configured fallback (extractive, or a hand-off) answers, so a dead backend never
hangs a request. A generated answer the grounding check rejects or the censor blocks is
regenerated once, extractively (fallback `extractive`), before the dialog is handed off.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Protocol

from router.policy import Decision, Turn
from second_line.citations import citations_for, clean_citations
from second_line.extractive import ExtractiveGenerator
from second_line.retrieval import HybridRetriever
from second_line.streaming import SENTENCE_SINK, sentences
from second_line.types import GeneratedAnswer, Passage

log = logging.getLogger("twoline.second_line")


class Generator(Protocol):
    name: str

    def warm_up(self) -> None: ...

    def run(
        self, question: str, passages: list[Passage], deadline: float | None = None
    ) -> GeneratedAnswer: ...


@dataclass
class Guards:
    """Optional guardrails (duck-typed, see SECOND_LINE_CONTRACT.md); None skips that step."""

    injection: Any = None  # .run(text) -> .is_injection, .score, .rule
    pii: Any = None  # .redact(text, language) -> str
    grounding: Any = None  # .run(answer, [passage texts]) -> .rejected, .text, .reason, .sentences
    censor: Any = None  # .run(text, language) -> .action, .text, .category, .score

    def warm_up(self) -> None:
        for guard in (self.injection, self.pii, self.grounding, self.censor):
            if guard is not None and hasattr(guard, "warm_up"):
                guard.warm_up()


class SecondLineAnswerer:
    def __init__(
        self,
        retriever: HybridRetriever,
        generator: Generator,
        extractive: ExtractiveGenerator,
        handoff_message: dict[str, str],
        top_k: int = 5,
        relevance_floor: float = 0.5,
        timeout_s: float = 20.0,
        fallback: str = "extractive",
        guards: Guards | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.extractive = extractive
        self.handoff_message = handoff_message
        self.top_k = top_k
        self.relevance_floor = relevance_floor
        self.timeout_s = timeout_s
        self.fallback = fallback
        self.guards = guards or Guards()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="second-line")

    def warm_up(self) -> None:
        self.retriever.warm_up()
        self.extractive.warm_up()
        self.generator.warm_up()
        self.guards.warm_up()

    # -- the pipeline -------------------------------------------------------------------
    def answer(self, turn: Turn) -> Decision:
        language = turn.profile.language or "en"
        try:
            return self._answer(turn.text, language)
        except Exception as exc:  # the client gets a person, never an error page
            log.exception("second line failed")
            return self._handoff(language, "second_line_error", {"error": type(exc).__name__})

    def _answer(self, question: str, language: str) -> Decision:
        record: dict = {}
        if self.guards.injection is not None:
            verdict = self.guards.injection.run(question)
            record["injection"] = _dump(verdict)
            if verdict.is_injection:
                return self._handoff(language, "prompt_injection", record)
        retrieved = self.retriever.run(question, self.top_k)
        record["retrieval"] = {
            "best_cosine": round(retrieved.best_cosine, 4),
            "floor": self.relevance_floor,
            "latency_ms": round(retrieved.latency_ms, 2),
        }
        record["passages"] = [
            {"chunk_id": p.chunk_id, "title": p.title, "score": p.score} for p in retrieved.passages
        ]
        if not retrieved.passages or retrieved.best_cosine < self.relevance_floor:
            return self._handoff(language, "no_relevant_passage", record)
        prompt_question = question
        if self.guards.pii is not None and self.generator.name == "openai":
            prompt_question = self.guards.pii.redact(question, language)
        sink = SENTENCE_SINK.get()
        if sink is not None and hasattr(self.generator, "stream"):
            streamed = self._stream(prompt_question, retrieved.passages, language, record, sink)
            if streamed is not None:
                return streamed
            answer, failure = self.extractive.run(question, retrieved.passages), "nothing_released"
            answer = answer if answer.text else None
        else:
            answer, failure = self._generate(prompt_question, question, retrieved.passages)
        record |= {"backend": answer.backend if answer else None, "model": answer.model if answer else None}
        if failure:
            record["generator_failure"] = failure
        if answer is None:
            return self._handoff(language, failure or "no_citation", record)
        text, rejection = self._guarded(answer, language, record)
        if rejection and answer.backend != "extractive" and self.fallback == "extractive":
            # Regenerate once: the extractive answer is made of the passages' own sentences.
            log.info("generated answer rejected, answering extractively", extra={"why": rejection})
            record["rejected_generation"] = {"reason": rejection, "backend": answer.backend}
            answer = self.extractive.run(question, retrieved.passages)
            record["backend"], record["model"] = answer.backend, answer.model
            text, rejection = (None, "no_citation")
            if answer.text:
                text, rejection = self._guarded(answer, language, record)
        if rejection:
            return self._handoff(language, rejection, record)
        citations = citations_for(text, answer.passages)
        return Decision(
            kind="answer",
            reason="second_line_answer",
            reply=text,
            scores={"second_line": record, "citations": [c.model_dump() for c in citations]},
        )

    def _stream(
        self, question: str, passages: list[Passage], language: str, record: dict, sink
    ) -> Decision | None:
        """Generate and release sentence by sentence (second_line/streaming.py); the answer made of the
        released sentences, or None when none could be released."""
        deadline = time.monotonic() + self.timeout_s
        released: list[str] = []
        log_rows: list[dict] = []
        stopped, pieces = None, None
        try:
            shown, pieces = self.generator.stream(question, passages, deadline)
            for sentence in sentences(pieces):
                text, verdict = self._checked_sentence(sentence, shown, language)
                log_rows.append({"sentence": sentence, "verdict": verdict})
                if verdict == "censored":
                    stopped = "censored"
                    break
                if text is not None:
                    released.append(text)
                    sink(text)
                if time.monotonic() > deadline:
                    stopped = "timeout"
                    break
        except Exception as exc:  # the server failed mid-answer: keep what was released
            stopped = "timeout" if "Timeout" in type(exc).__name__ else f"error:{type(exc).__name__}"
        finally:
            if hasattr(pieces, "close"):
                pieces.close()  # stops generating (and frees the embedded model's lock)
        record |= {"backend": self.generator.name, "model": getattr(self.generator, "model", None)}
        record["stream"] = {"sentences": log_rows, "released": len(released), "stopped": stopped}
        if not released:
            return None
        text = " ".join(released)
        citations = citations_for(text, shown)
        return Decision(
            kind="answer",
            reason="second_line_answer",
            reply=text,
            scores={"second_line": record, "citations": [c.model_dump() for c in citations]},
        )

    def _checked_sentence(
        self, sentence: str, passages: list[Passage], language: str
    ) -> tuple[str | None, str]:
        """(the sentence to release, "released"), or (None, why it is held back)."""
        text = clean_citations(sentence, len(passages))
        if not citations_for(text, passages):
            return None, "no_citation"
        if self.guards.grounding is not None:
            grounding = self.guards.grounding.run(text, [p.text for p in passages])
            if not all(s.supported for s in grounding.sentences):
                return None, "ungrounded"
            if not any(s.reason == "verified" for s in grounding.sentences):
                return None, "no_claim"  # a question back or a restated title is no answer on its own
        if self.guards.censor is not None:
            verdict = self.guards.censor.run(text, language)
            if verdict.action == "block":
                return None, "censored"
            text = verdict.text
        return text, "released"

    def _guarded(self, answer: GeneratedAnswer, language: str, record: dict) -> tuple[str | None, str | None]:
        """The grounding check, then the censor: (the text to send, None) or (None, the hand-off reason)."""
        text = answer.text
        if self.guards.grounding is not None:
            grounding = self.guards.grounding.run(text, [p.text for p in answer.passages])
            record["grounding"] = _dump(grounding)
            if grounding.rejected:
                return None, "ungrounded"
            text = grounding.text
        if self.guards.censor is not None:
            verdict = self.guards.censor.run(text, language)
            record["censor"] = _dump(verdict)
            if verdict.action == "block":
                return None, "censored"
            text = verdict.text
        if not citations_for(text, answer.passages):  # the guardrails may have dropped every cited sentence
            return None, "no_citation"
        return text, None

    def _generate(
        self, prompt_question: str, question: str, passages: list[Passage]
    ) -> tuple[GeneratedAnswer | None, str | None]:
        """The configured backend within the deadline, then the fallback; (answer, why the backend failed)."""
        failure = None
        if self.generator.name != "extractive":
            deadline = time.monotonic() + self.timeout_s
            future = self._pool.submit(self.generator.run, prompt_question, passages, deadline)
            try:
                answer = future.result(timeout=self.timeout_s + 1.0)
                answer = answer.model_copy(
                    update={"text": clean_citations(answer.text, len(answer.passages))}
                )
                if citations_for(answer.text, answer.passages):
                    return answer, None
                failure = "no_citation"
            except FutureTimeout:
                failure = "timeout"
            except Exception as exc:  # connection refused, HTTP 5xx, the client's own timeout, ...
                failure = "timeout" if "Timeout" in type(exc).__name__ else f"error:{type(exc).__name__}"
            log.warning("generator failed, falling back", extra={"why": failure, "fallback": self.fallback})
            if self.fallback != "extractive":
                return None, "no_citation" if failure == "no_citation" else "second_line_error"
        answer = self.extractive.run(question, passages)
        return (answer if answer.text else None), failure

    def _handoff(self, language: str, reason: str, record: dict) -> Decision:
        message = self.handoff_message.get(language) or next(iter(self.handoff_message.values()), None)
        return Decision(kind="handoff", reason=reason, reply=message, scores={"second_line": record})


def _dump(value: Any) -> Any:
    return value.model_dump() if hasattr(value, "model_dump") else value
