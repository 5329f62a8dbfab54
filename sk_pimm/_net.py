"""The skorch net that trains cascade networks, and their loss."""

import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import nn


class CascadeLoss(nn.Module):
    """Weighted sum over stages of binary cross-entropy on logits.

    Parameters
    ----------
    stage_weights : sequence of float, default=None
        Weight of each stage's loss; ``None`` weighs every stage 1.
    calibrator_weight : float, default=0.0
        Weight ``alpha`` of the monotonicity penalty
        ``alpha * mean(relu(q_t - q_{t-1}))`` on predicted probabilities
        ``q``, AITM's calibrator.
    """

    def __init__(self, stage_weights=None, calibrator_weight=0.0):
        super().__init__()
        weights = None if stage_weights is None else torch.as_tensor(stage_weights)
        self.register_buffer("stage_weights", weights)
        self.calibrator_weight = calibrator_weight

    def forward(self, logits, labels):
        losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        losses = losses.mean(dim=0)
        if self.stage_weights is not None:
            losses = losses * self.stage_weights.to(losses.dtype)
        loss = losses.sum()
        if self.calibrator_weight:
            probabilities = torch.sigmoid(logits)
            rise = torch.relu(probabilities[:, 1:] - probabilities[:, :-1])
            loss = loss + self.calibrator_weight * rise.mean()
        return loss


class StopTraining(KeyboardInterrupt):
    """Ends skorch's training loop the way its own early stopping does."""


class PlateauStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` that asks the net to stop instead of raising.

    The net stops after the remaining epoch-end callbacks have run, so the
    last epoch is logged like every other.
    """

    def on_epoch_end(self, net, **kwargs):
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            if self.misses_ != self.patience:
                raise  # a real Ctrl-C, not the parent's stop
            net.stop_requested_ = True


class CascadeNet(NeuralNet):
    """A skorch ``NeuralNet`` that shows the true labels to the module in training.

    PIMM's modules need the upstream labels while training. skorch never
    passes y to ``forward``, so the training step hands them over as the
    ``labels`` argument. Validation and prediction do not, so the module then
    uses its own predictions.
    """

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        labels = to_tensor(yi, device=self.device)
        y_pred = self.infer(Xi, labels=labels, **fit_params)
        loss = self.get_loss(y_pred, labels, X=Xi, training=True)
        if not torch.isfinite(loss):
            epoch = len(self.history)
            raise ValueError(
                f"Training diverged: the loss became {loss.item()} in epoch "
                f"{epoch}. Lower lr, check the numeric columns for extreme "
                "values, or lower very large stage_weights or calibrator_weight."
            )
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def fit_loop(self, *args, **kwargs):
        """Run skorch's training loop and note whether Ctrl-C stopped it.

        skorch swallows the ``KeyboardInterrupt`` and keeps the weights reached
        so far; ``interrupted_`` lets the estimator warn about it. Early
        stopping is a normal end, not an interruption.
        """
        self.interrupted_ = False
        self.stop_requested_ = False
        try:
            return super().fit_loop(*args, **kwargs)
        except StopTraining:
            raise
        except KeyboardInterrupt:
            self.interrupted_ = True
            raise

    def notify(self, method_name, **cb_kwargs):
        """Call the callbacks; stop training once every epoch-end one has run.

        skorch's ``EarlyStopping`` stops by raising in the middle of the
        epoch-end callbacks, which skips those after it, the epoch's log row
        among them. :class:`PlateauStopping` only asks to stop, and the stop
        happens here, after all of them.
        """
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_epoch_end" and getattr(self, "stop_requested_", False):
            raise StopTraining

    def get_default_callbacks(self):
        # PrintLog is left out: the estimator adds one only when verbose >= 1.
        return [
            (name, callback)
            for name, callback in super().get_default_callbacks()
            if name != "print_log"
        ]
