"""Where the HIGGS masses come from: the file's columns as four-vectors, and the masses.

The HIGGS file stores each quantity divided by a scale of its own (so that the values are
of order 1), and angles and b-tags likewise. :func:`physical` undoes that: pT and masses in
GeV, η as measured, φ in radians, b-tag levels 0, 1 or 2. From those, the seven high-level
features are invariant masses of reconstructed objects (the lepton and jets taken as
massless):

* ``m_bb``: the two b-tagged jets, :func:`m_bb`;
* ``m_lv``: the lepton and the neutrino, whose longitudinal momentum is not measured:
  requiring the pair to have the W mass gives a quadratic equation for it
  (:func:`neutrino_pz`); with a real solution the pair's mass *is* the W mass, without one
  the transverse mass is the best estimate (:func:`m_lv`);
* ``m_jj``, ``m_jjj``, ``m_jlv``, ``m_wbb``, ``m_wwbb``: the untagged pair, with a b-jet,
  and so on, built the same way; in about a third of the real events they use a jet that
  is not among the four stored, so they cannot always be recomputed from the file.

The scales were measured on the real events, so that the masses computed from the
four-vectors equal the file's (``tests/test_physics.py`` checks them on the 5,000 real
events in ``data/``). Four-vectors are scikit-hep's :mod:`vector` arrays, the field's
library for them.

Examples
--------
A stored value of 1 is 54.59 GeV of lepton pT, or 126.26 GeV of m_bb:

>>> import pandas as pd
>>> stored = pd.DataFrame({"lepton_pT": [1.0], "m_bb": [1.0], "jet1_b-tag": [1.0865]})
>>> physical(stored).round(2).to_dict("records")
[{'lepton_pT': 54.59, 'm_bb': 126.26, 'jet1_b-tag': 1.0}]
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from mlcourse.higgs import canonical_name

if TYPE_CHECKING:
    import pandas as pd

# pandas and vector are imported where they are used: the synthetic generator takes this
# module's constants and neutrino_pz_solutions into every Spark task that makes events, and
# needs neither.

__all__ = [
    "BTAG_STEPS",
    "M_W",
    "SCALES",
    "invariant_mass",
    "jets",
    "lepton",
    "m_bb",
    "m_lv",
    "neutrino",
    "neutrino_pz",
    "neutrino_pz_solutions",
    "physical",
    "transverse_mass",
]

#: The W boson's mass in GeV, the constraint that gives the neutrino's pz.
M_W = 80.4

_JETS = ("jet1", "jet2", "jet3", "jet4")

#: The stored value of b-tag level 1 of each jet (level 2 is twice it; level 0 is 0), as
#: the real file holds them (float32 values).
BTAG_STEPS: dict[str, float] = {
    "jet1_b-tag": 1.0865380764007568,
    "jet2_b-tag": 1.1074360609054565,
    "jet3_b-tag": 1.2741122245788574,
    "jet4_b-tag": 1.5509806871414185,
}

#: What each stored value is multiplied by to give GeV (pT, masses), radians (φ), η, or a
#: b-tag level (0, 1, 2). Measured on real events: with them, the masses computed from the
#: four-vectors equal the file's.
SCALES: dict[str, float] = {
    "lepton_pT": 54.59,
    "lepton_eta": 1.0264,
    "lepton_phi": 1.8028,
    "missing_energy_magnitude": 58.26,
    "missing_energy_phi": 1.8028,
    **{f"{j}_pt": s for j, s in zip(_JETS, (108.85, 79.26, 56.80, 40.99), strict=True)},
    **{f"{j}_eta": s for j, s in zip(_JETS, (1.0099, 1.0294, 1.0988, 1.2004), strict=True)},
    **{f"{j}_phi": 1.8028 for j in _JETS},
    # the file stores a b-tag level L (0, 1, 2) as L x BTAG_STEPS
    **{f"{j}_b-tag": 1 / BTAG_STEPS[f"{j}_b-tag"] for j in _JETS},
    "m_jj": 87.47,
    "m_jjj": 179.19,
    "m_lv": 81.41,
    "m_jlv": 195.0,
    "m_bb": 126.26,
    "m_wbb": 335.4,
    "m_wwbb": 510.5,
}


def physical(frame: pd.DataFrame) -> pd.DataFrame:
    """The events in physical units: GeV, radians, η, b-tag levels 0/1/2.

    Parameters
    ----------
    frame : pandas.DataFrame
        HIGGS events with the file's column names (the course's ``je4_eta`` and other
        spellings are accepted); other columns, such as ``label``, are kept as they are.

    Returns
    -------
    pandas.DataFrame
        A new frame with the same columns, each multiplied by its :data:`SCALES` entry;
        b-tag levels rounded to whole numbers.
    """
    out = frame.rename(columns=lambda c: canonical_name(c) or c).copy()
    for column, scale in SCALES.items():
        if column in out:
            out[column] = out[column] * scale
            if column.endswith("b-tag"):
                out[column] = out[column].round()
    return out


def _massless(pt: Any, eta: Any, phi: Any) -> Any:
    import vector

    return vector.array({"pt": pt, "eta": eta, "phi": phi, "mass": np.zeros(len(pt))})


def lepton(events: pd.DataFrame) -> Any:
    """The lepton's four-vectors (massless), from :func:`physical` events."""
    return _massless(
        events["lepton_pT"].to_numpy(),
        events["lepton_eta"].to_numpy(),
        events["lepton_phi"].to_numpy(),
    )


def jets(events: pd.DataFrame) -> list[Any]:
    """The four stored jets' four-vectors (massless), in file order (not by pT)."""
    return [
        _massless(
            events[f"{j}_pt"].to_numpy(),
            events[f"{j}_eta"].to_numpy(),
            events[f"{j}_phi"].to_numpy(),
        )
        for j in _JETS
    ]


def invariant_mass(*objects: Any) -> np.ndarray:
    """The invariant mass of the sum of some four-vector arrays, in their units.

    Examples
    --------
    >>> import numpy as np, vector
    >>> a = vector.array({"px": [40.0], "py": [0.0], "pz": [0.0], "E": [40.0]})
    >>> b = vector.array({"px": [-40.0], "py": [0.0], "pz": [0.0], "E": [40.0]})
    >>> invariant_mass(a, b)  # two back-to-back massless 40 GeV objects
    array([80.])
    """
    total = objects[0]
    for obj in objects[1:]:
        total = total + obj
    return np.asarray(total.mass, dtype=float)


def transverse_mass(events: pd.DataFrame) -> np.ndarray:
    """The lepton-neutrino transverse mass, sqrt(2 pT(ℓ) MET (1 - cos Δφ)), in GeV."""
    dphi = events["lepton_phi"].to_numpy() - events["missing_energy_phi"].to_numpy()
    product = events["lepton_pT"].to_numpy() * events["missing_energy_magnitude"].to_numpy()
    return np.sqrt(np.maximum(0.0, 2.0 * product * (1.0 - np.cos(dphi))))


def neutrino_pz_solutions(
    lepton_p: tuple[np.ndarray, np.ndarray, np.ndarray],
    met_x: np.ndarray,
    met_y: np.ndarray,
    m_w: float = M_W,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both solutions of the W-mass constraint for the neutrino's pz, from plain arrays.

    With the lepton massless (momentum ``lepton_p`` = px, py, pz) and the neutrino's
    transverse momentum the missing energy (``met_x``, ``met_y``), m(ℓν) = m_W is a
    quadratic equation in pz(ν).

    Returns
    -------
    (smaller, larger, real) : numpy.ndarray
        The solution of smaller and of larger |pz| (equal, the real part, where there is no
        real solution), and whether there is one.
    """
    px, py, pz = lepton_p
    pt2 = px**2 + py**2
    energy = np.sqrt(pt2 + pz**2)
    mu = m_w**2 / 2 + px * met_x + py * met_y
    centre = mu * pz / pt2
    discriminant = centre**2 - (energy**2 * (met_x**2 + met_y**2) - mu**2) / pt2
    real = discriminant >= 0
    root = np.sqrt(np.where(real, discriminant, 0.0))
    first = np.abs(centre - root) < np.abs(centre + root)
    smaller = np.where(first, centre - root, centre + root)
    larger = np.where(first, centre + root, centre - root)
    return smaller, larger, real


def neutrino_pz(events: pd.DataFrame, m_w: float = M_W) -> tuple[np.ndarray, np.ndarray]:
    """The neutrino's longitudinal momentum from the W-mass constraint, in GeV.

    With the lepton massless and the neutrino's transverse momentum the missing energy,
    m(ℓν) = m_W is a quadratic equation in pz(ν) (:func:`neutrino_pz_solutions`). Of two
    real solutions the one of smaller |pz| is taken (the usual choice when the truth is
    unknown); without a real solution (the measured missing energy is too large for a W of
    that mass), the real part of the complex pair.

    Returns
    -------
    (pz, real) : (numpy.ndarray, numpy.ndarray of bool)
        The neutrino's pz, and whether the equation had a real solution.
    """
    lep = lepton(events)
    met = events["missing_energy_magnitude"].to_numpy()
    met_phi = events["missing_energy_phi"].to_numpy()
    momentum = (
        np.asarray(lep.px, dtype=float),
        np.asarray(lep.py, dtype=float),
        np.asarray(lep.pz, dtype=float),
    )
    smaller, _, real = neutrino_pz_solutions(
        momentum, met * np.cos(met_phi), met * np.sin(met_phi), m_w
    )
    return smaller, real


def neutrino(events: pd.DataFrame, m_w: float = M_W) -> Any:
    """The neutrino's four-vectors: the missing energy with :func:`neutrino_pz`."""
    pz, _ = neutrino_pz(events, m_w)
    met = events["missing_energy_magnitude"].to_numpy()
    phi = events["missing_energy_phi"].to_numpy()
    px, py = met * np.cos(phi), met * np.sin(phi)
    import vector

    return vector.array({"px": px, "py": py, "pz": pz, "E": np.sqrt(px**2 + py**2 + pz**2)})


def m_lv(events: pd.DataFrame, m_w: float = M_W) -> np.ndarray:
    """The lepton-neutrino mass as the file has it: the W mass where the constraint has a
    real solution, the transverse mass where it has none (then it exceeds the W mass), in
    GeV; that is, max(m_W, transverse mass)."""
    _, real = neutrino_pz(events, m_w)
    return np.where(real, m_w, transverse_mass(events))


def m_bb(events: pd.DataFrame) -> np.ndarray:
    """The mass of the two b-tagged jets, in GeV; NaN where not exactly two are tagged."""
    tags = np.column_stack([events[f"{j}_b-tag"].to_numpy() > 0 for j in _JETS])
    two = tags.sum(axis=1) == 2
    vectors = jets(events)
    mass = np.full(len(events), np.nan)
    for i, j in combinations(range(len(_JETS)), 2):
        pair = two & tags[:, i] & tags[:, j]
        mass[pair] = invariant_mass(vectors[i], vectors[j])[pair]
    return mass
