"""Experiment (session 13): is a fine-tuned MiniLM a better bank-tone reader than the censor's frozen one?

Fine-tunes all-MiniLM (mean pooling, a linear block/pass head) on the bank-style training rows of a
development split (twice each) plus a sample of the other tone rows, then scores the development
split's bank rows (`dev_bank.csv`, never trained on) next to the censor trained on the same split, and
a rank average of the two. PyTorch fp32, not the int8 export the service would run.

    # a development censor first (writes DIR/censor/dev_bank.csv), ~5 min:
    python -c "from pathlib import Path; from guardrails.tone_data import load_tone_data; \
from guardrails.censor_training import train_censor; \
train_censor(load_tone_data(Path('../shared/data'), Path('domains/demo_bank'), dev=True), Path('DIR/censor'))"
    HF_HUB_OFFLINE=1 python scripts/tone_finetune_experiment.py DIR [--others 1500 --epochs 3 --lr 5e-5]

Session 13 (2 cores, ~5 min an epoch): dev bank rows (508), ROC-AUC after epochs 1/2/3: 0.878, 0.922,
0.926; the censor 0.909; rank average 0.946. English rows: fine-tuned 0.967 vs censor 0.923; Russian:
0.816 vs 0.899 (MiniLM's vocabulary is English).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    import torch
    from scipy.stats import rankdata
    from sklearn.metrics import roc_auc_score
    from transformers import AutoModel, AutoTokenizer

    from first_line.encoder_training import MeanPooledEncoder, base_encoder_path
    from guardrails.censor import Censor
    from guardrails.text import model_text
    from guardrails.tone_data import load_tone_data

    parser = argparse.ArgumentParser()
    parser.add_argument("dev_artifacts", type=Path, help="artifacts dir of a development censor run")
    parser.add_argument("--others", type=int, default=1500, help="non-bank tone rows sampled for breadth")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5)
    args = parser.parse_args()
    torch.manual_seed(13)
    torch.set_num_threads(2)
    rng = random.Random(13)
    data = load_tone_data(REPO.parent / "shared" / "data", REPO / "domains" / "demo_bank", 13, 1.0, dev=True)
    bank = [e for e in data.train if e.source == "bank"]
    rows = bank * 2 + rng.sample([e for e in data.train if e.source != "bank"], args.others)
    rng.shuffle(rows)
    texts, labels = [model_text(e.text) for e in rows], torch.tensor([float(e.label) for e in rows])
    with open(args.dev_artifacts / "censor" / "dev_bank.csv", newline="", encoding="utf-8") as handle:
        dev = list(csv.DictReader(handle))
    dev_labels = np.array([int(r["label"]) for r in dev])

    tokenizer = AutoTokenizer.from_pretrained(base_encoder_path())
    encoder = MeanPooledEncoder(AutoModel.from_pretrained(base_encoder_path()))
    head = torch.nn.Linear(384, 1)
    optimiser = torch.optim.AdamW(
        [{"params": encoder.parameters(), "lr": args.lr}, {"params": head.parameters(), "lr": 1e-3}]
    )
    batch, steps = 32, args.epochs * ((len(texts) + 31) // 32)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps)
    )

    def logits(batch_texts: list[str]) -> torch.Tensor:
        tokens = tokenizer(batch_texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        return head(encoder(tokens["input_ids"], tokens["attention_mask"]) * 20).squeeze(-1)

    def score(batch_texts: list[str]) -> np.ndarray:
        encoder.eval()
        with torch.no_grad():
            out = [
                torch.sigmoid(logits(batch_texts[i : i + 64])).numpy() for i in range(0, len(batch_texts), 64)
            ]
        encoder.train()
        return np.concatenate(out)

    started = time.time()
    dev_texts = [model_text(r["text"]) for r in dev]
    for epoch in range(args.epochs):
        order = list(range(len(texts)))
        rng.shuffle(order)
        for start in range(0, len(order), batch):
            picked = order[start : start + batch]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits([texts[i] for i in picked]), labels[picked]
            )
            loss.backward()
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
        tuned = score(dev_texts)
        auc = roc_auc_score(dev_labels, tuned)
        print(f"epoch {epoch + 1}: {time.time() - started:.0f} s, dev bank ROC-AUC {auc:.4f}")

    censor = Censor(args.dev_artifacts / "censor")
    verdict = np.array([censor.run(r["text"], r["language"]).score for r in dev])
    english = np.array([r["language"] == "en" for r in dev])
    mixed = rankdata(tuned) + rankdata(verdict)
    auc, mixed_auc = roc_auc_score(dev_labels, verdict), roc_auc_score(dev_labels, mixed)
    print(f"censor {auc:.4f}  rank average {mixed_auc:.4f}")
    for name, rows_of in (("en", english), ("ru", ~english)):
        print(
            f"{name}: fine-tuned {roc_auc_score(dev_labels[rows_of], tuned[rows_of]):.4f}  "
            f"censor {roc_auc_score(dev_labels[rows_of], verdict[rows_of]):.4f}"
        )


if __name__ == "__main__":
    main()
