"""Text normalisation for ticket matching: tokens, stems and ticket references.

Engineering text mixes prose with identifiers (``getFileStatus``, ``dfs.namenode.rpc-address``,
``spotbugs-maven-plugin``). A compound identifier is kept whole, so an exact mention matches
strongly, and also split into its lower-cased parts, so ``mkdirs()`` still meets "mkdir".
"""
from __future__ import annotations

import re
from functools import lru_cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# A run of letters/digits, optionally joined to more runs by one of . _ - / # $ (no spaces).
_COMPOUND = re.compile(r"[^\W_]+(?:[._\-/#$]+[^\W_]+)*")
_PART = re.compile(r"[^\W_]+")
# Split points inside a word: fooBar -> foo|Bar, HTTPServer -> HTTP|Server (S3A stays whole).
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_MIN_TOKEN_LENGTH = 2

# scikit-learn's English list minus words that carry meaning in bug reports ("empty", "system", ...).
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) - {
    "back", "bottom", "call", "computer", "empty", "fill", "find", "fire", "found", "front", "full",
    "get", "move", "name", "off", "part", "put", "show", "side", "system", "top", "up", "down", "over",
    "before", "after", "first", "last", "next", "not", "no", "never", "without",
}


@lru_cache(maxsize=1 << 18)
def _expand(compound: str) -> tuple[str, ...]:
    """Lower-cased tokens for one compound: the whole compound first, then its parts."""
    parts = [
        piece.lower()
        for part in _PART.findall(compound)
        for piece in _CAMEL_BOUNDARY.split(part)
        if len(piece) >= _MIN_TOKEN_LENGTH
    ]
    whole = compound.lower()
    if len(parts) > 1 or (parts and parts[0] != whole):
        parts.insert(0, whole)
    return tuple(part for part in parts if part not in STOP_WORDS)


@lru_cache(maxsize=1 << 18)
def _stemmed(compound: str) -> tuple[str, ...]:
    return tuple(stem(token) for token in _expand(compound))


def compounds(text: str) -> list[str]:
    """The raw words and identifiers of ``text``, before splitting and lower-casing."""
    return _COMPOUND.findall(text)


def tokenize(text: str) -> list[str]:
    """Lower-cased tokens of ``text``: compounds and their parts, stop words and 1-char tokens dropped."""
    return [token for compound in compounds(text) for token in _expand(compound)]


def index_terms(text: str) -> list[str]:
    """The stemmed tokens that retrieval indexes; cached per compound, as text repeats heavily."""
    return [term for compound in compounds(text) for term in _stemmed(compound)]


def stem(word: str) -> str:
    """A light inflectional stemmer: plurals, -ed, -ing and a final -e, nothing derivational.

    Conservative on purpose: "failures"/"failure", "upgraded"/"upgrade", "mkdirs"/"mkdir",
    "caching"/"cached"/"cache" meet, while identifiers with digits or symbols are left alone.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    base = _strip_inflection(word)
    if base.endswith("e") and len(base) > 3:
        base = base[:-1]
    return base


def _strip_inflection(word: str) -> str:
    for suffix in ("ing", "ed"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and _has_vowel(base) and not word.endswith("eed"):
            return _undouble(base)
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _has_vowel(text: str) -> bool:
    return any(char in "aeiouy" for char in text)


def _undouble(base: str) -> str:
    """committ -> commit, mapp -> map, but kill and pass keep their double letter."""
    if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "aeiouylsz":
        return base[:-1]
    return base
