"""Credentials in app_pip_extra_args (an index URL with user:token@) stay out of the virtualenv's
marker file and make the pip task no_log (roles/app/vars/main.yml, venv.yml)."""

import pytest

from conftest import ROOT, load_yaml, role_template_vars


def templated(expression, **overrides):
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    variables = {**role_template_vars("app"), "app_name": "shop", **overrides}
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


@pytest.mark.parametrize("args, shown, secret", [
    ("--index-url https://deploy:s3cret@pypi.example/simple", "--index-url https://***@pypi.example/simple", True),
    ("--extra-index-url https://pypi.example/simple", "--extra-index-url https://pypi.example/simple", False),
    ("", "", False),
])
def test_pip_credentials_are_masked(args, shown, secret):
    assert templated("{{ __app_pip_args_shown }}", app_pip_extra_args=args) == shown
    assert templated("{{ __app_pip_has_credentials }}", app_pip_extra_args=args) is secret


def test_pip_task_is_no_log_with_credentials_and_the_marker_shows_the_masked_args():
    tasks = load_yaml(ROOT / "roles/app/tasks/venv.yml")
    pips = [task for task in tasks if "ansible.builtin.pip" in task]
    assert len(pips) == 2  # the app, then the server at its pins
    assert all(pip["no_log"] == "{{ __app_pip_has_credentials }}" for pip in pips)
    marker = (ROOT / "roles/app/templates/srv/app/venvs/venv/pyweb-venv.j2").read_text()
    assert "__app_pip_args_shown" in marker and "__app_pip_args }}" not in marker
