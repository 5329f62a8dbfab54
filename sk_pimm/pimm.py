"""PIMMClassifier: the Prior Information Merged Model as a scikit-learn estimator."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from sk_pimm.base import BaseCascadeClassifier
from sk_pimm.callbacks import CurriculumScheduler
from sk_pimm.curriculum import CURRICULUM_SHAPES
from sk_pimm.nn import PIMMNetwork


class PIMMClassifier(BaseCascadeClassifier):
    """Predicts every stage of a conversion funnel with PIMM.

    PIMM (Prior Information Merged Model, Weng et al., SIGIR 2023) trains one
    tower per stage. For every stage after the first, a PIM module gives the
    stage's tower a premise about the stage before it: while training, the
    true label with probability ``p`` and the prior stage's prediction
    otherwise. ``p`` follows an easy-to-hard curriculum from
    ``curriculum_start`` to ``curriculum_end``. Prediction always uses the
    prior stage's prediction.

    Parameters
    ----------
    curriculum : {"linear", "exponential", "sigmoid", "cosine", "constant"}, \
            default="linear"
        Shape of the decay of ``p``; see
        :func:`sk_pimm.curriculum.curriculum_probability`.
    curriculum_start : float, default=1.0
        ``p`` at progress 0, the start of training (1 = always the true
        label). Progress counts the batch being trained: batch ``k`` of a
        window of ``n`` batches trains at progress ``k / n``, so the window's
        last batch uses ``curriculum_end`` and its first already a little
        less than ``curriculum_start`` (all of it if ``n`` is 1).
    curriculum_end : float, default=0.0
        ``p`` at the end of the curriculum window (0 = always predictions).
    curriculum_epochs : int, default=None
        Length of the curriculum window in epochs; ``None`` spans
        ``max_epochs``. After the window ``p`` stays at ``curriculum_end``.
    curriculum_sharpness : float, default=5.0
        Steepness of the ``"exponential"`` and ``"sigmoid"`` shapes.
    sampling : {"hard", "soft"}, default="hard"
        ``"hard"`` takes, per impression, the label with probability ``p``;
        ``"soft"`` feeds the mix ``p * label + (1 - p) * prediction``.
    stop_prior_gradient : bool, default=True
        Stop the gradient through the prior prediction used as premise.
    stop_transfer_gradient : bool, default=False
        Stop the gradient through the transfer from the prior tower.
    use_transfer : bool, default=True
        Keep the implicit transfer from the prior tower (``False`` ablates it).
    fusion : {"attention", "concat"}, default="attention"
        Merge the tokens with self-attention and a residual connection, or,
        as an ablation, a linear layer over their concatenation.
    chain_premise : bool, default=True
        Multiply each later stage's probability by its premise: ``q_t = s *
        P(stage t | stage t-1)``, the conditional coming from the PIM
        module's head. With the true label as premise, an impression that
        missed the prior stage gets probability 0 and the head learns the
        conditional on the impressions that reached it (easy); with the
        prediction, the head learns the product over the whole funnel, as
        in ESMM (hard). Predictions never rise along the funnel. ``False``
        takes the head's output as the stage's probability.
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
        Dropout after each tower layer.
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
        Which rows are held out: a random share, or the last rows of X,
        which for time-ordered data is the latest period.
    n_iter_no_change : int, default=3
        Patience of early stopping, in epochs.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, the validation split and label
        sampling. An int gives identical predictions on every run.
    verbose : int, default=0
        0 prints nothing; 1 prints one row per epoch with each stage's
        training loss and validation AUC, ``p`` and the time taken.
    device : str or torch.device, default="cpu"
        Where to train, e.g. ``"cuda"``. Predictions are returned on the CPU.
    n_threads : int, default=None
        Threads torch may use while this estimator fits and predicts; the
        previous setting is restored afterwards. ``None`` leaves torch's setting
        alone. Use 1 when several fits share the cores, e.g. in
        ``GridSearchCV(n_jobs=...)``: torch's threads slow down many times over
        when they compete for cores.

    Attributes
    ----------
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
        The trained skorch net; ``net_.module_`` is the
        :class:`~sk_pimm.nn.PIMMNetwork`.
    history_ : skorch.History
        Per-epoch record: ``train_loss``, ``train_loss_<stage>``,
        ``label_probability``, ``dur`` and, with a validation split,
        ``valid_auc_<stage>`` and ``valid_auc``.
    n_iter_ : int
        Epochs trained.

    See Also
    --------
    sk_pimm.curriculum.curriculum_probability : The schedules for ``p``.

    Notes
    -----
    Only the abstract and the architecture figure's caption of the paper could
    be read. The following are our reconstructions, each a hyperparameter:
    the schedule shapes and the per-batch update of ``p``; the premise
    vector ``u = s e_1 + (1 - s) e_0`` built from two learned embeddings; the
    transfer ``v = FC(h_{t-1})`` from the prior tower (as in AITM); the
    stop-gradient on the prior prediction; fusion of the tokens
    ``[h_t, v, u]`` with single-head self-attention and a residual
    connection, read out at the stage's own token; and the loss, the sum
    over stages of binary cross-entropy over all impressions. Two parts are
    additions of ours, chosen on the validation period of KuaiRand and
    switchable: the premise multiplying the stage's probability
    (``chain_premise``) and the linear ``wide`` logit.

    References
    ----------
    Y. Weng, X. Tang, L. Chen and X. He, "Curriculum Modeling the Dependence
    among Targets with Multi-task Learning for Financial Marketing", SIGIR
    2023, arXiv:2305.01514.

    Examples
    --------
    >>> from sk_pimm import PIMMClassifier
    >>> from sk_pimm.datasets import make_cascade_classification
    >>> X, y = make_cascade_classification(n_samples=2000, random_state=0)
    >>> est = PIMMClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> est.predict_proba(X).shape
    (2000, 3)
    """

    _parameter_constraints = {
        **BaseCascadeClassifier._parameter_constraints,
        "curriculum": [StrOptions(set(CURRICULUM_SHAPES))],
        "curriculum_start": [Interval(Real, 0, 1, closed="both")],
        "curriculum_end": [Interval(Real, 0, 1, closed="both")],
        "curriculum_epochs": [None, Interval(Integral, 1, None, closed="left")],
        "curriculum_sharpness": [Interval(Real, 0, None, closed="neither")],
        "sampling": [StrOptions({"hard", "soft"})],
        "stop_prior_gradient": ["boolean"],
        "stop_transfer_gradient": ["boolean"],
        "use_transfer": ["boolean"],
        "fusion": [StrOptions({"attention", "concat"})],
        "chain_premise": ["boolean"],
    }

    def __init__(
        self,
        *,
        curriculum="linear",
        curriculum_start=1.0,
        curriculum_end=0.0,
        curriculum_epochs=None,
        curriculum_sharpness=5.0,
        sampling="hard",
        stop_prior_gradient=True,
        stop_transfer_gradient=False,
        use_transfer=True,
        fusion="attention",
        chain_premise=True,
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
        self.curriculum = curriculum
        self.curriculum_start = curriculum_start
        self.curriculum_end = curriculum_end
        self.curriculum_epochs = curriculum_epochs
        self.curriculum_sharpness = curriculum_sharpness
        self.sampling = sampling
        self.stop_prior_gradient = stop_prior_gradient
        self.stop_transfer_gradient = stop_transfer_gradient
        self.use_transfer = use_transfer
        self.fusion = fusion
        self.chain_premise = chain_premise
        self.categorical_features = categorical_features
        self.min_frequency = min_frequency
        self.embedding_dim = embedding_dim
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.wide = wide
        self.stage_weights = stage_weights
        self.cascade = cascade
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.validation_split = validation_split
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.n_threads = n_threads

    def _module_params(self):
        return PIMMNetwork, {
            **self._input_params(),
            "sampling": self.sampling,
            "stop_prior_gradient": self.stop_prior_gradient,
            "stop_transfer_gradient": self.stop_transfer_gradient,
            "use_transfer": self.use_transfer,
            "fusion": self.fusion,
            "chain_premise": self.chain_premise,
        }

    def _extra_callbacks(self, steps_per_epoch):
        window_epochs = self.curriculum_epochs or self.max_epochs
        scheduler = CurriculumScheduler(
            shape=self.curriculum,
            start=self.curriculum_start,
            end=self.curriculum_end,
            sharpness=self.curriculum_sharpness,
            window_steps=window_epochs * steps_per_epoch,
        )
        return [("curriculum", scheduler)]
