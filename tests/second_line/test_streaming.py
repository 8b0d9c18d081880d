"""Streaming the second-line answer sentence by sentence, against the real llama.cpp server."""

from __future__ import annotations

import json
import re

import pytest

from router.policy import Turn
from second_line.answerer import Guards
from second_line.config import SecondLineSettings
from second_line.factory import build_second_line
from second_line.streaming import SENTENCE_SINK, SentenceBuffer, stream_events
from tests.conftest import DOMAIN_DIR
from tests.second_line.test_api import rag_api  # noqa: F401 (fixture)
from tests.second_line.test_llm_backends import QUESTION, llama_server  # noqa: F401 (fixture)


def test_a_sentence_is_complete_once_the_next_one_begins():
    buffer = SentenceBuffer()
    assert buffer.feed("You can dispute a charge.") == []  # a citation may still follow
    assert buffer.feed(" [1] Write to") == ["You can dispute a charge. [1]"]
    assert buffer.feed(" the issuer within 60 days [2]. Keep") == ["Write to the issuer within 60 days [2]."]
    assert buffer.flush() == ["Keep"]
    assert buffer.flush() == []
    assert buffer.feed("Steps [1]\n- call us") == ["Steps [1]"]  # a line break ends one too
    assert buffer.feed(" today. [2]\n") == []
    assert buffer.flush() == ["- call us today. [2]"]


def test_events_stream_each_sentence_then_the_final_message():
    def run() -> str:
        for text in ("One [1].", "Two [1]."):
            SENTENCE_SINK.get()(text)
        return json.dumps({"reply": "One [1]. Two [1]."})

    events = list(stream_events(run, lambda exc: "{}"))
    assert [e.split("\n")[0] for e in events] == ["event: sentence", "event: sentence", "event: message"]
    assert json.loads(events[0].split("data: ")[1]) == {"text": "One [1]."}
    failing = list(stream_events(lambda: 1 / 0, lambda exc: json.dumps({"code": type(exc).__name__})))
    assert failing == ['event: error\ndata: {"code": "ZeroDivisionError"}\n\n']
    assert SENTENCE_SINK.get() is None  # the sink lives only in the request's worker thread


class BlockEverything:
    """A censor rule for this test: blocks every text (the trained censor comes from guardrails/)."""

    def run(self, text: str, language: str):
        from pydantic import BaseModel

        class Verdict(BaseModel):
            action: str = "block"
            text: str = ""
            category: str = "test"
            score: float = 1.0

        return Verdict()


def _answerer(llama_server, kb_index, domain, guards=None):  # noqa: F811
    config = SecondLineSettings(
        index_dir=kb_index,
        backend="openai",
        openai_base_url=llama_server,
        timeout_s=180,  # as in test_llm_backends: the other test worker may keep a core busy
        max_new_tokens=96,
        guardrails=guards is not None,
    )
    return build_second_line(config, kb_index.parent, domain, DOMAIN_DIR, guards=guards)


@pytest.mark.integration
@pytest.mark.slow
def test_released_sentences_are_cited_and_are_the_stored_answer(llama_server, kb_index, domain):  # noqa: F811
    answerer = _answerer(llama_server, kb_index, domain)
    released: list[str] = []
    token = SENTENCE_SINK.set(released.append)
    try:
        decision = answerer.answer(Turn(dialog_key="d", text=QUESTION))
    finally:
        SENTENCE_SINK.reset(token)
    record = decision.scores["second_line"]
    assert decision.kind == "answer" and decision.scores["citations"]
    stream = record["stream"]
    assert stream["released"] == len(released) and stream["sentences"]
    assert all(re.search(r"\[[1-3]\]", sentence) for sentence in released)  # never an uncited sentence
    if released:
        assert decision.reply == " ".join(released) and record["backend"] == "openai"
    else:  # the 135M model cited nothing: the extractive answer, in the final message only
        assert record["generator_failure"] == "nothing_released" and record["backend"] == "extractive"


@pytest.mark.integration
@pytest.mark.slow
def test_a_blocked_sentence_is_never_streamed(llama_server, kb_index, domain):  # noqa: F811
    answerer = _answerer(llama_server, kb_index, domain, guards=Guards(censor=BlockEverything()))
    released: list[str] = []
    token = SENTENCE_SINK.set(released.append)
    try:
        decision = answerer.answer(Turn(dialog_key="d", text=QUESTION))
    finally:
        SENTENCE_SINK.reset(token)
    assert released == []
    assert (decision.kind, decision.reason) == ("handoff", "censored")


def test_the_stream_endpoint_ends_with_the_stored_message(rag_api):  # noqa: F811
    body = {"client_id": "c-stream", "text": "What is a jumbo loan?", "button": "intent:knowledge_question"}
    response = rag_api.post("/v1/messages/stream", json=body)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\n\n") if block]
    kind, data = events[-1].split("\n")
    assert kind == "event: message"
    message = json.loads(data.removeprefix("data: "))
    assert message["decision"]["reason"] == "second_line_answer" and message["reply"]["citations"]
    first, accepted = events[0].split("\n")
    assert first == "event: accepted"  # before any model ran: a broken stream still knows its dialog
    assert json.loads(accepted.removeprefix("data: "))["dialog_id"] == message["dialog_id"]
    stored = rag_api.get(f"/v1/dialogs/{message['dialog_id']}").json()
    assert stored["messages"][-1]["text"] == message["reply"]["text"]
    bad = rag_api.post("/v1/messages/stream", json={"client_id": "c-stream", "text": " "})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "empty_message"
