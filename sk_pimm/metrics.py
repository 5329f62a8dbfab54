"""Per-stage metrics that stay defined when a stage has a single class."""

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score


def stage_roc_auc(y_true, y_score):
    """ROC AUC of each stage, ``nan`` where the stage has only one class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_stages)
        0/1 labels, one column per stage.
    y_score : array-like of shape (n_samples, n_stages)
        Scores or probabilities, one column per stage.

    Returns
    -------
    auc : ndarray of shape (n_stages,)
        The AUC of each stage over all rows, never averaged over batches.
    """
    y_true, y_score = _check_pair(y_true, y_score)
    return np.array(
        [
            roc_auc_score(y_true[:, t], y_score[:, t])
            if 0 < y_true[:, t].sum() < len(y_true)
            else np.nan
            for t in range(y_true.shape[1])
        ]
    )


def stage_log_loss(y_true, y_prob):
    """Log loss (binary cross-entropy) of each stage.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_stages)
        0/1 labels, one column per stage.
    y_prob : array-like of shape (n_samples, n_stages)
        Probabilities of each stage being reached.

    Returns
    -------
    loss : ndarray of shape (n_stages,)
    """
    y_true, y_prob = _check_pair(y_true, y_prob)
    return np.array(
        [
            log_loss(y_true[:, t], y_prob[:, t], labels=[0, 1])
            for t in range(y_true.shape[1])
        ]
    )


def _check_pair(y_true, y_score):
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=float)
    if y_true.ndim != 2 or y_true.shape != y_score.shape:
        raise ValueError(
            "y_true and the scores must both have shape (n_samples, n_stages); "
            f"got {y_true.shape} and {y_score.shape}."
        )
    return y_true, y_score
