"""What the router knows about the client before the policy runs: the message's sentiment and the
client's daily VOC-risk score. Both are optional signals: if reading one fails, the turn goes on
without it (logged), the policy's gates simply do not fire.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from sqlalchemy import Engine

from first_line.artifacts import ArtifactError
from first_line.intent_model import IntentModel, reads_this_intent_encoder
from first_line.likes_model import LikesModel
from first_line.multilingual_encoder import MultilingualEncoder
from first_line.sentiment_model import SentimentModel
from router.store.risk_scores import RiskScores

log = logging.getLogger("twoline.signals")


class ClientSignals:
    def __init__(self, sentiment: SentimentModel, risk_scores: RiskScores, risk_max_age_days: int) -> None:
        self.sentiment = sentiment
        self.risk_scores = risk_scores
        self.risk_max_age_days = risk_max_age_days

    @classmethod
    def load(
        cls,
        sentiment_dir,
        engine: Engine,
        risk_max_age_days: int,
        intent_model: IntentModel | None = None,
        threads: int = 1,
    ) -> ClientSignals:
        """Sentiment reads English through the intent model's encoder (cached embeddings)."""
        sentiment = SentimentModel(
            sentiment_dir,
            MultilingualEncoder(threads=threads),
            intent_model.encoder if intent_model else None,
            intent_model.manifest if intent_model else None,
        )
        sentiment.warm_up()
        return cls(sentiment, RiskScores(engine), risk_max_age_days)

    def negativity(self, text: str) -> float | None:
        if not text.strip():
            return None
        try:
            return self.sentiment.score(text)
        except Exception:
            log.exception("sentiment failed")
            return None

    def voc_risk(self, client_id: str, today: date) -> float | None:
        try:
            return self.risk_scores.score_of(client_id, today - timedelta(days=self.risk_max_age_days))
        except Exception:
            log.exception("reading the risk score failed")
            return None


def load_likes_model(likes_dir, intent_model: IntentModel) -> LikesModel:
    """The likes model on the intent model's encoder; refused if trained on another encoder."""
    likes = LikesModel(likes_dir, intent_model.encoder)
    if not reads_this_intent_encoder(likes.manifest.depends_on, intent_model.manifest):
        raise ArtifactError(f"{likes_dir}: trained on another intent model; run `twoline train likes`")
    return likes
