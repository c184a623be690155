"""Non-response weights: post-stratification and raking to population margins, trimming,
and Kish's design effects.

- :mod:`~casemix.weighting.margins`: the margins table and the cell of each birth in it.
- :mod:`~casemix.weighting.raking`: :func:`poststratify` and :func:`rake`.
- :mod:`~casemix.weighting.trimming`: :func:`trim` (as ``survey::trimWeights``).
- :mod:`~casemix.weighting.design_effects`: :func:`design_effects` (Kish).
- :mod:`~casemix.weighting.report`: the disclosure-controlled report of a weighting.
- :mod:`~casemix.weighting.weigh`: :func:`weigh`, weights and trimming in one call.
"""

from casemix.weighting.design_effects import design_effects
from casemix.weighting.margins import Margin, Margins, read_margins
from casemix.weighting.raking import poststratify, rake
from casemix.weighting.report import weights_report
from casemix.weighting.result import Weights
from casemix.weighting.trimming import Trimmed, trim
from casemix.weighting.weigh import weigh

__all__ = ["Margin", "Margins", "Trimmed", "Weights", "design_effects", "poststratify",
           "rake", "read_margins", "trim", "weigh", "weights_report"]
