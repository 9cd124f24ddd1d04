"""Real text in two languages for the tests of language identification, and the oracle that identifies
it row by row: py3langid applied with pandas."""

import gettext
from collections import Counter
from pathlib import Path

import django
import pandas as pd
from py3langid.langid import MODEL_FILE, LanguageIdentifier

# The thresholds the corpora's documents use, stated again here so the oracle does not read them from
# the code it checks: the first 2,000 characters, at least 20 letters, a probability of at least 0.5.
READ, LETTERS, PROBABILITY = 2_000, 20, 0.5


def django_messages() -> pd.DataFrame:
    """Real text in two languages: every message of Django's own catalogs (as installed) in English and
    in its French translation, one row each."""
    rows = []
    for path in sorted(Path(django.__file__).parent.glob("**/locale/fr/LC_MESSAGES/django.mo")):
        with path.open("rb") as handle:
            catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        for english, french in sorted((k, v) for k, v in catalog.items() if isinstance(k, str) and k and v):
            rows += [(english, "en-source"), (french, "fr-translation")]
    return pd.DataFrame(rows, columns=["message", "catalog"])


def oracle(texts: pd.Series) -> Counter:
    """py3langid applied row by row: the language, or "too_short" / "undetermined"."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)

    def language(text: str) -> str:
        head = text[:READ]
        if sum(char.isalpha() for char in head) < LETTERS:
            return "too_short"
        code, probability = identifier.classify(head)
        return code if probability >= PROBABILITY else "undetermined"

    return Counter(texts.map(language))


def long_messages() -> pd.DataFrame:
    """The messages of at least 30 characters: fewer rows than a text column's language sample holds, so
    every value is examined."""
    frame = django_messages()
    return frame[frame["message"].str.len() >= 30].reset_index(drop=True)
