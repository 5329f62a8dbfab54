"""skorch callbacks: the label curriculum and per-stage epoch metrics."""

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback, PrintLog

from sk_pimm.curriculum import curriculum_probability
from sk_pimm.metrics import stage_roc_auc


class CurriculumScheduler(Callback):
    """Sets the module's ``label_probability`` before every training batch.

    Progress is ``r = batches done / window_steps``, counting the current
    batch, so the last batch of the window trains with ``end``. The value at
    the end of each epoch is recorded in the history as ``label_probability``.

    Parameters
    ----------
    shape, start, end, sharpness
        See :func:`sk_pimm.curriculum.curriculum_probability`.
    window_steps : int
        Number of training batches over which ``p`` moves from ``start`` to
        ``end``.
    """

    def __init__(self, shape, start, end, sharpness, window_steps):
        self.shape = shape
        self.start = start
        self.end = end
        self.sharpness = sharpness
        self.window_steps = window_steps

    def initialize(self):
        self.steps_done_ = 0
        return self

    def probability(self, steps_done):
        """Label probability after ``steps_done`` training batches."""
        return curriculum_probability(
            steps_done / self.window_steps,
            shape=self.shape,
            start=self.start,
            end=self.end,
            sharpness=self.sharpness,
        )

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            self.steps_done_ += 1
            net.module_.label_probability = self.probability(self.steps_done_)

    def on_epoch_end(self, net, **kwargs):
        net.history.record("label_probability", net.module_.label_probability)


class StageMonitor(Callback):
    """Records each stage's training loss and validation AUC every epoch.

    History keys: ``train_loss_<stage>``, and where there is a validation set,
    ``valid_loss_<stage>``, ``valid_auc_<stage>`` and their mean over stages,
    ``valid_auc``. AUC is computed over the whole validation set, ``nan`` for a
    stage with a single class there.

    Parameters
    ----------
    stage_names : list of str
        Names of the stages, in funnel order.
    """

    def __init__(self, stage_names):
        self.stage_names = stage_names

    def on_epoch_begin(self, net, **kwargs):
        self._train_loss_sum = 0.0
        self._train_rows = 0
        self._valid_logits = []
        self._valid_labels = []

    def on_batch_end(self, net, batch, training=False, y_pred=None, **kwargs):
        labels = batch[1].to(y_pred.device)
        if training:
            with torch.no_grad():
                losses = F.binary_cross_entropy_with_logits(
                    y_pred, labels, reduction="none"
                ).sum(dim=0)
            self._train_loss_sum = self._train_loss_sum + losses.cpu().numpy()
            self._train_rows += len(labels)
        else:
            self._valid_logits.append(y_pred.detach().cpu())
            self._valid_labels.append(labels.cpu())

    def on_epoch_end(self, net, **kwargs):
        history = net.history
        if self._train_rows:
            losses = self._train_loss_sum / self._train_rows
            for name, loss in zip(self.stage_names, losses, strict=True):
                history.record(f"train_loss_{name}", float(loss))
        if not self._valid_logits:
            return
        logits = torch.cat(self._valid_logits)
        labels = torch.cat(self._valid_labels)
        losses = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        aucs = stage_roc_auc(labels.numpy(), logits.numpy())
        for name, loss, auc in zip(self.stage_names, losses.mean(0), aucs, strict=True):
            history.record(f"valid_loss_{name}", float(loss))
            history.record(f"valid_auc_{name}", float(auc))
        mean_auc = float(np.nanmean(aucs)) if not np.isnan(aucs).all() else np.nan
        history.record("valid_auc", mean_auc)


class EpochPrintLog(PrintLog):
    """skorch's ``PrintLog`` with columns in the order they were recorded.

    The parent sorts columns alphabetically, which scatters the stages; here
    they keep funnel order. ``epoch`` comes first and ``dur`` last.
    """

    def format_row(self, row, key, color):
        """Format a value without ANSI colours, which garble logs in files."""
        value = row[key]
        if isinstance(value, float) and not value.is_integer():
            return f"{value:{self.floatfmt}}"
        return value

    def _sorted_keys(self, keys):
        shown = [
            key
            for key in keys
            if key not in self.keys_ignored_
            and key not in ("epoch", "dur")
            and not key.endswith(("_best", "_batch_count"))
            and not key.startswith("event_")
        ]
        return ["epoch", *shown, "dur"]
