"""Easy-to-hard schedules for the probability of feeding true labels.

PIMM's PIM module hands each downstream stage either the true label of the
stage before it or that stage's prediction. The probability ``p`` of taking the
label follows a curriculum over training progress ``r`` in ``[0, 1]``: high at
the start (easy, labels), low at the end (hard, predictions).

The paper states the idea but its formulas could not be read, so every shape
here is a reconstruction; see ``docs/PIMM.md`` in the project.
"""

import numpy as np

CURRICULUM_SHAPES = ("linear", "exponential", "sigmoid", "cosine", "constant")


def curriculum_probability(progress, *, shape, start, end, sharpness=5.0):
    """Probability of feeding the true prior label at training progress ``r``.

    Parameters
    ----------
    progress : float or array-like of float
        Training progress ``r``: steps done divided by the steps in the
        curriculum window. Values outside ``[0, 1]`` are clipped, so after the
        window the schedule stays at its final value.
    shape : {"linear", "exponential", "sigmoid", "cosine", "constant"}
        Shape of the decay from ``start`` to ``end``.
    start : float
        Probability at ``r = 0``.
    end : float
        Probability at ``r = 1`` (ignored by ``"constant"``).
    sharpness : float, default=5.0
        Steepness ``k`` of the ``"exponential"`` and ``"sigmoid"`` shapes.

    Returns
    -------
    p : float or ndarray of float
        The probability, of the same shape as ``progress``.

    Notes
    -----
    With weight ``w(r)`` falling from 1 to 0, ``p = end + (start - end) * w(r)``:

    - ``"linear"``: ``w = 1 - r``.
    - ``"exponential"``: ``w = (exp(-k r) - exp(-k)) / (1 - exp(-k))``, a
      geometric decay that is steep early and reaches ``end`` exactly at 1.
    - ``"sigmoid"``: the inverse sigmoid ``s(r) = 1 / (1 + exp(k (r - 1/2)))``
      of scheduled sampling, centred at ``r = 1/2`` and rescaled so that
      ``w(0) = 1`` and ``w(1) = 0``.
    - ``"cosine"``: ``w = (1 + cos(pi r)) / 2``.
    - ``"constant"``: ``p = start`` throughout; ``start=1`` is pure teacher
      forcing, ``start=0`` never shows a label.

    Examples
    --------
    >>> from sk_pimm.curriculum import curriculum_probability
    >>> float(curriculum_probability(0.25, shape="linear", start=1.0, end=0.0))
    0.75
    """
    if shape not in CURRICULUM_SHAPES:
        raise ValueError(
            f"Unknown curriculum shape {shape!r}; expected one of "
            f"{', '.join(map(repr, CURRICULUM_SHAPES))}."
        )
    r = np.clip(np.asarray(progress, dtype=float), 0.0, 1.0)
    k = float(sharpness)
    if shape == "constant":
        weight = np.ones_like(r)
    elif shape == "linear":
        weight = 1.0 - r
    elif shape == "exponential":
        # (exp(-k r) - exp(-k)) / (1 - exp(-k)), written with expm1 so that it
        # tends to the linear schedule, not 0 / 0, as k goes to 0.
        weight = (np.expm1(-k * r) - np.expm1(-k)) / -np.expm1(-k)
    elif shape == "sigmoid":
        # The inverse sigmoid 1 / (1 + exp(k (r - 1/2))) rescaled to run from
        # 1 to 0, in its tanh form, which neither overflows for large k nor
        # divides 0 by 0 for small k.
        weight = (np.tanh(k / 4) - np.tanh(k * (r - 0.5) / 2)) / (2 * np.tanh(k / 4))
    else:  # cosine
        weight = (1.0 + np.cos(np.pi * r)) / 2.0
    p = end + (start - end) * weight if shape != "constant" else start * weight
    return float(p) if np.ndim(p) == 0 else p
