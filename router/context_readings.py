"""The encoders' readings of client messages, kept in the dialog store for the client's next turns.

A turn reads the client's earlier messages too: the intent model reads the messages of the last days
as context (`first_line/intent_model.py`, MiniLM), the Russian end-of-dialog head the previous message
(`first_line/russian_dialog_end.py`, E5). An encoder's cache holds what its worker embedded itself,
but a client's next message lands in any of the service's workers, and a restart empties every cache:
in the load test, embedding the context again was ~18% of a worker's time. So each client message's
embedding, by the encoder that read it as written (E5 for a Russian message, MiniLM otherwise), is
stored with it (`messages.reading`, encrypted like the text), and a turn puts its context's stored
embeddings back in that encoder's cache first. A stored embedding is the float32 vector the same graph
computed, so the turn reads exactly what it would have computed; one of another graph (a retrained
intent model, another E5 build) is not used.

Neither step may cost the client the turn: a failure is logged and the turn goes on, embedding afresh.
"""

from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from first_line.language import looks_russian
from first_line.text_encoder import reading_from_text, reading_text
from router.store.dialog_store import StoredReading, TurnContext

log = logging.getLogger("twoline.assistant")


class ReadingEncoder(Protocol):
    """What `first_line.text_encoder.TextEncoder` (MiniLM) and `MultilingualEncoder` (E5) offer."""

    @property
    def graph_digest(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def cached(self, text: str) -> np.ndarray | None: ...

    def remember(self, text: str, vector: np.ndarray) -> None: ...


class ContextReadings:
    def __init__(self, english: ReadingEncoder, russian: ReadingEncoder | None = None) -> None:
        self.english = english
        """The intent model's MiniLM: reads an English message and the context of an English turn."""
        self.russian = russian
        """E5 (the sentiment model's, shared by the Russian models): reads a Russian message."""

    def to_store(self, text: str) -> StoredReading | None:
        """The embedding of the message as written by the encoder its language's models read it with, when
        this turn computed it; else None."""
        try:
            if not text.strip():
                return None
            for encoder in self._readers_of(text):
                vector = encoder.cached(text)
                if vector is not None:
                    return StoredReading(encoder.graph_digest, reading_text(vector))
            return None
        except Exception:
            log.exception("reading not stored")
            return None

    def recall(self, known: TurnContext) -> None:
        """Put the stored readings of the client's earlier messages in their encoder's cache; a reading of
        another graph, or one that does not decode, is left alone (the message is embedded again)."""
        try:
            encoders = {encoder.graph_digest: encoder for encoder in self._encoders()}
            for text, reading in zip(known.recent_texts, known.recent_readings, strict=True):
                encoder = encoders.get(reading.encoder) if reading else None
                if encoder is None or encoder.cached(text) is not None:
                    continue
                vector = reading_from_text(reading.vector, encoder.dimension)
                if vector is not None:
                    encoder.remember(text, vector)
        except Exception:
            log.exception("stored readings not recalled")

    def _encoders(self) -> list[ReadingEncoder]:
        return [self.english] + ([self.russian] if self.russian is not None else [])

    def _readers_of(self, text: str) -> list[ReadingEncoder]:
        """The encoders to store a reading of, the one the message's language is read with first."""
        encoders = self._encoders()
        return encoders[::-1] if looks_russian(text) else encoders
