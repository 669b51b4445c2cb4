"""The robust z-score (Iglewicz and Hoaglin's modified z-score) of a value among its peers.

A mean and standard deviation are pulled towards the very outlier they should reveal (one viral
post inflates both); the median and the median absolute deviation (MAD) are not, which is why they
are used here. A modified z-score above 3.5 in absolute value is their recommended outlier bound.
"""

from dataclasses import dataclass
from decimal import Decimal

THRESHOLD = Decimal("3.5")
# 0.6745 is the 0.75 quantile of the standard normal: it makes MAD comparable to a standard
# deviation for normal data. 1.253314 (= sqrt(pi/2)) does the same for the mean absolute deviation.
MAD_FACTOR = Decimal("0.6745")
MEAN_AD_FACTOR = Decimal("1.253314")
# A post or campaign is only compared with at least this many peers (itself not counted): with
# fewer, the median and MAD of a handful of values say nothing about what is usual.
MIN_PEERS = 5


def median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class Score:
    value: Decimal
    score: Decimal
    median: Decimal
    mad: Decimal

    @property
    def is_outlier(self) -> bool:
        return abs(self.score) > THRESHOLD


def modified_z_scores(values: list[Decimal]) -> list[Score]:
    """0.6745 * (x - median) / MAD for each value.

    When MAD is 0 (more than half the values are equal) that quotient is undefined; the mean
    absolute deviation takes its place, (x - median) / (1.253314 * meanAD), so a lone value far from
    a block of identical ones still stands out. When that is 0 too, every value is equal and no
    value is an outlier: all scores are 0.
    """
    if not values:
        return []
    centre = median(values)
    deviations = [abs(value - centre) for value in values]
    mad = median(deviations)
    mean_ad = sum(deviations, Decimal(0)) / len(values)
    scores = []
    for value in values:
        if mad > 0:
            score = MAD_FACTOR * (value - centre) / mad
        elif mean_ad > 0:
            score = (value - centre) / (MEAN_AD_FACTOR * mean_ad)
        else:
            score = Decimal(0)
        scores.append(Score(value=value, score=score, median=centre, mad=mad))
    return scores
