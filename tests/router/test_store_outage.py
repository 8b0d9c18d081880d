"""A dead database, for real: the service talks to PostgreSQL through a TCP relay that the test cuts and
restores. While it is cut every endpoint that needs the store answers 503 `store_unavailable` with
Retry-After, /metrics still answers (`twoline_store_up 0`), and the message retried afterwards with its
`client_message_id` is stored once."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.integration

OPERATOR = {"Authorization": "Bearer test-operator-key"}


class Relay:
    """Forwards a local port to `target`; `cut()` drops every connection and refuses new ones until
    `restore()`, as a database host that went away would."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=True)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
            listener, self._listener = self._listener, None
        for sock in [listener, *sockets]:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def relay(postgres_url):
    url = make_url(postgres_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.restore()
    yield relay
    relay.cut()


@pytest.fixture
def api_through(relay, postgres_url, settings):
    from router.app import create_app
    from router.assistant import Assistant

    relayed = make_url(postgres_url).set(host="127.0.0.1", port=relay.port)
    settings = settings.model_copy(update={"database_url": relayed.render_as_string(hide_password=False)})
    assistant = Assistant.load(settings)
    with TestClient(create_app(settings, assistant)) as client:
        client.headers["Authorization"] = "Bearer test-client-key"
        yield client
    assistant.store.engine.dispose()


def test_a_database_outage_is_a_503_to_retry_and_loses_nothing(api_through, relay):
    api = api_through
    first = api.post("/v1/messages", json={"client_id": "c-out", "text": "How do I top up by card?"}).json()
    dialog = first["dialog_id"]
    message = {
        "client_id": "c-out",
        "dialog_id": dialog,
        "text": "Is there a fee?",
        "client_message_id": "m-2",
    }

    relay.cut()
    refused = [
        api.post("/v1/messages", json=message),
        api.get(f"/v1/dialogs/{dialog}"),
        api.get(f"/v1/dialogs/{dialog}/messages"),
        api.post("/v1/feedback", json={"dialog_id": dialog, "voc": 4}),
        api.get("/v1/handoffs", headers=OPERATOR),
    ]
    for response in refused:
        assert (response.status_code, response.json()["error"]["code"]) == (503, "store_unavailable")
        assert response.headers["Retry-After"] == "1"
    metrics = api.get("/metrics")
    assert metrics.status_code == 200 and "twoline_store_up 0.0" in metrics.text
    assert "twoline_request_errors_total" in metrics.text, "the process's own counters still show"

    relay.restore()
    retried = api.post("/v1/messages", json=message)
    assert retried.status_code == 200 and retried.json()["retry"] is False
    assert "twoline_store_up 1.0" in api.get("/metrics").text
    texts = [m["text"] for m in api.get(f"/v1/dialogs/{dialog}").json()["messages"] if m["role"] == "client"]
    assert texts == ["How do I top up by card?", "Is there a fee?"]
