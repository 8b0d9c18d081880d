"""A text's embedding as the censor reads it, and training reading its rows the same way."""

from __future__ import annotations

import numpy as np
import pytest

from guardrails.pooled_embedding import embed_as_read
from guardrails.text import model_text

pytestmark = pytest.mark.slow

ANSWER = "Your card is on its way. You can track it in the app, under Cards. Anything else?"
SENTENCES = ["Your card is on its way.", "You can track it in the app, under Cards.", "Anything else?"]


def test_a_single_sentence_is_embedded_as_it_is(censor):
    text = "Your card is on its way."
    expected = censor.encoder.encode([model_text(text)])
    assert embed_as_read(censor.encoder.encode, [text]) == pytest.approx(expected, abs=1e-6)


def test_a_longer_text_is_the_length_weighted_mean_of_its_sentences(censor):
    embedded = censor.encoder.encode([model_text(s) for s in SENTENCES])
    mean = (embedded * np.array([len(s) for s in SENTENCES])[:, None]).sum(axis=0)
    pooled = embed_as_read(censor.encoder.encode, [ANSWER])[0]
    assert pooled == pytest.approx(mean / np.linalg.norm(mean), abs=1e-5)
    whole = censor.encoder.encode([model_text(ANSWER)])[0]
    assert float(pooled @ whole) < 0.999  # not the whole text embedded in one pass


def test_each_distinct_sentence_is_encoded_once(censor):
    asked: list[str] = []

    def encode(texts: list[str]) -> np.ndarray:
        asked.extend(texts)
        return censor.encoder.encode(texts)

    other = "Your card is on its way. Thank you for waiting."
    embeddings = embed_as_read(encode, [ANSWER, other, SENTENCES[0]])
    assert embeddings.shape == (3, censor.encoder.dimension)
    assert sorted(asked) == sorted({model_text(s) for s in [*SENTENCES, "Thank you for waiting."]})


def test_training_embeds_a_row_as_the_censor_serves_its_whole_text(censor, monkeypatch):
    """The heads score the whole text's row on the vector training gave such a row."""
    seen: list[np.ndarray] = []
    features = censor._heads.features

    def recording(prepared, embeddings, *args):
        seen.append(embeddings)
        return features(prepared, embeddings, *args)

    monkeypatch.setattr(censor._heads, "features", recording)
    monkeypatch.setattr(censor, "screen_below", 0.0)  # every row read by the encoders
    censor.run(ANSWER)
    served_whole_row = seen[0][-1]
    assert served_whole_row == pytest.approx(embed_as_read(censor.encoder.encode, [ANSWER])[0], abs=1e-5)
