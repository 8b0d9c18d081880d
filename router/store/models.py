"""Tables of the dialog store (SQLAlchemy 2). The schema itself is owned by Alembic migrations."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from router.store.encryption import EncryptedJSON, EncryptedText


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str | None] = mapped_column(String(8))
    age: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(8))
    first_name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Dialog(Base):
    __tablename__ = "dialogs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open → handed_off (an operator owns it) → closed."""
    voc_score: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    last_decision_kind: Mapped[str | None] = mapped_column(String(16), index=True)
    """The kind of the bot's last decision here (`clarify`: the dialog waits on the bot's question); read by
    `/metrics` for the dialogs left on a question."""


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("client_id", "client_message_id", name="uq_messages_client_message_id"),
        Index("ix_messages_client_created", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dialog_id: Mapped[str] = mapped_column(ForeignKey("dialogs.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    """client | bot | operator"""
    author: Mapped[str | None] = mapped_column(String(64))
    """The operator's name for role `operator` (the console's X-Operator header); None otherwise."""
    text: Mapped[str] = mapped_column(EncryptedText, default="")
    """Encrypted at rest when TWOLINE_ENCRYPTION_KEY is set (router/store/encryption.py), as are the
    columns typed Encrypted* below: SQL cannot search or measure them."""
    button_payload: Mapped[str | None] = mapped_column(String(128))
    client_message_id: Mapped[str | None] = mapped_column(String(64))
    """The client's own id for the message: a retry with the same id is answered, not stored twice."""
    buttons: Mapped[list | None] = mapped_column(JSON)
    sentiment: Mapped[float | None] = mapped_column(Float)
    """P(negative) of a client message (first_line/sentiment_model.py); None when not scored."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ocr_text: Mapped[str | None] = mapped_column(EncryptedText)
    """The text read from the screenshot the client sent with this message (stored after OCR)."""
    reading: Mapped[str | None] = mapped_column(EncryptedText)
    """The embedding of a client message (base64 float32) by the encoder its language is read with (MiniLM
    for English, E5 for Russian), stored with the decision so that the client's later turns read it as
    context without running the encoder again, in whichever worker they land, after a restart too
    (router/context_readings.py); None when no encoder read the message as written."""
    reading_of: Mapped[str | None] = mapped_column(String(16))
    """Which encoder graph made `reading` (its file digest): another graph's reading is not reused."""


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dialog_id: Mapped[str] = mapped_column(ForeignKey("dialogs.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    """The client message decided upon."""
    reply_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(48), index=True)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    pool: Mapped[str | None] = mapped_column(String(64))
    scores: Mapped[dict] = mapped_column(EncryptedJSON, default=dict)
    """Top intents and pools with probabilities, entities (what the client wrote: names, amounts),
    response variant, model versions."""
    latency_ms: Mapped[float | None] = mapped_column(Float)
    variant: Mapped[str | None] = mapped_column(String(32), index=True)
    """The A/B experiment variant the client was in (router/experiments.py)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dialog_id: Mapped[str] = mapped_column(ForeignKey("dialogs.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """like | dislike (of one bot message) | voc (1..5 for the dialog)"""
    score: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


REACTIONS = ("like", "dislike")


def last_reaction_ids(*window) -> Select:
    """The ids of the reactions that count: the last like or dislike given to each bot message (within
    `window`, conditions on `Feedback.created_at`, for a point-in-time reading). A second tap or a change of
    mind is stored as a row of its own (the history stays), and replaces the earlier one for the likes
    model's training pairs, the reaction counts and the VOC-risk features."""
    return (
        select(func.max(Feedback.id))
        .where(Feedback.kind.in_(REACTIONS), *window)
        .group_by(Feedback.message_id)
    )


def last_voc_ids(*window) -> Select:
    """The ids of the VOC scores that count: the last one each dialog got (within `window`, as above). A
    client who rates a dialog again changes its score, not the number of scores."""
    return select(func.max(Feedback.id)).where(Feedback.kind == "voc", *window).group_by(Feedback.dialog_id)


class HandoffTicket(Base):
    __tablename__ = "handoff_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dialog_id: Mapped[str] = mapped_column(ForeignKey("dialogs.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(48))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    """open | claimed | closed"""
    priority: Mapped[int] = mapped_column(Integer, default=0)
    summary: Mapped[dict] = mapped_column(EncryptedJSON, default=dict)
    """router/handoff.py: the last messages, OCR texts and entities among the rest."""
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    """The operator who owns the ticket while it is `claimed` (kept after closing: who closed it)."""
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(32))
    """Set on closing: resolved | unresolved | client_left | returned_to_bot (router/ticket_store.py)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ClientRisk(Base):
    """The daily VOC-risk score of each client (`twoline risk score`); the risk gate reads it."""

    __tablename__ = "client_risk"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    """P(the client's next satisfaction score is low), LightGBM (first_line/voc_risk_model.py)."""
    scored_on: Mapped[date] = mapped_column(Date)
    model_version: Mapped[str] = mapped_column(String(32))
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
