"""Federation (issue 18) over TLS, two engines on hosts of their own
(tests/python/fedlab.py) with certificates made here by the openssl CLI:
mutual authentication against the CA lets events through; a certificate
from another CA or an expired one is refused (logged and counted) by the
side that checks it; TLS on one side only is refused with a clear line on
both sides."""

from __future__ import annotations

import re
from typing import Dict, Optional

import pytest

from fedlab import Certificates, Lab, lab  # noqa: F401 (fixture)

N = 20
#: `federation: refused HOST:PORT: REASON`, where the accepting side may
#: name the peer after the address: `HOST:PORT (peer 'A'): REASON`.
REFUSED = r"federation: refused \S+:\d+( \(peer '[^']*'\))?: .+"


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certs"))


def pair(lab: Lab, tls_a: Optional[Dict[str, str]],
         tls_b: Optional[Dict[str, str]]) -> Lab:
    """A (publishes N, dials B) and B (records), each with its TLS table
    (None: plain)."""
    lab.site("A", publish=N)
    lab.site("B", record=True)
    lab.link("A", "B")
    lab.start("B", tls=tls_b)
    lab.start("A", tls=tls_a)
    return lab


def no_peer_up(lab: Lab) -> None:
    for s in lab.sites.values():
        assert not re.search(r"federation: peer \S+ up", s.output()), (
            s.output())


def test_mutual_tls_against_the_ca_carries_events(lab, certs):
    pair(lab, certs.tls("A"), certs.tls("B"))
    lab.wait_up()
    lab.sync()
    lab.allow("A", N)
    assert lab.wait_data("B", N) == list(range(1, N + 1))
    for s in "AB":
        assert lab.stop(s)["federation"]["refused"] == 0


@pytest.mark.parametrize("bad", ["A", "B"])
@pytest.mark.parametrize("kind", ["other-ca", "expired"])
def test_a_certificate_the_ca_did_not_sign_or_expired_is_refused(
        lab, certs, bad, kind):
    """The site with the bad certificate is A (the dialer) or B (the
    listener); the other one refuses it."""
    tls = {s: certs.tls(s) for s in "AB"}
    tls[bad] = (certs.tls(bad, ca="other-ca") if kind == "other-ca"
                else certs.tls(bad, expired=True))
    pair(lab, tls["A"], tls["B"])
    judge = lab.sites["B" if bad == "A" else "A"]
    judge.engine.wait_for_output(REFUSED, 30)
    no_peer_up(lab)
    assert lab.stop(judge.name)["federation"]["refused"] >= 1


@pytest.mark.parametrize("plain", ["A", "B"])
def test_tls_on_one_side_only_is_refused_on_both(lab, certs, plain):
    tls = {s: (None if s == plain else certs.tls(s)) for s in "AB"}
    pair(lab, tls["A"], tls["B"])
    for s in "AB":
        lab.sites[s].engine.wait_for_output(REFUSED, 30)
    no_peer_up(lab)
