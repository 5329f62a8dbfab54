"""The scikit-learn estimator machinery shared by every cascade classifier."""

import math
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
)
from skorch.exceptions import DeviceWarning
from skorch.helper import predefined_split
from skorch.history import History
from skorch.utils import get_map_location

from sk_pimm._data import BatchSliceLoader, CascadeDataset
from sk_pimm._encoding import TabularEncoder, as_frame
from sk_pimm._labels import (
    CASCADE_MODES,
    check_cascade_labels,
    warn_label_leakage,
)
from sk_pimm._net import CascadeLoss, CascadeNet, PlateauStopping
from sk_pimm._version import __version__
from sk_pimm.callbacks import EpochPrintLog, StageMonitor
from sk_pimm.exceptions import (
    DegenerateStageWarning,
    FitInterruptedWarning,
    VersionMismatchWarning,
)
from sk_pimm.metrics import stage_roc_auc

#: Parameters added after sk_pimm 0.1, with the values that reproduce a model
#: saved by 0.1.
PARAMETERS_ADDED_SINCE_0_1 = {"wide": False, "chain_premise": False}

#: Rows per batch at prediction time; larger than training batches for speed.
PREDICT_BATCH_SIZE = 8192


class BaseCascadeClassifier(ClassifierMixin, BaseEstimator):
    """Fit, predict and score for networks that predict every funnel stage.

    Subclasses say which network to build (:meth:`_module_params`) and may add
    training callbacks (:meth:`_extra_callbacks`); everything else, from
    validation to the training loop, lives here.
    """

    _parameter_constraints = {
        "categorical_features": [StrOptions({"auto"}), "array-like"],
        "min_frequency": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_units": ["array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "wide": ["boolean"],
        "stage_weights": [None, "array-like"],
        "cascade": [StrOptions(set(CASCADE_MODES))],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "validation_split": [StrOptions({"random", "last"})],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str, torch.device],
        "n_threads": [None, Interval(Integral, 1, None, closed="left")],
    }

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on impressions ``X`` and funnel labels ``y``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            One row per impression. Categorical columns are embedded, numeric
            columns standardised (see ``categorical_features``).
        y : DataFrame or array-like of shape (n_samples, n_stages)
            One 0/1 column per stage, in funnel order, nested.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None. Pass one 0/1 column per funnel stage."
            )
        # Validate everything before changing the estimator, so that a failed
        # fit leaves the previous model as it was.
        frame = self._as_checked_frame(X, minimum_rows=2)
        encoder = TabularEncoder(self.categorical_features, self.min_frequency)
        features = encoder.fit_transform(frame)
        # The warnings point at the user's call, above fit and _fit_context.
        labels, stage_names = check_cascade_labels(
            y, cascade=self.cascade, stacklevel=3
        )
        if len(frame) != len(labels):
            raise ValueError(
                "Found input variables with inconsistent numbers of samples: X "
                f"has {len(frame)} rows and y has {len(labels)}. Pass one row of "
                "stage labels per impression, in the same order as X."
            )
        self._check_params(labels.shape[1])
        _check_device(self.device)
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=3)
        torch_seed, split_seed, shuffle_seed = (int(s) for s in seeds)
        train_data, valid_data = self._split(features, labels, split_seed)
        warn_label_leakage(frame, labels, stage_names, stacklevel=3)

        _check_feature_names(self, X, reset=True)
        _check_n_features(self, frame, reset=True)
        self._encoder = encoder
        self.stage_names_ = stage_names
        self.classes_ = [np.array([0, 1]) for _ in stage_names]
        self.__dict__.pop("net_", None)  # a fit that fails now leaves no model
        self._warn_degenerate_stages(labels)

        device = torch.device(self.device)
        rng_devices = [] if device.type != "cuda" else [device.index or 0]
        with torch.random.fork_rng(devices=rng_devices), torch_threads(self.n_threads):
            torch.manual_seed(torch_seed)
            net = self._build_net(len(train_data), valid_data, shuffle_seed)
            net.fit(train_data, y=None)
        self.net_ = net
        # An epoch that Ctrl-C cut short has no duration recorded.
        self.n_iter_ = sum("dur" in epoch for epoch in self.net_.history)
        if self.net_.interrupted_:
            warnings.warn(
                f"Training was interrupted after {self.n_iter_} complete "
                f"epoch(s) of {self.max_epochs}; the model keeps the weights "
                "reached so far and can predict.",
                FitInterruptedWarning,
                stacklevel=3,
            )
        return self

    def _check_params(self, n_stages):
        """Checks that involve several parameters or the data."""
        check_units("hidden_units", self.hidden_units)
        if self.stage_weights is not None:
            try:
                weights = np.asarray(self.stage_weights)
            except (TypeError, ValueError):
                weights = np.array([np.nan])
            if (
                weights.dtype.kind not in "iuf"  # strings and booleans too
                or weights.shape != (n_stages,)
                or not np.isfinite(weights).all()
                or (weights < 0).any()
                or not weights.any()
            ):
                raise ValueError(
                    f"stage_weights must hold {n_stages} finite, non-negative "
                    "numbers, one per stage of y, not all zero; got "
                    f"{self.stage_weights!r}."
                )

    def _split(self, features, labels, seed):
        if not self.early_stopping:
            return CascadeDataset(features, labels), None
        n_samples = len(labels)
        n_valid = math.ceil(self.validation_fraction * n_samples)
        if n_valid < 1 or n_samples - n_valid < 1:
            raise ValueError(
                f"early_stopping needs at least one training and one validation "
                f"row; {n_samples} rows with validation_fraction="
                f"{self.validation_fraction} leave none for one of them."
            )
        if self.validation_split == "last":
            train_idx = np.arange(n_samples - n_valid)
            valid_idx = np.arange(n_samples - n_valid, n_samples)
        else:
            train_idx, valid_idx = train_test_split(
                np.arange(n_samples), test_size=n_valid, random_state=seed
            )
            train_idx.sort()
            valid_idx.sort()
        positives = labels[valid_idx].sum(axis=0)
        if not ((positives > 0) & (positives < n_valid)).any():
            raise ValueError(
                f"early_stopping has nothing to measure: no stage has both classes "
                f"in the {n_valid} validation rows, so every validation AUC is "
                "undefined. Raise validation_fraction"
                + (
                    ", or use validation_split='random'."
                    if self.validation_split == "last"
                    else ", or pass more rows."
                )
            )

        def subset(index):
            return CascadeDataset(
                type(features)(features.categorical[index], features.numeric[index]),
                labels[index],
            )

        return subset(train_idx), subset(valid_idx)

    def _build_net(self, n_train, valid_data, shuffle_seed):
        module, module_params = self._module_params()
        steps_per_epoch = math.ceil(n_train / self.batch_size)
        callbacks = [("stage_monitor", StageMonitor(self.stage_names_))]
        callbacks += self._extra_callbacks(steps_per_epoch)
        if valid_data is not None:
            callbacks.append(
                (
                    "early_stopping",
                    PlateauStopping(
                        monitor="valid_auc",
                        lower_is_better=False,
                        patience=self.n_iter_no_change,
                        load_best=True,
                    ),
                )
            )
        if self.verbose:
            hidden = ["valid_loss"] + [f"valid_loss_{n}" for n in self.stage_names_]
            callbacks.append(("print_log", EpochPrintLog(keys_ignored=hidden)))
        generator = torch.Generator().manual_seed(shuffle_seed)
        return CascadeNet(
            module,
            criterion=CascadeLoss,
            criterion__stage_weights=self.stage_weights,
            criterion__calibrator_weight=self._calibrator_weight(),
            optimizer=torch.optim.Adam,
            optimizer__weight_decay=self.weight_decay,
            # One kernel for the whole update instead of a loop over tensors.
            optimizer__fused=torch.device(self.device).type in ("cpu", "cuda"),
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=BatchSliceLoader,
            iterator_train__shuffle=True,
            iterator_train__generator=generator,
            iterator_valid=BatchSliceLoader,
            iterator_valid__batch_size=max(self.batch_size, PREDICT_BATCH_SIZE),
            train_split=None if valid_data is None else predefined_split(valid_data),
            callbacks=callbacks,
            device=self.device,
            verbose=int(self.verbose),
            **{f"module__{key}": value for key, value in module_params.items()},
        )

    def _input_params(self):
        """Keyword arguments for the network's input layer and towers."""
        encoder = self._encoder
        return {
            "cardinalities": encoder.cardinalities,
            "n_numeric": len(encoder.numeric_columns_),
            "n_stages": len(self.stage_names_),
            "embedding_dim": self.embedding_dim,
            "hidden_units": check_units("hidden_units", self.hidden_units),
            "dropout": self.dropout,
            "wide": self.wide,
        }

    def _module_params(self):
        """Return the network class and its keyword arguments."""
        raise NotImplementedError(
            f"{type(self).__name__} must say which network it trains by "
            "overriding _module_params."
        )

    def _extra_callbacks(self, steps_per_epoch):
        """Callbacks a subclass adds to training; none by default."""
        return []

    def _calibrator_weight(self):
        return 0.0

    # ------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Probability that each impression reaches each stage.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Impressions with the columns seen in fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_stages)
            Column ``t`` is ``P(stage t reached | x)``, stages in the order of
            ``stage_names_``. Prediction never uses labels: every stage after
            the first reads the prior stage's prediction.

        Notes
        -----
        Only ESMM's probabilities, and PIMM's with ``chain_premise=True``, are
        guaranteed never to rise along the funnel; the other networks predict
        each stage with its own head, so a later stage can, rarely, get a
        higher probability than an earlier one.
        """
        check_is_fitted(self, "net_")
        frame = self._check_X(X)
        features = self._encoder.transform(frame)
        with torch_threads(self.n_threads):
            logits = self.net_.forward(
                CascadeDataset(features), training=False, device="cpu"
            )
        proba = torch.sigmoid(logits.double()).numpy()
        broken = ~np.isfinite(proba).all(axis=1)
        if broken.any():
            raise ValueError(self._non_finite_message(frame, features, broken))
        return proba

    def _non_finite_message(self, frame, features, broken):
        """Say which rows gave NaN and which numeric columns look to blame."""
        z = np.abs(features.numeric[broken])
        names = [str(frame.columns[j]) for j in self._encoder.numeric_columns_]
        tops = z.max(axis=0) if z.size else np.zeros(len(names))
        extreme = [name for name, top in zip(names, tops, strict=True) if top > 1e3]
        blame = (
            f"Numeric columns {extreme} hold values more than 1,000 standard "
            "deviations from their mean in fit there"
            if extreme
            else "No numeric value is extreme there"
        )
        return (
            f"The network predicted NaN for {int(broken.sum())} of "
            f"{len(broken)} rows (first at row {int(np.flatnonzero(broken)[0])}). "
            f"{blame}; the network's activations overflow on such values. "
            "Clip or transform those columns before predicting."
        )

    def predict(self, X):
        """Whether each impression reaches each stage, thresholded at 0.5.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Impressions with the columns seen in fit.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_stages), dtype int64
            1 where ``predict_proba`` is at least 0.5. Later stages are rare,
            so most rows are predicted 0 there; rank by ``predict_proba``
            instead when that matters.
        """
        return (self.predict_proba(X) >= 0.5).astype(np.int64)

    def score(self, X, y, sample_weight=None):
        """Mean ROC AUC over the stages.

        This replaces the subset accuracy of scikit-learn's classifiers, which
        says little when later stages are rare.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Impressions.
        y : DataFrame or array-like of shape (n_samples, n_stages)
            True funnel labels, checked as in fit (``cascade`` applies).
        sample_weight : None
            Not supported; must be None.

        Returns
        -------
        score : float
            Mean over stages of the ROC AUC; stages with a single class in
            ``y`` are left out of the mean, and the score is ``nan`` if every
            stage has a single class.
        """
        if sample_weight is not None:
            raise ValueError("score does not support sample_weight yet.")
        labels, _ = check_cascade_labels(y, cascade=self.cascade, stacklevel=2)
        aucs = stage_roc_auc(labels, self.predict_proba(X))
        return float(np.nanmean(aucs)) if not np.isnan(aucs).all() else np.nan

    # ------------------------------------------------------------- helpers
    @property
    def history_(self):
        """skorch ``History`` of the training run: one entry per epoch."""
        check_is_fitted(self, "net_")
        return self.net_.history

    def _as_checked_frame(self, X, *, minimum_rows):
        """Return X as a DataFrame after checking its shape; change nothing."""
        frame = as_frame(X)
        n_samples, n_features = frame.shape
        if n_features == 0:
            raise ValueError(
                f"X has 0 feature(s) (shape={frame.shape}) while a minimum of 1 "
                "is required."
            )
        if n_samples < minimum_rows:
            raise ValueError(
                f"X has n_samples = {n_samples} (shape={frame.shape}); "
                f"{'fit' if minimum_rows > 1 else 'prediction'} needs at least "
                f"{minimum_rows}."
            )
        return frame

    def _check_X(self, X):
        """Return X as a DataFrame with the columns seen in fit."""
        frame = self._as_checked_frame(X, minimum_rows=1)
        _check_feature_names(self, X, reset=False)
        _check_n_features(self, frame, reset=False)
        return frame

    def _warn_degenerate_stages(self, labels):
        for name, column in zip(self.stage_names_, labels.T, strict=True):
            positives = int(column.sum())
            if positives in (0, len(column)):
                kind = "no positive" if positives == 0 else "no negative"
                warnings.warn(
                    f"Stage {name!r} has {kind} label in the training data; the "
                    "model can only learn a constant for it, and its AUC is nan.",
                    DegenerateStageWarning,
                    stacklevel=4,
                )

    def __getstate__(self):
        """Plain data to pickle: the network travels as NumPy weights.

        Neither the skorch net nor any tensor is pickled, so a model trained on
        any device loads on a CPU-only machine, and the state holds only
        types that skops can load without trusting arbitrary code.
        """
        # A copy: the parent may hand back the live __dict__ itself.
        state = dict(super().__getstate__())
        if "net_" in state:
            self._check_restorable()
        state["_sk_pimm_version"] = __version__
        if isinstance(state.get("device"), torch.device):
            state["device"] = str(state["device"])  # plain data for skops
        net = state.pop("net_", None)
        if net is not None:
            state["_net_state"] = {
                "weights": {
                    name: tensor.detach().cpu().numpy()
                    for name, tensor in net.module_.state_dict().items()
                },
                "history": net.history.to_list(),
                "interrupted": bool(net.interrupted_),
                # The network as fitted, whatever set_params changed since.
                "module_params": {
                    key.removeprefix("module__"): value
                    for key, value in net.get_params(deep=False).items()
                    if key.startswith("module__")
                },
            }
        return state

    def _check_restorable(self):
        """Refuse to save a model with hyperparameters that fit would refuse.

        Loading rebuilds the network from the current hyperparameters, so
        invalid ones set after fit would give a file that cannot be loaded.
        The fitted model itself is unharmed: fix them and save again.
        """
        try:
            self._validate_params()
            self._check_params(len(self.stage_names_))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"This fitted {type(self).__name__} cannot be saved: set_params "
                f"after fit gave it invalid hyperparameters ({exc}). Set valid "
                "ones and save again; the fitted model is unchanged."
            ) from exc

    def __setstate__(self, state):
        saved = state.pop("_sk_pimm_version", None)
        if saved is not None and saved != __version__:
            warnings.warn(
                f"This {type(self).__name__} was saved with sk_pimm {saved} and "
                f"is loaded with sk_pimm {__version__}; predictions may differ.",
                VersionMismatchWarning,
                stacklevel=2,
            )
        net_state = state.pop("_net_state", None)
        # Models saved before a parameter existed behave as they did then.
        for name, value in PARAMETERS_ADDED_SINCE_0_1.items():
            if name in self._parameter_constraints:
                state.setdefault(name, value)
        super().__setstate__(state)
        if net_state is not None:
            self.net_ = self._restore_net(net_state)

    def _restore_net(self, net_state):
        """Rebuild the trained skorch net from its saved weights and history."""
        net = self._build_net(n_train=1, valid_data=None, shuffle_seed=0)
        fitted = net_state.get("module_params", {})  # absent before 0.2
        net.set_params(**{f"module__{key}": value for key, value in fitted.items()})
        # Trained on a GPU, loaded where there is none: predict on the CPU.
        net.set_params(device=_map_location(self.device))
        with torch.random.fork_rng(devices=[]):
            net.initialize()
        net.module_.load_state_dict(
            {name: torch.as_tensor(w) for name, w in net_state["weights"].items()}
        )
        net.history = History(net_state["history"])
        net.interrupted_ = net_state["interrupted"]
        return net

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.classifier_tags.multi_label = True
        tags.non_deterministic = self.random_state is None
        return tags


def _check_device(device):
    """Raise a ValueError naming ``device`` if torch cannot train there."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device torch knows; use e.g. 'cpu' or 'cuda'."
        ) from exc
    if kind not in ("cpu", "meta") and not _device_type_available(kind):
        raise ValueError(
            f"device={device!r}, but no {kind} device is available here; use "
            "device='cpu'."
        )
    if kind == "meta":
        raise ValueError("device='meta' holds no data and cannot train; use 'cpu'.")


def check_units(name, value):
    """Layer widths as a tuple of ints; raise if they are not positive ints.

    Parameters
    ----------
    name : str
        The hyperparameter's name, for the error message.
    value : sequence of int
        The widths.

    Returns
    -------
    units : tuple of int
    """
    units = np.asarray(value)
    if (
        units.ndim != 1
        or units.size == 0
        or not np.issubdtype(units.dtype, np.integer)
        or (units <= 0).any()
    ):
        raise ValueError(
            f"{name} must be a non-empty sequence of positive integers; got {value!r}."
        )
    return tuple(int(u) for u in units)


@contextmanager
def torch_threads(n_threads):
    """Let torch use ``n_threads`` threads inside the block; ``None``: as is."""
    if n_threads is None:
        yield
        return
    if isinstance(n_threads, bool) or not (
        isinstance(n_threads, Integral) and n_threads >= 1
    ):
        raise ValueError(
            f"n_threads must be None or a positive integer; got {n_threads!r}."
        )
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _map_location(device):
    """Where to load saved weights: ``device``, or the CPU where it is missing.

    skorch's ``get_map_location`` falls back to the CPU only from CUDA; a
    model saved on Apple's MPS or another accelerator must load on a CPU-only
    machine too.
    """
    location = get_map_location(device)
    if location.type in ("cpu", "cuda") or _device_type_available(location.type):
        return location
    warnings.warn(
        f"Requested to load data to {location.type!r} but no such device is "
        'available. Loading on device "cpu" instead.',
        DeviceWarning,
        stacklevel=2,
    )
    return torch.device("cpu")


def _device_type_available(device_type):
    if device_type == "mps":
        return torch.backends.mps.is_available()
    is_available = getattr(getattr(torch, device_type, None), "is_available", None)
    return callable(is_available) and bool(is_available())
