"""All four guardrails, loaded from the artifacts folder, as the keyword arguments of the second line's
`Guards` (second_line.answerer): `Guards(**load_guardrails(...))`.

The second line does not import guardrails (SECOND_LINE_CONTRACT.md); the assistant builds them here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from guardrails.censor import Censor
from guardrails.grounding import GroundingChecker
from guardrails.injection import InjectionScreen
from guardrails.pii import PiiRedactor


def load_guardrails(
    artifacts_dir: Path,
    use_ner: bool = True,
    min_supported_share: float = 0.5,
    allowed_names: frozenset[str] = frozenset(),
    threads: int = 1,
    censor_threshold: float | None = None,
) -> dict[str, Any]:
    """injection, pii, grounding, censor; raises ArtifactError when a trained one is missing.
    `censor_threshold` overrides the censor's trained threshold (None: the manifest's)."""
    return {
        "injection": InjectionScreen(artifacts_dir / "injection", threads=threads),
        "pii": PiiRedactor(use_ner=use_ner),
        "grounding": GroundingChecker(
            artifacts_dir / "grounding", min_supported_share=min_supported_share,
            allowed_names=allowed_names, threads=threads,
        ),
        "censor": Censor(artifacts_dir / "censor", threshold=censor_threshold, threads=threads),
    }  # fmt: skip
