"""HIGGS events made as they were made: decay chains, a detector, then the file's features.

Signal: gg -> H0 (425 GeV) -> W H+- (325 GeV), H+- -> W h0 (125 GeV), h0 -> b b-bar, one W
-> lepton neutrino, the other -> q q-bar. Background: t t-bar -> W+ b W- b-bar with the
same final state. Each event is a heavy system with a transverse momentum and a rapidity,
decayed two bodies at a time (isotropic in the parent's rest frame, Breit-Wigner masses,
then boosted), plus extra radiation jets. The detector measures the partons as jets
(response and resolution per flavour), the lepton, and the missing energy (the neutrino
plus what the jets' mismeasurement leaves); it keeps what its acceptance sees, tags b-jets
at two levels and never more than two, and stores four jets. The 28 features are computed
from what the detector saw, in the file's units (:data:`mlcourse.physics.SCALES`), so the
masses are functions of the four-vectors, as in the real file.

Four-vectors here are plain numpy arrays (px, py, pz, E) rather than scikit-hep ``vector``
arrays: the generator boosts and sums millions of them in a fixed order of elementwise
operations, which keeps the same seed giving the same events bit for bit on any worker;
:mod:`mlcourse.physics` (with ``vector``) is what the course and the tests use to check them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from .physics import BTAG_STEPS, M_W, SCALES

__all__ = ["ChainParameters", "generate_events"]

M_TOP, W_TOP = 172.5, 1.4
W_W = 2.1
M_H0, M_HC, M_H = 425.0, 325.0, 125.0
M_B = 4.8


@dataclass(frozen=True)
class ChainParameters:
    """The physical parameters of the generator, calibrated on real events."""

    signal_fraction: float = 0.53
    # production of the heavy system: transverse momentum (GeV, gamma shape 2) and rapidity
    signal_pt: float = 30.0
    background_pt: float = 30.0
    rapidity_sigma: float = 0.9
    # H0 and H+- widths (GeV); the t t-bar mass above threshold (GeV, gamma shape 2 mean)
    h0_width: float = 15.0
    hc_width: float = 10.0
    ttbar_excess: float = 110.0
    # extra radiation jets: mean number, pT above 15 GeV (exponential mean, GeV), |eta| width
    radiation_jets: float = 1.2
    radiation_pt: float = 25.0
    radiation_eta: float = 1.6
    # jet response (measured/true pT) per flavour and resolution sqrt(a^2/pT + c^2)
    b_response: float = 0.90
    q_response: float = 0.95
    jet_stochastic: float = 1.2
    jet_constant: float = 0.15
    lepton_resolution: float = 0.02
    met_noise: float = 12.0
    mlv_smear: float = 0.006
    jet_tail_prob: float = 0.3
    jet_tail_mean: float = 0.15
    # b-tagging: probabilities of level 2 and of level 1 for b-jets and for light jets
    b_tag2: float = 0.78
    b_tag1: float = 0.14
    light_tag2: float = 0.01
    light_tag1: float = 0.02

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


class P4(NamedTuple):
    """Four-vectors of many particles: px, py, pz, E (GeV)."""

    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    E: np.ndarray

    def __add__(self, other: object) -> P4:
        assert isinstance(other, P4)
        return P4(self.px + other.px, self.py + other.py, self.pz + other.pz, self.E + other.E)

    @property
    def pt(self) -> np.ndarray:
        return np.hypot(self.px, self.py)

    @property
    def eta(self) -> np.ndarray:
        return np.arcsinh(self.pz / np.maximum(self.pt, 1e-12))

    @property
    def phi(self) -> np.ndarray:
        return np.arctan2(self.py, self.px)

    @property
    def mass(self) -> np.ndarray:
        return np.sqrt(np.maximum(0.0, self.E**2 - self.px**2 - self.py**2 - self.pz**2))

    def take(self, index: np.ndarray) -> P4:
        return P4(*(c[index] for c in self))


def massless(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray) -> P4:
    pz = pt * np.sinh(eta)
    return P4(pt * np.cos(phi), pt * np.sin(phi), pz, np.hypot(pt, pz))


def _breit_wigner(
    rng: np.random.Generator, n: int, m0: float, width: float, lo: object, hi: object
) -> np.ndarray:
    """``n`` masses from a Breit-Wigner of (m0, width), truncated to [lo, hi] (numbers or
    arrays) without rejection: the inverse of its cumulative distribution."""
    f_lo = np.arctan(2 * (np.asarray(lo, dtype=float) - m0) / width)
    f_hi = np.arctan(2 * (np.asarray(hi, dtype=float) - m0) / width)
    return m0 + width / 2 * np.tan(f_lo + rng.random(n) * (f_hi - f_lo))


def _system(rng: np.random.Generator, mass: np.ndarray, mean_pt: float, sigma_y: float) -> P4:
    n = len(mass)
    pt = rng.gamma(2.0, mean_pt / 2.0, n)
    y = rng.normal(0.0, sigma_y, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    mt = np.hypot(mass, pt)
    return P4(pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y), mt * np.cosh(y))


def _boost(p: P4, parent: P4) -> P4:
    """``p``, given in ``parent``'s rest frame, in the frame where parent moves as given."""
    bx, by, bz = parent.px / parent.E, parent.py / parent.E, parent.pz / parent.E
    b2 = bx**2 + by**2 + bz**2
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = bx * p.px + by * p.py + bz * p.pz
    g2 = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    k = g2 * bp + gamma * p.E
    return P4(p.px + k * bx, p.py + k * by, p.pz + k * bz, gamma * (p.E + bp))


def two_body(rng: np.random.Generator, parent: P4, m1, m2) -> tuple[P4, P4]:
    """Decay ``parent`` into two particles of masses ``m1``, ``m2``: isotropic in its rest
    frame, then boosted."""
    n = len(parent.E)
    big = parent.mass
    m1 = np.broadcast_to(np.asarray(m1, dtype=float), (n,))
    m2 = np.broadcast_to(np.asarray(m2, dtype=float), (n,))
    p = np.sqrt(np.maximum(0.0, (big**2 - (m1 + m2) ** 2) * (big**2 - (m1 - m2) ** 2))) / (2 * big)
    cos = rng.uniform(-1.0, 1.0, n)
    sin = np.sqrt(1.0 - cos**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    px, py, pz = p * sin * np.cos(phi), p * sin * np.sin(phi), p * cos
    first = P4(px, py, pz, np.hypot(p, m1))
    second = P4(-px, -py, -pz, np.hypot(p, m2))
    return _boost(first, parent), _boost(second, parent)


class _Truth(NamedTuple):
    lepton: P4
    neutrino: P4
    b1: P4
    b2: P4
    q1: P4
    q2: P4


def _w_decays(rng: np.random.Generator, w_a: P4, w_b: P4) -> tuple[P4, P4, P4, P4]:
    """One W to a lepton and a neutrino, the other to two quarks (which one: at random)."""
    leptonic_a = rng.random(len(w_a.E)) < 0.5
    lep_w = P4(*(np.where(leptonic_a, a, b) for a, b in zip(w_a, w_b, strict=True)))
    had_w = P4(*(np.where(leptonic_a, b, a) for a, b in zip(w_a, w_b, strict=True)))
    lepton, neutrino = two_body(rng, lep_w, 0.0, 0.0)
    q1, q2 = two_body(rng, had_w, 0.0, 0.0)
    return lepton, neutrino, q1, q2


def _signal(rng: np.random.Generator, n: int, p: ChainParameters) -> _Truth:
    m_h0 = _breit_wigner(rng, n, M_H0, p.h0_width, M_HC + 45.0, M_H0 + 150.0)
    m_wa = _breit_wigner(rng, n, M_W, W_W, 40.0, np.minimum(120.0, m_h0 - M_HC + 5.0))
    m_hc = _breit_wigner(rng, n, M_HC, p.hc_width, M_H + 45.0, m_h0 - m_wa)
    m_wb = _breit_wigner(rng, n, M_W, W_W, 40.0, np.minimum(120.0, m_hc - M_H))
    h0 = _system(rng, m_h0, p.signal_pt, p.rapidity_sigma)
    w_a, hc = two_body(rng, h0, m_wa, m_hc)
    w_b, h = two_body(rng, hc, m_wb, M_H)
    b1, b2 = two_body(rng, h, M_B, M_B)
    lepton, neutrino, q1, q2 = _w_decays(rng, w_a, w_b)
    return _Truth(lepton, neutrino, b1, b2, q1, q2)


def _background(rng: np.random.Generator, n: int, p: ChainParameters) -> _Truth:
    m_t1 = _breit_wigner(rng, n, M_TOP, W_TOP, M_TOP - 25.0, M_TOP + 25.0)
    m_t2 = _breit_wigner(rng, n, M_TOP, W_TOP, M_TOP - 25.0, M_TOP + 25.0)
    m_tt = m_t1 + m_t2 + rng.gamma(2.0, p.ttbar_excess / 2.0, n)
    tt = _system(rng, m_tt, p.background_pt, p.rapidity_sigma)
    t1, t2 = two_body(rng, tt, m_t1, m_t2)
    m_w1 = _breit_wigner(rng, n, M_W, W_W, 40.0, m_t1 - M_B - 1.0)
    m_w2 = _breit_wigner(rng, n, M_W, W_W, 40.0, m_t2 - M_B - 1.0)
    w1, b1 = two_body(rng, t1, m_w1, M_B)
    w2, b2 = two_body(rng, t2, m_w2, M_B)
    lepton, neutrino, q1, q2 = _w_decays(rng, w1, w2)
    return _Truth(lepton, neutrino, b1, b2, q1, q2)


#: Jets a reconstruction can find: measured pT above 15 GeV, |eta| below 3.0.
JET_PT_MIN, JET_ETA_MAX, LEPTON_ETA_MAX = 15.0, 3.0, 2.5
_MAX_RADIATION = 4


def _measure_jets(rng: np.random.Generator, partons: P4, response: float, p: ChainParameters) -> P4:
    pt = partons.pt
    n = len(pt)
    sigma = np.sqrt(p.jet_stochastic**2 / np.maximum(pt, 1.0) + p.jet_constant**2)
    # a jet loses part of its energy now and then (a neutrino in a b decay, a gluon out of
    # the cone): the low tail of the response
    loss = np.where(rng.random(n) < p.jet_tail_prob, rng.exponential(p.jet_tail_mean, n), 0.0)
    scale = response * (1.0 + sigma * rng.standard_normal(n)) * np.maximum(0.05, 1.0 - loss)
    return massless(pt * np.maximum(0.05, scale), partons.eta, partons.phi)


def _features(
    rng: np.random.Generator, truth: _Truth, p: ChainParameters
) -> tuple[np.ndarray, np.ndarray]:
    """The 28 features (file units) of the events the detector accepts, and which were."""
    n = len(truth.lepton.E)
    # radiation jets: a Poisson number (at most _MAX_RADIATION), pT above threshold
    count = np.minimum(rng.poisson(p.radiation_jets, n), _MAX_RADIATION)
    rad_pt = JET_PT_MIN * 0.8 + rng.exponential(p.radiation_pt, (n, _MAX_RADIATION))
    rad_eta = rng.normal(0.0, p.radiation_eta, (n, _MAX_RADIATION))
    rad_phi = rng.uniform(-np.pi, np.pi, (n, _MAX_RADIATION))
    present = np.arange(_MAX_RADIATION)[None, :] < count[:, None]

    partons = [truth.b1, truth.b2, truth.q1, truth.q2]
    is_b = [True, True, False, False]
    true_pt = [x.pt for x in partons] + [
        np.where(present[:, k], rad_pt[:, k], 0.0) for k in range(_MAX_RADIATION)
    ]
    measured = [
        _measure_jets(rng, x, p.b_response if b else p.q_response, p)
        for x, b in zip(partons, is_b, strict=True)
    ]
    for k in range(_MAX_RADIATION):
        rad = massless(rad_pt[:, k], rad_eta[:, k], rad_phi[:, k])
        measured.append(_measure_jets(rng, rad, p.q_response, p))
    flavour_b = np.array(is_b + [False] * _MAX_RADIATION)
    jets_pt = np.column_stack([m.pt for m in measured])
    jets_eta = np.column_stack([m.eta for m in measured])
    truth_pt = np.column_stack(true_pt)
    exists = np.column_stack([np.ones((n, 4), bool), present])
    seen = exists & (jets_pt > JET_PT_MIN) & (np.abs(jets_eta) < JET_ETA_MAX)

    # b-tags: level 2 or 1 by flavour, then at most two: the highest (level, pT) kept
    u = rng.random(seen.shape)
    p2 = np.where(flavour_b, p.b_tag2, p.light_tag2)
    p1 = np.where(flavour_b, p.b_tag1, p.light_tag1)
    level = np.where(u < p2, 2, np.where(u < p2 + p1, 1, 0)) * seen

    # the four stored jets: the four of highest true pT among those seen, in that order
    order = np.argsort(np.where(seen, -truth_pt, np.inf), axis=1, kind="stable")[:, :4]
    rows = np.arange(n)[:, None]
    stored_level = level[rows, order]
    rank = np.argsort(
        np.argsort(-(stored_level * 1000.0 + jets_pt[rows, order]), axis=1, kind="stable"), axis=1
    )
    stored_level = np.where(rank < 2, stored_level, 0)

    lep = truth.lepton
    lep_pt = lep.pt * (1.0 + p.lepton_resolution * rng.standard_normal(n))
    lep_eta, lep_phi = lep.eta, lep.phi
    # missing energy: the neutrino, what the jets' mismeasurement leaves, and noise
    mx = truth.neutrino.px + rng.normal(0.0, p.met_noise, n)
    my = truth.neutrino.py + rng.normal(0.0, p.met_noise, n)
    for x, m in zip(partons, measured[:4], strict=True):
        mx += x.px - m.px
        my += x.py - m.py
    accepted = (seen.sum(axis=1) >= 4) & (lep_pt > 15.0) & (np.abs(lep_eta) < LEPTON_ETA_MAX)

    stored = [measured_take(measured, order[:, k]) for k in range(4)]
    lepton = massless(lep_pt, lep_eta, lep_phi)
    met = np.hypot(mx, my)
    met_phi = np.arctan2(my, mx)
    neutrino = _neutrino(lepton, mx, my)
    m_lv = _m_lv(lepton, mx, my)
    # where the W-mass constraint holds, the file's m_lv scatters about 80.4 GeV by ~0.6 %
    at_w = m_lv == M_W
    m_lv = np.where(at_w, M_W * (1.0 + p.mlv_smear * rng.standard_normal(n)), m_lv)

    # masses, from the measured objects: b-jets by tag where two are tagged, else the true
    # b-jets as measured; the W's quarks as measured (stored or not)
    two = (stored_level > 0).sum(axis=1) == 2
    tag_rank = np.argsort(-(stored_level > 0).astype(int), axis=1, kind="stable")
    bj1 = _pick(stored, tag_rank[:, 0], two, measured[0])
    bj2 = _pick(stored, tag_rank[:, 1], two, measured[1])
    w_had = _hadronic_w(measured, seen, level)
    w_lep = lepton + neutrino
    # which b-jet goes with the hadronic W: the one making a mass nearer the top's
    first = np.abs((w_had + bj1).mass - M_TOP) <= np.abs((w_had + bj2).mass - M_TOP)
    b_had = P4(*(np.where(first, a, b) for a, b in zip(bj1, bj2, strict=True)))
    b_lep = P4(*(np.where(first, b, a) for a, b in zip(bj1, bj2, strict=True)))
    bb = bj1 + bj2
    masses = {
        "m_jj": w_had.mass,
        "m_jjj": (w_had + b_had).mass,
        "m_lv": m_lv,
        "m_jlv": (w_lep + b_lep).mass,
        "m_bb": bb.mass,
        # measured on the real file: the larger of the two W choices (89 % of the events
        # where either matches)
        "m_wbb": np.maximum((w_had + bb).mass, (w_lep + bb).mass),
        "m_wwbb": (w_had + w_lep + bb).mass,
    }
    columns = {
        "lepton_pT": lep_pt,
        "lepton_eta": lep_eta,
        "lepton_phi": lep_phi,
        "missing_energy_magnitude": met,
        "missing_energy_phi": met_phi,
    }
    for k, jet in enumerate(stored, start=1):
        columns[f"jet{k}_pt"] = jet.pt
        columns[f"jet{k}_eta"] = jet.eta
        columns[f"jet{k}_phi"] = jet.phi
        columns[f"jet{k}_b-tag"] = stored_level[:, k - 1].astype(float)
    columns.update(masses)
    from .higgs import FEATURES

    out = np.column_stack(
        [
            columns[name] * BTAG_STEPS[name] if name in BTAG_STEPS else columns[name] / SCALES[name]
            for name in FEATURES
        ]
    )
    return out, accepted


def _hadronic_w(measured: list[P4], seen: np.ndarray, level: np.ndarray) -> P4:
    """The hadronic W as a simple reconstruction finds it: the two leading untagged jets
    seen, stored or not (so a radiation jet often takes a quark's place, as in the real
    file); the two leading jets where fewer than two are untagged."""
    comps = [np.column_stack([getattr(m, c) for m in measured]) for c in ("px", "py", "pz", "E")]
    pt = np.hypot(comps[0], comps[1])
    usable = seen & (level == 0)
    key = np.where(usable, -pt, np.where(seen, 1e6 - pt, np.inf))  # untagged first, by pT
    order = np.argsort(key, axis=1, kind="stable")[:, :2]
    rows = np.arange(len(seen))
    return P4(*(c[rows, order[:, 0]] + c[rows, order[:, 1]] for c in comps))


def measured_take(measured: list[P4], index: np.ndarray) -> P4:
    stacked = [np.column_stack([getattr(m, c) for m in measured]) for c in ("px", "py", "pz", "E")]
    rows = np.arange(len(index))
    return P4(*(c[rows, index] for c in stacked))


def _pick(stored: list[P4], index: np.ndarray, where: np.ndarray, otherwise: P4) -> P4:
    chosen = measured_take(stored, index)
    return P4(*(np.where(where, a, b) for a, b in zip(chosen, otherwise, strict=True)))


def _neutrino(lepton: P4, mx: np.ndarray, my: np.ndarray) -> P4:
    """The neutrino from the missing energy and the W-mass constraint (smaller |pz|)."""
    pt2 = lepton.pt**2
    met2 = mx**2 + my**2
    mu = M_W**2 / 2 + lepton.px * mx + lepton.py * my
    centre = mu * lepton.pz / pt2
    disc = centre**2 - (lepton.E**2 * met2 - mu**2) / pt2
    root = np.sqrt(np.maximum(disc, 0.0))
    pz = np.where(np.abs(centre - root) < np.abs(centre + root), centre - root, centre + root)
    return P4(mx, my, pz, np.sqrt(met2 + pz**2))


def _m_lv(lepton: P4, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
    mt2 = 2.0 * (lepton.pt * np.hypot(mx, my) - lepton.px * mx - lepton.py * my)
    return np.maximum(M_W, np.sqrt(np.maximum(mt2, 0.0)))


def generate_events(
    rng: np.random.Generator, n: int, params: ChainParameters | None = None
) -> np.ndarray:
    """``n`` accepted events: an ``(n, 29)`` array, label first, features in file units."""
    p = params or ChainParameters()
    labels = (rng.random(n) < p.signal_fraction).astype(float)
    out = np.empty((n, 29))
    out[:, 0] = labels
    for label, make in ((1.0, _signal), (0.0, _background)):
        want = int((labels == label).sum())
        rows: list[np.ndarray] = []
        have = 0
        while have < want:
            batch = max(1000, int(1.6 * (want - have)))
            features, accepted = _features(rng, make(rng, batch, p), p)
            rows.append(features[accepted])
            have += int(accepted.sum())
        out[labels == label, 1:] = np.concatenate(rows)[:want]
    return out
