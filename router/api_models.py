"""Request and response bodies of the chat API (/v1)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from first_line.domain import Language
from first_line.responses import ClientProfile
from first_line.text_input import StorableText
from router.policy import Button

CLIENT_ID_PATTERN = r"^[A-Za-z0-9_.:@-]{1,64}$"
ROW_ID_MAX = 2**63 - 1
"""The largest id a row can have (SQLite's INTEGER, PostgreSQL's bigint): a larger one is a 422, not a 500."""


def primary_language(value: Any) -> Any:
    """A BCP 47 tag's language, as apps send it: "ru-RU", "RU" and "en_GB" are "ru", "ru" and "en"."""
    if isinstance(value, str):
        return value.strip().lower().replace("_", "-").split("-")[0]
    return value


LanguageTag = Annotated[Language, BeforeValidator(primary_language)]
"""`en` or `ru`, from any BCP 47 tag of them; another language is a 422."""


class _Request(BaseModel):
    """Strict types: `true`, `"4"` or `4.0` is not the integer 4 (a VOC of `true` was stored as 1)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, strict=True)


class MessageRequest(_Request):
    client_id: str = Field(pattern=CLIENT_ID_PATTERN, description="The bank's id of the client.")
    dialog_id: str | None = Field(None, max_length=36, description="Omit to start a new dialog.")
    text: StorableText = Field("", description="The client's message; may be empty only with `button`.")
    button: str | None = Field(None, max_length=128, description="Payload of a clicked quick-reply button.")
    client_message_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        description="Retries with the same id are answered, not stored twice.",
    )
    language: LanguageTag | None = Field(
        None, description="The client's language, if the app knows it: `en` or `ru` (`ru-RU` reads as `ru`)."
    )
    image_base64: str | None = Field(
        None,
        description="A PNG or JPEG screenshot, base64 (TWOLINE_MAX_IMAGE_BYTES decoded); its text is read "
        "by OCR and classified with the message.",
    )


class Citation(BaseModel):
    """A source of a second-line answer: `[index]` in the reply text points here."""

    index: int
    title: str
    url: str | None = None


class ReplyBody(BaseModel):
    text: str
    buttons: list[Button] = []
    citations: list[Citation] = []


class DecisionBody(BaseModel):
    kind: str
    reason: str
    intent: str | None
    confidence: float | None


class MessageResponse(BaseModel):
    dialog_id: str
    message_id: int
    reply: ReplyBody | None
    reply_message_id: int | None
    decision: DecisionBody
    handoff_ticket_id: int | None
    retry: bool = False
    feedback_form: bool = False
    """The dialog looks over: show the VOC 1..5 form (answer with POST /v1/feedback `voc`)."""


class FeedbackRequest(_Request):
    dialog_id: str = Field(max_length=36)
    message_id: int | None = Field(
        None, ge=1, le=ROW_ID_MAX, description="The bot message liked or disliked."
    )
    reaction: Literal["like", "dislike"] | None = None
    voc: int | None = Field(None, ge=1, le=5, description="Satisfaction with the whole dialog, 1..5.")


class FeedbackResponse(BaseModel):
    feedback_id: int


class ClientProfileRequest(ClientProfile):
    model_config = ConfigDict(extra="forbid", strict=True)

    language: LanguageTag | None = None


class ClientErasureResponse(BaseModel):
    client_id: str
    deleted: dict[str, int]
    """Rows deleted per table (router/store/retention.py)."""


class MessageView(BaseModel):
    id: int
    role: str
    text: str
    button: str | None
    buttons: list[Button] | None
    created_at: str
    sentiment: float | None = None
    """P(negative) of a client message (the sentiment model)."""
    ocr_text: str | None = None


class DecisionView(BaseModel):
    message_id: int
    kind: str
    reason: str
    intent: str | None
    confidence: float | None
    threshold: float | None
    pool: str | None
    scores: dict
    latency_ms: float | None


class DialogView(BaseModel):
    dialog_id: str
    client_id: str
    status: str
    voc_score: int | None
    messages: list[MessageView]
    decisions: list[DecisionView]


class HandoffView(BaseModel):
    ticket_id: int
    dialog_id: str
    client_id: str
    reason: str
    status: str
    priority: int
    summary: dict
    created_at: str
    claimed_by: str | None = None
    """The operator who holds the ticket (X-Operator), and when they claimed it."""
    claimed_at: str | None = None
    outcome: str | None = None
    closed_at: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody
