"""HIGGS events made as they were made: decay chains, a detector, then the file's features.

Signal: gg -> H0 (425 GeV) -> W H+- (325 GeV), H+- -> W h0 (125 GeV), h0 -> b b-bar, one W
-> lepton neutrino, the other -> q q-bar (c s-bar in half the decays). Background: t t-bar
-> W+ b W- b-bar with the same final state. Each event is a heavy system with a transverse
momentum and a rapidity, decayed two bodies at a time (isotropic in the parent's rest
frame, Breit-Wigner masses, then boosted; a W's decay follows its helicity: longitudinal
from a scalar, 70 % longitudinal and 30 % left-handed from a top); a radiation jet
balances the system's transverse momentum, more radiation jets come at random, and a
parton now and then gives a gluon part of its momentum.

The detector clusters true jets closer than :data:`JET_RADIUS`, measures them (response
and resolution per flavour, a low tail), measures the lepton (isolated: no jet within
:data:`LEPTON_ISOLATION`) and the missing energy (the neutrino, part of the jets'
mismeasurement, noise), keeps what its acceptance sees, tags b-jets at two levels (b, charm
and light jets at their own rates) and never more than two, and stores four jets. The 28
features are computed from what the detector saw, in the file's units
(:data:`mlcourse.physics.SCALES`), with the reconstruction rules measured on the real file
(the hadronic W as the untagged pair nearest the W mass, the neutrino's solution, the b-jet
that goes with each W), so the masses are functions of the four-vectors, as in the real
file. :mod:`mlcourse.data.synthetic.calibration` fits the parameters (:class:`ChainParameters`).

Four-vectors here are plain numpy arrays (px, py, pz, E) rather than scikit-hep ``vector``
arrays: the generator boosts and sums millions of them in a fixed order of elementwise
operations, which keeps the same seed giving the same events bit for bit on any worker;
:mod:`mlcourse.physics` (with ``vector``) is what the course and the tests use to check them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations
from typing import NamedTuple

import numpy as np

from mlcourse.higgs import FEATURES
from mlcourse.physics import BTAG_STEPS, M_W, SCALES, neutrino_pz_solutions

__all__ = ["ChainParameters", "generate_events"]

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


def _pick(first: np.ndarray, a: P4, b: P4) -> P4:
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


class _Truth(NamedTuple):
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
    lep_w, had_w = _pick(leptonic_a, w_a, w_b), _pick(leptonic_a, w_b, w_a)
    lep_sibling = _pick(leptonic_a, *siblings)
    had_sibling = _pick(leptonic_a, siblings[1], siblings[0])
    lepton, neutrino = _polarised_decay(rng, lep_w, lep_sibling, longitudinal)
    down, up = _polarised_decay(rng, had_w, had_sibling, longitudinal)
    charm = np.where(rng.random(n) < 0.5, 0, -1)
    return lepton, neutrino, up, down, charm


def _signal(rng: np.random.Generator, n: int, p: ChainParameters) -> _Truth:
    m_h0 = _breit_wigner(rng, n, M_H0, p.h0_width, M_HC + 45.0, M_H0 + 150.0)
    m_wa = _breit_wigner(rng, n, M_W, W_W, 40.0, np.minimum(120.0, m_h0 - M_HC + 5.0))
    m_hc = _breit_wigner(rng, n, M_HC, p.hc_width, M_H + 45.0, m_h0 - m_wa)
    m_wb = _breit_wigner(rng, n, M_W, W_W, 40.0, np.minimum(120.0, m_hc - M_H))
    h0 = _system(rng, m_h0, p.signal_pt, p.rapidity_sigma)
    w_a, hc = two_body(rng, h0, m_wa, m_hc)
    w_b, h = two_body(rng, hc, m_wb, M_H)
    b1, b2 = two_body(rng, h, M_B, M_B)
    lepton, neutrino, q1, q2, charm = _w_decays(rng, w_a, w_b, (hc, h), 1.0)
    return _Truth(lepton, neutrino, b1, b2, q1, q2, charm, h0)


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
    lepton, neutrino, q1, q2, charm = _w_decays(rng, w1, w2, (b1, b2), TOP_W_LONGITUDINAL)
    return _Truth(lepton, neutrino, b1, b2, q1, q2, charm, tt)


#: Jets a reconstruction can find: measured pT above 15 GeV, |eta| below 3.0.
JET_PT_MIN, JET_ETA_MAX, LEPTON_ETA_MAX = 15.0, 3.0, 2.5
_MAX_RADIATION = 3
#: The jet algorithm's radius: true jets closer than this in (eta, phi) make one jet (in
#: the real file, no two stored jets are closer than 0.48 in 99.5 % of the events).
JET_RADIUS = 0.5
#: An isolated lepton: no jet within this distance (the real file's smallest is 0.40).
LEPTON_ISOLATION = 0.4
_ALL_PAIRS = np.array(list(combinations(range(8 + _MAX_RADIATION), 2))).T
_CHUNK = 20_000


def _delta_phi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| for angles in [-pi, pi], folded into [0, pi]."""
    d = np.abs(a - b)
    return np.minimum(d, 2 * np.pi - d)


def _measure_jets(
    rng: np.random.Generator, true: P4, response: np.ndarray, p: ChainParameters
) -> P4:
    """The jets as measured (massless): pT times the response, a Gaussian resolution
    sqrt(a^2/E + c^2) (a calorimeter measures energy: a forward jet of the same pT has
    more of it, and is measured better), and now and then a loss (a neutrino in a b decay,
    a gluon out of the cone): the low tail of the response."""
    pt = true.pt
    sigma = np.sqrt(p.jet_stochastic**2 / np.maximum(true.E, 1.0) + p.jet_constant**2)
    lost = rng.random(pt.shape) < p.jet_tail_prob
    loss = np.where(lost, rng.exponential(p.jet_tail_mean, pt.shape), 0.0)
    scale = response * (1.0 + sigma * rng.standard_normal(pt.shape)) * np.maximum(0.05, 1.0 - loss)
    return massless(pt * np.maximum(0.05, scale), true.eta, true.phi)


def _cluster(
    true: P4, exists: np.ndarray, flavour: np.ndarray
) -> tuple[P4, np.ndarray, np.ndarray]:
    """Merge true jets closer than :data:`JET_RADIUS` in (eta, phi), as a jet algorithm of
    that radius would: the later into the earlier (a decay quark takes in its gluon or a
    radiation jet), the flavour the heavier of the two. Distances are those of the jets
    before merging (a hard jet's direction barely moves as it takes in a softer one)."""
    a, b = _ALL_PAIRS
    eta, phi = true.eta, true.phi
    dphi = _delta_phi(phi[:, a], phi[:, b])
    deta = eta[:, a] - eta[:, b]
    near = deta * deta + dphi * dphi < JET_RADIUS**2
    comps = [c.copy() for c in true]
    exists = exists.copy()
    flavour = flavour.copy()
    for k in np.flatnonzero(near.any(axis=0)):
        i, j = a[k], b[k]
        close = near[:, k] & exists[:, i] & exists[:, j]
        rows = np.flatnonzero(close)
        for c in comps:
            c[rows, i] += c[rows, j]
        exists[rows, j] = False
        flavour[rows, i] = np.maximum(flavour[rows, i], flavour[rows, j])
    return P4(*comps), exists, flavour


def _features(
    rng: np.random.Generator, truth: _Truth, p: ChainParameters
) -> tuple[np.ndarray, np.ndarray]:
    """The 28 features (file units) of the events the detector accepts, and which were.

    The steps draw from ``rng`` in this order (the same seed, the same events): the jets
    before the detector, their measurement, the b-tags, the lepton and the missing energy,
    the W-mass constraint's smearing.
    """
    n = len(truth.lepton.E)
    true, exists, flavour = _true_jets(rng, truth, p, n)
    jet = _measure_jets(rng, true, np.where(flavour == 2, p.b_response, p.q_response), p)
    seen, level, stored, stored_level = _stored_jets(rng, jet, true, exists, flavour, p, n)
    lep_pt, lep_eta, lep_phi, mx, my, accepted = _lepton_and_met(
        rng, truth, true, jet, exists, seen, p, n
    )
    lepton = massless(lep_pt, lep_eta, lep_phi)
    neutrino, m_lv, met, met_phi = _leptonic_w(rng, lepton, mx, my, p, n)
    masses = _masses(jet, level, exists, stored, stored_level, lepton, neutrino, m_lv, p, n)
    columns = {
        "lepton_pT": lep_pt,
        "lepton_eta": lep_eta,
        "lepton_phi": lep_phi,
        "missing_energy_magnitude": met,
        "missing_energy_phi": met_phi,
    }
    stored_pt, stored_eta, stored_phi = stored.pt, stored.eta, stored.phi
    for k in range(4):
        columns[f"jet{k + 1}_pt"] = stored_pt[:, k]
        columns[f"jet{k + 1}_eta"] = stored_eta[:, k]
        columns[f"jet{k + 1}_phi"] = stored_phi[:, k]
        columns[f"jet{k + 1}_b-tag"] = stored_level[:, k]
    columns.update(masses)
    out = np.column_stack(
        [
            columns[name] * BTAG_STEPS[name] if name in BTAG_STEPS else columns[name] / SCALES[name]
            for name in FEATURES
        ]
    )
    return out, accepted


def _true_jets(
    rng: np.random.Generator, truth: _Truth, p: ChainParameters, n: int
) -> tuple[P4, np.ndarray, np.ndarray]:
    """Every true jet of the events, before the detector: the b quarks, the W's quarks, the
    gluons they radiate, the initial-state radiation; which exist, and their flavour."""
    # radiation: the jet that the heavy system recoils against (initial-state radiation,
    # balancing its transverse momentum), then a Poisson number of further jets
    count = np.minimum(1 + rng.poisson(p.radiation_jets, n), _MAX_RADIATION)
    rad_pt = JET_PT_MIN * 0.8 + rng.exponential(p.radiation_pt, (n, _MAX_RADIATION))
    rad_eta = rng.normal(0.0, p.radiation_eta, (n, _MAX_RADIATION))
    rad_phi = rng.uniform(-np.pi, np.pi, (n, _MAX_RADIATION))
    rad_pt[:, 0] = truth.system.pt
    rad_phi[:, 0] = np.arctan2(-truth.system.py, -truth.system.px)
    present = np.arange(_MAX_RADIATION)[None, :] < count[:, None]

    # final-state radiation: now and then a parton gives a gluon a fraction of its
    # momentum at an angle, which makes a jet of its own (or none, below threshold)
    partons, gluons = [], []
    for x in (truth.b1, truth.b2, truth.q1, truth.q2):
        split = rng.random(n) < p.fsr_prob
        z = np.where(split, p.fsr_fraction * rng.random(n), 0.0)
        pt, eta, phi = x.pt, x.eta, x.phi
        partons.append(massless(pt * (1.0 - z), eta, phi))
        gluons.append(
            massless(
                pt * z,
                eta + p.fsr_angle * rng.standard_normal(n),
                phi + p.fsr_angle * rng.standard_normal(n),
            )
        )
    radiation = massless(rad_pt, rad_eta, rad_phi)
    # every true jet stacked once: (events, jets): the b quarks, the W's quarks, their
    # gluons, the radiation; flavour 2 for b, 1 for the W's charm quark, 0 for light
    true = P4(
        *(
            np.column_stack([getattr(x, c) for x in partons + gluons] + [getattr(radiation, c)])
            for c in P4._fields
        )
    )
    exists = np.column_stack([np.ones((n, 4), bool), *(g.E > 0 for g in gluons), present])
    flavour = np.zeros(exists.shape, dtype=np.int8)
    flavour[:, :2] = 2
    for k in (0, 1):
        flavour[truth.charm == k, 2 + k] = 1
    true, exists, flavour = _cluster(true, exists, flavour)
    return true, exists, flavour


def _stored_jets(
    rng: np.random.Generator,
    jet: P4,
    true: P4,
    exists: np.ndarray,
    flavour: np.ndarray,
    p: ChainParameters,
    n: int,
) -> tuple[np.ndarray, np.ndarray, P4, np.ndarray]:
    """Which measured jets the detector sees, their b-tag levels, and the four the file
    stores (with their levels, at most two tagged)."""
    jets_pt, jets_eta = jet.pt, jet.eta
    truth_pt = np.where(exists, true.pt, 0.0)
    seen = exists & (jets_pt > JET_PT_MIN) & (np.abs(jets_eta) < JET_ETA_MAX)

    # b-tags: level 2 or 1 by flavour (b, the W's charm quark, light), then at most two:
    # the highest (level, pT) kept
    p2 = np.choose(flavour, [p.light_tag2, p.charm_tag2, p.b_tag2])
    p1 = np.choose(flavour, [p.light_tag1, p.charm_tag1, p.b_tag1])
    u = rng.random(flavour.shape)
    level = np.where(u < p2, 2, np.where(u < p2 + p1, 1, 0)) * exists

    # the four stored jets: the four of highest true pT among those seen, in that order
    order = np.argsort(np.where(seen, -truth_pt, np.inf), axis=1, kind="stable")[:, :4]
    rows = np.arange(n)[:, None]
    stored_level = level[rows, order]
    rank = np.argsort(
        np.argsort(-(stored_level * 1000.0 + jets_pt[rows, order]), axis=1, kind="stable"), axis=1
    )
    stored_level = np.where(rank < 2, stored_level, 0)
    stored = P4(*(c[rows, order] for c in jet))

    return seen, level, stored, stored_level


def _lepton_and_met(
    rng: np.random.Generator,
    truth: _Truth,
    true: P4,
    jet: P4,
    exists: np.ndarray,
    seen: np.ndarray,
    p: ChainParameters,
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The measured lepton, the missing energy's components, and which events pass the
    selection (four jets seen, an isolated lepton in acceptance)."""
    lep = truth.lepton
    lep_pt = lep.pt * (1.0 + p.lepton_resolution * rng.standard_normal(n))
    lep_eta, lep_phi = lep.eta, lep.phi
    # missing energy: the neutrino, part of what the jets' mismeasurement leaves (the
    # missing energy is measured from the calorimeter and tracks, not from the jets), noise
    mx = truth.neutrino.px + rng.normal(0.0, p.met_noise, n)
    my = truth.neutrino.py + rng.normal(0.0, p.met_noise, n)
    from_decay = exists & (np.arange(exists.shape[1]) < 8)  # not the radiation
    mx += p.met_jet_fraction * np.where(from_decay, true.px - jet.px, 0.0).sum(axis=1)
    my += p.met_jet_fraction * np.where(from_decay, true.py - jet.py, 0.0).sum(axis=1)
    dphi = _delta_phi(jet.phi, lep_phi[:, None])
    crowded = seen & (np.hypot(jet.eta - lep_eta[:, None], dphi) < LEPTON_ISOLATION)
    accepted = (
        (seen.sum(axis=1) >= 4)
        & (lep_pt > 15.0)
        & (np.abs(lep_eta) < LEPTON_ETA_MAX)
        & ~crowded.any(axis=1)
    )

    return lep_pt, lep_eta, lep_phi, mx, my, accepted


def _leptonic_w(
    rng: np.random.Generator, lepton: P4, mx: np.ndarray, my: np.ndarray, p: ChainParameters, n: int
) -> tuple[P4, np.ndarray, np.ndarray, np.ndarray]:
    """The neutrino from the W-mass constraint, the file's m_lv, and the missing energy's
    magnitude and angle."""
    met = np.hypot(mx, my)
    met_phi = np.arctan2(my, mx)
    # the W-mass constraint: of two solutions the one of smaller |pz|, as a reconstruction
    # that cannot see the neutrino takes it (and as mlcourse.physics.neutrino_pz does; in
    # the real file's m_wwbb, where all six objects are stored, the smaller is used in 59 %
    # of the events by a rule not documented; choosing the one nearer the true pz instead
    # made the masses sharper than real and these events 0.01 AUC easier to classify); the
    # file's m_lv is the W mass where there is a solution, else the transverse mass
    nu_pz, _, real = neutrino_pz_solutions((lepton.px, lepton.py, lepton.pz), mx, my)
    neutrino = P4(mx, my, nu_pz, np.sqrt(mx**2 + my**2 + nu_pz**2))
    mt2 = 2.0 * (lepton.pt * met - lepton.px * mx - lepton.py * my)
    m_lv = np.where(real, M_W, np.sqrt(np.maximum(mt2, 0.0)))
    # where the W-mass constraint holds, the file's m_lv scatters about 80.4 GeV by ~0.6 %
    at_w = m_lv == M_W
    m_lv = np.where(at_w, M_W * (1.0 + p.mlv_smear * rng.standard_normal(n)), m_lv)

    return neutrino, m_lv, met, met_phi


def _masses(
    jet: P4,
    level: np.ndarray,
    exists: np.ndarray,
    stored: P4,
    stored_level: np.ndarray,
    lepton: P4,
    neutrino: P4,
    m_lv: np.ndarray,
    p: ChainParameters,
    n: int,
) -> dict[str, np.ndarray]:
    """The seven high-level masses, from the measured objects."""
    # masses, from the measured objects: b-jets by tag where two are tagged, else the true
    # b-jets as measured; the hadronic W as the real file's reconstruction finds it
    two = (stored_level > 0).sum(axis=1) == 2
    tag_rank = np.argsort(-(stored_level > 0).astype(int), axis=1, kind="stable")
    row = np.arange(n)
    bj1, bj2 = (
        P4(
            *(
                np.where(two, s[row, tag_rank[:, k]], c[:, k])
                for s, c in zip(stored, jet, strict=True)
            )
        )
        for k in (0, 1)
    )
    # the W's candidates: untagged jets down to w_jet_pt (below the stored jets' 15 GeV)
    candidate = exists & (jet.pt > p.w_jet_pt) & (np.abs(jet.eta) < JET_ETA_MAX)
    w_had = _hadronic_w(jet, candidate & (level == 0), candidate)
    w_lep = lepton + neutrino
    # which b-jet goes with the hadronic W: the one making a mass nearer the top's
    first = np.abs((w_had + bj1).mass - M_TOP) <= np.abs((w_had + bj2).mass - M_TOP)
    b_had, b_lep = _pick(first, bj1, bj2), _pick(first, bj2, bj1)
    bb = bj1 + bj2
    return {
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


def _hadronic_w(jet: P4, usable: np.ndarray, seen: np.ndarray) -> P4:
    """The hadronic W as the real file's reconstruction finds it: of all pairs of untagged
    jets seen (stored or not), the one whose mass is nearest the W's (where the file's m_jj
    is not the stored untagged pair's mass, it is nearer 80.4 GeV in 99.7 % of the real
    2-tag events); of all pairs seen where fewer than two jets are untagged."""
    a, b = _ALL_PAIRS
    # the jets are massless: m^2 = 2 (E_a E_b - p_a . p_b)
    px, py, pz, e = jet
    m2 = e[:, a] * e[:, b] - px[:, a] * px[:, b] - py[:, a] * py[:, b] - pz[:, a] * pz[:, b]
    distance = np.abs(np.sqrt(np.maximum(2.0 * m2, 0.0)) - M_W)
    both_usable = usable[:, a] & usable[:, b]
    allowed = np.where(both_usable.any(axis=1)[:, None], both_usable, seen[:, a] & seen[:, b])
    best = np.where(allowed, distance, np.inf).argmin(axis=1)
    rows = np.arange(len(best))
    first, second = a[best], b[best]
    return P4(*(c[rows, first] + c[rows, second] for c in jet))


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
            # at most _CHUNK at a time: the pair masses of the hadronic W take
            # (events x 55) arrays, and a Spark worker should stay small
            batch = min(_CHUNK, max(1000, int(1.6 * (want - have))))
            features, accepted = _features(rng, make(rng, batch, p), p)
            rows.append(features[accepted])
            have += int(accepted.sum())
        out[labels == label, 1:] = np.concatenate(rows)[:want]
    return out
