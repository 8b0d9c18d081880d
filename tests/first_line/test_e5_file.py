"""The packed E5 file: every reading has its own cursor, so the shared file reads the same from any thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from first_line.e5_file import E5File


def test_the_vocabulary_reads_the_same_from_several_threads_and_leaves_the_tensors_alone():
    source = E5File()
    shape = (source.config.max_positions, source.config.hidden)
    positions = source.tensor("emb.pos", shape)
    with ThreadPoolExecutor(max_workers=3) as pool:
        vocabularies = list(pool.map(lambda _: source.read_vocabulary(), range(3)))
    first = vocabularies[0]
    assert 200_000 < len(first.pieces) <= source.config.vocabulary  # the embedding table is padded
    assert all(v.pieces == first.pieces and v.scores == first.scores for v in vocabularies[1:])
    assert {first.bos, first.eos, first.pad, first.unk} <= set(range(len(first.pieces)))
    assert np.array_equal(source.tensor("emb.pos", shape), positions)
