"""What the `openai` backend puts on the wire: the answer limit in exactly one field, the one the
settings name (OpenAI's API refuses both at once; llama.cpp's Python server reads only `max_tokens`).
A stdlib HTTP server on loopback records the request and answers in the chat-completions format."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from second_line.llm_backends import OpenAIGenerator
from second_line.types import Passage

REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "bank-llm",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Write to us within 60 days [1]."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
}


@pytest.fixture
def recording_server():
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            payload = json.dumps(REPLY).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", bodies
    server.shutdown()


@pytest.mark.parametrize(
    ("field", "other"), [("max_tokens", "max_completion_tokens"), ("max_completion_tokens", "max_tokens")]
)
def test_the_answer_limit_travels_in_exactly_one_field(recording_server, field, other):
    base_url, bodies = recording_server
    generator = OpenAIGenerator(
        base_url, "bank-llm", "key", ["Be polite."], max_tokens=96, token_limit_field=field
    )
    passage = Passage(chunk_id="c1", doc_id="d1", title="Disputes", text="Dispute within 60 days.", score=1.0)
    answer = generator.run("How long do I have to dispute a charge?", [passage])
    assert answer.text == "Write to us within 60 days [1]."
    assert generator.last_tokens == 9
    assert bodies[-1][field] == 96 and other not in bodies[-1]
    assert bodies[-1]["temperature"] == 0.0 and bodies[-1]["model"] == "bank-llm"
