"""The PIMM network: one tower per stage, joined by PIM modules."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from sk_pimm.nn.layers import InputLayer, WideLayer, logit_from_log, mlp


class SelfAttentionFusion(nn.Module):
    """Single-head scaled dot-product self-attention with a residual connection.

    Returns the output at the first token, the stage's own representation.
    """

    def __init__(self, width):
        super().__init__()
        self.query = nn.Linear(width, width, bias=False)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(width, width, bias=False)
        self.scale = 1.0 / math.sqrt(width)

    def forward(self, tokens):
        scores = self.query(tokens) @ self.key(tokens).transpose(1, 2)
        weights = torch.softmax(scores * self.scale, dim=-1)
        fused = weights @ self.value(tokens) + tokens
        return fused[:, 0]


class ConcatFusion(nn.Module):
    """Ablation of the attention: a linear map of the concatenated tokens."""

    def __init__(self, width, n_tokens=3):
        super().__init__()
        self.linear = nn.Linear(width * n_tokens, width)

    def forward(self, tokens):
        return torch.relu(self.linear(tokens.flatten(1)))


class PIMModule(nn.Module):
    """Prior Information Merged module for one downstream stage.

    Merges the stage's own tower output ``h_t`` with an implicit transfer
    ``v = FC(h_{t-1})`` from the prior tower and an explicit premise vector
    ``u = s e_1 + (1 - s) e_0``, where the premise ``s`` is the prior stage's
    true label or its prediction.

    Parameters
    ----------
    width : int
        Width ``k`` of the tower outputs.
    sampling : {"hard", "soft"}
        ``"hard"`` draws, per sample, the label with probability ``p`` and the
        prediction otherwise; ``"soft"`` mixes them, ``s = p y + (1 - p) q``.
    stop_prior_gradient : bool
        Stop the gradient through the prior prediction ``q``.
    stop_transfer_gradient : bool
        Stop the gradient through the transfer path ``v``.
    use_transfer : bool
        Keep the transfer token ``v``; ``False`` drops it (an ablation).
    fusion : {"attention", "concat"}
        Self-attention with a residual over the tokens, or, as an ablation, a
        linear layer over their concatenation.
    chain_premise : bool
        Multiply the stage's probability by the premise: ``q_t = s *
        sigmoid(c_t)``, where ``c_t`` is the head's logit, which then models
        ``P(stage t | stage t-1)``. ``False`` returns ``c_t`` itself.
    """

    def __init__(
        self,
        width,
        *,
        sampling,
        stop_prior_gradient,
        stop_transfer_gradient,
        use_transfer,
        fusion,
        chain_premise=False,
    ):
        super().__init__()
        self.sampling = sampling
        self.chain_premise = chain_premise
        self.stop_prior_gradient = stop_prior_gradient
        self.stop_transfer_gradient = stop_transfer_gradient
        self.premise_embedding = nn.Parameter(torch.randn(2, width) * 0.1)
        self.transfer = nn.Linear(width, width) if use_transfer else None
        n_tokens = 3 if use_transfer else 2
        self.fusion = (
            SelfAttentionFusion(width)
            if fusion == "attention"
            else ConcatFusion(width, n_tokens)
        )
        self.head = nn.Linear(width, 1)

    def premise(self, prior_logit, prior_label, label_probability):
        """The premise ``s``: prior label, prior prediction, or a mix of them.

        ``prior_label`` is given only while training; otherwise ``s`` is the
        prediction.
        """
        prediction = torch.sigmoid(prior_logit)
        if self.stop_prior_gradient:
            prediction = prediction.detach()
        if prior_label is None or label_probability <= 0.0:
            return prediction
        if self.sampling == "soft":
            return label_probability * prior_label + (1 - label_probability) * (
                prediction
            )
        take_label = torch.rand_like(prediction) < label_probability
        return torch.where(take_label, prior_label, prediction)

    def forward(
        self, h, h_prior, prior_logit, prior_label, label_probability, offset=None
    ):
        """Return the stage's logit; ``offset`` is added to the head's logit."""
        s = self.premise(prior_logit, prior_label, label_probability)
        u = s.unsqueeze(1)
        premise = u * self.premise_embedding[1] + (1 - u) * self.premise_embedding[0]
        tokens = [h, premise]
        if self.transfer is not None:
            source = h_prior.detach() if self.stop_transfer_gradient else h_prior
            tokens.insert(1, self.transfer(source))
        fused = self.fusion(torch.stack(tokens, dim=1))
        logit = self.head(fused).squeeze(1)
        if offset is not None:
            logit = logit + offset
        if not self.chain_premise:
            return logit
        if prior_label is not None and label_probability > 0.0:
            # A label of 0 gives a probability of 0: its log is capped, not -inf.
            log_s = torch.log(s.clamp(min=torch.finfo(s.dtype).tiny))
            return logit_from_log(log_s + F.logsigmoid(logit))
        # The premise is the prediction: its log straight from the logit.
        prior = prior_logit.detach() if self.stop_prior_gradient else prior_logit
        chained = logit_from_log(F.logsigmoid(prior) + F.logsigmoid(logit))
        # q_t = q_{t-1} * sigmoid(c) <= q_{t-1}; the minimum only undoes
        # float32 rounding, which could otherwise lift q_t above q_{t-1}.
        return torch.minimum(chained, prior)


class PIMMNetwork(nn.Module):
    """PIMM: towers per stage, a PIM module for every stage after the first.

    Parameters
    ----------
    cardinalities : list of int
        Embedding rows per categorical column (out-of-vocabulary row included).
    n_numeric : int
        Number of numeric columns.
    n_stages : int
        Number of funnel stages ``T >= 2``.
    embedding_dim : int
        Width of each categorical embedding.
    hidden_units : tuple of int
        Layer widths of each stage tower; the last is the width ``k``.
    dropout : float
        Dropout after each tower layer.
    sampling, stop_prior_gradient, stop_transfer_gradient, use_transfer, fusion, \
chain_premise
        See :class:`PIMModule`.
    wide : bool
        Add a :class:`~sk_pimm.nn.layers.WideLayer` logit to every stage,
        before the stage's prediction becomes the next stage's premise.

    Attributes
    ----------
    label_probability : float
        Probability ``p`` of feeding the true prior label while training. The
        curriculum callback sets it every batch.
    """

    def __init__(
        self,
        cardinalities,
        n_numeric,
        n_stages,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        sampling="hard",
        stop_prior_gradient=True,
        stop_transfer_gradient=False,
        use_transfer=True,
        fusion="attention",
        chain_premise=False,
        wide=False,
    ):
        super().__init__()
        self.inputs = InputLayer(cardinalities, n_numeric, embedding_dim)
        self.wide = WideLayer(cardinalities, n_numeric, n_stages) if wide else None
        towers = [
            mlp(self.inputs.output_dim, hidden_units, dropout) for _ in range(n_stages)
        ]
        width = towers[0][1]
        self.towers = nn.ModuleList(tower for tower, _ in towers)
        self.first_head = nn.Linear(width, 1)
        self.pim_modules = nn.ModuleList(
            PIMModule(
                width,
                sampling=sampling,
                stop_prior_gradient=stop_prior_gradient,
                stop_transfer_gradient=stop_transfer_gradient,
                use_transfer=use_transfer,
                fusion=fusion,
                chain_premise=chain_premise,
            )
            for _ in range(n_stages - 1)
        )
        self.label_probability = 1.0

    def forward(self, x_cat, x_num, labels=None):
        """Return logits of shape (n_samples, n_stages).

        Parameters
        ----------
        x_cat : LongTensor of shape (n_samples, n_categorical)
        x_num : FloatTensor of shape (n_samples, n_numeric)
        labels : FloatTensor of shape (n_samples, n_stages), default=None
            True labels. Used only in training mode, where each PIM module
            may take the prior stage's label as its premise; in eval mode, or
            when ``None``, every premise is the prior stage's prediction.
        """
        x = self.inputs(x_cat, x_num)
        hidden = [tower(x) for tower in self.towers]
        use_labels = labels is not None and self.training
        p = self.label_probability if use_labels else 0.0
        wide = None if self.wide is None else self.wide(x_cat, x_num)
        logits = [self.first_head(hidden[0]).squeeze(1)]
        if wide is not None:
            logits[0] = logits[0] + wide[:, 0]
        for t, module in enumerate(self.pim_modules, start=1):
            prior_label = labels[:, t - 1] if use_labels else None
            offset = None if wide is None else wide[:, t]
            logits.append(
                module(hidden[t], hidden[t - 1], logits[-1], prior_label, p, offset)
            )
        return torch.stack(logits, dim=1)
