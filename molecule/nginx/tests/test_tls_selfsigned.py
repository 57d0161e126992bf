"""A self-signed certificate is signed again once it expires within
nginx_tls_selfsigned_renew_days, and the run after that changes nothing."""

from datetime import datetime, timedelta, timezone

from pyweb_testlib import wait_for

from conftest import converge, recap_changed, served_certificate, task_output


def served_until(host):
    """When the certificate Nginx serves for localhost (the demo's self-signed site) expires."""
    raw = served_certificate(host, "localhost", "-enddate").split("=", 1)[1]
    return datetime.strptime(raw, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=timezone.utc)


def test_an_expiring_selfsigned_certificate_is_signed_again(host):
    now = datetime.now(timezone.utc)
    # A certificate that expires in 5 days, made by the role itself: the one in place goes, and a
    # run with a 5-day validity signs the next (a 2-day window leaves it alone).
    host.run("rm -f /etc/nginx/tls/pyweb.crt")
    converge({"nginx_tls_selfsigned_days": 5, "nginx_tls_selfsigned_renew_days": 2})
    short = wait_for(lambda: served_until(host) < now + timedelta(days=6) and served_until(host))
    assert short, served_until(host)

    # The default window (30 days) holds it: signed again for a year, and Nginx serves the new one.
    output = converge({})
    assert "changed: [pyweb-nginx]" in task_output(
        output, "Sign the self-signed certificates that are missing, out of date or due for renewal")
    renewed = wait_for(lambda: served_until(host) > now + timedelta(days=360) and served_until(host))
    assert renewed, f"still served until {served_until(host)}"
    assert renewed > short

    assert recap_changed(converge({})) == 0
