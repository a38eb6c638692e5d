import pytest

from pmflow.matching.text import extract_ticket_refs, index_terms, stem, tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("getFileStatus fails", ["getfilestatus", "get", "file", "status", "fails"]),
        ("dfs.namenode.rpc-address", ["dfs.namenode.rpc-address", "dfs", "namenode", "rpc", "address"]),
        ("snake_case_name", ["snake_case_name", "snake", "case", "name"]),
        ("HTTPServer2 S3AFileSystem", ["httpserver2", "http", "server2", "s3afilesystem", "s3a", "file", "system"]),
        ("The cache is empty, a x", ["cache", "empty"]),
        ("naïve café", ["naïve", "café"]),
        ("", []),
    ],
)
def test_tokenize_keeps_compounds_and_their_parts(text, expected):
    assert tokenize(text) == expected


@pytest.mark.parametrize(
    ("words", "same_stem"),
    [
        (["failures", "failure"], True),
        (["upgraded", "upgrade", "upgrades"], True),
        (["mkdirs", "mkdir"], True),
        (["caching", "cached", "cache", "caches"], True),
        (["fixes", "fixed", "fix"], True),
        (["committed", "commit"], True),
        (["dependencies", "dependency"], True),
        (["status", "statu"], False),
        (["class", "clas"], False),
    ],
)
def test_stem_is_light_and_inflectional(words, same_stem):
    assert (len({stem(word) for word in words}) == 1) is same_stem


def test_stem_leaves_identifiers_alone():
    assert stem("s3a") == "s3a"
    assert stem("log4j") == "log4j"


def test_index_terms_are_stemmed_tokens():
    assert index_terms("Retries failed for mkdirs()") == ["retry", "fail", "mkdir"]


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("Fixes ENG-123 and ENG-124", ["ENG-123", "ENG-124"]),
        ("see https://linear.app/acme/issue/ENG-123/fix-login-2-factor", ["ENG-123"]),
        ("https://linear.app/acme/issue/eng-9/slug", ["ENG-9"]),
        ("pushed eng-123-fix-login", ["ENG-123"]),
        ("branch feature/ops-7", ["OPS-7"]),
        ("PR https://github.com/Acme/Web-App/pull/45", ["acme/web-app#45"]),
        ("issue https://github.com/acme/api/issues/7", ["acme/api#7"]),
        ("ENG-1, then ENG-1 again and eng-1-slug", ["ENG-1"]),
        ("UTF-8, CVE-2021-44228, sha-256, x86-64", []),
        ("ENG-12x is not a ref, ENG-12. is", ["ENG-12"]),
        ("fix-login-2-factor", []),
    ],
)
def test_extract_ticket_refs(text, refs):
    assert extract_ticket_refs(text) == refs


def test_extract_ticket_refs_in_order_of_appearance():
    assert extract_ticket_refs("OPS-2 https://github.com/a/b/pull/1 ENG-1") == ["OPS-2", "a/b#1", "ENG-1"]


def test_extract_ticket_refs_with_known_team_keys():
    text = "ENG-1 OPS-2 FOO-3 step-2-rollout"
    assert extract_ticket_refs(text, team_keys=frozenset({"ENG", "OPS"})) == ["ENG-1", "OPS-2"]
