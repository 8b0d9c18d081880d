"""A client message's embedding by the intent encoder is stored with it: a later turn that lands in
another worker, or after a restart, reads it as context from the store instead of embedding it again, and
reads exactly what a fresh embedding would have given."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select, update

from first_line.text_encoder import reading_from_text, reading_text
from router.assistant import Assistant
from router.store.models import Message

FIRST = "I ordered a new card two weeks ago and it still has not arrived"
FOLLOW_UP = "is there a way to track its delivery status?"


def counted_runs(encoder, method: str = "_run") -> list[list[str]]:
    """The texts `encoder` embeds from now on, one list per graph run (`method`: the one that runs it)."""
    runs: list[list[str]] = []
    original = getattr(encoder, method)

    def run(texts, session=None):
        runs.append(list(texts))
        return original(texts, session)

    setattr(encoder, method, run)
    return runs


def stored(assistant: Assistant, client_id: str, text: str) -> tuple[str | None, str | None]:
    with assistant.store.engine.connect() as connection:
        query = select(Message.reading, Message.reading_of).where(
            Message.client_id == client_id, Message.text == text
        )
        return tuple(connection.execute(query).one())


def forget_reading(assistant: Assistant, client_id: str, **values: str) -> None:
    with assistant.store.engine.begin() as connection:
        where = (Message.client_id == client_id, Message.text == FIRST)
        connection.execute(update(Message).where(*where).values(**values))


def test_another_worker_reads_the_context_from_the_store_exactly(settings):
    first = Assistant.load(settings)
    opened = {client: first.handle(client, FIRST).dialog_id for client in ("stored", "recomputed")}
    vector, graph = stored(first, "stored", FIRST)
    encoder = first.readings.english
    assert graph == encoder.graph_digest
    assert np.array_equal(reading_from_text(vector, encoder.dimension), encoder.encode([FIRST])[0])

    other = Assistant.load(settings)  # another worker: its own empty cache
    runs = counted_runs(other.readings.english)
    answer = other.handle("stored", FOLLOW_UP, dialog_id=opened["stored"])
    assert runs == [[FOLLOW_UP]], "the context came from the store"
    assert stored(other, "stored", FOLLOW_UP)[1] == encoder.graph_digest

    forget_reading(first, "recomputed", reading_of="another graph")
    fresh = Assistant.load(settings)  # the same turn with the context embedded afresh
    runs = counted_runs(fresh.readings.english)
    again = fresh.handle("recomputed", FOLLOW_UP, dialog_id=opened["recomputed"])
    assert sorted(runs) == [[FIRST], [FOLLOW_UP]], "another graph's reading is not reused"
    assert (again.kind, again.intent, again.confidence) == (answer.kind, answer.intent, answer.confidence)


def test_a_damaged_reading_is_computed_again_not_trusted(settings):
    first = Assistant.load(settings)
    digest = first.readings.english.graph_digest
    for number, damaged in enumerate(
        ("not base64!", reading_text(np.ones(3)), reading_text(np.full(384, np.nan)))
    ):
        client = f"client-{number}"
        opened = first.handle(client, FIRST)
        forget_reading(first, client, reading=damaged)
        other = Assistant.load(settings)
        runs = counted_runs(other.readings.english)
        answer = other.handle(client, FOLLOW_UP, dialog_id=opened.dialog_id)
        assert sorted(runs) == [[FIRST], [FOLLOW_UP]] and answer.kind in ("answer", "clarify", "handoff")
        assert stored(other, client, FOLLOW_UP)[1] == digest


def test_a_failing_reading_costs_the_turn_nothing(assistant, monkeypatch, caplog):
    def broken(text):
        raise RuntimeError("cache is gone")

    opened = assistant.handle("client-3", FIRST)  # its reading is stored
    monkeypatch.setattr(assistant.readings.english, "cached", broken)
    answer = assistant.handle("client-3", FOLLOW_UP, dialog_id=opened.dialog_id)
    assert answer.reason != "assistant_error" and answer.reply
    assert stored(assistant, "client-3", FOLLOW_UP) == (None, None)
    assert "stored readings not recalled" in caplog.text and "reading not stored" in caplog.text


RU_FIRST = "Я заказал новую карту две недели назад, а она так и не пришла"
RU_FOLLOW_UP = "спасибо, это всё"


def test_a_russian_message_is_stored_as_e5_read_it(settings):
    first = Assistant.load(settings)
    opened = first.handle("client-ru", RU_FIRST)
    e5 = first.readings.russian
    vector, graph = stored(first, "client-ru", RU_FIRST)
    assert graph == e5.graph_digest != first.readings.english.graph_digest
    assert np.array_equal(reading_from_text(vector, e5.dimension), e5.encode([RU_FIRST])[0])

    other_first = "Месяц назад заказал карту, её всё нет"
    unread = first.handle("client-ru-2", other_first)
    with first.store.engine.begin() as connection:
        where = (Message.client_id == "client-ru-2", Message.text == other_first)
        connection.execute(update(Message).where(*where).values(reading=None, reading_of=None))

    other = Assistant.load(settings)  # another worker
    runs = counted_runs(other.readings.russian, "_embed")
    other.handle("client-ru", RU_FOLLOW_UP, dialog_id=opened.dialog_id)
    assert [RU_FIRST] not in runs and [RU_FOLLOW_UP] in runs, runs
    other.handle("client-ru-2", "спасибо большое", dialog_id=unread.dialog_id)
    assert [other_first] in runs, "without its stored reading the previous message is embedded again"
