"""Load test of a running twoline service on loopback: throughput, latency, nothing lost.

Bounded in count and time; it only talks to 127.0.0.1. A minimal HTTP/1.1 keep-alive client
on asyncio streams keeps the generator's own CPU small (it shares the machine's 2 cores with
the server). Messages are distinct real client questions (BANKING77 train texts, each with a
suffix unique to the run and the request, so that no embedding cache can help, not even in a repeated
run against the same server: `reference`), from many clients, several turns each.

    twoline serve --no-train-missing &    # one worker process per core by default (TWOLINE_WORKERS)
    python scripts/load_test.py --requests 3000 --concurrency 8 --database-url sqlite:///var/twoline.db

With --database-url it counts the stored client messages before and after: every request
answered 200 must be in the store, and no message may be stored twice.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def reference(args: argparse.Namespace, index: int) -> str:
    """A suffix unique to the run and the request, so that no embedding cache knows the text.

    `short` (the default): `#` and nine digits, the run's number (the clock's seconds, modulo 10,000: two runs
    share it only 2.8 hours apart) then the request's. It adds ~5 tokens to a BANKING77 question of ~16 (21.8
    on average over a run's texts). `long`, the suffix through session 49: `(ref <run id>-<request>)`, ~14
    tokens (30.0 on average), which nearly doubled what the encoders read; Russian `(№ <digits>-<request>)`.
    Digits only, so that no Latin letters make a short Russian message read as Russian typed in Latin."""
    if args.references == "short":
        return f"#{args.run_number:04d}{index:05d}"
    if args.language == "ru":
        return f"(№ {int(args.run_id, 16)}-{index})"
    return f"(ref {args.run_id}-{index})"


def load_texts(data_dir: Path, limit: int, language: str = "en") -> list[str]:
    """BANKING77's training questions, or (`ru`) the demo bank's Russian training and dev messages."""
    files = [data_dir / "banking77" / "train.csv"]
    if language == "ru":
        training = REPO / "domains" / "demo_bank" / "training"
        files = [training / f"russian_messages_{part}.csv" for part in ("train", "dev")]
    texts = []
    for path in files:
        with open(path, newline="", encoding="utf-8") as handle:
            texts += [row["text"] for row in csv.DictReader(handle)]
    random.Random(7).shuffle(texts)
    return texts[:limit]


class Connection:
    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        self.writer.write(head + payload)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, json.loads(await self.reader.readexactly(length)) if length else {}

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
            self.reader = self.writer = None


async def client_loop(
    worker: int,
    args: argparse.Namespace,
    texts: list[str],
    queue: asyncio.Queue,
    results: list,
    deadline: float,
) -> None:
    connection = Connection(args.host, args.port, args.key)
    dialogs: dict[str, str] = {}
    sent = 0
    while time.monotonic() < deadline:
        try:
            index = queue.get_nowait()
        except asyncio.QueueEmpty:
            await connection.close()
            return
        if sent and sent % args.requests_per_connection == 0:
            await connection.close()  # a new connection lands on whichever worker accepts it
        sent += 1
        client_id = f"load-{args.run_id}-{worker}-{index % args.clients_per_worker}"
        body = {
            "client_id": client_id,
            "text": f"{texts[index % len(texts)]} {reference(args, index)}",  # new in every run
            "client_message_id": f"{args.run_id}-{index}",
        }
        if client_id in dialogs:
            body["dialog_id"] = dialogs[client_id]
        started = time.perf_counter()
        try:
            status, answer = await connection.post("/v1/messages", body)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            status, answer = 0, {}
            connection = Connection(args.host, args.port, args.key)
        if status == 200 and answer.get("retry"):
            status = 208  # answered as a retry: would hide a lost message, so counted apart
        results.append((status, (time.perf_counter() - started) * 1000))
        if status == 200:
            # A handed-off dialog stays with the operator: start a new one for the next turn.
            if answer["decision"]["kind"] == "handoff":
                dialogs.pop(client_id, None)
            else:
                dialogs[client_id] = answer["dialog_id"]


def stored_client_messages(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("select count(*) from messages where role = 'client'")).scalar_one()
    engine.dispose()
    return int(count)


async def run(args: argparse.Namespace) -> dict:
    texts = load_texts(Path(args.data_dir), 5000, args.language)
    queue: asyncio.Queue = asyncio.Queue()
    for index in range(args.requests):
        queue.put_nowait(index)
    results: list[tuple[int, float]] = []
    started = time.monotonic()
    deadline = started + args.max_seconds
    await asyncio.gather(
        *(client_loop(w, args, texts, queue, results, deadline) for w in range(args.concurrency))
    )
    elapsed = time.monotonic() - started
    latencies = np.array([ms for status, ms in results if status == 200])
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "requests_sent": len(results),
        "ok": int((np.array([s for s, _ in results]) == 200).sum()),
        "statuses": statuses,
        "seconds": round(elapsed, 2),
        "turns_per_second": round(len(latencies) / elapsed, 1),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 1) if len(latencies) else None,
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 1) if len(latencies) else None,
        "latency_ms_p99": round(float(np.percentile(latencies, 99)), 1) if len(latencies) else None,
        "concurrency": args.concurrency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1", "localhost"])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--key", default="demo-client-key")
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--clients-per-worker", type=int, default=25)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument(
        "--requests-per-connection",
        type=int,
        default=50,
        help="reconnect after this many (clients come and go; keep-alive for ever pins a client's "
        "connection to one worker process and skews the load between them)",
    )
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument(
        "--language", choices=["en", "ru"], default="en", help="ru: the demo bank's Russian messages"
    )
    parser.add_argument(
        "--references",
        choices=["short", "long"],
        default="short",
        help="the suffix that makes each text new: short (#<9 digits>) or long (session 48-49's, ~14 tokens)",
    )
    parser.add_argument("--database-url", help="count stored messages before and after (nothing lost)")
    parser.add_argument("--out", help="write the JSON result here too")
    args = parser.parse_args()
    args.run_id = uuid.uuid4().hex[:8]  # fresh ids: a repeated run must not be answered as retries
    args.run_number = int(time.time()) % 10_000
    if args.requests >= 100_000:
        parser.error("--requests: at most 99,999 (the short reference numbers a request in five digits)")
    before = stored_client_messages(args.database_url) if args.database_url else None
    report = asyncio.run(run(args))
    if args.database_url:
        after = stored_client_messages(args.database_url)
        report["stored_client_messages"] = after - before
        report["lost_messages"] = report["ok"] - (after - before)
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
