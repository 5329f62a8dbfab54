"""Warnings raised by sk_pimm, one class per concern so users can filter them."""

__all__ = [
    "CascadeWarning",
    "DegenerateStageWarning",
    "FitInterruptedWarning",
    "LabelLeakageWarning",
    "VersionMismatchWarning",
]


class CascadeWarning(UserWarning):
    """Labels were changed to make the funnel nested (``cascade="clip"``)."""


class DegenerateStageWarning(UserWarning):
    """A stage has only one class, so its AUC is undefined."""


class FitInterruptedWarning(UserWarning):
    """Training was stopped by Ctrl-C; the model keeps the weights reached."""


class LabelLeakageWarning(UserWarning):
    """A feature column equals a stage label, so the model can read the answer."""


class VersionMismatchWarning(UserWarning):
    """A model was saved by a different sk_pimm version than the one loading it."""
