"""The ACME site: certificate issued by the local pebble server through certbot's webroot
challenge answered by Nginx, and renewal that reloads Nginx through the deploy hook, from the unit
Debian's certbot.timer starts, with Nginx inside the role's systemd sandbox."""


from pyweb_testlib import wait_for

# RFC 2253 names read the same on OpenSSL 3.0 (Debian 12) and 3.5 (Debian 13), whose default
# formats differ ("CN = Pebble" and "CN=Pebble").
SERVED = ("echo | openssl s_client -connect 127.0.0.1:443 -servername acme.pyweb.test 2>/dev/null"
          " | openssl x509 -noout -nameopt RFC2253 -issuer -serial")


def served(host):
    lines = dict(line.split("=", 1) for line in host.run(SERVED).stdout.strip().splitlines())
    return lines["issuer"].strip(), lines["serial"].strip()


def test_acme_certificate_is_issued_by_pebble_and_served(host):
    issuer, _unused = served(host)
    assert issuer.startswith("CN=Pebble Intermediate CA")
    site = host.file("/etc/nginx/sites-available/acme.conf").content_string
    assert "ssl_certificate /etc/letsencrypt/live/acme/fullchain.pem;" in site


def test_acme_site_proxies_with_the_issued_certificate(host):
    answer = host.run("curl -s --cacert /dev/null --insecure --resolve acme.pyweb.test:443:127.0.0.1"
                      " https://acme.pyweb.test/sync-api/hello")
    assert '"app": "sync-api"' in answer.stdout


# certbot.service is what certbot.timer starts (`certbot -q renew`); for the test it forces the
# renewal of the ACME site and trusts pebble, through a runtime drop-in that is removed afterwards.
# Everything else is the timer's path: the same unit, and certbot's deploy hooks, among them the
# role's pyweb-nginx-reload (`nginx -t`, then `systemctl reload nginx`).
FORCE_RENEWAL = "/run/systemd/system/certbot.service.d/pyweb-test-force-renewal.conf"
FORCE_RENEWAL_UNIT = """[Service]
Environment=REQUESTS_CA_BUNDLE=/etc/pebble/cert.pem
ExecStart=
ExecStart=/usr/bin/certbot -q renew --force-renewal --no-random-sleep-on-renew --cert-name acme
"""


def nginx_processes(host):
    master = int(host.check_output("systemctl show --property MainPID --value nginx"))
    return master, set(host.check_output("pgrep -P %s", str(master)).split())


def test_renewal_hook_reloads_nginx_with_the_new_certificate(host):
    assert "pyweb-hardening.conf" in host.check_output("systemctl show --property DropInPaths --value nginx")
    _unused, serial_before = served(host)
    master, workers = nginx_processes(host)
    since = host.check_output("date +%s")
    host.check_output("mkdir -p %s", FORCE_RENEWAL.rsplit("/", 1)[0])
    host.check_output("printf %s %s > %s", "%s", FORCE_RENEWAL_UNIT, FORCE_RENEWAL)
    try:
        host.check_output("systemctl daemon-reload")
        renew = host.run("systemctl start certbot.service")
        assert renew.rc == 0, host.run("journalctl --no-pager --unit certbot.service --since @%s", since).stdout
    finally:
        host.run("rm -f %s && systemctl daemon-reload", FORCE_RENEWAL)

    def renewed():
        issuer, serial = served(host)
        return issuer if serial != serial_before else None

    issuer = wait_for(renewed, timeout=10)
    assert issuer, f"Nginx still serves the certificate {serial_before}"
    assert issuer.startswith("CN=Pebble Intermediate CA")
    # Reloaded in place by the hook: the same master, new workers, and systemd's record of it.
    assert wait_for(lambda: nginx_processes(host)[1] - workers, timeout=15), "no new workers"
    assert nginx_processes(host)[0] == master
    journal = host.check_output("journalctl --no-pager --output cat --unit nginx.service --since @%s", since)
    assert "Reload" in journal, journal


def test_renewal_runs_from_the_certbot_timer(host):
    assert host.service("certbot.timer").is_enabled
