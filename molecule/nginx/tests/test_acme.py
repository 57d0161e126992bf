"""The ACME site: certificate issued by the local pebble server through certbot's webroot
challenge answered by Nginx, and renewal that reloads Nginx through the deploy hook."""

import time

# RFC 2253 names read the same on OpenSSL 3.0 (Debian 12) and 3.5 (Debian 13), whose default
# formats differ ("CN = Pebble" and "CN=Pebble").
SERVED = ("echo | openssl s_client -connect 127.0.0.1:443 -servername acme.pyweb.test 2>/dev/null"
          " | openssl x509 -noout -nameopt RFC2253 -issuer -serial")


def served(host):
    lines = dict(line.split("=", 1) for line in host.run(SERVED).stdout.strip().splitlines())
    return lines["issuer"].strip(), lines["serial"].strip()


def test_acme_certificate_is_issued_by_pebble_and_served(host):
    issuer, _ = served(host)
    assert issuer.startswith("CN=Pebble Intermediate CA")
    site = host.file("/etc/nginx/sites-available/acme.conf").content_string
    assert "ssl_certificate /etc/letsencrypt/live/acme/fullchain.pem;" in site


def test_acme_site_proxies_with_the_issued_certificate(host):
    answer = host.run("curl -s --cacert /dev/null --insecure --resolve acme.pyweb.test:443:127.0.0.1"
                      " https://acme.pyweb.test/sync-api/hello")
    assert '"app": "sync-api"' in answer.stdout


def test_renewal_hook_reloads_nginx_with_the_new_certificate(host):
    _, serial_before = served(host)
    # Without a terminal certbot waits up to 8 minutes first to spread load; not here.
    renew = host.run("REQUESTS_CA_BUNDLE=/etc/pebble/cert.pem certbot renew --force-renewal"
                     " --no-random-sleep-on-renew --cert-name acme --non-interactive")
    assert renew.rc == 0, renew.stderr
    for _ in range(20):
        issuer, serial_after = served(host)
        if serial_after != serial_before:
            break
        time.sleep(0.5)
    assert issuer.startswith("CN=Pebble Intermediate CA")
    assert serial_after != serial_before


def test_renewal_runs_from_the_certbot_timer(host):
    assert host.service("certbot.timer").is_enabled
