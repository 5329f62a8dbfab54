"""Build the KuaiRand-Pure sample shipped in ``sk_pimm/datasets/data/``.

The package does not import this script. It reads a local copy of
KuaiRand-Pure with :func:`sk_pimm.datasets.load_kuairand`, draws 20,000 rows
at random (seed 0, without replacement) from each of the train period
(2022-04-25..04-30) and the test period (2022-05-01..05-08), keeps each
period's rows in their original order, and writes the joined features, all
label columns of ``KUAIRAND_LABELS`` and the date to
``kuairand_sample.parquet`` (zstd-compressed, one row group). The category
levels of the full data are stored with the features, so that
:func:`sk_pimm.datasets.load_kuairand_sample` returns the same dtypes as
:func:`sk_pimm.datasets.load_kuairand`.

Run it from the repository root, with the folder of the KuaiRand-Pure files::

    python -m sk_pimm.datasets._make_sample shared/data/kuairand-pure

The sample derives from KuaiRand (CC BY-SA 4.0); keep
``data/KUAIRAND_LICENSE.md`` next to it.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from sk_pimm.datasets._kuairand import _SAMPLE_FILE, KUAIRAND_LABELS, load_kuairand

N_ROWS_PER_SPLIT = 20_000
SEED = 0


def build_sample(path, n_rows=N_ROWS_PER_SPLIT, seed=SEED):
    """Return the sample as one DataFrame of features, labels and date.

    Parameters
    ----------
    path : str or path-like
        Folder of the KuaiRand-Pure files, as for ``load_kuairand``.

    n_rows : int, default=20_000
        Number of rows drawn from each of the train and test periods.

    seed : int, default=0
        Seed of the random draw.

    Returns
    -------
    sample : pandas.DataFrame
        The train-period rows followed by the test-period rows: the columns
        of ``X``, then the columns of ``KUAIRAND_LABELS`` as int8, then
        ``date``.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for split in ("train", "test"):
        X, y, date = load_kuairand(
            path, split, stages=KUAIRAND_LABELS, return_date=True
        )
        rows = np.sort(rng.choice(len(X), size=n_rows, replace=False))
        parts.append(
            pd.concat(
                [X.iloc[rows], y.iloc[rows].astype("int8"), date.iloc[rows]],
                axis=1,
            )
        )
    return pd.concat(parts, ignore_index=True)


def main(argv=None):
    """Write the sample file from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="folder of the KuaiRand-Pure files")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "data" / _SAMPLE_FILE),
        help="output parquet file (default: the package's data folder)",
    )
    args = parser.parse_args(argv)
    sample = build_sample(args.path)
    sample.to_parquet(
        args.out,
        index=False,
        compression="zstd",
        compression_level=19,
        row_group_size=len(sample),
    )


if __name__ == "__main__":
    main()
