"""The app role's EnvironmentFile= values (plugins/filter/app_systemd_env.py). The apps
scenario proves the real thing, systemd handing the values to the app byte for byte; these cases
pin the escaping rule itself."""

import pytest
from ansible.errors import AnsibleFilterError

from conftest import ROOT, load_plugin

quote = load_plugin(ROOT / "plugins/filter/app_systemd_env.py").app_systemd_env_value


@pytest.mark.parametrize("value, written", [
    ("plain", '"plain"'),
    ("päss", '"päss"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("$HOME and ${HOME}", '"\\$HOME and \\${HOME}"'),
    ("`id`", '"\\`id\\`"'),
    ("back\\slash", '"back\\\\slash"'),
    ("ends\\", '"ends\\\\"'),
    ("line one\nline two\n", '"line one\nline two\n"'),
    ("  spaces  ", '"  spaces  "'),
    ("it's", '"it\'s"'),
    (8080, '"8080"'),
    (True, '"true"'),
])
def test_values_are_double_quoted_with_the_four_escapes(value, written):
    assert quote(value) == written


def test_a_backslash_never_precedes_a_newline_unescaped():
    # Inside double quotes a backslash before a newline joins the lines; every backslash is doubled.
    assert quote("a\\\nb") == '"a\\\\\nb"'


def test_a_nul_byte_is_refused_with_the_name():
    with pytest.raises(AnsibleFilterError, match="SECRET_KEY: a NUL character"):
        quote("a\0b", "SECRET_KEY")


def test_a_mapping_keeps_its_order_and_names_its_values():
    values = load_plugin(ROOT / "plugins/filter/app_systemd_env.py").app_systemd_env_values
    assert list(values({"B": "1", "A": "$x"}).items()) == [("B", '"1"'), ("A", '"\\$x"')]
    with pytest.raises(AnsibleFilterError, match="TOKEN: a NUL character"):
        values({"TOKEN": "\0"})


@pytest.mark.parametrize("value, words", [
    (None, "null"), ([], "a list"), (["a"], "a list"), ({"a": 1}, "a mapping"), (b"x", "bytes")])
def test_values_an_environment_cannot_hold_are_refused_by_name(value, words):
    problems = load_plugin(ROOT / "plugins/module_utils/env_values.py").env_value_problems(
        {"OK": "x", "SENTRY_DSN": value}, "pyweb_apps[0].secrets")
    assert len(problems) == 1 and problems[0].startswith("pyweb_apps[0].secrets.SENTRY_DSN: ") and words in problems[0]
    with pytest.raises(Exception, match="SENTRY_DSN"):
        quote(value, "SENTRY_DSN")


@pytest.mark.parametrize("value", ["", "0", 0, 1.5, True, False])
def test_strings_numbers_and_booleans_are_values(value):
    assert load_plugin(ROOT / "plugins/module_utils/env_values.py").env_value_problems({"A": value}) == []
