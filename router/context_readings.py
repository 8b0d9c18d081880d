"""The intent encoder's readings of client messages, kept in the dialog store for the client's next turns.

The intent model reads a message with the client's earlier messages of the last days as context
(`first_line/intent_model.py`), each embedded by MiniLM. A worker's embedding cache holds the ones it
embedded itself, but a client's next message lands in any of the service's workers, and a restart
empties every cache: in the load test, embedding the context again was ~18% of a worker's time. So the
embedding of each message (when MiniLM read it as written) is stored with it (`messages.reading`,
encrypted like the text), and a turn puts the stored embeddings of its context back in the cache first.
A stored embedding is the float32 vector the same graph computed, so the turn reads exactly what it would
have computed; one of another graph (a retrained intent model) is not used.

Neither step may cost the client the turn: a failure is logged and the turn goes on, embedding afresh.
"""

from __future__ import annotations

import logging

from first_line.text_encoder import TextEncoder, reading_from_text, reading_text
from router.store.dialog_store import StoredReading, TurnContext

log = logging.getLogger("twoline.assistant")


class ContextReadings:
    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        """The intent model's encoder: the one that reads a turn's context."""

    def to_store(self, text: str) -> StoredReading | None:
        """The encoder's embedding of the message as written, when this turn computed it; else None."""
        try:
            vector = self.encoder.cached(text) if text.strip() else None
            return None if vector is None else StoredReading(self.encoder.graph_digest, reading_text(vector))
        except Exception:
            log.exception("reading not stored")
            return None

    def recall(self, known: TurnContext) -> None:
        """Put the stored readings of the client's earlier messages in the encoder's cache; a reading of
        another graph, or one that does not decode, is left alone (the message is embedded again)."""
        try:
            digest, dimension = self.encoder.graph_digest, self.encoder.dimension
            for text, reading in zip(known.recent_texts, known.recent_readings, strict=True):
                if reading is None or reading.encoder != digest or self.encoder.cached(text) is not None:
                    continue
                vector = reading_from_text(reading.vector, dimension)
                if vector is not None:
                    self.encoder.remember(text, vector)
        except Exception:
            log.exception("stored readings not recalled")
