"""A/B experiments: which variant a client is in, and the decision policy of each variant.

Assignment is a hash of (experiment name, client id) into the variants' weights: the same client
always gets the same variant, across workers and restarts, with no table to keep. Renaming the
experiment reshuffles everybody, which is what a new experiment should do.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

from first_line.domain import Experiment, ExperimentVariant
from router.policy import DecisionPolicy


def assign_variant(experiment: Experiment, client_id: str) -> ExperimentVariant:
    digest = hashlib.sha256(f"{experiment.name}:{client_id}".encode()).digest()
    total = sum(v.weight for v in experiment.variants)
    bucket = int.from_bytes(digest[:8], "big") % total
    for variant in experiment.variants:
        if bucket < variant.weight:
            return variant
        bucket -= variant.weight
    raise AssertionError("unreachable: weights sum to total")


class VariantPolicies:
    """The policy each client gets: the domain's own, or its experiment variant's."""

    def __init__(self, base: DecisionPolicy, experiment: Experiment | None, by_variant: dict) -> None:
        self.base = base
        self.experiment = experiment
        self.by_variant: dict[str, DecisionPolicy] = by_variant

    def policies(self) -> list[DecisionPolicy]:
        """The base policy and each variant's (a variant on the base thresholds may be the base itself)."""
        return [self.base, *self.by_variant.values()]

    def for_client(self, client_id: str) -> tuple[DecisionPolicy, str | None]:
        if self.experiment is None:
            return self.base, None
        variant = assign_variant(self.experiment, client_id)
        return self.by_variant[variant.name], variant.name


def variant_policy(base: DecisionPolicy, thresholds, intents=None, pools=None) -> DecisionPolicy:
    """The base policy with another threshold set and, optionally, other first-line models.

    A shallow copy: every other gate and model is shared with the base policy, so a variant costs
    only what it changes."""
    policy = copy.copy(base)
    policy.thresholds = thresholds
    if intents is not None:
        policy.intents = intents
    if pools is not None:
        policy.pools = pools
    return policy


def resolve_artifacts_dir(variant: ExperimentVariant, default: Path) -> Path:
    """A variant's artifacts folder; a relative path is taken beside the default artifacts folder."""
    if variant.artifacts_dir is None:
        return default
    return variant.artifacts_dir if variant.artifacts_dir.is_absolute() else default / variant.artifacts_dir
