"""The detector of the synthetic events, and the events it records.

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

:func:`generate_events` runs the decay chains (:mod:`mlcourse.data.synthetic.chains`)
through it until ``n`` events are accepted.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from mlcourse.data.synthetic.chains import (
    M_TOP,
    P4,
    ChainParameters,
    Truth,
    background_truth,
    massless,
    pick,
    signal_truth,
)
from mlcourse.higgs import FEATURES
from mlcourse.physics import BTAG_STEPS, M_W, SCALES, neutrino_pz_solutions

__all__ = ["JET_PT_MIN", "JET_RADIUS", "LEPTON_ISOLATION", "generate_events"]


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
    rng: np.random.Generator, truth: Truth, p: ChainParameters
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
    rng: np.random.Generator, truth: Truth, p: ChainParameters, n: int
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
    truth: Truth,
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
    b_had, b_lep = pick(first, bj1, bj2), pick(first, bj2, bj1)
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
    for label, make in ((1.0, signal_truth), (0.0, background_truth)):
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
