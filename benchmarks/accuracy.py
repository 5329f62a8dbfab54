"""Accuracy of every model on real funnels: per-stage test ROC AUC and log loss.

Datasets:

- ``kuairand_3stage``: KuaiRand-Pure, train 2022-04-25..30, test
  2022-05-01..08, click -> long_view -> like;
- ``kuairand_2stage``: the same split, click -> like;
- ``aliexpress``: the 1,000 + 1,000 row AliExpress sample, click ->
  conversion. It is tiny: its numbers are noisy, and the table says how noisy.

Labels are made nested as ``cascade="clip"`` does, for training and testing.

Protocol. The training period is split in time: its latest 20 % of rows
validate, the rest fit. Every choice (learning rate, PIMM's curriculum
window, the boosting and regression settings, and the number of epochs of
each network, by early stopping) is made on that validation part, with seed
0. The test period is touched only to report the chosen models. Each chosen
model is then trained on the whole training period, the networks for their
chosen number of epochs, with seeds 0..4; the tables give the mean and
standard deviation over seeds, and the mean fit time.

Models: the six sk_pimm estimators; one HistGradientBoostingClassifier and one
LogisticRegression per stage; torch-rechub's ESMM (2 stages only), MMoE, PLE
and AITM, trained by its ``MTLTrainer`` on the same encoded features, split and
epoch budget. PIMM ablations run on ``kuairand_3stage``.

Run ``python benchmarks/accuracy.py`` to regenerate
``benchmarks/results/accuracy.md`` and ``accuracy.json`` from scratch (about an
hour on 2 cores). ``--quick`` runs one seed on a subsample as a smoke test and
writes nothing unless ``--write`` is given. ``--data`` points at the ``shared``
data folder (default: the one beside the repository).
"""

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # torch-rechub's progress bars

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
import torch  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from sk_pimm import (  # noqa: E402
    AITMClassifier,
    ESMMClassifier,
    MMoEClassifier,
    PIMMClassifier,
    PLEClassifier,
    SharedBottomClassifier,
)
from sk_pimm._encoding import TabularEncoder  # noqa: E402
from sk_pimm.datasets import load_kuairand  # noqa: E402
from sk_pimm.metrics import stage_log_loss, stage_roc_auc  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from environment import describe  # noqa: E402
from validation import VALIDATION_FRACTION  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data"
SEEDS = (0, 1, 2, 3, 4)
LEARNING_RATES = (1e-3, 3e-3)

SK_PIMM_MODELS = {
    "PIMM": PIMMClassifier,
    "SharedBottom": SharedBottomClassifier,
    "ESMM": ESMMClassifier,
    "MMoE": MMoEClassifier,
    "PLE": PLEClassifier,
    "AITM": AITMClassifier,
}
ABLATIONS = {
    "constant p=1 (always labels)": {"curriculum": "constant", "curriculum_start": 1.0},
    "constant p=0 (never labels)": {"curriculum": "constant", "curriculum_start": 0.0},
    "exponential schedule": {"curriculum": "exponential"},
    "sigmoid schedule": {"curriculum": "sigmoid"},
    "cosine schedule": {"curriculum": "cosine"},
    "soft sampling": {"sampling": "soft"},
    "stop-gradient off": {"stop_prior_gradient": False},
    "transfer path off": {"use_transfer": False},
    "concatenation, no attention": {"fusion": "concat"},
    "chained premise off": {"chain_premise": False},
    "wide part off": {"wide": False},
}


# ----------------------------------------------------------------- datasets
STAGES = {
    "kuairand_3stage": ("is_click", "long_view", "is_like"),
    "kuairand_2stage": ("is_click", "is_like"),
    "aliexpress": ("click", "conversion"),
}


def load_datasets(data, quick, only=None):
    """Return ``{name: (X_train, y_train, X_test, y_test)}``, labels nested."""
    datasets = {}
    for name in [only] if only else list(STAGES):
        if name == "aliexpress":
            parts = load_aliexpress(data / "aliexpress" / "fuxictr")
        else:
            folder = data / "kuairand-pure"
            parts = (
                *load_kuairand(folder, "train", stages=STAGES[name]),
                *load_kuairand(folder, "test", stages=STAGES[name]),
            )
        if quick:
            parts = tuple(part.iloc[:: 10 if len(part) > 5000 else 1] for part in parts)
        X_train, y_train, X_test, y_test = parts
        datasets[name] = (
            X_train,
            y_train.cummin(axis=1),
            X_test,
            y_test.cummin(axis=1),
        )
    return datasets


def load_aliexpress(folder):
    """The AliExpress sample: ids as categories, numbers as floats."""
    parts = []
    for split in ("train", "test"):
        frame = pd.read_csv(folder / f"{split}.csv")
        labels = frame[["click", "conversion"]].astype(int)
        features = frame.drop(columns=["click", "conversion"])
        categorical = ["search_id"] + [c for c in features if c.startswith("categ")]
        features[categorical] = features[categorical].astype(str).astype("category")
        parts += [features, labels]
    return tuple(parts)


def time_split(X, y):
    """First 80 % of rows to fit, the latest 20 % to validate."""
    n_fit = len(X) - int(np.ceil(VALIDATION_FRACTION * len(X)))
    return X.iloc[:n_fit], y.iloc[:n_fit], X.iloc[n_fit:], y.iloc[n_fit:]


# ------------------------------------------------------------------ models
def sk_pimm_runner(model_class, extra, max_epochs):
    """Fit and predict with an sk_pimm estimator.

    With ``epochs=None`` the estimator stops early on the latest 20 % of the
    rows it is given and reports the best epoch and its validation AUC; with a
    number of epochs it trains that long on every row, without validation.
    """

    def run(X_train, y_train, X_eval, seed, params, epochs=None):
        settings = {"random_state": seed, **extra, **params}
        if epochs is None:
            settings.update(
                early_stopping=True,
                validation_split="last",
                validation_fraction=VALIDATION_FRACTION,
                n_iter_no_change=2,
                max_epochs=max_epochs,
            )
        else:
            settings.update(early_stopping=False, max_epochs=epochs)
        est = model_class(**settings).fit(X_train, y_train)
        info = {"epochs": est.n_iter_}
        if epochs is None:
            scores = est.history_[:, "valid_auc"]
            info = {"epochs": int(np.nanargmax(scores)) + 1, "valid_auc": max(scores)}
        return est.predict_proba(X_eval), info

    run.chooses_epochs = True
    return run


def per_stage_runner(make_classifier):
    """One scikit-learn classifier per stage, fit on every row it is given.

    These models have no epochs to choose, so they need no validation rows.
    """

    def run(X_train, y_train, X_eval, seed, params, epochs=None):
        proba = [
            make_classifier(X_train, seed, **params)
            .fit(X_train, y_train[stage])
            .predict_proba(X_eval)[:, 1]
            for stage in y_train.columns
        ]
        return np.column_stack(proba), {}

    run.chooses_epochs = False
    return run


def boosting(X, seed, learning_rate, max_leaf_nodes):
    categorical = [
        c
        for c in X.columns
        if isinstance(X[c].dtype, pd.CategoricalDtype)
        and X[c].cat.categories.size <= 255
    ]
    return make_pipeline(
        _CategoryCodes(),
        HistGradientBoostingClassifier(
            learning_rate=learning_rate,
            max_leaf_nodes=max_leaf_nodes,
            max_iter=300,
            categorical_features=categorical,
            random_state=seed,
        ),
    )


def logistic(X, seed, C):
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in X.columns if c not in categorical]
    columns = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5),
                categorical,
            ),
            ("numbers", StandardScaler(), numeric),
        ]
    )
    return make_pipeline(columns, LogisticRegression(C=C, max_iter=300))


class _CategoryCodes(sklearn.base.TransformerMixin, sklearn.base.BaseEstimator):
    """Category columns as their codes (missing: NaN) for the booster.

    Columns with more than 255 levels then act as numbers; the booster cannot
    bin more categories than that.
    """

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return pd.DataFrame(
            {
                name: column.cat.codes.astype(float).replace(-1, np.nan)
                if isinstance(column.dtype, pd.CategoricalDtype)
                else column
                for name, column in X.items()
            }
        )


def rechub_runner(kind, max_epochs):
    """torch-rechub's model trained by its MTLTrainer on our encoded features."""

    def run(X_train, y_train, X_eval, seed, params, epochs=None):
        from torch_rechub.basic.features import DenseFeature, SparseFeature
        from torch_rechub.models.multi_task import AITM, ESMM, MMOE, PLE
        from torch_rechub.trainers import MTLTrainer
        from torch_rechub.utils.data import DataGenerator

        # Choosing epochs: fit on the first 80 %, stop early on the latest
        # 20 %. Training for a chosen number of epochs: fit on every row; the
        # trainer still wants validation rows, which then change nothing.
        X_fit, y_fit, X_val, y_val = time_split(X_train, y_train)
        if epochs is not None:
            X_fit, y_fit = X_train, y_train
        encoder = TabularEncoder()
        encoded = {
            "fit": encoder.fit_transform(X_fit),
            "val": encoder.transform(X_val),
            "eval": encoder.transform(X_eval),
        }

        def as_dict(features):
            n_cat, n_num = features.categorical.shape[1], features.numeric.shape[1]
            x = {f"c{j}": features.categorical[:, j] for j in range(n_cat)}
            x.update({f"n{j}": features.numeric[:, j] for j in range(n_num)})
            return x

        sparse = [
            SparseFeature(f"c{j}", vocab_size=n, embed_dim=16)
            for j, n in enumerate(encoder.cardinalities)
        ]
        dense = [DenseFeature(f"n{j}") for j in range(encoded["fit"].numeric.shape[1])]
        n_stages = y_fit.shape[1]
        towers = [{"dims": [32]} for _ in range(n_stages)]
        torch.manual_seed(seed)
        if kind == "ESMM":
            # rechub's ESMM embeds sparse features only and returns
            # [cvr, ctr, ctcvr]; its trainer trains on the last two.
            model = ESMM(sparse[:1], sparse[1:], {"dims": [64, 32]}, {"dims": [64, 32]})
            y_fit_arr = np.column_stack([y_fit.iloc[:, 1], y_fit])
            y_val_arr = np.column_stack([y_val.iloc[:, 1], y_val])
            n_tasks = 3
        else:
            features = sparse + dense
            if kind == "MMoE":
                model = MMOE(
                    features, ["classification"] * n_stages, 4, {"dims": [64]}, towers
                )
            elif kind == "PLE":
                model = PLE(
                    features,
                    ["classification"] * n_stages,
                    2,
                    1,
                    2,
                    {"dims": [64]},
                    towers,
                )
            else:
                model = AITM(features, n_stages, {"dims": [64, 32]}, towers)
            y_fit_arr, y_val_arr = y_fit.to_numpy(), y_val.to_numpy()
            n_tasks = n_stages
        fit_loader, val_loader, _ = DataGenerator(
            as_dict(encoded["fit"]), y_fit_arr.astype(np.float32)
        ).generate_dataloader(
            x_val=as_dict(encoded["val"]),
            y_val=y_val_arr.astype(np.float32),
            x_test=as_dict(encoded["val"]),
            y_test=y_val_arr.astype(np.float32),
            batch_size=512,
        )
        with (
            tempfile.TemporaryDirectory() as folder,
            contextlib.redirect_stdout(io.StringIO()),
        ):
            trainer = MTLTrainer(
                model,
                task_types=["classification"] * n_tasks,
                optimizer_params={"lr": params["lr"], "weight_decay": 0.0},
                n_epoch=max_epochs if epochs is None else epochs,
                earlystop_taskid=n_tasks - 1,
                earlystop_patience=2 if epochs is None else epochs + 1,
                model_path=folder,
            )
            log = np.array(trainer.fit(fit_loader, val_loader))
        model.eval()
        x_eval = {k: torch.as_tensor(v) for k, v in as_dict(encoded["eval"]).items()}
        with torch.no_grad():
            proba = np.concatenate(
                [
                    model({k: v[s : s + 8192] for k, v in x_eval.items()}).numpy()
                    for s in range(0, len(X_eval), 8192)
                ]
            )
        # Each log row: the training loss of every task, then its validation
        # AUC; rechub's early stopping watches the last task.
        first_task = 1 if kind == "ESMM" else 0  # ESMM's task 0 is the CVR
        scores = log[:, n_tasks + first_task :]
        best = int(np.argmax(log[:, -1]))
        info = {"epochs": best + 1, "valid_auc": float(scores[best].mean())}
        if epochs is not None:
            info = {"epochs": len(log)}
        if kind == "ESMM":
            proba = proba[:, 1:]
        return proba.astype(np.float64), info

    run.chooses_epochs = True
    return run


def model_grid(dataset, max_epochs):
    """``{model: (runner, candidate settings)}`` for one dataset."""
    n_stages = 3 if dataset == "kuairand_3stage" else 2
    lrs = [{"lr": lr} for lr in LEARNING_RATES]
    grid = {}
    for name, model_class in SK_PIMM_MODELS.items():
        candidates = lrs
        if name == "PIMM":
            # PIMM's own knob: the curriculum window, in epochs.
            candidates = [
                {**lr, "curriculum_epochs": window} for lr in lrs for window in (2, 5)
            ]
        grid[name] = (sk_pimm_runner(model_class, {}, max_epochs), candidates)
    grid["HGB per stage"] = (
        per_stage_runner(boosting),
        [
            {"learning_rate": rate, "max_leaf_nodes": leaves}
            for rate in (0.05, 0.1)
            for leaves in (15, 31)
        ],
    )
    grid["LogReg per stage"] = (
        per_stage_runner(logistic),
        [{"C": C} for C in (0.1, 1.0)],
    )
    for kind in ("ESMM", "MMoE", "PLE", "AITM"):
        if kind == "ESMM" and n_stages != 2:
            continue  # rechub's ESMM models two tasks only
        grid[f"torch-rechub {kind}"] = (rechub_runner(kind, max_epochs), lrs)
    return grid


# --------------------------------------------------------------- protocol
def choose(runner, candidates, X_train, y_train):
    """The candidate with the best mean validation AUC, fit with seed 0.

    Networks stop early on the latest 20 % of the training period, which
    also chooses their number of epochs; the other models fit the first 80 %
    and are scored on the latest 20 %.
    """
    X_fit, y_fit, X_val, y_val = time_split(X_train, y_train)
    best, tried = None, []
    for params in candidates:
        if runner.chooses_epochs:
            _, info = runner(X_train, y_train, X_val.iloc[:1], 0, params)
        else:
            proba, _ = runner(X_fit, y_fit, X_val, 0, params)
            info = {
                "valid_auc": float(np.nanmean(stage_roc_auc(y_val.to_numpy(), proba)))
            }
        tried.append({"params": params, **info})
        if best is None or info["valid_auc"] > best["valid_auc"]:
            best = tried[-1]
    return best["params"], best.get("epochs"), tried


def evaluate(runner, params, epochs, data, seeds):
    """Fit each seed on the whole training period; score on the test period.

    Networks train for the number of epochs chosen on validation.
    """
    X_train, y_train, X_test, y_test = data
    runs = []
    for seed in seeds:
        started = time.perf_counter()
        proba, info = runner(X_train, y_train, X_test, seed, params, epochs=epochs)
        seconds = time.perf_counter() - started
        runs.append(
            {
                "seed": seed,
                "auc": stage_roc_auc(y_test.to_numpy(), proba).tolist(),
                "log_loss": stage_log_loss(y_test.to_numpy(), proba).tolist(),
                "fit_s": seconds,
                **info,
            }
        )
    return runs


def summarise(runs):
    auc = np.array([run["auc"] for run in runs])
    loss = np.array([run["log_loss"] for run in runs])
    return {
        "auc_mean": auc.mean(0).tolist(),
        "auc_std": auc.std(0, ddof=1).tolist()
        if len(runs) > 1
        else [0.0] * auc.shape[1],
        "log_loss_mean": loss.mean(0).tolist(),
        "log_loss_std": loss.std(0, ddof=1).tolist()
        if len(runs) > 1
        else [0.0] * loss.shape[1],
        "fit_s_mean": float(np.mean([run["fit_s"] for run in runs])),
    }


def run_dataset(name, data, seeds, max_epochs, models, log):
    X_train, y_train, _, _ = data
    results = {}
    for model, (runner, candidates) in model_grid(name, max_epochs).items():
        if models and model not in models:
            continue
        log(f"{name}: {model}: choosing among {len(candidates)} settings")
        params, epochs, tried = choose(runner, candidates, X_train, y_train)
        trained = f", {epochs} epochs" if epochs else ""
        log(f"{name}: {model}: chose {params}{trained}; seeds {list(seeds)}")
        runs = evaluate(runner, params, epochs, data, seeds)
        results[model] = {
            "params": params,
            "epochs": epochs,
            "tried": tried,
            "runs": runs,
            **summarise(runs),
        }
        log(f"{name}: {model}: test AUC {np.round(results[model]['auc_mean'], 4)}")
    return results


def run_ablations(data, base_params, epochs, seeds, max_epochs, log):
    """PIMM with one part changed, trained like the chosen PIMM."""
    results = {}
    for label, change in ABLATIONS.items():
        runner = sk_pimm_runner(PIMMClassifier, change, max_epochs)
        runs = evaluate(runner, base_params, epochs, data, seeds)
        results[label] = {"change": change, "runs": runs, **summarise(runs)}
        log(f"ablation {label}: test AUC {np.round(results[label]['auc_mean'], 4)}")
    return results


# ----------------------------------------------------------------- report
def cell(mean, std):
    return f"{mean:.4f} ± {std:.4f}"


def markdown(payload):
    env = payload["environment"]
    lines = [
        "# Accuracy on real funnels",
        "",
        f"Generated by `{env['command']}` in {payload['seconds'] / 60:.0f} min on "
        f"{env['cpu_count']} CPUs ({env['processor']}), torch "
        f"{env['versions']['torch']}, {env['processes']} processes in parallel "
        f"with one thread each; sk_pimm {env['versions']['sk-pimm']} at commit "
        f"{env['commit']}.",
        "",
        "Protocol: settings and epochs chosen on the latest 20 % of the training "
        "period (seed 0); the chosen setting then trained on the whole training "
        "period with seeds "
        f"{', '.join(map(str, payload['seeds']))}; mean ± standard deviation over "
        "seeds of the test ROC AUC and log loss per stage. Labels clipped to a "
        "nested funnel. Deterministic models (boosting with its fixed split, "
        "logistic regression) show a standard deviation of 0.",
    ]
    for dataset, results in payload["datasets"].items():
        stages = payload["stages"][dataset]
        lines += ["", f"## {dataset}: {' -> '.join(stages)}", ""]
        lines += _table(results, stages)
        lines += ["", _standing(results, stages)]
    if payload.get("ablations"):
        stages = payload["stages"]["kuairand_3stage"]
        lines += ["", "## PIMM ablations on kuairand_3stage", ""]
        base = {"PIMM (as chosen)": payload["datasets"]["kuairand_3stage"]["PIMM"]}
        lines += _table({**base, **payload["ablations"]}, stages)
    lines += ["", "## Chosen settings", ""]
    for dataset, results in payload["datasets"].items():
        for model, result in results.items():
            epochs = result.get("epochs")
            trained = f", {epochs} epochs" if epochs else ""
            lines.append(f"- {dataset}, {model}: `{result['params']}`{trained}")
    return "\n".join(lines) + "\n"


def _table(results, stages):
    header = "| model | " + " | ".join(f"AUC {s}" for s in stages)
    header += " | " + " | ".join(f"log loss {s}" for s in stages) + " | fit s |"
    rows = [header, "|" + " --- |" * (2 * len(stages) + 2)]
    for model, r in results.items():
        aucs = [cell(m, s) for m, s in zip(r["auc_mean"], r["auc_std"], strict=True)]
        losses = [
            cell(m, s)
            for m, s in zip(r["log_loss_mean"], r["log_loss_std"], strict=True)
        ]
        rows.append(
            f"| {model} | " + " | ".join(aucs + losses) + f" | {r['fit_s_mean']:.1f} |"
        )
    return rows


def _standing(results, stages):
    """PIMM's place on each stage, measured against the seed spread."""
    if "PIMM" not in results:
        return ""
    pimm = results["PIMM"]
    parts = []
    for t, stage in enumerate(stages):
        others = {m: r["auc_mean"][t] for m, r in results.items() if m != "PIMM"}
        best_other = max(others, key=others.get)
        gap = pimm["auc_mean"][t] - others[best_other]
        rank = 1 + sum(value > pimm["auc_mean"][t] for value in others.values())
        parts.append(
            f"{stage}: PIMM ranks {rank} of {len(results)}, "
            f"{gap:+.4f} against the best other model ({best_other}); "
            f"PIMM's seed std {pimm['auc_std'][t]:.4f}"
        )
    return "PIMM's standing. " + "; ".join(parts) + "."


def run_task(task, args, seeds, max_epochs, started):
    """One unit of work, run in its own process: a dataset, or the ablations.

    The ablations choose PIMM's setting themselves, with the same seed and
    code as the dataset task, so they get the same choice without waiting.
    """
    warnings.filterwarnings("ignore")
    # One thread per process: the results are about accuracy, and one thread
    # keeps fit times comparable when several tasks share the machine.
    torch.set_num_threads(1)
    kind, name = task

    def log(message):
        print(f"[{time.time() - started:7.0f} s] {message}", flush=True)

    data = load_datasets(args.data, args.quick, only=name)[name]
    if kind == "dataset":
        return task, run_dataset(name, data, seeds, max_epochs, args.models, log)
    runner, candidates = model_grid(name, max_epochs)["PIMM"]
    params, epochs, _ = choose(runner, candidates, data[0], data[1])
    return task, run_ablations(data, params, epochs, seeds, max_epochs, log)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--write", action="store_true", help="write results")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--datasets", nargs="*", help="only these datasets")
    parser.add_argument("--models", nargs="*", help="only these models")
    parser.add_argument("--seeds", type=int, help="number of seeds (default 5)")
    parser.add_argument("--no-ablations", action="store_true")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count(), help="processes in parallel"
    )
    args = parser.parse_args(argv)

    seeds = SEEDS[: args.seeds or (1 if args.quick else len(SEEDS))]
    max_epochs = 2 if args.quick else 10
    names = args.datasets or ["kuairand_3stage", "kuairand_2stage", "aliexpress"]
    # Longest first, so that the parallel processes finish close together.
    tasks = [("dataset", "kuairand_3stage")] if "kuairand_3stage" in names else []
    if not args.no_ablations and "kuairand_3stage" in names:
        tasks.append(("ablations", "kuairand_3stage"))
    tasks += [("dataset", name) for name in names if name != "kuairand_3stage"]

    started = time.time()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        futures = [
            pool.submit(run_task, task, args, seeds, max_epochs, started)
            for task in tasks
        ]
        done = dict(future.result() for future in futures)

    payload = {
        "seeds": list(seeds),
        "stages": {name: list(STAGES[name]) for name in names},
        "datasets": {name: done[("dataset", name)] for name in names},
    }
    if ("ablations", "kuairand_3stage") in done:
        payload["ablations"] = done[("ablations", "kuairand_3stage")]
    payload["seconds"] = time.time() - started
    payload["environment"] = describe("accuracy.py", argv)
    payload["environment"]["processes"] = args.jobs
    report = markdown(payload)
    print(report)
    partial = args.quick or args.datasets or args.models or args.seeds
    if args.write or not partial:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "accuracy.md").write_text(report)
        (RESULTS / "accuracy.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
