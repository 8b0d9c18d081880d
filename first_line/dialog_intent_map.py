"""The domain's `dialog_intents.yaml`: corpus labels → the bank's intents, and what is never a button.

Validated at start-up and before training (the targets must be intents of the domain); a mistake
raises `DomainConfigError` naming the file and the key, like the rest of the domain config.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from first_line.dialog_corpora import Dialog
from first_line.domain import Domain, DomainConfigError

FILE_NAME = "dialog_intents.yaml"
CORPUS_ONLY_SEPARATOR = ":"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CorpusMap(_Strict):
    acts: tuple[str, ...] = ()
    intents: dict[str, str | None] = {}


class DialogIntentMap(_Strict):
    never_suggest: frozenset[str] = frozenset()
    corpora: dict[str, CorpusMap] = {}
    fingerprint: str = ""
    known_intents: frozenset[str] = frozenset()
    """The domain's intents: a bank's own logs labelled with them need no mapping."""

    def label(self, source: str, raw: str) -> str | None:
        """The turn label in the model's space: a bank intent, `source:raw` (no counterpart), or None
        for a dialog act (context only)."""
        corpus = self.corpora.get(source, CorpusMap())
        if raw in corpus.acts:
            return None
        if raw in corpus.intents:
            target = corpus.intents[raw]
            return target if target else f"{source}{CORPUS_ONLY_SEPARATOR}{raw}"
        return raw if raw in self.known_intents else f"{source}{CORPUS_ONLY_SEPARATOR}{raw}"

    def context_label(self, source: str, raw: str) -> str:
        """Every label, acts included, as a context feature."""
        return self.label(source, raw) or f"{source}{CORPUS_ONLY_SEPARATOR}{raw}"

    def is_suggestable(self, label: str) -> bool:
        """Could this label be a next intent (a request, not small talk or an act)?"""
        return label not in self.never_suggest

    def mapped_turn_labels(self, dialog: Dialog) -> list[tuple[list[str], list[str]]]:
        """Per client turn: (its request labels, its context labels)."""
        out = []
        for turn in dialog.turns:
            requests = [lab for raw in turn.labels if (lab := self.label(dialog.source, raw))]
            context = [self.context_label(dialog.source, raw) for raw in turn.labels]
            out.append(([r for r in requests if self.is_suggestable(r)], context))
        return out


def load_dialog_intent_map(domain_dir: Path, domain: Domain) -> DialogIntentMap:
    path = Path(domain_dir) / FILE_NAME
    if not path.is_file():
        raise DomainConfigError(path, "-", "file is missing")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw) or {}
        parsed = DialogIntentMap.model_validate(data)
    except yaml.YAMLError as exc:
        raise DomainConfigError(path, "-", f"invalid YAML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DomainConfigError(path, ".".join(str(p) for p in first["loc"]) or "-", first["msg"]) from exc
    for name in parsed.never_suggest:
        if name not in domain.intents:
            raise DomainConfigError(path, "never_suggest", f"unknown intent '{name}'")
    for source, corpus in parsed.corpora.items():
        for label, target in corpus.intents.items():
            if target is not None and target not in domain.intents:
                raise DomainConfigError(
                    path, f"corpora.{source}.intents.{label}", f"unknown intent '{target}'"
                )
    return parsed.model_copy(
        update={
            "fingerprint": hashlib.sha256(raw).hexdigest()[:16],
            "known_intents": frozenset(domain.intents),
        }
    )
