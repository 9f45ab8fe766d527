"""The decay-chain generator (mlcourse.data.synthetic.chains, work in progress for issue 22): its
kinematics conserve four-momentum, and its events carry the file's physics: masses that
are functions of the four-vectors, at most two b-tags, the detector's acceptance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcourse.data.synthetic.chains import (
    P4,
    TOP_W_LONGITUDINAL,
    _in_rest_frame,
    _polarised_decay,
    two_body,
)
from mlcourse.data.synthetic.detector import JET_RADIUS, LEPTON_ISOLATION, generate_events
from mlcourse.higgs import COLUMNS
from mlcourse.physics import BTAG_STEPS, m_bb, m_lv, physical


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return pd.DataFrame(generate_events(np.random.default_rng(11), 20_000), columns=list(COLUMNS))


def test_two_body_decays_conserve_four_momentum_and_give_the_masses():
    rng = np.random.default_rng(0)
    n = 1000
    mass = np.full(n, 425.0)
    pt, y = rng.exponential(50.0, n), rng.normal(0, 1, n)
    mt = np.hypot(mass, pt)
    parent = P4(pt, np.zeros(n), mt * np.sinh(y), mt * np.cosh(y))
    a, b = two_body(rng, parent, 80.4, 325.0)
    total = a + b
    for got, want in zip(total, parent, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(a.mass, 80.4, rtol=1e-6)
    np.testing.assert_allclose(b.mass, 325.0, rtol=1e-6)


@pytest.mark.parametrize("longitudinal", [TOP_W_LONGITUDINAL, 1.0])
def test_w_decays_carry_the_w_helicity(longitudinal):
    """A top decays to W b; the W's charged lepton follows 3/4 F0 (1 - c^2) + 3/8 FL
    (1 - c)^2 in c = cos(theta*), the angle in the W's rest frame to the W's direction of
    flight (opposite to the b there): binned, against the formula integrated per bin."""
    rng = np.random.default_rng(5)
    n = 200_000
    pt, y = rng.exponential(60.0, n), rng.normal(0, 1, n)
    mt = np.hypot(172.5, pt)
    top = P4(pt * np.cos(y), pt * np.sin(y), mt * np.sinh(y), mt * np.cosh(y))
    w, b = two_body(rng, top, 80.4, 4.8)
    lepton, neutrino = _polarised_decay(rng, w, b, longitudinal)
    for got, want in zip(lepton + neutrino, w, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(lepton.mass, 0.0, atol=1e-4)
    lep, b_rest = _in_rest_frame(lepton, w), _in_rest_frame(b, w)
    dot = lep.px * b_rest.px + lep.py * b_rest.py + lep.pz * b_rest.pz
    norms = np.sqrt(
        (lep.px**2 + lep.py**2 + lep.pz**2) * (b_rest.px**2 + b_rest.py**2 + b_rest.pz**2)
    )
    cos = -dot / norms
    edges = np.linspace(-1, 1, 11)
    counts = np.histogram(cos, edges)[0]

    def cumulative(c):  # the integral of the density from -1 to c
        f0, fl = longitudinal, 1.0 - longitudinal
        return f0 * (3 * c - c**3 + 2) / 4 + fl * (8 - (1 - c) ** 3) / 8

    expected = n * np.diff(cumulative(edges))
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    if longitudinal < 1.0:  # the left-handed part sends the lepton backwards
        assert counts[-1] < 0.5 * counts[0]


def test_the_same_stream_gives_the_same_events():
    first = generate_events(np.random.default_rng([3, 1]), 2000)
    again = generate_events(np.random.default_rng([3, 1]), 2000)
    assert np.array_equal(first, again)


def test_masses_are_functions_of_the_four_vectors(events):
    ev = physical(events)
    computed = m_bb(ev)
    two = ~np.isnan(computed)
    assert two.mean() > 0.5
    np.testing.assert_allclose(computed[two], ev["m_bb"].to_numpy()[two], rtol=1e-6)
    assert np.mean(np.abs(m_lv(ev) / ev["m_lv"].to_numpy() - 1) < 0.01) >= 0.85


def test_b_tags_are_levels_and_never_more_than_two(events):
    tagged = 0
    for name, step in BTAG_STEPS.items():
        assert set(np.unique(events[name])) <= {0.0, step, 2 * step}
        tagged = tagged + (events[name] > 0)
    assert tagged.max() <= 2


def test_the_detector_acceptance(events):
    ev = physical(events)
    assert ev["lepton_pT"].min() >= 15.0 and ev["lepton_eta"].abs().max() < 2.5
    for j in range(1, 5):
        assert ev[f"jet{j}_pt"].min() >= 15.0 - 1e-9 and ev[f"jet{j}_eta"].abs().max() < 3.0


def _delta_r(eta_a, phi_a, eta_b, phi_b):
    dphi = np.remainder(phi_a - phi_b + np.pi, 2 * np.pi) - np.pi
    return np.hypot(eta_a - eta_b, dphi)


def test_jets_are_apart_and_the_lepton_isolated_as_in_the_real_file(events):
    """A jet algorithm of radius 0.5 (in the real file, no two stored jets are closer than
    0.48 in 99.5 % of the events) and an isolated lepton (no jet within 0.4)."""
    ev = physical(events)
    jets = [(ev[f"jet{j}_eta"].to_numpy(), ev[f"jet{j}_phi"].to_numpy()) for j in range(1, 5)]
    lepton = (ev["lepton_eta"].to_numpy(), ev["lepton_phi"].to_numpy())
    closest = np.min(
        [_delta_r(*jets[i], *jets[j]) for i in range(4) for j in range(i + 1, 4)], axis=0
    )
    assert np.mean(closest >= JET_RADIUS) >= 0.99
    assert np.min([_delta_r(*lepton, *jet) for jet in jets]) >= LEPTON_ISOLATION
