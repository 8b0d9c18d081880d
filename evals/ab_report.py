"""`twoline eval ab [--since DATE]`: the A/B experiment read from the stored dialogs.

A dialog belongs to the variant of its first decision (clients keep their variant, so a dialog
never mixes two). Per variant:
- automation: share of dialogs the bot finished: no hand-off, and not left on a clarifying question the
  client did not answer for 30 minutes, as `/metrics` counts it (Wilson 95 % interval);
- hand-offs by reason;
- dislike rate: dislikes / (likes + dislikes) of bot answers (Wilson interval);
- mean VOC (1..5) with a t interval.
Each variant is compared with the control (the experiment's first variant): a two-proportion
z-test for automation and dislike rate, Welch's t-test for VOC, significant when p < alpha.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime

from pydantic import BaseModel
from scipy import stats
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from router.store.dialog_store import left_on_a_question
from router.store.models import Decision, Dialog, Feedback, utcnow

ALPHA = 0.05


class Rate(BaseModel):
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class Mean(BaseModel):
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class VariantStats(BaseModel):
    variant: str
    dialogs: int
    automation: Rate
    handoff_rate: float | None
    handoffs_by_reason: dict[str, int]
    dislike_rate: Rate
    mean_voc: Mean


class Difference(BaseModel):
    metric: str
    control: float | None
    variant: float | None
    difference: float | None
    p_value: float | None
    significant: bool


class AbReport(BaseModel):
    experiment: str | None
    control: str | None
    since: str | None
    variants: list[VariantStats]
    comparisons: dict[str, list[Difference]]


class _DialogOutcome(BaseModel):
    variant: str
    handoff_reasons: list[str] = []
    left_on_a_question: bool = False
    likes: int = 0
    dislikes: int = 0
    voc: int | None = None


def ab_report(
    engine: Engine,
    experiment: str | None,
    variant_order: list[str],
    since: datetime | None = None,
    now: datetime | None = None,
) -> AbReport:
    outcomes = _dialog_outcomes(engine, since, now or utcnow())
    by_variant: dict[str, list[_DialogOutcome]] = defaultdict(list)
    for outcome in outcomes:
        by_variant[outcome.variant].append(outcome)
    order = [v for v in variant_order if v in by_variant] + sorted(set(by_variant) - set(variant_order))
    variants = [_variant_stats(name, by_variant[name]) for name in order]
    control = order[0] if order else None
    comparisons = {
        name: _compare(by_variant[control], by_variant[name]) for name in order[1:] if control is not None
    }
    return AbReport(
        experiment=experiment,
        control=control,
        since=since.isoformat() if since else None,
        variants=variants,
        comparisons=comparisons,
    )


def _dialog_outcomes(engine: Engine, since: datetime | None, now: datetime) -> list[_DialogOutcome]:
    with Session(engine) as session:
        first_decision = (
            select(Decision.dialog_id, func.min(Decision.id).label("first_id"))
            .group_by(Decision.dialog_id)
            .subquery()
        )
        query = (
            select(Decision.dialog_id, Decision.variant, Dialog.voc_score, left_on_a_question(now))
            .join(first_decision, Decision.id == first_decision.c.first_id)
            .join(Dialog, Dialog.id == Decision.dialog_id)
            .where(Decision.variant.is_not(None))
        )
        if since is not None:
            query = query.where(Dialog.created_at >= since)
        outcomes = {
            dialog_id: _DialogOutcome(variant=variant, voc=voc, left_on_a_question=bool(left_on_a_question))
            for dialog_id, variant, voc, left_on_a_question in session.execute(query)
        }
        handoffs = session.execute(
            select(Decision.dialog_id, Decision.reason).where(Decision.kind == "handoff")
        )
        for dialog_id, reason in handoffs:
            if dialog_id in outcomes:
                outcomes[dialog_id].handoff_reasons.append(reason)
        reactions = session.execute(
            select(Feedback.dialog_id, Feedback.kind).where(Feedback.kind.in_(("like", "dislike")))
        )
        for dialog_id, kind in reactions:
            if dialog_id in outcomes:
                if kind == "like":
                    outcomes[dialog_id].likes += 1
                else:
                    outcomes[dialog_id].dislikes += 1
    return list(outcomes.values())


def _automated(dialog: _DialogOutcome) -> bool:
    """The bot finished the dialog: no operator, and no question of the bot's left unanswered."""
    return not dialog.handoff_reasons and not dialog.left_on_a_question


def _variant_stats(name: str, dialogs: list[_DialogOutcome]) -> VariantStats:
    automated = sum(1 for d in dialogs if _automated(d))
    likes, dislikes = sum(d.likes for d in dialogs), sum(d.dislikes for d in dialogs)
    reasons = Counter(reason for d in dialogs for reason in d.handoff_reasons)
    automation = wilson(automated, len(dialogs))
    return VariantStats(
        variant=name,
        dialogs=len(dialogs),
        automation=automation,
        handoff_rate=None if automation.value is None else 1 - automation.value,
        handoffs_by_reason=dict(reasons.most_common()),
        dislike_rate=wilson(dislikes, likes + dislikes),
        mean_voc=mean_interval([d.voc for d in dialogs if d.voc is not None]),
    )


def _compare(control: list[_DialogOutcome], variant: list[_DialogOutcome]) -> list[Difference]:
    def automated(dialogs: list[_DialogOutcome]) -> tuple[int, int]:
        return sum(1 for d in dialogs if _automated(d)), len(dialogs)

    def disliked(dialogs: list[_DialogOutcome]) -> tuple[int, int]:
        dislikes = sum(d.dislikes for d in dialogs)
        return dislikes, dislikes + sum(d.likes for d in dialogs)

    def vocs(dialogs: list[_DialogOutcome]) -> list[int]:
        return [d.voc for d in dialogs if d.voc is not None]

    return [
        two_proportion_test("automation", *automated(control), *automated(variant)),
        two_proportion_test("dislike_rate", *disliked(control), *disliked(variant)),
        welch_test("mean_voc", vocs(control), vocs(variant)),
    ]


def wilson(successes: int, n: int, z: float = 1.96) -> Rate:
    """Wilson score interval: honest for small n and rates near 0 or 1."""
    if n == 0:
        return Rate(value=None, ci_low=None, ci_high=None, n=0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Rate(value=p, ci_low=max(0.0, centre - half), ci_high=min(1.0, centre + half), n=n)


def mean_interval(values: list[int]) -> Mean:
    if not values:
        return Mean(value=None, ci_low=None, ci_high=None, n=0)
    mean = sum(values) / len(values)
    if len(values) < 2:
        return Mean(value=mean, ci_low=None, ci_high=None, n=len(values))
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    if math.isnan(low):  # every score equal: no spread
        low = high = mean
    return Mean(value=mean, ci_low=float(low), ci_high=float(high), n=len(values))


def two_proportion_test(metric: str, x1: int, n1: int, x2: int, n2: int) -> Difference:
    if n1 == 0 or n2 == 0:
        return Difference(
            metric=metric, control=None, variant=None, difference=None, p_value=None, significant=False
        )
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = 1.0 if spread == 0 else float(2 * stats.norm.sf(abs(p2 - p1) / spread))
    return Difference(
        metric=metric,
        control=p1,
        variant=p2,
        difference=p2 - p1,
        p_value=p_value,
        significant=p_value < ALPHA,
    )


def welch_test(metric: str, control: list[int], variant: list[int]) -> Difference:
    if len(control) < 2 or len(variant) < 2:
        mean1 = sum(control) / len(control) if control else None
        mean2 = sum(variant) / len(variant) if variant else None
        return Difference(
            metric=metric, control=mean1, variant=mean2, difference=None, p_value=None, significant=False
        )
    result = stats.ttest_ind(variant, control, equal_var=False)
    p_value = float(result.pvalue) if not math.isnan(result.pvalue) else 1.0
    mean1, mean2 = sum(control) / len(control), sum(variant) / len(variant)
    return Difference(
        metric=metric,
        control=mean1,
        variant=mean2,
        difference=mean2 - mean1,
        p_value=p_value,
        significant=p_value < ALPHA,
    )


def format_ab(report: AbReport) -> str:
    if not report.variants:
        return "no decisions with an experiment variant in the store"
    lines = [f"experiment {report.experiment or '?'} (control: {report.control})"]
    for v in report.variants:
        lines.append(
            f"  {v.variant:16} dialogs {v.dialogs:6}  automation {_pct(v.automation)}  "
            f"dislikes {_pct(v.dislike_rate)}  VOC {_mean(v.mean_voc)}"
        )
    for name, differences in report.comparisons.items():
        for d in differences:
            if d.difference is None:
                continue
            verdict = "significant" if d.significant else "not significant"
            lines.append(
                f"  {name} vs {report.control}: {d.metric} {d.difference:+.3f} (p={d.p_value:.3g}, {verdict})"
            )
    return "\n".join(lines)


def _pct(rate: Rate) -> str:
    if rate.value is None:
        return "    —"
    return f"{rate.value:6.1%} [{rate.ci_low:.1%}, {rate.ci_high:.1%}]"


def _mean(mean: Mean) -> str:
    if mean.value is None:
        return "—"
    if mean.ci_low is None:
        return f"{mean.value:.2f} (n={mean.n})"
    return f"{mean.value:.2f} [{mean.ci_low:.2f}, {mean.ci_high:.2f}] (n={mean.n})"
