"""The app contract (roles/apps): one spec for an entry of pyweb_apps, generated from the app and
gunicorn roles' specs; the checks that refuse a bad entry before anything changes; the one mapping
from an entry to both roles' variables; and the deploy history that rollback and pruning follow."""

import pytest
import yaml

from conftest import ROOT, entry_options, load_plugin, load_yaml, role_options


contract = load_plugin(ROOT / "plugins/filter/pyweb_apps.py")
releases = load_plugin(ROOT / "plugins/filter/app_releases.py")

APP, GUNICORN = role_options("app"), role_options("gunicorn")
ENTRY = entry_options()


def problems(*entries, limit=None, **lists):
    return contract.pyweb_app_problems({"pyweb_apps": list(entries), **lists}, ENTRY, limit)


def role_vars(entry, **kwargs):
    return contract.pyweb_app_role_vars([entry], ENTRY, APP, GUNICORN, **kwargs)[0]


def test_every_per_app_role_variable_is_an_entry_key():
    for role, options in (("app", APP), ("gunicorn", GUNICORN)):
        for var in options:
            if var in contract.HOST_WIDE or var in contract.DERIVED:
                continue
            key = var[len(role) + 1:]
            assert key in ENTRY, f"{var} cannot be set from an entry"
            assert ENTRY[key]["type"] == options[var].get("type", "str")
            assert var in ENTRY[key]["description"]


def test_keys_both_roles_have_set_both():
    for key in ("name", "mode", "user", "group"):
        assert f"app_{key}" in ENTRY[key]["description"] and f"gunicorn_{key}" in ENTRY[key]["description"]
    assert ENTRY["name"]["required"] is True


def test_the_include_lists_every_role_variable_once():
    """roles/apps/tasks/app.yml passes both roles every variable of their specs, from the mapping,
    on the block around each app's steps."""
    (block,) = load_yaml(ROOT / "roles/apps/tasks/app.yml")
    assert list(block["vars"]) == list(APP) + list(GUNICORN)
    for var, value in block["vars"].items():
        role = var.split("_", 1)[0]
        assert value == f"{{{{ apps_item.{role}.{var} }}}}"


def test_every_step_of_an_app_runs_with_those_variables():
    """The steps files run only inside app.yml's block, and name the roles they run."""
    (block,) = load_yaml(ROOT / "roles/apps/tasks/app.yml")
    assert block["block"][-1]["ansible.builtin.include_tasks"] == "app_{{ __apps_tasks_from }}.yml"
    for steps in ("deploy", "rollback", "remove"):
        assert (ROOT / f"roles/apps/tasks/app_{steps}.yml").is_file()


def test_a_good_entry_has_no_problems():
    assert problems({"name": "shop", "src": "/srv/x", "workers": 2, "env": {"A": "b"}, "module": "shop:app"}) == []


def test_an_unknown_key_names_the_entry_and_suggests_the_closest():
    found = problems({"name": "shop", "health_pat": "/health"})
    assert found == ["pyweb_apps[0] (shop): unknown key 'health_pat'. Did you mean 'health_path'?"]


def test_an_unknown_key_without_a_close_one_points_at_the_table():
    assert "roles/apps/README.md" in problems({"name": "shop", "zzzz": 1})[0]


def test_types_and_choices_are_checked_by_ansibles_validator():
    found = problems({"name": "shop", "workers": "many", "profile": "web"})
    assert any(p.startswith("pyweb_apps[0] (shop): ") and "workers" in p for p in found), found
    assert any("profile" in p and "web" in p for p in found), found


def test_secret_values_never_reach_a_message():
    found = problems({"name": "shop", "secrets": ["hunter2-value"]})
    assert found == ["pyweb_apps[0] (shop).secrets must be a mapping of variable names to values."]
    assert "hunter2" not in " ".join(found)


def test_names_must_be_valid_and_unique_across_lists():
    assert "must be lowercase" in problems({"name": "Shop"})[0]
    found = problems({"name": "shop"}, pyweb_apps__extra=[{"name": "shop"}])
    assert found == ["pyweb_apps[0] and pyweb_apps__extra[0] share the name shop; app names must be unique "
                     "(they name users, units and sockets)."]


def test_lists_and_entries_of_the_wrong_shape():
    assert contract.pyweb_app_problems({"pyweb_apps": {"name": "x"}}, ENTRY) == [
        "pyweb_apps must be a list of apps (entries with name, src, ...); got a mapping."]
    assert problems("shop") == ["pyweb_apps[0] must be a mapping (name, src, ...); got a string."]


def test_a_limit_naming_no_app_is_refused():
    assert problems({"name": "shop"}, limit=["shpo"]) == [
        "pyweb_apps_limit names shpo, which no app entry has (apps: shop)."]


def test_mapping_takes_the_entry_then_the_host_then_the_role_default():
    result = role_vars({"name": "shop", "timeout": 90, "module": "shop.wsgi:create_app()"},
                       host_values={"gunicorn_timeout": 60, "gunicorn_keepalive": 3, "app_base_dir": "/opt"})
    app, gunicorn = result["app"], result["gunicorn"]
    assert gunicorn["gunicorn_timeout"] == 90
    assert gunicorn["gunicorn_keepalive"] == 3
    assert gunicorn["gunicorn_graceful_timeout"] == GUNICORN["gunicorn_graceful_timeout"]["default"]
    assert gunicorn["gunicorn_app_module"] == "shop.wsgi:create_app()"
    assert app["app_user"] == "shop" and gunicorn["gunicorn_user"] == "shop"
    assert gunicorn["gunicorn_bind"] == "unix:/run/gunicorn/shop.sock"
    assert gunicorn["gunicorn_app_dir"] == "/opt/shop"
    assert gunicorn["gunicorn_environment_files"] == ["/etc/pyweb/shop/environment", "/etc/pyweb/shop/secrets"]
    assert set(app) == set(APP) and set(gunicorn) == set(GUNICORN)


def test_host_wide_variables_are_not_taken_from_entries():
    assert "base_dir" not in ENTRY and "config_dir" not in ENTRY


def test_mode_comes_from_the_entry_else_pyweb_mode():
    assert role_vars({"name": "a"}, mode="development")["app"]["app_mode"] == "development"
    assert role_vars({"name": "a", "mode": "production"}, mode="development")["gunicorn"]["gunicorn_mode"] == "production"


def test_limit_selects_apps_and_rollback_reaches_the_app_role():
    chosen = contract.pyweb_app_role_vars([{"name": "a"}, {"name": "b"}], ENTRY, APP, GUNICORN,
                                          limit=["b"], rollback=True)
    assert [c["name"] for c in chosen] == ["b"]
    assert chosen[0]["app"]["app_rollback"] is True


def test_nothing_leaks_from_one_entry_into_the_next():
    first, second = contract.pyweb_app_role_vars([{"name": "a", "workers": 7}, {"name": "b"}], ENTRY, APP, GUNICORN)
    assert first["gunicorn"]["gunicorn_workers"] == 7
    assert second["gunicorn"]["gunicorn_workers"] == GUNICORN["gunicorn_workers"]["default"]


def test_the_app_role_gets_the_server_packages_the_gunicorn_role_would_install():
    """The virtualenv is built with the server at its pins and named after them (app_server_packages),
    so a changed pin, server or worker class builds a new virtualenv beside the live one."""
    pins = GUNICORN["gunicorn_package_versions"]["default"]
    sync = role_vars({"name": "a", "profile": "io"})["app"]["app_server_packages"]
    assert sync == [f"gunicorn=={pins['gunicorn']}", f"setproctitle=={pins['setproctitle']}"]
    older = role_vars({"name": "a", "profile": "io", "package_versions": dict(pins, gunicorn="26.2.0")})
    assert older["app"]["app_server_packages"][0] == "gunicorn==26.2.0"
    asgi = role_vars({"name": "a", "profile": "async", "metrics_listen": "127.0.0.1:9300", "extra_packages": ["sentry-sdk"]})
    assert asgi["app"]["app_server_packages"] == [
        f"{name}=={pins[name]}" for name in ("gunicorn", "setproctitle", "uvicorn-worker", "uvicorn", "uvloop",
                                             "httptools", "websockets", "prometheus-client")] + ["sentry-sdk"]
    granian = role_vars({"name": "a", "profile": "async", "server": "granian"}, host_values={"gunicorn_package_versions": {}})
    assert granian["app"]["app_server_packages"] == ["granian", "setproctitle", "uvloop"]


def test_the_server_packages_are_the_gunicorn_roles_own():
    """One table: the gunicorn role installs what its filter names, the same the apps role hands over."""
    sizing = load_plugin(ROOT / "plugins/filter/gunicorn_sizing.py")
    filters = sizing.FilterModule().filters()
    assert "gunicorn_server_packages" in filters
    entry = {"name": "a", "profile": "io", "worker_class": "gevent", "extra_packages": ["x==1"]}
    resolved = role_vars(entry)
    gunicorn = resolved["gunicorn"]
    assert filters["gunicorn_server_packages"](
        gunicorn["gunicorn_server"], "gevent", "False", gunicorn["gunicorn_package_versions"],
        gunicorn["gunicorn_extra_packages"]) == resolved["app"]["app_server_packages"]
    install = yaml.safe_load((ROOT / "roles/gunicorn/vars/main.yml").read_text())["__gunicorn_install_packages"]
    assert "gunicorn_server_packages" in install


def test_the_entry_spec_is_generated_from_the_role_specs():
    sites = role_options("nginx")["nginx_sites"]["options"]
    generated = contract.entry_options(APP, GUNICORN, sites)
    assert generated == ENTRY, "run scripts/role_docs.py"


# The deploy history (plugins/filter/app_releases.py).

def on_disk(*ids):
    return [{"path": f"/srv/a/releases/{rid}", "mtime": n} for n, rid in enumerate(ids)]


def test_a_deploy_appends_once():
    plan = releases.plan("A\n", on_disk("A"), current="A", release_id="B")
    assert plan["history"] == ["A", "B"]
    assert releases.plan("A\nB\n", on_disk("A", "B"), current="B", release_id="B")["history"] == ["A", "B"]


def test_rollback_goes_to_the_release_deployed_before_not_the_older_directory():
    # A, then B, then A again: A's directory is the older one, but B was deployed before it.
    history = "A\nB\nA\n"
    plan = releases.plan(history, on_disk("A", "B"), current="A", rollback=True)
    assert plan["rollback_to"] == "B"
    assert plan["history"] == ["A", "B"]
    again = releases.plan("\n".join(plan["history"]), on_disk("A", "B"), current="B", rollback=True)
    assert again["rollback_to"] == "A"
    assert releases.plan("A\n", on_disk("A"), current="A", rollback=True)["rollback_to"] == ""


def test_rollback_skips_releases_pruned_away():
    assert releases.plan("A\nB\nC\n", on_disk("B", "C"), current="C", rollback="true")["rollback_to"] == "B"
    assert releases.plan("A\nC\n", on_disk("C"), current="C", rollback=True)["rollback_to"] == ""


def test_a_host_without_history_is_seeded_from_its_directories():
    plan = releases.plan("", on_disk("A", "B", ".C.unpack"), current="A", rollback=True)
    assert plan["rollback_to"] == "B"


def test_pruning_keeps_the_current_and_the_last_releases_of_the_history():
    plan = releases.plan("A\nB\nC\nA\n", on_disk("A", "B", "C", "D"), current="A", release_id="E", keep=2)
    assert plan["history"][-1] == "E"
    assert sorted(plan["prune"]) == ["B", "C", "D"]


def readme_inventory():
    """The inventory of the README's "Quick start: your own app" section."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Quick start: your own app"):]
    block = section[section.index("```yaml\n") + len("```yaml\n"):]
    return yaml.safe_load(block[:block.index("```")])


def test_the_readme_example_passes_every_check_it_would_meet():
    """What the README tells a new user to write is accepted by the entry spec and the nginx
    role's spec, puts its one host in both groups the site playbook deploys, and derives the
    app's Nginx routes without a problem."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    inventory = readme_inventory()["all"]
    groups = inventory["children"]
    assert set(groups["lb"]["hosts"]) == set(groups["app"]["hosts"]) == {"web1.example.com"}
    variables = inventory["vars"]
    assert problems(*variables["pyweb_apps"]) == []
    entry = variables["pyweb_apps"][0]
    assert entry["routes"] and entry["static"] and entry["release_commands"]
    assert entry["background_workers"] and entry["timers"]
    nginx = {key: value for key, value in variables.items() if key.startswith("nginx_")}
    result = ArgumentSpecValidator(role_options("nginx")).validate(nginx)
    assert result.error_messages == []
    proxy = load_plugin(ROOT / "plugins/filter/pyweb_proxy.py")
    host = {"web1.example.com": {"pyweb_apps": variables["pyweb_apps"]}}
    derived = proxy.pyweb_proxy_config(proxy.pyweb_app_routes(host, ["web1.example.com"]), "web1.example.com",
                                       [], nginx["nginx_sites"])
    assert derived["problems"] == []
    assert derived["upstreams"] == [{"name": "shop", "servers": [{"address": "unix:/run/gunicorn/shop.sock"}]}]


def app_lists(path):
    data = yaml.safe_load(path.read_text()) or {}
    return {name: value for name, value in data.items() if contract.LIST_NAME.match(name)}


# Under hidden folders (.venv, .state, .ansible) lie copies, not sources.
SHIPPED_APP_LISTS = sorted(p for p in ROOT.glob("**/group_vars/**/*.yml")
                           if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
                           and p.is_file() and app_lists(p))


def test_there_are_shipped_app_lists():
    assert len(SHIPPED_APP_LISTS) >= 5, SHIPPED_APP_LISTS


@pytest.mark.parametrize("path", SHIPPED_APP_LISTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_app_list_meets_the_contract(path):
    """The inventories', the benchmark's and the scenarios' app lists: every entry passes the checks."""
    assert contract.pyweb_app_problems(app_lists(path), ENTRY) == []


def test_the_deploy_steps_variables_are_not_entry_keys():
    """app_switch and gunicorn_release_dir belong to the apps role's deploy steps
    (roles/apps/tasks/app_deploy.yml): an entry cannot set them, and the mapping hands the roles
    their defaults, a plain deploy, which the steps override."""
    assert "switch" not in ENTRY and "release_dir" not in ENTRY
    found = problems({"name": "shop", "src": "/srv/x", "switch": False})
    assert len(found) == 1 and found[0].startswith("pyweb_apps[0] (shop): unknown key 'switch'."), found
    result = role_vars({"name": "shop", "src": "/srv/x"})
    assert result["app"]["app_switch"] is True
    assert result["gunicorn"]["gunicorn_release_dir"] == ""


def test_state_sets_both_roles_and_an_absent_entry_needs_only_its_name():
    assert problems({"name": "old", "state": "absent"}) == []
    assert problems({"name": "old", "state": "gone"}) != []
    absent = role_vars({"name": "old", "state": "absent", "purge_data": True})
    assert (absent["app"]["app_state"], absent["gunicorn"]["gunicorn_state"]) == ("absent", "absent")
    assert absent["app"]["app_purge_data"] is True
    present = role_vars({"name": "new", "src": "/x"})
    assert (present["app"]["app_state"], present["app"]["app_purge_data"]) == ("present", False)


NGINX_UPSTREAMS = [{"name": "old_api", "servers": [{"address": "unix:/run/gunicorn/old.sock"}]},
                   {"name": "new_api", "servers": [{"address": "unix:/run/gunicorn/new.sock"}]},
                   {"name": "remote", "servers": [{"address": "10.0.0.5:8000"}]}]
NGINX_SITES = [{"name": "pyweb", "static": [{"path": "/static/", "root": "/srv/old/current/static/"},
                                            {"path": "/media/", "root": "/srv/older/media"}]}]


def test_nginx_settings_that_point_at_an_absent_app_are_named():
    selected = [role_vars({"name": "old", "state": "absent"}), role_vars({"name": "new", "src": "/x"})]
    found = contract.pyweb_absent_app_references(selected, NGINX_UPSTREAMS, NGINX_SITES)
    assert found == [
        "nginx_upstreams[old_api] sends requests to unix:/run/gunicorn/old.sock, the socket of old, "
        "whose entry in pyweb_apps has state absent",
        "nginx_sites[pyweb].static[/static/] serves files from /srv/old/, the directory of old, "
        "whose entry in pyweb_apps has state absent",
    ]
    # /srv/older is another app's directory; a present app's socket is no problem.
    assert contract.pyweb_absent_app_references(selected[1:], NGINX_UPSTREAMS, NGINX_SITES) == []
    assert contract.pyweb_absent_app_references(selected, None, None) == []
