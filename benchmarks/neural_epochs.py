"""Seconds per epoch of Day 3's network, the training step alone, on the JAX device at hand.

The course's network (``mlcourse.build_network(28)``: one layer of 100, Adam) trains on
``--sizes`` synthetic events made without Spark (the time of an epoch does not depend on the
values). The first epoch, which compiles the step, is left out. Run it on a laptop's CPU and
on a GPU machine alike (no Spark or Java needed): it prints the device JAX uses.

    python benchmarks/neural_epochs.py [--sizes 100k 1M] [--epochs 3] [--batch-sizes 256 4096]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mlcourse.data.sizes import parse_events
from mlcourse.data.synthetic import synthetic_events
from mlcourse.higgs import FEATURES, LABEL
from mlcourse.models.neural import build_network, keras_backend


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--sizes", nargs="+", default=["100k", "1M"])
    options.add_argument("--epochs", type=int, default=3, help="timed epochs, after one more")
    options.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 4096])
    args = options.parse_args()
    keras_backend()
    import jax
    import keras

    print(f"Keras {keras.__version__} on {keras.backend.backend()}, JAX {jax.__version__}, "
          f"device {jax.devices()[0]}")  # fmt: skip
    for size in args.sizes:
        n = parse_events(size)
        assert n is not None
        frame = synthetic_events(n, seed=0)
        x = frame[list(FEATURES)].to_numpy(np.float32)
        y = frame[LABEL].to_numpy(np.float32)
        for batch in args.batch_sizes:
            keras.utils.set_random_seed(1)
            model = build_network(28, normalize=x, seed=1)
            model.fit(x, y, epochs=1, batch_size=batch, verbose=0)  # compiles the step
            start = time.perf_counter()
            model.fit(x, y, epochs=args.epochs, batch_size=batch, verbose=0)
            per_epoch = (time.perf_counter() - start) / args.epochs
            print(f"  {n:>10,} events, batch {batch:>5}: {per_epoch:7.2f} s per epoch")


if __name__ == "__main__":
    main()
