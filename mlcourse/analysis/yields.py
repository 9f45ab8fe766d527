"""Expected event counts of the HIGGS benchmark's signal and background at the LHC.

A significance needs the numbers of signal and background events the data hold before a
cut on the classifier: for each process, cross-section x integrated luminosity x branching
fraction x the efficiency of the preselection that made the sample. The HIGGS data set is a
benchmark: its signal (gg -> H0 -> W H+- -> W W h0, h0 -> b b, with the heavy neutral and
charged Higgs bosons of a two-Higgs-doublet model at 425 and 325 GeV) is hypothetical, and
its signal fraction (53 %) was chosen for training, not by nature. A classifier's
efficiencies do not depend on that fraction; the yields below do the weighting.

The numbers and where they come from (``print(benchmark_yields())`` shows them):

* background, top-quark pairs: sigma(pp -> t tbar, 13 TeV) = 832 pb (LHC Top Working Group,
  NNLO+NNLL, m_t = 172.5 GeV), the lepton+jets decays with an electron or muon
  2 x 0.2134 x 0.6741 = 0.288 (PDG: BR(W -> e nu) + BR(W -> mu nu) = 21.34 %,
  BR(W -> hadrons) = 67.41 %), a preselection efficiency of 1 % (hypothetical: one lepton,
  four jets, two b-tags and HIGGS's mass ranges);
* signal: sigma x BR(H0 -> W H+-) x BR(H+- -> W h0) = 2 pb (hypothetical: the model is a
  benchmark), BR(h0 -> b b) = 0.582 (LHC Higgs Cross Section Working Group, m_h = 125 GeV),
  the same lepton+jets fraction 0.288, a preselection efficiency of 10 % (hypothetical);
* an integrated luminosity of 140 fb^-1, the LHC's Run 2 at 13 TeV (ATLAS and CMS).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LUMINOSITY", "Process", "Yields", "benchmark_yields"]

#: Integrated luminosity of the LHC's Run 2 (13 TeV, 2015-2018) per experiment, in fb^-1.
LUMINOSITY = 140.0

#: BR(W W -> l nu q q'), l = e or mu: 2 x (10.71 % + 10.63 %) x 67.41 % (PDG).
_LEPTON_JETS = 2 * 0.2134 * 0.6741


@dataclass(frozen=True)
class Process:
    """One process's expected events: sigma x L x BR x efficiency.

    Attributes
    ----------
    name : str
    cross_section : float
        In fb (1 pb = 1,000 fb).
    branching : float
        Branching fraction into the final state of the sample.
    efficiency : float
        Fraction of those events the preselection keeps.
    source : str
        Where the numbers come from.
    """

    name: str
    cross_section: float
    branching: float
    efficiency: float
    source: str

    def events(self, luminosity: float) -> float:
        """Expected events in ``luminosity`` fb^-1."""
        return self.cross_section * luminosity * self.branching * self.efficiency


@dataclass(frozen=True)
class Yields:
    """Expected signal and background events before a cut on the classifier.

    Attributes
    ----------
    signal_process, background_process : Process
        Each process's cross-section, branching fraction, efficiency and their sources.
    luminosity : float
        In fb^-1.
    """

    signal_process: Process
    background_process: Process
    luminosity: float

    @property
    def signal(self) -> float:
        """Expected signal events: sigma x L x BR x efficiency."""
        return self.signal_process.events(self.luminosity)

    @property
    def background(self) -> float:
        """Expected background events."""
        return self.background_process.events(self.luminosity)

    def __str__(self) -> str:
        rows = [f"{'':<11}{'sigma [fb]':>11}{'L [fb^-1]':>11}{'BR':>8}{'eff':>7}{'events':>10}"]
        notes = []
        for what, p in (("signal", self.signal_process), ("background", self.background_process)):
            rows.append(
                f"{what:<11}{p.cross_section:>11,.0f}{self.luminosity:>11,.0f}"
                f"{p.branching:>8.3f}{p.efficiency:>7.2f}{p.events(self.luminosity):>10,.0f}"
            )
            notes.append(f"{what}: {p.name}; {p.source}")
        return "\n".join([*rows, "(events = sigma x L x BR x eff)", *notes])


def benchmark_yields(luminosity: float = LUMINOSITY) -> Yields:
    """The HIGGS benchmark's expected signal and background events (see the module's text).

    Parameters
    ----------
    luminosity : float, default 140
        Integrated luminosity in fb^-1.

    Returns
    -------
    Yields
        ``yields.signal`` and ``yields.background`` go to
        :func:`mlcourse.significance_scan`; ``print(yields)`` shows where they come from.

    Examples
    --------
    >>> yields = benchmark_yields()
    >>> print(f"s = {yields.signal:,.0f}, b = {yields.background:,.0f}")
    s = 4,688, b = 335,120
    """
    if not luminosity > 0:
        raise ValueError(f"luminosity {luminosity}: give the integrated luminosity in fb^-1 (> 0)")
    signal = Process(
        "H0 -> W H+- -> W W h0, h0 -> b b",
        2_000.0,
        0.582 * _LEPTON_JETS,
        0.10,
        "sigma x BR hypothetical (a benchmark model); BR(h -> bb) LHC Higgs WG; "
        "efficiency hypothetical",
    )
    background = Process(
        "t tbar",
        832_000.0,
        _LEPTON_JETS,
        0.01,
        "sigma LHC Top WG (NNLO+NNLL, 13 TeV); BR PDG; efficiency hypothetical",
    )
    return Yields(signal, background, luminosity)
