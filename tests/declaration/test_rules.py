from __future__ import annotations

import re
from pathlib import Path

import pytest

from agento.rules import RULES, rule, rules_markdown


def test_rule_ids_are_unique_stable_codes() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule_id in ids:
        assert re.fullmatch(r"agento-[a-z]+(-[a-z]+)*", rule_id), rule_id


def test_docs_list_the_table() -> None:
    committed = Path("docs/rules.md").read_text()
    assert committed == rules_markdown(), (
        "docs/rules.md is out of date: run `agento rules --markdown > docs/rules.md`"
    )


def test_unknown_rule_id_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="agento-missing-key"):
        rule("agento-nope")
    assert rule("agento-bypass").id == "agento-bypass"
