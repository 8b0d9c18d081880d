"""`twoline train risk`: the VOC-risk model (LightGBM) from the dialog store, with a time-based split.

Snapshots: at moments `as_of`, each client who gave a VOC score in the following `horizon`
days is one example; features come only from before `as_of`, the label (any score ≤ 2) only
from after. The test snapshot is the latest one (`as_of` = last score − horizon); training
snapshots lie before it, and their label windows end no later than the test's `as_of`, so no
future leaks into training. Figures: ROC-AUC on the test snapshot, against the baseline "the
client's mean VOC of the last 90 days", and a feature-importance plot.

The store is the service's own (real dialogs) when it holds enough scored clients; on a fresh
machine it is the SYNTHETIC one written by `router/voc_risk/simulator.py`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sqlalchemy import Engine, func, select

from first_line.artifacts import Manifest, new_version, write_manifest
from first_line.voc_risk_model import BOOSTER, FEATURE_LIST, KIND, VocRiskModel
from router.store.models import Feedback
from router.voc_risk.features import FEATURES, client_features, voc_labels

log = logging.getLogger("twoline.train.risk")
CHUNK = 2000


@dataclass(frozen=True)
class RiskTrainingConfig:
    horizon_days: int = 30
    snapshot_every_days: int = 10
    train_snapshots: int = 6
    seed: int = 13
    threshold: float = 0.5
    """The domain's `voc_risk_threshold`: flagged share / precision / recall are reported at it."""


def snapshot(engine: Engine, as_of: datetime, horizon_days: int) -> pd.DataFrame:
    """Features (before `as_of`) and label (after) of every client who gave a VOC score in the horizon."""
    labels = voc_labels(engine, as_of, horizon_days)
    ids = list(labels.index)
    frames = [client_features(engine, ids[i : i + CHUNK], as_of) for i in range(0, len(ids), CHUNK)]
    frame = pd.concat(frames) if frames else pd.DataFrame(columns=FEATURES)
    return frame.assign(low_voc=labels.reindex(frame.index).to_numpy(), as_of=as_of)


def last_feedback_time(engine: Engine) -> datetime | None:
    with engine.connect() as connection:
        last = connection.scalar(select(func.max(Feedback.created_at)).where(Feedback.kind == "voc"))
    if last is None:
        return None
    return last if last.tzinfo else last.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def train_risk_model(
    engine: Engine, out_dir: Path, config: RiskTrainingConfig, report_dir: Path | None = None
) -> Manifest:
    import lightgbm

    end = last_feedback_time(engine)
    if end is None:
        raise ValueError("the store holds no VOC scores: nothing to learn from (simulate clients first)")
    test_as_of = end - timedelta(days=config.horizon_days)
    train_as_ofs = [
        test_as_of - timedelta(days=config.horizon_days + k * config.snapshot_every_days)
        for k in range(config.train_snapshots)
    ]
    train = pd.concat([snapshot(engine, t, config.horizon_days) for t in train_as_ofs])
    test = snapshot(engine, test_as_of, config.horizon_days)
    if train.low_voc.nunique() < 2 or test.low_voc.nunique() < 2:
        raise ValueError("both low and fine VOC scores are needed in the training and the test snapshots")
    log.info("training risk", extra={"count": len(train), "test": len(test)})
    params = {
        "objective": "binary", "learning_rate": 0.03, "num_leaves": 15, "min_data_in_leaf": 30,
        "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
        "seed": config.seed, "num_threads": 2, "verbose": -1,
    }  # fmt: skip
    booster = lightgbm.train(
        params, lightgbm.Dataset(train[FEATURES], label=train.low_voc), num_boost_round=300
    )
    with new_version(out_dir) as work:
        booster.save_model(str(work / BOOSTER))
        (work / FEATURE_LIST).write_text(json.dumps(FEATURES), encoding="utf-8")
        manifest = _manifest(train, test, config)
        write_manifest(work, manifest)
        model = VocRiskModel(work, FEATURES)
        metrics = evaluate(model, test, config.threshold)
        importance = dict(zip(FEATURES, booster.feature_importance("gain").tolist(), strict=True))
        manifest = write_manifest(work, manifest.model_copy(update={"metrics": metrics}))
    if report_dir is not None:
        write_report(report_dir, metrics, importance, train_as_ofs, test_as_of)
    return manifest


def evaluate(model: VocRiskModel, test: pd.DataFrame, threshold: float) -> dict[str, float]:
    scores = model.predict(test)
    labels = test.low_voc.to_numpy()
    flagged = scores >= threshold
    baseline = -test.voc_mean_90d.fillna(test.voc_mean_90d.mean()).to_numpy()
    metrics = {
        "roc_auc": roc_auc_score(labels, scores),
        "baseline_roc_auc_mean_voc_90d": roc_auc_score(labels, baseline),
        "low_voc_rate": labels.mean(),
        "flagged_share": flagged.mean(),
        "precision_at_threshold": labels[flagged].mean() if flagged.any() else 0.0,
        "recall_at_threshold": flagged[labels == 1].mean(),
        "test_clients": float(len(test)),
    }
    return {k: round(float(v), 4) for k, v in metrics.items()}


def write_report(
    folder: Path,
    metrics: dict,
    importance: dict[str, float],
    train_as_ofs: list[datetime],
    test_as_of: datetime,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    ranked = sorted(importance.items(), key=lambda kv: kv[1])
    figure, axis = plt.subplots(figsize=(7, 7))
    axis.barh([k for k, _ in ranked], [v for _, v in ranked], color="#4c72b0")
    axis.set_xlabel("total gain")
    axis.set_title(f"VOC-risk model: feature importance (test ROC-AUC {metrics['roc_auc']:.3f})")
    figure.tight_layout()
    figure.savefig(folder / "feature_importance.png", dpi=110)
    plt.close(figure)
    report = {
        "metrics": metrics,
        "importance_gain": dict(reversed(ranked)),
        "train_as_of": [t.isoformat() for t in train_as_ofs],
        "test_as_of": test_as_of.isoformat(),
    }
    (folder / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")


def _manifest(train: pd.DataFrame, test: pd.DataFrame, config: RiskTrainingConfig) -> Manifest:
    digest = hashlib.sha256(pd.util.hash_pandas_object(train[[*FEATURES, "low_voc"]], index=False).values)
    return Manifest(
        kind=KIND,
        seed=config.seed,
        data_hash=digest.hexdigest()[:16],
        data_sizes={"train": len(train), "test": len(test)},
        labels=["fine_voc", "low_voc"],
        params={"horizon_days": config.horizon_days, "threshold": config.threshold,
                "train_low_voc_rate": float(np.mean(train.low_voc))},
    )  # fmt: skip
