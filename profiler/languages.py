"""The language of a text: one identifier and one set of thresholds for the documents of a corpus and the
text columns of a table, so that both count languages alike.

A table's text column is not read whole for its languages: identifying one value costs about a tenth
of a millisecond to a millisecond (by its length), which on millions of rows would cost more than the
rest of the profile. Each column keeps the values of the COLUMN_VALUES rows with the smallest keys
among those where it has a value, a key being a hash of the row's id (its file's place among the
source's files and its line in it), as the row sample of `rowsample` does: so the sample does not depend
on how the source was cut into partitions, two parts merge by keeping the smallest keys of both (the
merged sample is the whole's), and the same bytes give the same sample. The values are kept (their
first LANGUAGE_SAMPLE characters) and identified once, when the profile is finished, and only for a
column that turned out to be text: categorical and identifier columns cost nothing but the keeping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from profiler.result import Languages

# The characters of a text the identifier reads.
LANGUAGE_SAMPLE = 2_000
# Fewer letters than this (in the characters read) is too short to tell a language.
LANGUAGE_MIN_LETTERS = 20
# Below this probability (normalised over the identifier's languages) the language is undetermined.
LANGUAGE_MIN_PROBABILITY = 0.5
# Values of a table's text column examined: about 3% margin on a language's share at 95% confidence,
# and under a second to identify them once per column.
COLUMN_VALUES = 1_000


@cache
def language_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def enough_letters(text: str) -> bool:
    return sum(char.isalpha() for char in text[:LANGUAGE_SAMPLE]) >= LANGUAGE_MIN_LETTERS


def language_of(text: str) -> str | None:
    """The ISO 639-1 code of the language of `text`; None when it is too short to tell (see
    `enough_letters`) or the identifier is not sure enough."""
    if not enough_letters(text):
        return None
    code, probability = language_identifier().classify(text[:LANGUAGE_SAMPLE])
    return str(code) if probability >= LANGUAGE_MIN_PROBABILITY else None


@dataclass
class LanguageSample:
    """A string column's values to identify the language of: those of the rows with the smallest keys
    among the rows where the column has a value, at most COLUMN_VALUES. A value too short to hold
    LANGUAGE_MIN_LETTERS letters is kept as None."""

    capacity: int = COLUMN_VALUES
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    texts: list[str | None] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.keys.size)

    def threshold(self) -> int | None:
        """Only a key below this one may still enter (None while the sample is not full)."""
        return int(self.keys[-1]) if len(self) >= self.capacity else None

    def offer(self, keys: np.ndarray, values: list[str]) -> None:
        texts = [value[:LANGUAGE_SAMPLE] if len(value) >= LANGUAGE_MIN_LETTERS else None for value in values]
        self._combine(keys.astype(np.uint64), texts)

    def merge(self, other: LanguageSample) -> None:
        if len(other):
            self._combine(other.keys, other.texts)

    def _combine(self, keys: np.ndarray, texts: list[str | None]) -> None:
        every_key = np.concatenate([self.keys, keys])
        every_text = self.texts + texts
        order = np.argsort(every_key, kind="stable")[: self.capacity]
        self.keys = every_key[order]
        self.texts = [every_text[position] for position in order.tolist()]

    def as_data(self) -> list[list[Any]]:
        return [[int(key), text] for key, text in zip(self.keys.tolist(), self.texts, strict=True)]

    @classmethod
    def from_data(cls, data: list[list[Any]], *, capacity: int) -> LanguageSample:
        sample = cls(capacity=capacity)
        if data:
            sample.keys = np.array([int(key) for key, _ in data], dtype=np.uint64)
            sample.texts = [text for _, text in data]
        return sample

    def summary(self) -> Languages:
        """The languages of the values examined: values per ISO 639-1 code, those too short to tell and
        those the identifier was not sure of."""
        counts: dict[str, int] = {}
        too_short = undetermined = 0
        for text in self.texts:
            if text is None or not enough_letters(text):
                too_short += 1
                continue
            code = language_of(text)
            if code is None:
                undetermined += 1
            else:
                counts[code] = counts.get(code, 0) + 1
        return {
            "examined": len(self),
            "counts": dict(sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))),
            "too_short": too_short,
            "undetermined": undetermined,
        }
