"""Streaming the second line's answer, one checked sentence at a time.

A bank must not show a client a sentence no guardrail has seen. So tokens are never forwarded: the
generated text is cut into sentences as it arrives, and each sentence is released (handed to the
sink) only after it passed what the whole answer would pass: it carries a valid citation, the
grounding check (facts rule + verifier) verifies it as a supported claim (a question back or a restated
title is held back: alone it is no answer), and the censor allows it (or rewrites it; the rewrite is
released). An unsupported or uncited sentence is dropped, never shown; a blocked one ends
the stream. The stored decision is exactly the released sentences, so what the client saw is what the
dialog records. When nothing could be released, the answer falls back to the extractive one, checked
whole, and comes only in the final message.

The sink is a context variable (`SENTENCE_SINK`), so the router's call path (API → assistant →
policy → second line) needs no new parameter: the streaming endpoint sets it for its request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar

SENTENCE_SINK: ContextVar[Callable[[str], None] | None] = ContextVar("sentence_sink", default=None)
"""Set by a streaming request: called with each released sentence."""
ACCEPTED_SINK: ContextVar[Callable[[str, int], None] | None] = ContextVar("accepted_sink", default=None)
"""Set by a streaming request: called with (dialog id, message id) once the client's message is stored,
so a client whose stream breaks knows which dialog to poll, even for a first message."""

_SENTENCE = re.compile(r"^(.+?[.!?](?:\s*\[\d{1,2}\])*)\s+(?=[^\s\[])")
"""A sentence: up to end punctuation and the citation markers right after it, complete once the next
sentence has visibly begun (a marker may still follow the period until then)."""
_LINE = re.compile(r"^([^\n]*\S[^\n]*)\n\s*(?=[^\s\[])")
"""A line break ends a sentence too (a small model starts lists and headings without punctuation)."""


class SentenceBuffer:
    """Accumulates streamed text; `feed` returns the sentences completed so far, `flush` the rest."""

    def __init__(self) -> None:
        self._text = ""

    def feed(self, piece: str) -> list[str]:
        self._text += piece
        done = []
        while matches := [m for m in (_SENTENCE.match(self._text), _LINE.match(self._text)) if m]:
            first = min(matches, key=lambda m: m.end(1))
            done.append(first.group(1).strip())
            self._text = self._text[first.end() :]
        return done

    def flush(self) -> list[str]:
        rest, self._text = self._text.strip(), ""
        return [rest] if rest else []


def sentences(pieces: Iterator[str]) -> Iterator[str]:
    """The complete sentences of a token stream, as soon as each is complete."""
    buffer = SentenceBuffer()
    for piece in pieces:
        yield from buffer.feed(piece)
    yield from buffer.flush()


def sse(event: str, data: str) -> str:
    """One server-sent event (`data` is JSON on one line)."""
    return f"event: {event}\ndata: {data}\n\n"


def stream_events(run: Callable[[], str], error: Callable[[Exception], str]) -> Iterator[str]:
    """Server-sent events of one request: `run()` (the whole turn, returning the final response as JSON)
    runs in a worker thread with `SENTENCE_SINK` and `ACCEPTED_SINK` set; `accepted` (`{dialog_id,
    message_id}`) comes as soon as the message is stored, each released sentence becomes a `sentence`
    event at once, then the final `message` event (or `error`, with `error(exc)` as its data)."""
    import contextvars
    import json
    import queue
    import threading

    events: queue.Queue[tuple[str, str]] = queue.Queue()

    def work() -> None:
        SENTENCE_SINK.set(lambda text: events.put(("sentence", json.dumps({"text": text}))))
        ACCEPTED_SINK.set(
            lambda dialog_id, message_id: events.put(
                ("accepted", json.dumps({"dialog_id": dialog_id, "message_id": message_id}))
            )
        )
        try:
            events.put(("message", run()))
        except Exception as exc:  # reported to the client as an event, never a broken stream
            events.put(("error", error(exc)))

    threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True).start()
    while True:
        event, data = events.get()
        yield sse(event, data)
        if event not in ("sentence", "accepted"):
            return
