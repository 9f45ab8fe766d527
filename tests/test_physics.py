"""mlcourse.physics on the 5,000 real events in data/: the file's masses are functions of
its four-vectors, and the helper recomputes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcourse.physics import (
    M_W,
    invariant_mass,
    jets,
    lepton,
    m_bb,
    m_lv,
    neutrino,
    neutrino_pz,
    physical,
    transverse_mass,
)

from .conftest import REAL_SAMPLE


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return physical(pd.read_csv(REAL_SAMPLE, float_precision="round_trip"))


def test_units_give_whole_b_tag_levels_and_the_acceptance_cuts(real):
    raw = pd.read_csv(REAL_SAMPLE)
    from mlcourse.physics import SCALES

    for j in range(1, 5):
        level = raw[f"jet{j}_b-tag"] * SCALES[f"jet{j}_b-tag"]
        assert np.allclose(level, level.round(), atol=1e-3)  # levels, not a continuous score
        assert set(real[f"jet{j}_b-tag"].unique()) <= {0.0, 1.0, 2.0}
    tagged = sum((real[f"jet{j}_b-tag"] > 0).astype(int) for j in range(1, 5))
    assert tagged.max() == 2  # never more than two b-tagged jets
    # the detector's acceptance, as the file's units give it
    assert real["lepton_pT"].min() == pytest.approx(15.0, abs=0.1)
    assert min(real[f"jet{j}_pt"].min() for j in range(1, 5)) == pytest.approx(15.0, abs=0.1)
    assert real["lepton_eta"].abs().max() <= 2.5 + 1e-3
    assert max(real[f"jet{j}_eta"].abs().max() for j in range(1, 5)) <= 3.0 + 1e-3


def test_m_bb_is_the_mass_of_the_two_b_tagged_jets(real):
    computed = m_bb(real)
    two = ~np.isnan(computed)
    tagged = sum((real[f"jet{j}_b-tag"] > 0).astype(int) for j in range(1, 5))
    assert (two == (tagged == 2)).all() and two.sum() > 3000
    close = np.abs(computed[two] / real["m_bb"].to_numpy()[two] - 1) < 0.01
    assert close.mean() >= 0.99


def test_m_lv_is_the_w_mass_or_the_transverse_mass(real):
    computed = m_lv(real)
    close = np.abs(computed / real["m_lv"].to_numpy() - 1) < 0.01
    assert close.mean() >= 0.85
    _, has_solution = neutrino_pz(real)
    # without a real solution the transverse mass is above the W mass: m_lv = max(m_W, m_T)
    assert (transverse_mass(real)[~has_solution] > M_W).all()
    np.testing.assert_allclose(computed, np.maximum(M_W, transverse_mass(real)), rtol=1e-9)


def test_the_neutrino_solution_gives_the_w_mass(real):
    _, has_solution = neutrino_pz(real)
    mass = invariant_mass(lepton(real), neutrino(real))
    np.testing.assert_allclose(mass[has_solution], M_W, rtol=1e-6)
    assert 0.5 < has_solution.mean() < 1.0


def test_invariant_mass_of_jets_matches_a_hand_computation(real):
    j1, j2 = jets(real)[:2]
    pt1, pt2 = real["jet1_pt"].to_numpy(), real["jet2_pt"].to_numpy()
    deta = real["jet1_eta"].to_numpy() - real["jet2_eta"].to_numpy()
    dphi = real["jet1_phi"].to_numpy() - real["jet2_phi"].to_numpy()
    by_hand = np.sqrt(2 * pt1 * pt2 * (np.cosh(deta) - np.cos(dphi)))  # massless objects
    np.testing.assert_allclose(invariant_mass(j1, j2), by_hand, rtol=1e-9)
