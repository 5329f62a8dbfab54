"""Baseline multi-task networks: Shared-Bottom, ESMM, MMoE, PLE and AITM.

Every network shares PIMM's input layer and returns logits of shape
``(n_samples, n_stages)``; column ``t`` is the logit of ``P(stage t reached)``.
The ``labels`` argument of ``forward`` exists so that the training loop can
call every network alike; the baselines ignore it.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from sk_pimm.nn.layers import InputLayer, WideLayer, add_wide, logit_from_log, mlp


def chain_logits(conditional_logits):
    """Logits of the products of conditional probabilities along the funnel.

    Column ``t`` of the input is the logit ``l_t`` of ``P(stage t | stage
    t-1)`` (of ``P(stage 0)`` for ``t = 0``). The output's column ``t`` is the
    logit of ``P_t = prod_{k <= t} sigmoid(l_k)``, computed in log space as
    ``log P_t - log(1 - P_t)`` with ``log P_t = sum_{k <= t} logsigmoid(l_k)``.
    ``log P_t`` is capped at ``-eps`` (machine epsilon of the dtype), so the
    output stays finite, at most about ``-log(eps)``, when a conditional
    saturates at 1. The output never rises along the funnel.

    Parameters
    ----------
    conditional_logits : Tensor of shape (n_samples, n_stages)

    Returns
    -------
    Tensor of shape (n_samples, n_stages)
    """
    return logit_from_log(torch.cumsum(F.logsigmoid(conditional_logits), dim=1))


class StageTowers(nn.Module):
    """One MLP tower and one linear head per stage.

    Parameters
    ----------
    input_dim : int
        Width of each stage's input.
    n_stages : int
        Number of stages.
    hidden_units : tuple of int
        Layer widths of every tower.
    dropout : float
        Dropout after each tower layer.
    """

    def __init__(self, input_dim, n_stages, hidden_units, dropout):
        super().__init__()
        towers = [mlp(input_dim, hidden_units, dropout) for _ in range(n_stages)]
        self.width = towers[0][1]
        self.towers = nn.ModuleList(tower for tower, _ in towers)
        self.heads = nn.ModuleList(nn.Linear(self.width, 1) for _ in towers)

    def forward(self, inputs):
        """Return logits (n_samples, n_stages) from one input per stage."""
        logits = [
            head(tower(x))
            for tower, head, x in zip(self.towers, self.heads, inputs, strict=True)
        ]
        return torch.cat(logits, dim=1)


class Experts(nn.Module):
    """A group of MLP experts that read the same input, computed together.

    Each layer holds every expert's weights in one tensor, so a batch costs
    one matrix product per layer, not one per expert. The result equals that
    of separate ``Linear -> ReLU -> Dropout`` stacks, one per expert.

    Parameters
    ----------
    n_experts : int
        Number of experts.
    input_dim : int
        Width of the input.
    expert_units : tuple of int
        Layer widths of every expert.
    dropout : float
        Dropout after each expert layer.
    """

    def __init__(self, n_experts, input_dim, expert_units, dropout):
        super().__init__()
        self.n_experts = n_experts
        widths = [input_dim, *expert_units]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
            # nn.Linear's default initialisation, for each expert.
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(
                nn.Parameter(
                    torch.empty(n_experts, fan_in, fan_out).uniform_(-bound, bound)
                )
            )
            self.biases.append(
                nn.Parameter(torch.empty(n_experts, fan_out).uniform_(-bound, bound))
            )
        self.dropout = nn.Dropout(dropout)
        self.output_dim = widths[-1]

    def forward(self, x):
        """Return the expert outputs, shape (n_samples, n_experts, output_dim)."""
        h = x
        for layer, (weight, bias) in enumerate(
            zip(self.weights, self.biases, strict=True)
        ):
            if layer == 0:  # every expert reads the same input: one product
                n_in, width = weight.shape[1], weight.shape[2]
                flat = weight.permute(1, 0, 2).reshape(n_in, -1)
                h = (x @ flat).view(len(x), self.n_experts, width) + bias
            else:  # one product per expert, batched
                h = torch.baddbmm(bias.unsqueeze(1), h.transpose(0, 1), weight)
                h = h.transpose(0, 1)
            h = self.dropout(torch.relu(h))
        return h


def mix_experts(gate_logits, expert_outputs):
    """Softmax-weighted sum of expert outputs.

    Parameters
    ----------
    gate_logits : Tensor of shape (n_samples, n_experts)
    expert_outputs : Tensor of shape (n_samples, n_experts, width)

    Returns
    -------
    Tensor of shape (n_samples, width)
    """
    weights = torch.softmax(gate_logits, dim=1)
    return (weights.unsqueeze(2) * expert_outputs).sum(dim=1)


class SharedBottomNetwork(nn.Module):
    """Shared-Bottom: one MLP shared by every stage, then a tower per stage.

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
        Layer widths of each stage tower.
    dropout : float
        Dropout after each layer of the bottom and the towers.
    wide : bool
        Add a :class:`~sk_pimm.nn.layers.WideLayer` logit to every stage.
    bottom_units : tuple of int
        Layer widths of the shared bottom.
    """

    def __init__(
        self,
        cardinalities,
        n_numeric,
        n_stages,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        bottom_units=(128, 64),
        wide=False,
    ):
        super().__init__()
        self.n_stages = n_stages
        self.inputs = InputLayer(cardinalities, n_numeric, embedding_dim)
        self.wide = WideLayer(cardinalities, n_numeric, n_stages) if wide else None
        self.bottom, width = mlp(self.inputs.output_dim, bottom_units, dropout)
        self.towers = StageTowers(width, n_stages, hidden_units, dropout)

    def forward(self, x_cat, x_num, labels=None):
        """Return logits of shape (n_samples, n_stages); ``labels`` is ignored."""
        shared = self.bottom(self.inputs(x_cat, x_num))
        logits = self.towers([shared] * self.n_stages)
        return add_wide(logits, self.wide, x_cat, x_num)


class ESMMNetwork(nn.Module):
    """ESMM for T stages: towers predict conditionals, outputs are their products.

    Tower ``t`` gives the logit of ``P(stage t | stage t-1)``; the network
    returns the logit of ``P(stage t) = prod_{k <= t} P(stage k | stage
    k-1)``, computed in log space by :func:`chain_logits`. The towers share
    only the input layer, as in ESMM.

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
        Layer widths of each stage tower.
    dropout : float
        Dropout after each tower layer.
    wide : bool
        Add a :class:`~sk_pimm.nn.layers.WideLayer` logit to every stage.
    """

    def __init__(
        self,
        cardinalities,
        n_numeric,
        n_stages,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        wide=False,
    ):
        super().__init__()
        self.n_stages = n_stages
        self.inputs = InputLayer(cardinalities, n_numeric, embedding_dim)
        self.wide = WideLayer(cardinalities, n_numeric, n_stages) if wide else None
        self.towers = StageTowers(
            self.inputs.output_dim, n_stages, hidden_units, dropout
        )

    def conditional_logits(self, x_cat, x_num):
        """Logits of ``P(stage t | stage t-1)``, shape (n_samples, n_stages)."""
        x = self.inputs(x_cat, x_num)
        logits = self.towers([x] * self.n_stages)
        return add_wide(logits, self.wide, x_cat, x_num)

    def forward(self, x_cat, x_num, labels=None):
        """Return logits of shape (n_samples, n_stages); ``labels`` is ignored."""
        return chain_logits(self.conditional_logits(x_cat, x_num))


class MMoENetwork(nn.Module):
    """MMoE: shared experts, one softmax gate and one tower per stage.

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
        Layer widths of each stage tower.
    dropout : float
        Dropout after each layer of the experts and the towers.
    wide : bool
        Add a :class:`~sk_pimm.nn.layers.WideLayer` logit to every stage.
    n_experts : int
        Number of shared experts.
    expert_units : tuple of int
        Layer widths of every expert.
    """

    def __init__(
        self,
        cardinalities,
        n_numeric,
        n_stages,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        n_experts=4,
        expert_units=(64,),
        wide=False,
    ):
        super().__init__()
        self.inputs = InputLayer(cardinalities, n_numeric, embedding_dim)
        self.wide = WideLayer(cardinalities, n_numeric, n_stages) if wide else None
        input_dim = self.inputs.output_dim
        self.experts = Experts(n_experts, input_dim, expert_units, dropout)
        self.gates = nn.ModuleList(
            nn.Linear(input_dim, n_experts) for _ in range(n_stages)
        )
        self.towers = StageTowers(
            self.experts.output_dim, n_stages, hidden_units, dropout
        )

    def forward(self, x_cat, x_num, labels=None):
        """Return logits of shape (n_samples, n_stages); ``labels`` is ignored."""
        x = self.inputs(x_cat, x_num)
        experts = self.experts(x)
        logits = self.towers([mix_experts(gate(x), experts) for gate in self.gates])
        return add_wide(logits, self.wide, x_cat, x_num)


class ExtractionLevel(nn.Module):
    """One level of PLE: task and shared experts with their gates.

    Parameters
    ----------
    input_dim : int
        Width of every input of the level.
    n_stages : int
        Number of stages (tasks).
    n_task_experts : int
        Experts owned by each stage.
    n_shared_experts : int
        Experts shared by all stages.
    expert_units : tuple of int
        Layer widths of every expert.
    dropout : float
        Dropout after each expert layer.
    shared_gate : bool
        Whether the level also returns a shared output, a gate over all of
        its experts; every level but the last has one.
    """

    def __init__(
        self,
        input_dim,
        n_stages,
        n_task_experts,
        n_shared_experts,
        expert_units,
        dropout,
        shared_gate,
    ):
        super().__init__()
        self.task_experts = nn.ModuleList(
            Experts(n_task_experts, input_dim, expert_units, dropout)
            for _ in range(n_stages)
        )
        self.shared_experts = Experts(
            n_shared_experts, input_dim, expert_units, dropout
        )
        self.output_dim = self.shared_experts.output_dim
        self.task_gates = nn.ModuleList(
            nn.Linear(input_dim, n_task_experts + n_shared_experts)
            for _ in range(n_stages)
        )
        n_all = n_stages * n_task_experts + n_shared_experts
        self.shared_gate = nn.Linear(input_dim, n_all) if shared_gate else None

    def forward(self, task_inputs, shared_input):
        """Return the per-stage outputs and the shared output (or ``None``).

        Stage ``t``'s gate reads stage ``t``'s input and weighs its own
        experts and the shared ones; the shared gate reads the shared input
        and weighs every expert of the level.
        """
        shared = self.shared_experts(shared_input)
        owned = [
            experts(x)
            for experts, x in zip(self.task_experts, task_inputs, strict=True)
        ]
        outputs = [
            mix_experts(gate(x), torch.cat([own, shared], dim=1))
            for gate, x, own in zip(self.task_gates, task_inputs, owned, strict=True)
        ]
        if self.shared_gate is None:
            return outputs, None
        every_expert = torch.cat([*owned, shared], dim=1)
        return outputs, mix_experts(self.shared_gate(shared_input), every_expert)


class PLENetwork(nn.Module):
    """PLE: progressive layered extraction with task and shared experts.

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
        Layer widths of each stage tower.
    dropout : float
        Dropout after each layer of the experts and the towers.
    wide : bool
        Add a :class:`~sk_pimm.nn.layers.WideLayer` logit to every stage.
    n_shared_experts : int
        Shared experts per level.
    n_task_experts : int
        Experts per stage and level.
    n_levels : int
        Number of extraction levels; 1 is CGC (Customized Gate Control).
    expert_units : tuple of int
        Layer widths of every expert.
    """

    def __init__(
        self,
        cardinalities,
        n_numeric,
        n_stages,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        n_shared_experts=2,
        n_task_experts=1,
        n_levels=2,
        expert_units=(64,),
        wide=False,
    ):
        super().__init__()
        self.n_stages = n_stages
        self.inputs = InputLayer(cardinalities, n_numeric, embedding_dim)
        self.wide = WideLayer(cardinalities, n_numeric, n_stages) if wide else None
        levels = []
        width = self.inputs.output_dim
        for level in range(n_levels):
            levels.append(
                ExtractionLevel(
                    width,
                    n_stages,
                    n_task_experts,
                    n_shared_experts,
                    expert_units,
                    dropout,
                    shared_gate=level < n_levels - 1,
                )
            )
            width = levels[-1].output_dim
        self.levels = nn.ModuleList(levels)
        self.towers = StageTowers(width, n_stages, hidden_units, dropout)

    def forward(self, x_cat, x_num, labels=None):
        """Return logits of shape (n_samples, n_stages); ``labels`` is ignored."""
        shared = self.inputs(x_cat, x_num)
        task_inputs = [shared] * self.n_stages
        for level in self.levels:
            task_inputs, shared = level(task_inputs, shared)
        return add_wide(self.towers(task_inputs), self.wide, x_cat, x_num)


class AITModule(nn.Module):
    """Adaptive Information Transfer from the prior stage to the next one.

    The transfer ``p = ReLU(W z_{t-1} + b)`` (with dropout) carries the prior
    stage's fused representation. The two tokens ``u`` in ``[h_t, p]`` are
    scored ``<Q u, K u> / sqrt(k)``; the scores' softmax over the two tokens
    weighs ``V u``, and the weighted sum is ``z_t``.

    Parameters
    ----------
    width : int
        Width ``k`` of the tower outputs.
    dropout : float
        Dropout after the transfer layer.
    """

    def __init__(self, width, dropout):
        super().__init__()
        self.transfer = nn.Sequential(
            nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout)
        )
        self.query = nn.Linear(width, width, bias=False)
        self.key = nn.Linear(width, width, bias=False)
        self.value = nn.Linear(width, width, bias=False)
        self.scale = 1.0 / math.sqrt(width)

    def forward(self, h, z_prior):
        """Return ``z_t`` from the stage's tower output and ``z_{t-1}``."""
        tokens = torch.stack([h, self.transfer(z_prior)], dim=1)
        scores = (self.query(tokens) * self.key(tokens)).sum(dim=2) * self.scale
        weights = torch.softmax(scores, dim=1)
        return (weights.unsqueeze(2) * self.value(tokens)).sum(dim=1)


class AITMNetwork(nn.Module):
    """AITM: a tower per stage, joined stage to stage by AIT modules.

    ``z_0 = h_0``, the first tower's output; for ``t >= 1``, ``z_t`` is the
    :class:`AITModule` output from ``h_t`` and ``z_{t-1}``. Stage ``t``'s
    logit is a linear head on ``z_t``. AITM's calibrator is a loss term, not
    part of the network.

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
        Dropout after each tower layer and after each transfer layer.
    wide : bool
        Add a :class:`~sk_pimm.nn.layers.WideLayer` logit to every stage.
    """

    def __init__(
        self,
        cardinalities,
        n_numeric,
        n_stages,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
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
        self.ait_modules = nn.ModuleList(
            AITModule(width, dropout) for _ in range(n_stages - 1)
        )
        self.heads = nn.ModuleList(nn.Linear(width, 1) for _ in range(n_stages))

    def forward(self, x_cat, x_num, labels=None):
        """Return logits of shape (n_samples, n_stages); ``labels`` is ignored."""
        x = self.inputs(x_cat, x_num)
        z = self.towers[0](x)
        fused = [z]
        for tower, module in zip(self.towers[1:], self.ait_modules, strict=True):
            z = module(tower(x), z)
            fused.append(z)
        logits = [head(z) for head, z in zip(self.heads, fused, strict=True)]
        return add_wide(torch.cat(logits, dim=1), self.wide, x_cat, x_num)
