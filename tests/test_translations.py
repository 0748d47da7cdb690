"""The catalogues are complete and compiled: every string in the code and templates has its
English translation and, where it counts, its three Russian plural forms."""

from scripts.translations_check import problems


def test_catalogues_are_complete_and_compiled():
    found = problems()
    assert found == [], "\n".join(found[:30])
