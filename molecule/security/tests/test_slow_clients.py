"""Slow and never-finishing clients are cut off by Nginx's client_header_timeout and
client_body_timeout, so they cannot hold connections (and worker slots behind them) for ever.

The clients were started at the beginning of the session (conftest.slow_clients); these tests
collect what happened to them. Bounds: no earlier than the timeout less a second (so it is that
timer and not something else that ends them), no later than the timeout plus a generous margin.
"""

import pytest

from conftest import record


@pytest.mark.parametrize("client", ["header stalled", "header trickled"])
def test_client_slow_in_its_header_is_cut_off_after_client_header_timeout(slow_clients, client):
    timeout = slow_clients.header_timeout
    outcome = slow_clients.futures[client].result()
    record("slow clients", client, {"client_header_timeout_s": timeout, "closed_after_s": outcome.elapsed and
                                    round(outcome.elapsed, 1), "ending": outcome.ending,
                                    "answer": outcome.answer.decode(errors="replace")[:80],
                                    "header_lines_trickled": outcome.sent_lines})
    assert outcome.ending in ("eof", "reset"), f"still open after {timeout + 60} s"
    # Nothing is answered: the request never got as far as a response.
    assert outcome.answer == b""
    assert timeout - 1 <= outcome.elapsed <= timeout + slow_clients.margin(timeout), outcome


def test_client_stalled_in_its_body_gets_408_or_a_close_after_client_body_timeout(slow_clients):
    timeout = slow_clients.body_timeout
    outcome = slow_clients.futures["body stalled"].result()
    record("slow clients", "body stalled", {"client_body_timeout_s": timeout, "closed_after_s": outcome.elapsed and
                                            round(outcome.elapsed, 1), "ending": outcome.ending,
                                            "status": outcome.status})
    assert outcome.ending in ("eof", "reset"), f"still open after {timeout + 60} s"
    assert outcome.answer == b"" or outcome.status == 408, outcome.answer[:200]
    assert timeout - 1 <= outcome.elapsed <= timeout + slow_clients.margin(timeout), outcome
