"""The rule for names that identify things (dataset and job namespaces and names): one spelling per name seen.

Two names that look alike must be the same name or be refused, or one can pass for the other in a search, a
lineage graph, an audit report or the admin (`zebra-patients-secr\u0435t`, with a Cyrillic e, is not the dataset
it looks like). So a name is normalised to NFC (the composed and decomposed spellings of `café` are one
name), and refused when it holds a character that shows nothing (zero-width spaces, bidi controls,
variation selectors), a compatibility form of another character (fullwidth or mathematical letters, ligatures,
non-breaking spaces), or a word that mixes Latin letters with Cyrillic or Greek ones (the scripts whose letters
are confusable with Latin). Latin beside other scripts (`data集`), and any script on its own, stay allowed.

Plain Python (unicodedata), no Django: the OpenLineage validation uses it too.
"""

import re
import unicodedata

# The scripts whose letters pass for one another: a word may use one of them, never two.
CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})

# General categories that show nothing or are no character: controls, format characters (zero-width space and
# joiners, bidi controls, the byte-order mark, soft hyphen), surrogates, private use, unassigned, line and
# paragraph separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Invisible characters of visible categories: the combining grapheme joiner, variation selectors, Hangul fillers,
# the Mongolian free variation selectors and vowel separator, the braille blank.
_INVISIBLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180E, 0x180F, 0x2800, 0x3164, 0xFFA0}
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)
_WORD_SEPARATORS = re.compile(r"[\W_]+")


class IdentityInvalid(ValueError):
    pass


def identity_normalised(text: str) -> str:
    """The one spelling of a name: Unicode NFC."""
    return unicodedata.normalize("NFC", text)


def _shown(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')}"


def _script(char: str) -> str:
    return unicodedata.name(char, "").split(" ", 1)[0]


def identity_problem(text: str) -> str | None:
    """Why this (normalised) name cannot identify anything, said for a person; None when it can."""
    for char in text:
        category = unicodedata.category(char)
        if category in _INVISIBLE_CATEGORIES or ord(char) in _INVISIBLE or (category == "Zs" and char != " "):
            return f"holds {_shown(char)}, which is invisible or a control character; remove it"
        if unicodedata.normalize("NFKC", char) != char and category[0] in "LNZ":
            plain = unicodedata.normalize("NFKC", char)
            return f"holds {_shown(char)}, a look-alike of {plain!r}; write {plain!r} instead"
    for word in _WORD_SEPARATORS.split(text):
        scripts = {_script(char) for char in word if char.isalpha()} & CONFUSABLE_SCRIPTS
        if len(scripts) > 1:
            mixed = " and ".join(sorted(script.title() for script in scripts))
            return f"mixes {mixed} letters in the word {word!r}, so it passes for another name; use one script"
    return None


def identity_checked(text: str) -> str:
    """The name normalised (NFC), or IdentityInvalid saying why it cannot identify anything."""
    normalised = identity_normalised(text)
    problem = identity_problem(normalised)
    if problem is not None:
        raise IdentityInvalid(problem)
    return normalised
