"""Building the second line from settings (what `Assistant.load` calls) and the demo index for `serve`."""

from __future__ import annotations

import logging
from pathlib import Path

from first_line.domain import Domain
from knowledge_base.encoder import PassageEncoder
from second_line.answerer import Guards, SecondLineAnswerer
from second_line.config import SecondLineSettings, load_tone_rules
from second_line.extractive import ExtractiveGenerator
from second_line.llm_backends import EmbeddedGenerator, OpenAIGenerator, llama_cpp_available
from second_line.reranker import KIND as RERANKER
from second_line.reranker import LearnedReranker
from second_line.retrieval import HybridRetriever

log = logging.getLogger("twoline.second_line")

DEMO_KB = Path("askcfpb_kb") / "askcfpb_kb.jsonl"


def index_dir(config: SecondLineSettings, artifacts_dir: Path) -> Path:
    return config.index_dir or artifacts_dir / "knowledge_base"


def reranker_dir(artifacts_dir: Path) -> Path:
    return artifacts_dir / RERANKER


def build_retriever(
    config: SecondLineSettings, artifacts_dir: Path, index: Path | None = None, rerank: bool | None = None
) -> HybridRetriever:
    """The hybrid retriever of `config`, with the learned reranker when enabled and trained."""
    reranker = None
    folder = reranker_dir(artifacts_dir)
    if (config.reranker if rerank is None else rerank) and (folder / "manifest.json").is_file():
        reranker = LearnedReranker(folder)
    return HybridRetriever(
        index or index_dir(config, artifacts_dir),
        PassageEncoder(threads=config.encoder_threads),
        config.candidates,
        config.rrf_k,
        config.dense_weight,
        config.bm25_weight,
        reranker=reranker,
    )


def train_reranker_artifact(config: SecondLineSettings, artifacts_dir: Path, seed: int = 13, **options):
    """`twoline train reranker`: fit the reranker on the configured index (see reranker_training)."""
    from second_line.reranker_training import train_reranker

    retriever = build_retriever(config, artifacts_dir, rerank=False)
    retriever.encoder.threads = max(retriever.encoder.threads, 2)
    return train_reranker(retriever, reranker_dir(artifacts_dir), seed, config.reranker_depth, **options)


def index_missing(config: SecondLineSettings, artifacts_dir: Path) -> bool:
    """The second line is on and its index has not been built."""
    return config.enabled and not (index_dir(config, artifacts_dir) / "manifest.json").is_file()


def reranker_missing(config: SecondLineSettings, artifacts_dir: Path) -> bool:
    """The learned reranker is on and not trained."""
    from first_line.artifacts import is_trained

    return config.enabled and config.reranker and not is_trained(reranker_dir(artifacts_dir), RERANKER)


def ensure_reranker(config: SecondLineSettings, artifacts_dir: Path) -> bool:
    """Train the reranker when enabled, the index exists and no reranker is trained; True if it did."""
    if not reranker_missing(config, artifacts_dir) or index_missing(config, artifacts_dir):
        return False
    log.info("training missing artifact", extra={"artifact": RERANKER})
    train_reranker_artifact(config, artifacts_dir)
    return True


def demo_sources(config: SecondLineSettings, data_dir: Path) -> list[Path]:
    return list(config.sources) or [data_dir / DEMO_KB]


def ensure_index(config: SecondLineSettings, artifacts_dir: Path, data_dir: Path) -> bool:
    """Ingest the configured (default: demo) sources when there is no index yet; True if it did."""
    if not index_missing(config, artifacts_dir):
        return False
    target = index_dir(config, artifacts_dir)
    from knowledge_base.ingest import ingest

    sources = demo_sources(config, data_dir)
    log.info("no knowledge-base index, ingesting", extra={"sources": [str(s) for s in sources]})
    ingest(sources, target, PassageEncoder(threads=2), progress=True)
    return True


def build_second_line(
    config: SecondLineSettings,
    artifacts_dir: Path,
    domain: Domain,
    domain_dir: Path,
    guards: Guards | None = None,
    use_ner: bool = True,
) -> SecondLineAnswerer | None:
    """The answerer, warmed up; None when disabled or when no index exists (escalations then hand
    off with `second_line_unavailable`). A mismatched index raises ArtifactError."""
    target = index_dir(config, artifacts_dir)
    if not config.enabled:
        return None
    if not target.exists():
        log.warning("no knowledge-base index; the second line is off", extra={"index": str(target)})
        return None
    retriever = build_retriever(config, artifacts_dir, target)
    encoder = retriever.encoder
    extractive = ExtractiveGenerator(encoder, config.extractive_sentences, config.context_passages)
    tone_rules = load_tone_rules(domain_dir, domain.settings.bank_name)
    if guards is None:
        guards = load_guards(config, artifacts_dir, use_ner)
    answerer = SecondLineAnswerer(
        retriever=retriever,
        generator=build_generator(config, tone_rules, extractive),
        extractive=extractive,
        handoff_message=dict(domain.settings.messages["handoff"]),
        top_k=config.top_k,
        relevance_floor=config.relevance_floor,
        timeout_s=config.timeout_s,
        fallback=config.fallback,
        guards=guards,
    )
    answerer.warm_up()
    return answerer


def load_guards(config: SecondLineSettings, artifacts_dir: Path, use_ner: bool) -> Guards | None:
    """The trained guardrails (`guardrails.suite.load_guardrails`). Fails closed: with guardrails on
    (the default) a missing or outdated guardrail model stops the start with ArtifactError naming the
    `twoline train` command; the second line never answers unguarded unless config says so."""
    if not config.guardrails:
        log.warning("second line runs WITHOUT guardrails (second_line.guardrails is false)")
        return None
    from first_line.artifacts import ArtifactError
    from guardrails.suite import load_guardrails

    try:
        guardrails = load_guardrails(artifacts_dir, use_ner=use_ner, censor_threshold=config.censor_threshold)
        return Guards(**guardrails)
    except ArtifactError as exc:
        raise ArtifactError(
            f"{exc}\nThe second line does not answer without its guardrails: train them "
            "(`twoline train censor`, `twoline train grounding`, `twoline train injection`; "
            "`twoline serve` trains what is missing) or turn them off explicitly with "
            "TWOLINE_SECOND_LINE_GUARDRAILS=false."
        ) from exc


def build_generator(config: SecondLineSettings, tone_rules: list[str], extractive: ExtractiveGenerator):
    common = {
        "tone_rules": tone_rules,
        "max_tokens": config.max_new_tokens,
        "temperature": config.temperature,
        "passages": config.context_passages,
        "passage_chars": config.passage_chars,
    }
    if config.backend == "openai":
        return OpenAIGenerator(
            base_url=config.openai_base_url,
            model=config.openai_model,
            api_key=config.openai_api_key.get_secret_value(),
            timeout_s=config.timeout_s,
            token_limit_field=config.openai_token_limit_field,
            **common,
        )
    if config.backend == "embedded":
        engine = config.embedded_engine
        if engine == "auto":
            engine = "llama_cpp" if llama_cpp_available() else None
        if engine is None:
            log.warning("llama-cpp-python is not installed: the embedded backend answers extractively")
            return extractive
        return EmbeddedGenerator(
            engine=engine,
            model_path=config.embedded_model_path,
            threads=config.embedded_threads,
            context=config.embedded_context,
            **common,
        )
    return extractive
