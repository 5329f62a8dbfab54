"""scikit-learn's estimator checks, run on every sk_pimm estimator.

The checks fit single-column, multiclass and string targets, which no funnel
model can take: y needs one 0/1 column per stage, and at least two stages.
Those checks are expected failures, grouped below by the label they fit. The
estimators run with ``cascade="clip"``, the documented mode for labels that
are not nested, so the checks that fit random multilabel y pass.
"""

import re
import warnings
from functools import partial

import pytest
from sklearn.utils.estimator_checks import (
    check_classifiers_multilabel_representation_invariance,
    check_estimator,
    parametrize_with_checks,
)

import sk_pimm

# The checks' random multilabel y is clipped on purpose; its warning is known.
pytestmark = pytest.mark.filterwarnings("ignore::sk_pimm.exceptions.CascadeWarning")

#: Every estimator sk_pimm exports.
ESTIMATORS = [
    getattr(sk_pimm, name) for name in sk_pimm.__all__ if name.endswith("Classifier")
]

#: Settings under which one check fits in a fraction of a second.
SMALL = {
    "cascade": "clip",
    "hidden_units": (8,),
    "embedding_dim": 2,
    "dropout": 0.0,
    "batch_size": 32,
    "max_epochs": 2,
    "random_state": 0,
}

SINGLE_COLUMN = (
    "The check fits a single 0/1 column of y; a funnel needs at least two stage "
    "columns."
)
MULTICLASS = (
    "The check fits one column of multiclass labels (0, 1, 2, ...); a funnel "
    "needs two or more 0/1 stage columns."
)
STRING_LABELS = "The check fits string class labels; funnel stages are 0/1 numbers."

EXPECTED_FAILED_CHECKS = {
    **dict.fromkeys(
        [
            "check_classifiers_train",
            "check_estimators_nan_inf",
            "check_estimators_pickle",
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_n_features_in",
            "check_pipeline_consistency",
        ],
        SINGLE_COLUMN,
    ),
    **dict.fromkeys(
        [
            "check_classifier_data_not_an_array",
            "check_dict_unchanged",
            "check_dont_overwrite_parameters",
            "check_dtype_object",
            "check_estimators_dtypes",
            "check_estimators_fit_returns_self",
            "check_estimators_overwrite_params",
            "check_f_contiguous_array_estimator",
            "check_fit2d_1feature",
            "check_fit2d_predict1d",
            "check_fit_score_takes_y",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_n_features_in_after_fitting",
            "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
        ],
        MULTICLASS,
    ),
    "check_classifiers_classes": STRING_LABELS,
}

#: The error that each reason stands for, as our label validation words it.
REASON_ERRORS = {
    SINGLE_COLUMN: r"y has 1 stage column; a funnel needs at least 2",
    MULTICLASS: r"Stage 'stage_0' of y holds values other than 0 and 1",
    STRING_LABELS: r"Stage 'stage_0' of y has dtype (str|object)",
}


def expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(
    [cls(**SMALL) for cls in ESTIMATORS],
    expected_failed_checks=expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_compatible_estimator(estimator, check):
    try:
        check(estimator)
    except Exception as exc:
        if _check_name(check) not in EXPECTED_FAILED_CHECKS:
            raise
        # pytest formats the traceback of every expected failure, parsing
        # scikit-learn's long estimator_checks.py anew for each (0.3 s a
        # check). Drop the frames inside the check; the error and its cause,
        # sk_pimm's message about the labels, stay.
        raise exc.with_traceback(None) from exc.__cause__


def _check_name(check):
    while isinstance(check, partial):
        check = check.func
    return check.__name__


def _messages(exc):
    """The messages of ``exc`` and of the exceptions that caused it."""
    while exc is not None:
        yield type(exc), str(exc)
        exc = exc.__cause__ or exc.__context__


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_expected_failures_fail_for_their_reason(cls):
    # xfail only says that a check fails; here each one must fail on the
    # labels, as its reason says, and not on anything the reason would hide.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(cls(**SMALL), on_fail=None)

    failed = {}
    for result in results:
        if result["status"] == "failed":
            failed.setdefault(result["check_name"], []).append(result["exception"])
    assert set(failed) == set(EXPECTED_FAILED_CHECKS)
    for name, exceptions in failed.items():
        pattern = REASON_ERRORS[EXPECTED_FAILED_CHECKS[name]]
        for exc in exceptions:
            assert any(
                issubclass(kind, ValueError) and re.search(pattern, message)
                for kind, message in _messages(exc)
            ), f"{name} failed for another reason: {exc!r}"


def test_multilabel_checks_need_cascade_clip():
    # The checks' random multilabel targets are not nested: the default
    # cascade="strict" refuses them, which is why the checks run with "clip".
    est = sk_pimm.PIMMClassifier(**{**SMALL, "cascade": "strict"})
    with pytest.raises(ValueError, match="y is not nested"):
        check_classifiers_multilabel_representation_invariance("PIMM", est)
