"""HIGGS events made as they were made: decay chains, a detector, then the file's features.

Signal: gg -> H0 (425 GeV) -> W H+- (325 GeV), H+- -> W h0 (125 GeV), h0 -> b b-bar, one W
-> lepton neutrino, the other -> q q-bar (c s-bar in half the decays). Background: t t-bar
-> W+ b W- b-bar with the same final state. Each event is a heavy system with a transverse
momentum and a rapidity, decayed two bodies at a time (isotropic in the parent's rest
frame, Breit-Wigner masses, then boosted; a W's decay follows its helicity: longitudinal
from a scalar, 70 % longitudinal and 30 % left-handed from a top); a radiation jet
balances the system's transverse momentum, more radiation jets come at random, and a
parton now and then gives a gluon part of its momentum.

Four-vectors here are plain numpy arrays (px, py, pz, E) rather than scikit-hep ``vector``
arrays: the generator boosts and sums millions of them in a fixed order of elementwise
operations, which keeps the same seed giving the same events bit for bit on any worker;
:mod:`mlcourse.physics` (with ``vector``) is what the course and the tests use to check them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from mlcourse.physics import M_W

__all__ = [
    "P4",
    "ChainParameters",
    "Truth",
    "background_truth",
    "massless",
    "pick",
    "signal_truth",
    "two_body",
]

M_TOP, W_TOP = 172.5, 1.4
W_W = 2.1
M_H0, M_HC, M_H = 425.0, 325.0, 125.0
M_B = 4.8


@dataclass(frozen=True)
class ChainParameters:
    """The physical parameters of the generator.

    The defaults are where the calibration starts (:mod:`mlcourse.data.synthetic.calibration`;
    they are an earlier version's fit). The values the package ships, fitted on real events, are in
    ``higgs_synthetic.json``: ``mlcourse data calibrate data/higgs_real_5k.csv.gz``
    writes them, starting from these.
    """

    signal_fraction: float = 0.5324
    # production of the heavy system: transverse momentum (GeV, gamma shape 2) and rapidity
    signal_pt: float = 80.0
    background_pt: float = 49.12
    rapidity_sigma: float = 1.21487
    # H0 and H+- widths (GeV); the t t-bar mass above threshold (GeV, gamma shape 2 mean)
    h0_width: float = 10.57037
    hc_width: float = 14.92
    ttbar_excess: float = 133.34728
    # radiation: besides the jet the heavy system recoils against, a Poisson number of
    # further jets (mean), their pT above 12 GeV (exponential mean, GeV), their eta width
    radiation_jets: float = 0.3
    radiation_pt: float = 61.49008
    radiation_eta: float = 0.97045
    # the smallest pT of a jet the hadronic W's reconstruction uses (GeV)
    w_jet_pt: float = 7.40818
    # jet response (measured/true pT) per flavour, resolution sqrt(a^2/E + c^2), and a
    # low tail (probability, mean fraction lost); lepton pT resolution; missing energy:
    # noise per component (GeV) and the fraction of the jets' mismeasurement it takes;
    # the file's scatter of m_lv about the W mass where the constraint holds
    b_response: float = 0.9
    q_response: float = 0.95
    jet_stochastic: float = 1.97846
    jet_constant: float = 0.20248
    lepton_resolution: float = 0.02984
    met_noise: float = 17.03249
    met_jet_fraction: float = 0.47502
    mlv_smear: float = 0.006
    jet_tail_prob: float = 0.1
    jet_tail_mean: float = 0.18321
    # final-state radiation: probability per parton, the gluon's largest momentum fraction,
    # its angle to the parton (in eta and in phi)
    fsr_prob: float = 0.24098
    fsr_fraction: float = 0.37754
    fsr_angle: float = 1.25478
    # b-tagging: probabilities of level 2 and of level 1 for b-jets, light jets and the
    # charm quark of a hadronic W decay
    b_tag2: float = 0.76806
    b_tag1: float = 0.23282
    light_tag2: float = 0.08751
    light_tag1: float = 0.02352
    charm_tag2: float = 0.25974
    charm_tag1: float = 0.07964

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


def _in_rest_frame(p: P4, frame: P4) -> P4:
    """``p`` in the rest frame of ``frame`` (both given in the same frame)."""
    return _boost(p, P4(-frame.px, -frame.py, -frame.pz, frame.E))


def pick(first: np.ndarray, a: P4, b: P4) -> P4:
    """Per event, ``a`` where ``first`` holds, else ``b``."""
    return P4(*(np.where(first, x, y) for x, y in zip(a, b, strict=True)))


def two_body(
    rng: np.random.Generator, parent: P4, m1: float | np.ndarray, m2: float | np.ndarray
) -> tuple[P4, P4]:
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


class Truth(NamedTuple):
    lepton: P4
    neutrino: P4
    b1: P4
    b2: P4
    q1: P4
    q2: P4
    charm: np.ndarray
    system: P4


#: The longitudinal fraction of W bosons from top decays, m_t^2 / (m_t^2 + 2 m_W^2) at
#: leading order (the rest left-handed); a W from a scalar's decay is all longitudinal.
TOP_W_LONGITUDINAL = M_TOP**2 / (M_TOP**2 + 2 * M_W**2)


def _helicity_cosines(rng: np.random.Generator, n: int, longitudinal: float) -> np.ndarray:
    """cos(theta*) of the charged lepton (or the down-type quark) from a W of the given
    longitudinal fraction, the rest left-handed: 3/4 (1 - c^2) for the longitudinal part
    (the median of three uniforms on [-1, 1]), 3/8 (1 - c)^2 for the left-handed part."""
    median = np.median(rng.uniform(-1.0, 1.0, (3, n)), axis=0)
    left = 1.0 - 2.0 * np.cbrt(1.0 - rng.random(n))
    return np.where(rng.random(n) < longitudinal, median, left)


def _polarised_decay(
    rng: np.random.Generator, w: P4, sibling: P4, longitudinal: float
) -> tuple[P4, P4]:
    """A W into two massless fermions, the first (the charged lepton, or the down-type
    quark) at the helicity angle theta* to the W's direction of flight in its parent's rest
    frame, which in the W's rest frame is opposite to the ``sibling`` it was made with. A
    left-handed W sends the charged lepton backwards: a softer lepton and a harder
    neutrino than an isotropic decay gives."""
    n = len(w.E)
    s = _in_rest_frame(sibling, w)
    norm = np.sqrt(s.px**2 + s.py**2 + s.pz**2)
    ax, ay, az = -s.px / norm, -s.py / norm, -s.pz / norm
    # two unit vectors perpendicular to the axis: (ax, ay, az) x z, or x where the axis is z
    along_z = np.abs(az) > 0.9
    ux, uy, uz = np.where(along_z, 0.0, ay), np.where(along_z, az, -ax), np.where(along_z, -ay, 0.0)
    un = np.sqrt(ux**2 + uy**2 + uz**2)
    ux, uy, uz = ux / un, uy / un, uz / un
    vx, vy, vz = ay * uz - az * uy, az * ux - ax * uz, ax * uy - ay * ux
    cos = _helicity_cosines(rng, n, longitudinal)
    sin = np.sqrt(1.0 - cos**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    c, d = sin * np.cos(phi), sin * np.sin(phi)
    p = w.mass / 2.0
    px, py, pz = (
        p * (cos * a + c * u + d * v) for a, u, v in ((ax, ux, vx), (ay, uy, vy), (az, uz, vz))
    )
    return _boost(P4(px, py, pz, p), w), _boost(P4(-px, -py, -pz, p), w)


def _w_decays(
    rng: np.random.Generator,
    w_a: P4,
    w_b: P4,
    siblings: tuple[P4, P4],
    longitudinal: float,
) -> tuple[P4, P4, P4, P4, np.ndarray]:
    """One W to a lepton and a neutrino, the other to two quarks (which one: at random),
    each decay polarised (:func:`_polarised_decay`; ``siblings``: what each W was made
    with). Half the hadronic decays are c s-bar (or its conjugate): the last array says
    which quark, if any, is the charm (0, the up-type quark; -1 for u d-bar), whose jet
    b-tags more often."""
    n = len(w_a.E)
    leptonic_a = rng.random(n) < 0.5
    lep_w, had_w = pick(leptonic_a, w_a, w_b), pick(leptonic_a, w_b, w_a)
    lep_sibling = pick(leptonic_a, *siblings)
    had_sibling = pick(leptonic_a, siblings[1], siblings[0])
    lepton, neutrino = _polarised_decay(rng, lep_w, lep_sibling, longitudinal)
    down, up = _polarised_decay(rng, had_w, had_sibling, longitudinal)
    charm = np.where(rng.random(n) < 0.5, 0, -1)
    return lepton, neutrino, up, down, charm


def signal_truth(rng: np.random.Generator, n: int, p: ChainParameters) -> Truth:
    m_h0 = _breit_wigner(rng, n, M_H0, p.h0_width, M_HC + 45.0, M_H0 + 150.0)
    m_wa = _breit_wigner(rng, n, M_W, W_W, 40.0, np.minimum(120.0, m_h0 - M_HC + 5.0))
    m_hc = _breit_wigner(rng, n, M_HC, p.hc_width, M_H + 45.0, m_h0 - m_wa)
    m_wb = _breit_wigner(rng, n, M_W, W_W, 40.0, np.minimum(120.0, m_hc - M_H))
    h0 = _system(rng, m_h0, p.signal_pt, p.rapidity_sigma)
    w_a, hc = two_body(rng, h0, m_wa, m_hc)
    w_b, h = two_body(rng, hc, m_wb, M_H)
    b1, b2 = two_body(rng, h, M_B, M_B)
    lepton, neutrino, q1, q2, charm = _w_decays(rng, w_a, w_b, (hc, h), 1.0)
    return Truth(lepton, neutrino, b1, b2, q1, q2, charm, h0)


def background_truth(rng: np.random.Generator, n: int, p: ChainParameters) -> Truth:
    m_t1 = _breit_wigner(rng, n, M_TOP, W_TOP, M_TOP - 25.0, M_TOP + 25.0)
    m_t2 = _breit_wigner(rng, n, M_TOP, W_TOP, M_TOP - 25.0, M_TOP + 25.0)
    m_tt = m_t1 + m_t2 + rng.gamma(2.0, p.ttbar_excess / 2.0, n)
    tt = _system(rng, m_tt, p.background_pt, p.rapidity_sigma)
    t1, t2 = two_body(rng, tt, m_t1, m_t2)
    m_w1 = _breit_wigner(rng, n, M_W, W_W, 40.0, m_t1 - M_B - 1.0)
    m_w2 = _breit_wigner(rng, n, M_W, W_W, 40.0, m_t2 - M_B - 1.0)
    w1, b1 = two_body(rng, t1, m_w1, M_B)
    w2, b2 = two_body(rng, t2, m_w2, M_B)
    lepton, neutrino, q1, q2, charm = _w_decays(rng, w1, w2, (b1, b2), TOP_W_LONGITUDINAL)
    return Truth(lepton, neutrino, b1, b2, q1, q2, charm, tt)
