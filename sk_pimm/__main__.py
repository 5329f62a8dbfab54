"""Train PIMMClassifier on the bundled KuaiRand sample and print test AUC.

Run ``python -m sk_pimm``. It trains on the sample's first period
(2022-04-25..30), tests on the later one (2022-05-01..08) and prints the ROC
AUC of every stage.
"""

import argparse
import time
import warnings

from sk_pimm import PIMMClassifier
from sk_pimm.datasets import load_kuairand_sample
from sk_pimm.exceptions import CascadeWarning
from sk_pimm.metrics import stage_roc_auc


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sk_pimm", description=__doc__)
    parser.add_argument("--max-epochs", type=int, default=5)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)

    X_train, y_train = load_kuairand_sample(split="train")
    X_test, y_test = load_kuairand_sample(split="test")
    print(
        f"KuaiRand sample: {len(X_train)} training and {len(X_test)} test "
        f"impressions, stages {' -> '.join(y_train.columns)}"
    )
    est = PIMMClassifier(
        cascade="clip", max_epochs=args.max_epochs, random_state=args.random_state
    )
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CascadeWarning)
        est.fit(X_train, y_train)
    seconds = time.perf_counter() - started
    for warning in caught:
        print(f"Note: {warning.message}")
    # Clip the test labels as cascade="clip" clipped the training labels: a
    # stage counts only when every earlier stage is reached.
    y_test_nested = y_test.cummin(axis=1)
    aucs = stage_roc_auc(y_test_nested, est.predict_proba(X_test))
    print(f"Trained {est.n_iter_} epochs in {seconds:.1f} s. Test ROC AUC:")
    for name, auc in zip(est.stage_names_, aucs, strict=True):
        print(f"  {name:<12} {auc:.4f}")


if __name__ == "__main__":
    main()
