"""Saving and loading models in skops' format, which runs no code on load.

``joblib.dump`` and ``pickle`` work too, but loading a pickle can run any code
the file asks for, so load pickles only from sources you trust. skops stores
data, not code: on load it rebuilds only the types it is told to trust. A
saved sk_pimm model holds NumPy arrays, plain Python values and the sk_pimm
types listed in :data:`TRUSTED_TYPES`.
"""

import skops.io

#: The sk_pimm types a saved model may hold; nothing else is trusted on load.
TRUSTED_TYPES = (
    "sk_pimm._encoding.TabularEncoder",
    "sk_pimm.baselines.AITMClassifier",
    "sk_pimm.baselines.ESMMClassifier",
    "sk_pimm.baselines.MMoEClassifier",
    "sk_pimm.baselines.PLEClassifier",
    "sk_pimm.baselines.SharedBottomClassifier",
    "sk_pimm.pimm.PIMMClassifier",
)


def dump(estimator, file):
    """Save a fitted sk_pimm estimator in skops' format.

    Parameters
    ----------
    estimator : PIMMClassifier or another sk_pimm estimator
        The model to save. Its network is stored as NumPy weights, so it
        loads on any device.
    file : str or path-like
        Where to write, conventionally with the suffix ``.skops``.

    Raises
    ------
    TypeError
        If the model holds a type :func:`load` would refuse, for example a
        category of a type skops does not know. Nothing is written then.
    """
    data = skops.io.dumps(estimator)
    unknown = sorted(set(skops.io.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    if unknown:
        raise TypeError(
            f"The model holds types that load() would not trust: {unknown}. "
            "Convert such values (e.g. categories) to strings or numbers "
            "before fitting, or save with joblib and load only trusted files."
        )
    with open(file, "wb") as handle:
        handle.write(data)


def load(file):
    """Load a model saved by :func:`dump`, trusting only sk_pimm's own types.

    Parameters
    ----------
    file : str or path-like
        A file written by :func:`dump`.

    Returns
    -------
    estimator : object
        The model, ready to predict.

    Raises
    ------
    skops.io.exceptions.UntrustedTypesFoundException
        If the file holds a type that is neither one of skops' safe defaults
        nor listed in :data:`TRUSTED_TYPES`. Inspect such a file with
        ``skops.io.get_untrusted_types`` before deciding to trust it.
    """
    return skops.io.load(file, trusted=list(TRUSTED_TYPES))
