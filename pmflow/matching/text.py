"""Text normalisation for ticket matching: tokens, stems and ticket references.

Engineering text mixes prose with identifiers (``getFileStatus``, ``dfs.namenode.rpc-address``,
``spotbugs-maven-plugin``). A compound identifier is kept whole, so an exact mention matches
strongly, and also split into its lower-cased parts, so ``mkdirs()`` still meets "mkdir".
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
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


MAYBE_REFERENCE = r"[A-Za-z0-9]-\d|github\.com/"
"""Every ticket reference (identifier, Linear URL, branch name) contains a letter or digit, a dash
and a digit, and every pull request or issue one a GitHub URL: text matching neither (case
ignored) holds no reference and is skipped cheaply."""
# A ticket key, ENG-123: 2-10 letters/digits starting with a letter, not glued to a word before.
_KEY = r"(?<![A-Za-z0-9_-])([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,7})"
_UPPER_KEY = re.compile(r"(?<![A-Za-z0-9_-])([A-Z][A-Z0-9]{1,9})-(\d{1,7})(?![A-Za-z0-9_])")
# Any case when it reads like a branch: followed by a slug (eng-123-fix-login) or after a slash.
_BRANCH_KEY = re.compile(_KEY + r"(?=-[A-Za-z0-9])|(?<=/)([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,7})\b")
_LINEAR_URL = re.compile(r"https?://linear\.app/[\w.-]+/issue/([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,7})", re.IGNORECASE)
_GITHUB_URL = re.compile(r"https?://(?:www\.)?github\.com/([\w.-]+)/([\w.-]+)/(?:pull|issues)/(\d+)", re.IGNORECASE)
# Prefixes that look like ticket keys but name standards, hashes and versions (UTF-8, CVE-2021).
NOT_TICKET_KEYS = frozenset(
    {"UTF", "UCS", "SHA", "MD", "CVE", "CWE", "GHSA", "ISO", "RFC", "HTTP", "TLS", "SSL", "TCP", "UDP", "IPV",
     "X86", "ARM", "AES", "RSA", "ECDSA", "COVID", "GPT", "JDK", "JSR", "PEP", "ES", "WIN", "Q", "H", "V"}
)


def extract_ticket_refs(text: str, team_keys: frozenset[str] | None = None) -> list[str]:
    """Ticket references in ``text``, normalised and de-duplicated in order of appearance.

    ``ENG-123`` and Linear URLs give ``"ENG-123"``; branch names such as ``eng-123-fix-login``
    or ``feature/eng-123`` give ``"ENG-123"`` too; GitHub PR and issue URLs give
    ``"owner/repo#45"``. With ``team_keys`` (e.g. ``{"ENG", "OPS"}``) only those prefixes count;
    otherwise any key except look-alikes such as UTF-8 or CVE-2021. Lower-case branch-like
    words are ambiguous in prose (``step-2-rollout``), so callers that know their team keys
    should pass them.
    """
    found: list[tuple[int, str]] = []
    for pattern in (_LINEAR_URL, _UPPER_KEY, _BRANCH_KEY):
        for match in pattern.finditer(text):
            prefix, number = (group for group in match.groups() if group is not None)
            if _is_ticket_key(prefix.upper(), team_keys):
                found.append((match.start(), f"{prefix.upper()}-{int(number)}"))
    for match in _GITHUB_URL.finditer(text):
        owner, repo, number = match.groups()
        found.append((match.start(), f"{owner.lower()}/{repo.lower()}#{number}"))
    return list(dict.fromkeys(ref for _, ref in sorted(found)))


def _is_ticket_key(key: str, team_keys: frozenset[str] | None) -> bool:
    return key in team_keys if team_keys is not None else key not in NOT_TICKET_KEYS


# -- template boilerplate ------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _line_key(line: str) -> str:
    return _SPACES.sub(" ", line.strip().lower())


def boilerplate_lines(texts: Sequence[str], min_share: float = 0.05, min_docs: int = 5) -> frozenset[str]:
    """Lines (normalised: trimmed, lower-cased, spaces collapsed) found in at least ``min_share`` of
    ``texts`` and at least ``min_docs`` of them: a template's fixed text ("Acceptance criteria:",
    "- verified on staging"), which says nothing about any one ticket but, indexed, makes a word
    of it ("staging") look present in every ticket that uses the template."""
    df: Counter[str] = Counter()
    for text in texts:
        if text:
            df.update({key for key in map(_line_key, text.splitlines()) if key})
    least = max(min_docs, min_share * len(texts))
    return frozenset(key for key, n in df.items() if n >= least)


def without_lines(text: str, lines: frozenset[str]) -> str:
    """``text`` without the lines whose normalised form is in ``lines``."""
    if not lines or not text:
        return text
    return "\n".join(line for line in text.splitlines() if _line_key(line) not in lines)

