"""A broken value fails the play and leaves the previous configuration serving.

Each case runs the scenario's converge playbook again with one bad extra variable, then checks
that the play failed, that no file under /etc/nginx changed, that Nginx was neither restarted nor
reloaded (same master, same workers) and that it still answers.
"""

import pytest

from conftest import SNAPSHOT, WORKERS, converge

# A site replaced by an extra variable keeps the name pyweb: the demo's app entries put their routes
# there (site: pyweb), and a site of another name would fail on that first.
CASES = {
    # Rejected by nginx -t on the candidate nginx.conf (template validate).
    "main config": ({"nginx_client_max_body_size": "lots"}, "invalid value"),
    # A malformed time is caught by the role's checks before nginx -t sees it.
    "bad time": ({"nginx_keepalive_timeout": "forever"}, "nginx_keepalive_timeout must be an Nginx time"),
    # Written into place, rejected by nginx -t on the whole config, then rolled back.
    "site file": ({"nginx_proxy_next_upstream": ["error", "sometimes"]}, "invalid value"),
    # Rejected by the cross-field checks before anything is touched.
    "unknown zone": ({"nginx_limit_req_zones": []}, "nginx_limit_req_zones"),
    "unknown upstream": (
        {"nginx_sites": [{"name": "pyweb", "server_names": ["x.test"],
                          "routes": [{"path": "/api/", "upstream": "nope"}]}]},
        "nginx_sites[pyweb].routes[/api/]",
    ),
    "tls without a certificate source": (
        {"nginx_sites": [{"name": "pyweb", "server_names": ["x.test"], "tls": {"enabled": True, "source": "files"}}]},
        "nginx_sites[pyweb].tls is enabled without a usable certificate source",
    ),
    # A renewal window as long as the validity would sign the certificates again on every run.
    "renewal window too long": (
        {"nginx_tls_selfsigned_renew_days": 365},
        "nginx_tls_selfsigned_renew_days must be at least 1 and less than nginx_tls_selfsigned_days (365); got 365",
    ),
    "duplicate path": (
        {"nginx_sites": [{"name": "pyweb", "server_names": ["x.test"],
                          "routes": [{"path": "/a/", "upstream": "sync_api"}, {"path": "/a/", "upstream": "async_api"}]}]},
        "each path once",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_value_fails_and_previous_config_keeps_serving(host, case):
    extra_vars, expected = CASES[case]
    files_before = host.run(SNAPSHOT).stdout
    workers_before = host.run(WORKERS).stdout

    output = converge(extra_vars, expect_success=False)

    assert expected in output, output[-3000:]
    assert host.run(SNAPSHOT).stdout == files_before
    assert host.run(WORKERS).stdout == workers_before
    assert host.run("nginx -t").rc == 0
    answer = host.run("curl -sk https://localhost/sync-api/hello")
    assert '"app": "sync-api"' in answer.stdout
