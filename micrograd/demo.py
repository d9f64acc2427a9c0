"""The classic micrograd demo: a two-moons data set, MLP(2, [16, 16, 1]), SVM max-margin loss, SGD.

Pure Python (no numpy, no scikit-learn): the data set is generated here, seeded, the way
scikit-learn's make_moons does it. Run it with `python -m micrograd.demo`.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Sequence
from typing import cast

from micrograd.engine import Value
from micrograd.nn import MLP, SGD

LOSSES = ("svm", "mse")


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles; labels are -1 (outer) and +1 (inner), shuffled with `seed`."""
    if n_samples < 2:
        raise ValueError(f"make_moons: n_samples must be at least 2, got {n_samples}")
    n_out = n_samples // 2
    n_in = n_samples - n_out

    def angles(n: int) -> list[float]:
        return [math.pi * i / (n - 1) if n > 1 else 0.0 for i in range(n)]

    points = [([math.cos(t), math.sin(t)], -1.0) for t in angles(n_out)]
    points += [([1 - math.cos(t), 1 - math.sin(t) - 0.5], 1.0) for t in angles(n_in)]
    rng = random.Random(seed)
    rng.shuffle(points)
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for (a, b), _ in points]
    y = [label for _, label in points]
    return X, y


def learning_rate(step: int, steps: int = 100, start: float = 1.0, end: float = 0.1) -> float:
    """Linear decay from `start` at step 0 towards `end` at step `steps`: the demo's 1.0 - 0.9*k/100."""
    return start - (start - end) * step / steps


def loss(
    model: MLP, X: Sequence[Sequence[float]], y: Sequence[float], kind: str = "svm", alpha: float = 1e-4
) -> tuple[Value, float]:
    """The data loss (SVM max-margin or mean squared error) plus alpha * L2, and the accuracy of sign(score)."""
    if kind not in LOSSES:
        raise ValueError(f"loss: unknown kind {kind!r}; expected one of {', '.join(LOSSES)}")
    scores = [model.score(x) for x in X]
    if kind == "svm":
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    else:
        losses = [(si - yi) ** 2 for yi, si in zip(y, scores)]
    # sum() starts from the int 0, so type checkers see Value | int; with a Value in the list it is a Value
    data_loss = cast(Value, sum(losses)) * (1.0 / len(losses))
    reg_loss = alpha * cast(Value, sum(p * p for p in model.parameters()))
    accuracy = sum((yi > 0) == (si.data > 0) for yi, si in zip(y, scores)) / len(y)
    return data_loss + reg_loss, accuracy


def train(
    model: MLP, X: Sequence[Sequence[float]], y: Sequence[float], steps: int = 100, kind: str = "svm", verbose: bool = False
) -> list[tuple[float, float]]:
    """Full-batch SGD with the demo's schedule; returns (loss, accuracy) before each step's update."""
    optimizer = SGD(model.parameters())
    history = []
    for k in range(steps):
        total, accuracy = loss(model, X, y, kind)
        optimizer.zero_grad()
        total.backward()
        optimizer.step(learning_rate(k, steps))
        history.append((total.data, accuracy))
        if verbose:
            print(f"step {k:3d}  loss {total.data:.6f}  accuracy {accuracy:.0%}")
    return history


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m micrograd.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args(argv)
    X, y = make_moons(args.samples, noise=0.1, seed=args.seed)
    model = MLP(2, [16, 16, 1], seed=args.seed)
    print(f"{model}\nparameters: {len(model.parameters())}")
    start = time.perf_counter()
    history = train(model, X, y, steps=args.steps, verbose=True)
    print(f"final accuracy {history[-1][1]:.0%} after {args.steps} steps in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
