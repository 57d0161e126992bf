"""Snippets from the top-level templates/ folder (templates/nginx/), set on the ACME site by
converge.yml: a route's snippet adds a header to that route only, next to the common security
headers; the site's snippet answers /robots.txt; a snippet Nginx cannot parse is refused by
`nginx -t` and the live configuration stays."""

from conftest import SNAPSHOT, WORKERS, converge

ACME = "https://acme.pyweb.test"
RESOLVE = ("--resolve", "acme.pyweb.test:443:127.0.0.1")


def test_route_snippet_adds_its_header_and_keeps_the_common_ones(curl):
    status, headers, body = curl.json(f"{ACME}/sync-api/hello", *RESOLVE)
    assert status == 200
    assert body["app"] == "sync-api"
    assert headers["x-robots-tag"] == "noindex, nofollow"
    # add_header in the route's location would hide these if the role did not repeat them.
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-request-id"]


def test_routes_without_a_snippet_do_not_get_its_header(curl):
    _unused, headers, _unused = curl.get("https://localhost/sync-api/hello")
    assert "x-robots-tag" not in headers


def test_site_snippet_answers_robots_txt(curl):
    status, headers, body = curl.get(f"{ACME}/robots.txt", *RESOLVE)
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert body == "User-agent: *\nDisallow: /\n"
    # The other site has no such snippet: its unclaimed paths stay JSON 404s.
    status, _unused, _unused = curl.get("https://localhost/robots.txt")
    assert status == 404


def test_snippet_with_bad_syntax_is_refused_and_the_live_config_stays(host, curl, tmp_path):
    bad = tmp_path / "bad-route.conf.j2"
    bad.write_text("{{ ansible_managed | comment }}\nadd_header X-Broken \"yes\" always\n")
    files_before = host.run(SNAPSHOT).stdout
    workers_before = host.run(WORKERS).stdout

    output = converge({"__nginx_acme_route_snippet": str(bad)}, expect_success=False)

    assert "The new Nginx configuration failed its test" in output, output[-3000:]
    assert host.run(SNAPSHOT).stdout == files_before
    assert host.run(WORKERS).stdout == workers_before
    assert host.run("nginx -t").rc == 0
    _unused, headers, _unused = curl.get(f"{ACME}/sync-api/hello", *RESOLVE)
    assert headers["x-robots-tag"] == "noindex, nofollow"
    assert "x-broken" not in headers


def test_missing_snippet_is_named_before_anything_changes(host):
    files_before = host.run(SNAPSHOT).stdout

    output = converge({"__nginx_acme_site_snippet": "nginx/no-such-snippet.conf.j2"}, expect_success=False)

    assert "nginx_sites[acme].snippet_template: 'nginx/no-such-snippet.conf.j2' is not a file" in output, \
        output[-3000:]
    assert host.run(SNAPSHOT).stdout == files_before
