"""Baseline multi-task estimators: Shared-Bottom, ESMM, MMoE, PLE and AITM.

They share PIMMClassifier's input layer, training loop and API, so a benchmark
can swap one for another; only the network between the input layer and the
stage logits differs.
"""

import textwrap
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval

from sk_pimm.base import BaseCascadeClassifier, check_units
from sk_pimm.nn.baselines import (
    AITMNetwork,
    ESMMNetwork,
    MMoENetwork,
    PLENetwork,
    SharedBottomNetwork,
)

#: Parameters every cascade classifier has, in PIMMClassifier's order.
_SHARED_PARAMETER_NAMES = (
    "categorical_features",
    "min_frequency",
    "embedding_dim",
    "hidden_units",
    "dropout",
    "wide",
    "stage_weights",
    "cascade",
    "lr",
    "batch_size",
    "max_epochs",
    "weight_decay",
    "early_stopping",
    "validation_fraction",
    "validation_split",
    "n_iter_no_change",
    "random_state",
    "verbose",
    "device",
    "n_threads",
)

_SHARED_PARAMETERS_DOC = """\
categorical_features : "auto", list of str or int, or array-like of bool, \
        default="auto"
    Columns to embed. ``"auto"`` takes pandas ``category``, object and
    string columns; every other column must be numeric and is
    standardised.
min_frequency : int, default=1
    Categories seen fewer times in fit share the out-of-vocabulary
    embedding, a fixed zero vector, with missing values and categories
    first seen at predict time.
embedding_dim : int, default=16
    Width of each categorical embedding.
hidden_units : sequence of int, default=(64, 32)
    Layer widths of every stage tower.
dropout : float, default=0.1
    Dropout after each hidden layer of the network.
wide : bool, default=True
    Add a linear model of the raw features to every stage's logit: one
    learnt weight per category and per numeric column, as in a logistic
    regression on one-hot features (the "wide" part of Wide & Deep). It
    learns the effect of a single id, such as one user's click rate, which
    the embeddings shared by the towers learn less well.
stage_weights : array-like of shape (n_stages,), default=None
    Weight of each stage's loss; ``None`` weighs every stage 1.
cascade : {"strict", "clip"}, default="strict"
    What to do with labels that are not nested: ``"strict"`` raises a
    ValueError with the counts; ``"clip"`` counts a stage only when every
    earlier stage is reached, and warns.
lr : float, default=1e-3
    Adam learning rate.
batch_size : int, default=512
    Training rows per batch.
max_epochs : int, default=10
    Passes over the training data.
weight_decay : float, default=0.0
    Adam weight decay.
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the rows, stop when the mean
    validation AUC has not improved for ``n_iter_no_change`` epochs, and
    keep the best epoch's weights. ``False`` trains on every row and has
    no validation split.
validation_fraction : float, default=0.1
    Share of rows held out when ``early_stopping=True``.
validation_split : {"random", "last"}, default="random"
    Which rows are held out: a random share, or the last rows of X, which
    for time-ordered data is the latest period.
n_iter_no_change : int, default=3
    Patience of early stopping, in epochs.
random_state : int, RandomState instance or None, default=None
    Seeds initialisation, shuffling and the validation split. An int gives
    identical predictions on every run.
verbose : int, default=0
    0 prints nothing; 1 prints one row per epoch with each stage's
    training loss and validation AUC and the time taken.
device : str or torch.device, default="cpu"
    Where to train, e.g. ``"cuda"``. Predictions are returned on the CPU.
n_threads : int, default=None
    Threads torch may use while this estimator fits and predicts; the
    previous setting is restored afterwards. ``None`` leaves torch's setting
    alone. Use 1 when several fits share the cores, e.g. in
    ``GridSearchCV(n_jobs=...)``: torch's threads slow down many times over
    when they compete for cores.
"""

_ATTRIBUTES_DOC = """\
classes_ : list of ndarray
    ``array([0, 1])`` for each stage, so scikit-learn's scorers treat the
    estimator as multilabel.
stage_names_ : list of str
    Stage names, from y's columns when y is a DataFrame, else
    ``"stage_0"``, ``"stage_1"``, ...
n_features_in_ : int
    Number of features seen in fit.
feature_names_in_ : ndarray of str
    Column names of X, when X is a DataFrame with string column names.
net_ : skorch.NeuralNet
    The trained skorch net; ``net_.module_`` is the network named above.
history_ : skorch.History
    Per-epoch record: ``train_loss``, ``train_loss_<stage>``, ``dur`` and,
    with a validation split, ``valid_auc_<stage>`` and ``valid_auc``.
n_iter_ : int
    Epochs trained.
"""


def _document_shared(cls):
    """Fill the ``{shared_parameters}`` and ``{attributes}`` lines of a docstring.

    The text is substituted with ``str.replace``, not ``str.format``, because
    numpydoc types such as ``{"strict", "clip"}`` hold braces.
    """
    doc = cls.__doc__
    for marker, text in (
        ("{shared_parameters}", _SHARED_PARAMETERS_DOC),
        ("{attributes}", _ATTRIBUTES_DOC),
    ):
        line = next(line for line in doc.splitlines() if line.strip() == marker)
        indent = line[: len(line) - len(line.lstrip())]
        doc = doc.replace(line, textwrap.indent(text, indent).rstrip("\n"))
    cls.__doc__ = doc
    return cls


def _store_shared(estimator, params):
    """Store the shared parameters, unchanged, from ``__init__``'s locals."""
    for name in _SHARED_PARAMETER_NAMES:
        setattr(estimator, name, params[name])


@_document_shared
class SharedBottomClassifier(BaseCascadeClassifier):
    """Predicts every funnel stage with a Shared-Bottom network.

    One MLP, the bottom, reads the input layer for all stages; each stage has
    its own tower and linear head on the bottom's output. The stages share
    everything below the towers and are otherwise independent.

    Parameters
    ----------
    bottom_units : sequence of int, default=(128, 64)
        Layer widths of the shared bottom.
    {shared_parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    MMoEClassifier : Shares a mixture of experts instead of one bottom.
    sk_pimm.nn.baselines.SharedBottomNetwork : The network.

    Notes
    -----
    The widths of the bottom and the towers are our choice; the loss is the
    sum over stages of binary cross-entropy over all impressions.

    References
    ----------
    R. Caruana, "Multitask Learning", Machine Learning 28, 1997.

    Examples
    --------
    >>> from sk_pimm.baselines import SharedBottomClassifier
    >>> from sk_pimm.datasets import make_cascade_classification
    >>> X, y = make_cascade_classification(n_samples=2000, random_state=0)
    >>> est = SharedBottomClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> est.predict_proba(X).shape
    (2000, 3)
    """

    _parameter_constraints = {
        **BaseCascadeClassifier._parameter_constraints,
        "bottom_units": ["array-like"],
    }

    def __init__(
        self,
        *,
        bottom_units=(128, 64),
        categorical_features="auto",
        min_frequency=1,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        wide=True,
        stage_weights=None,
        cascade="strict",
        lr=1e-3,
        batch_size=512,
        max_epochs=10,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        validation_split="random",
        n_iter_no_change=3,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads=None,
    ):
        self.bottom_units = bottom_units
        _store_shared(self, locals())

    def _check_params(self, n_stages):
        super()._check_params(n_stages)
        check_units("bottom_units", self.bottom_units)

    def _module_params(self):
        return SharedBottomNetwork, {
            **self._input_params(),
            "bottom_units": check_units("bottom_units", self.bottom_units),
        }


@_document_shared
class ESMMClassifier(BaseCascadeClassifier):
    """Predicts every funnel stage with ESMM, generalised to any number of stages.

    ESMM (Entire Space Multi-task Model) gives stage ``t`` a tower that
    predicts the conditional probability ``P(stage t | stage t-1)`` (for the
    first stage, ``P(stage 0)``). The probability of reaching stage ``t`` is
    the product of the conditionals up to ``t``, and the loss is taken on
    these products over all impressions, so the conditionals are learned
    without the selection bias of training on reached rows only. The
    predicted probabilities never rise along the funnel.

    Parameters
    ----------
    {shared_parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    AITMClassifier : Transfers representations instead of multiplying.
    sk_pimm.nn.baselines.ESMMNetwork : The network.
    sk_pimm.nn.baselines.chain_logits : The product in log space.

    Notes
    -----
    The paper has two stages (click, then conversion given click). The
    extension to ``T`` stages, a chain of conditionals, is ours. The product
    is computed in log space, ``log P_t = sum_{k <= t} logsigmoid(l_k)``, and
    the network returns the logit ``log P_t - log(1 - P_t)``; ``log P_t`` is
    capped at minus the machine epsilon of the dtype, so a stage's predicted
    probability is at most about ``1 - 1.2e-7`` in float32. The towers share
    only the input layer (ESMM shares the embeddings).

    References
    ----------
    X. Ma, L. Zhao, G. Huang, Z. Wang, Z. Hu, X. Zhu and K. Gai, "Entire Space
    Multi-Task Model: An Effective Approach for Estimating Post-Click
    Conversion Rate", SIGIR 2018, arXiv:1804.07931.

    Examples
    --------
    >>> from sk_pimm.baselines import ESMMClassifier
    >>> from sk_pimm.datasets import make_cascade_classification
    >>> X, y = make_cascade_classification(n_samples=2000, random_state=0)
    >>> est = ESMMClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> proba = est.predict_proba(X)
    >>> bool((proba[:, 1:] <= proba[:, :-1]).all())
    True
    """

    def __init__(
        self,
        *,
        categorical_features="auto",
        min_frequency=1,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        wide=True,
        stage_weights=None,
        cascade="strict",
        lr=1e-3,
        batch_size=512,
        max_epochs=10,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        validation_split="random",
        n_iter_no_change=3,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads=None,
    ):
        _store_shared(self, locals())

    def _module_params(self):
        return ESMMNetwork, self._input_params()


@_document_shared
class MMoEClassifier(BaseCascadeClassifier):
    """Predicts every funnel stage with MMoE, a multi-gate mixture of experts.

    Several expert MLPs read the input layer. Each stage has a softmax gate,
    a linear map of the input layer, that weighs the experts' outputs; the
    weighted sum feeds the stage's tower and head.

    Parameters
    ----------
    n_experts : int, default=4
        Number of shared experts.
    expert_units : sequence of int, default=(64,)
        Layer widths of every expert.
    {shared_parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    PLEClassifier : Adds stage-owned experts and stacked levels.
    sk_pimm.nn.baselines.MMoENetwork : The network.

    Notes
    -----
    Expert widths and counts are our defaults; the gates are single linear
    layers on the input layer, as in the paper.

    References
    ----------
    J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong and E. H. Chi, "Modeling Task
    Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
    KDD 2018.

    Examples
    --------
    >>> from sk_pimm.baselines import MMoEClassifier
    >>> from sk_pimm.datasets import make_cascade_classification
    >>> X, y = make_cascade_classification(n_samples=2000, random_state=0)
    >>> est = MMoEClassifier(n_experts=3, max_epochs=2, random_state=0).fit(X, y)
    >>> est.predict_proba(X).shape
    (2000, 3)
    """

    _parameter_constraints = {
        **BaseCascadeClassifier._parameter_constraints,
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "expert_units": ["array-like"],
    }

    def __init__(
        self,
        *,
        n_experts=4,
        expert_units=(64,),
        categorical_features="auto",
        min_frequency=1,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        wide=True,
        stage_weights=None,
        cascade="strict",
        lr=1e-3,
        batch_size=512,
        max_epochs=10,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        validation_split="random",
        n_iter_no_change=3,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads=None,
    ):
        self.n_experts = n_experts
        self.expert_units = expert_units
        _store_shared(self, locals())

    def _check_params(self, n_stages):
        super()._check_params(n_stages)
        check_units("expert_units", self.expert_units)

    def _module_params(self):
        return MMoENetwork, {
            **self._input_params(),
            "n_experts": self.n_experts,
            "expert_units": check_units("expert_units", self.expert_units),
        }


@_document_shared
class PLEClassifier(BaseCascadeClassifier):
    """Predicts every funnel stage with PLE, progressive layered extraction.

    Each extraction level has experts owned by one stage and experts shared by
    all. A stage's gate weighs its own experts and the shared ones; at every
    level but the last, a shared gate weighs all experts to form the next
    level's shared input. The last level's per-stage outputs feed the stage
    towers and heads.

    Parameters
    ----------
    n_shared_experts : int, default=2
        Shared experts per level.
    n_task_experts : int, default=1
        Experts owned by each stage, per level.
    n_levels : int, default=2
        Number of extraction levels; 1 is CGC (Customized Gate Control),
        PLE's single-level form.
    expert_units : sequence of int, default=(64,)
        Layer widths of every expert.
    {shared_parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    MMoEClassifier : Shared experts only, one level.
    sk_pimm.nn.baselines.PLENetwork : The network.

    Notes
    -----
    Expert counts, widths and the number of levels are our defaults. Every
    gate is a single linear layer with a softmax; it reads the same input as
    the experts it weighs (the stage's input for a stage gate, the shared
    input for the shared gate). At the first level every input is the input
    layer.

    References
    ----------
    H. Tang, J. Liu, M. Zhao and X. Gong, "Progressive Layered Extraction
    (PLE): A Novel Multi-Task Learning (MTL) Model for Personalized
    Recommendations", RecSys 2020.

    Examples
    --------
    >>> from sk_pimm.baselines import PLEClassifier
    >>> from sk_pimm.datasets import make_cascade_classification
    >>> X, y = make_cascade_classification(n_samples=2000, random_state=0)
    >>> est = PLEClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> est.predict_proba(X).shape
    (2000, 3)
    """

    _parameter_constraints = {
        **BaseCascadeClassifier._parameter_constraints,
        "n_shared_experts": [Interval(Integral, 1, None, closed="left")],
        "n_task_experts": [Interval(Integral, 1, None, closed="left")],
        "n_levels": [Interval(Integral, 1, None, closed="left")],
        "expert_units": ["array-like"],
    }

    def __init__(
        self,
        *,
        n_shared_experts=2,
        n_task_experts=1,
        n_levels=2,
        expert_units=(64,),
        categorical_features="auto",
        min_frequency=1,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        wide=True,
        stage_weights=None,
        cascade="strict",
        lr=1e-3,
        batch_size=512,
        max_epochs=10,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        validation_split="random",
        n_iter_no_change=3,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads=None,
    ):
        self.n_shared_experts = n_shared_experts
        self.n_task_experts = n_task_experts
        self.n_levels = n_levels
        self.expert_units = expert_units
        _store_shared(self, locals())

    def _check_params(self, n_stages):
        super()._check_params(n_stages)
        check_units("expert_units", self.expert_units)

    def _module_params(self):
        return PLENetwork, {
            **self._input_params(),
            "n_shared_experts": self.n_shared_experts,
            "n_task_experts": self.n_task_experts,
            "n_levels": self.n_levels,
            "expert_units": check_units("expert_units", self.expert_units),
        }


@_document_shared
class AITMClassifier(BaseCascadeClassifier):
    """Predicts every funnel stage with AITM, adaptive information transfer.

    Each stage has a tower. For every stage after the first, an AIT module
    transfers the prior stage's fused representation through a fully
    connected layer and merges it with the stage's own tower output by
    attention over the two; the stage's head reads the result. A calibrator
    term in the loss penalises a stage predicted more likely than the stage
    before it.

    Parameters
    ----------
    calibrator_weight : float, default=0.3
        Weight ``alpha`` of the calibrator penalty
        ``alpha * mean(relu(q_t - q_{t-1}))`` on the predicted probabilities
        ``q``, added to the summed cross-entropy. 0 turns it off.
    {shared_parameters}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    PIMMClassifier : Adds the prior stage's label or prediction as a premise.
    sk_pimm.nn.baselines.AITMNetwork : The network.

    Notes
    -----
    Following the paper and the authors' code: the transfer is a linear layer
    with ReLU and dropout, ``p_{t-1} = FC(z_{t-1})``; the attention scores
    each token ``u`` of ``[h_t, p_{t-1}]`` by ``<Q u, K u> / sqrt(k)`` and
    returns the softmax-weighted sum of ``V u``; ``z_0`` is the first tower's
    output. The extension from the paper's two to four stages to any ``T``
    chains the same module. The calibrator is averaged over rows and stage
    pairs; the default weight 0.3 is that of the authors' code.

    References
    ----------
    D. Xi, Z. Chen, P. Yan, Y. Zhang, Y. Zhu, F. Zhuang and Y. Chen, "Modeling
    the Sequential Dependence among Audience Multi-step Conversions with
    Multi-task Learning in Targeted Display Advertising", KDD 2021,
    arXiv:2105.08489.

    Examples
    --------
    >>> from sk_pimm.baselines import AITMClassifier
    >>> from sk_pimm.datasets import make_cascade_classification
    >>> X, y = make_cascade_classification(n_samples=2000, random_state=0)
    >>> est = AITMClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> est.predict_proba(X).shape
    (2000, 3)
    """

    _parameter_constraints = {
        **BaseCascadeClassifier._parameter_constraints,
        "calibrator_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        calibrator_weight=0.3,
        categorical_features="auto",
        min_frequency=1,
        embedding_dim=16,
        hidden_units=(64, 32),
        dropout=0.1,
        wide=True,
        stage_weights=None,
        cascade="strict",
        lr=1e-3,
        batch_size=512,
        max_epochs=10,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        validation_split="random",
        n_iter_no_change=3,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads=None,
    ):
        self.calibrator_weight = calibrator_weight
        _store_shared(self, locals())

    def _module_params(self):
        return AITMNetwork, self._input_params()

    def _calibrator_weight(self):
        return self.calibrator_weight
