"""A real uvicorn server on loopback: start-up checks, a dialog over HTTP, nothing lost."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from router.huge_pages import SETTING, has_the_tunable
from tests.conftest import DATA_DIR, DOMAIN_DIR

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(artifacts_dir: Path, database: Path, domain_dir: Path = DOMAIN_DIR) -> dict[str, str]:
    inherited = {name: value for name, value in os.environ.items() if name != "GLIBC_TUNABLES"}
    return inherited | {
        "TWOLINE_DOMAIN_DIR": str(domain_dir),
        "TWOLINE_DATA_DIR": str(DATA_DIR),
        "TWOLINE_ARTIFACTS_DIR": str(artifacts_dir),
        "TWOLINE_DATABASE_URL": f"sqlite:///{database}",
        "TWOLINE_CLIENT_API_KEY": "e2e-client",
        "TWOLINE_OPERATOR_API_KEY": "e2e-operator",
        "TWOLINE_USE_NER": "false",
        "TWOLINE_WORKERS": "1",  # one process serves the models it checked; several: see the test below
        "HF_HUB_OFFLINE": "1",
    }


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`twoline serve` on a free port; the process and its base URL once /readyz answers 200."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "router.cli", "serve", "--no-train-missing", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.5)
        if process.poll() is not None:
            pytest.fail(f"server exited: {process.stdout.read()}")
    process.kill()
    pytest.fail("server did not become ready in 120 s")


@pytest.fixture
def server(artifacts_dir, tmp_path):
    process, base = start_server(server_env(artifacts_dir, tmp_path / "e2e.db"))
    yield base, tmp_path / "e2e.db", process.pid
    process.terminate()
    process.wait(timeout=30)


def test_dialog_over_http_and_every_message_stored(server):
    base, database, _ = server
    headers = {"Authorization": "Bearer e2e-client"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        first = client.post("/v1/messages", json={"client_id": "e2e", "text": "hello"}).json()
        dialog = first["dialog_id"]
        for text in ("How do I change my PIN?", "my top-up failed", "thank you"):
            assert (
                client.post(
                    "/v1/messages", json={"client_id": "e2e", "dialog_id": dialog, "text": text}
                ).status_code
                == 200
            )
        assert client.post("/v1/messages", json={"client_id": "e2e", "text": ""}).status_code == 422
        view = client.get(f"/v1/dialogs/{dialog}").json()
        assert sum(m["role"] == "client" for m in view["messages"]) == 4
        assert len(view["decisions"]) == 4
        metrics = httpx.get(f"{base}/metrics").text
        assert "twoline_decisions_total" in metrics and "twoline_turn_latency_seconds_bucket" in metrics
        assert client.get("/docs").status_code == 200

    import sqlite3

    with sqlite3.connect(database) as connection:
        assert connection.execute("select count(*) from messages where role='client'").fetchone()[0] == 4


def test_several_workers_share_one_store_and_their_metrics(artifacts_dir, tmp_path):
    """With `TWOLINE_WORKERS=2` (what a 2-core machine gets by default) uvicorn runs two worker processes
    under the supervisor. Each turn on a new connection may land on either; every one is stored in the one
    dialog, and /metrics counts the decisions of both."""
    database = tmp_path / "workers.db"
    process, base = start_server(server_env(artifacts_dir, database) | {"TWOLINE_WORKERS": "2"})
    try:
        assert len(_worker_processes(process.pid)) == 2
        headers = {"Authorization": "Bearer e2e-client"}
        texts = ["hello", "How do I change my PIN?", "my top-up failed", "my card was stolen"] * 3
        dialog = None
        for text in texts:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:  # a new connection each
                body = {"client_id": "workers", "text": text} | ({"dialog_id": dialog} if dialog else {})
                response = client.post("/v1/messages", json=body)
                assert response.status_code == 200, response.text
                dialog = response.json()["dialog_id"]
        view = httpx.get(f"{base}/v1/dialogs/{dialog}", headers=headers, timeout=10).json()
        assert [m["text"] for m in view["messages"] if m["role"] == "client"] == texts
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        decisions = [line for line in metrics.splitlines() if line.startswith("twoline_decisions_total{")]
        assert sum(float(line.rsplit(" ", 1)[1]) for line in decisions) == len(texts)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "with 2 worker processes" in output


def _worker_processes(supervisor: int) -> list[int]:
    """The uvicorn workers (multiprocessing children) of the server process `supervisor`."""
    workers = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields.get("PPid", "0")) == supervisor and b"spawn_main" in command:
            workers.append(int(status.parent.name))
    return workers


@pytest.mark.skipif(not has_the_tunable(), reason="needs Linux with glibc 2.35+")
def test_the_server_runs_under_the_huge_page_tunable(server):
    """Started without the tunable (`server_env`), `twoline serve` started itself again, same pid, with
    glibc's huge-page tunable in its environment."""
    _, _, pid = server
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"GLIBC_TUNABLES={SETTING}".encode() in environment


def test_service_refuses_to_start_on_a_broken_domain(artifacts_dir, tmp_path):
    broken = tmp_path / "bank"
    shutil.copytree(DOMAIN_DIR, broken)
    intents = yaml.safe_load((broken / "intents.yaml").read_text(encoding="utf-8"))
    intents["intents"]["card_arrival"]["threshold"] = 3
    (broken / "intents.yaml").write_text(yaml.safe_dump(intents, allow_unicode=True), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "router.cli", "serve", "--no-train-missing", "--port", str(free_port())],
        env=server_env(artifacts_dir, tmp_path / "x.db", broken),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "intents.yaml" in result.stderr and "intents.card_arrival.threshold" in result.stderr


def test_service_refuses_to_start_without_artifacts(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "router.cli", "serve", "--no-train-missing", "--port", str(free_port())],
        env=server_env(tmp_path / "no-artifacts", tmp_path / "x.db"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "twoline train intents" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        (
            "TWOLINE_MAX_MESSAGE_CHARS",
            "abc",
            "bad setting: TWOLINE_MAX_MESSAGE_CHARS: Input should be a valid integer",
        ),
        (
            "TWOLINE_SECOND_LINE_TIMEOUT_S",
            "-1",
            "bad setting: TWOLINE_SECOND_LINE_TIMEOUT_S: Input should be greater",
        ),
        (
            "TWOLINE_DATABASE_URL",
            "postgresql+psycopg://bank:s3cret@127.0.0.1:1/none",
            "cannot open the dialog store",
        ),
        ("TWOLINE_DATABASE_URL", "mysql://bank:s3cret@127.0.0.1/bank", "cannot open the dialog store"),
        ("TWOLINE_ENCRYPTION_KEY", "s3cret", "is not a Fernet key"),  # the key's own message, not the URL's
    ],
)
def test_service_refuses_a_bad_setting_in_one_line_that_names_it(
    artifacts_dir, tmp_path, variable, value, said
):
    result = subprocess.run(
        [sys.executable, "-m", "router.cli", "serve", "--no-train-missing", "--port", str(free_port())],
        env=server_env(artifacts_dir, tmp_path / "x.db") | {variable: value},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert said in result.stderr and variable in result.stderr
    assert "Traceback" not in result.stderr and "s3cret" not in result.stderr
