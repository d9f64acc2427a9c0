"""The classic micrograd demo: a two-moons data set, MLP(2, [16, 16, 1]), SVM max-margin loss, SGD.

Pure Python (no numpy, no scikit-learn): the data set is generated here, seeded, the way
scikit-learn's make_moons does it. Run it with `python -m micrograd.demo`; `--plot [FILE]` also draws the decision
boundary and the loss curve (default results/decision_boundary.png), the one place matplotlib is imported, lazily.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from micrograd.engine import Value
from micrograd.nn import MLP, SGD

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LOSSES = ("svm", "mse")
DEFAULT_PLOT = Path("results") / "decision_boundary.png"  # relative to the directory the demo is run from
PLOT_FORMATS = (".png", ".svg", ".pdf")
# One colour per class in every picture (Okabe-Ito orange and blue: told apart with any colour vision); the
# background of the decision-boundary plot uses a light tint of the same colours.
CLASS_COLORS = {-1.0: "#d55e00", 1.0: "#0072b2"}
CLASS_TINTS = {-1.0: "#f6d5bf", 1.0: "#bfdcec"}
CLASS_NAMES = {-1.0: "class -1 (upper moon)", 1.0: "class +1 (lower moon)"}
MATPLOTLIB_MISSING = 'drawing the plot needs matplotlib; install it with: pip install -e ".[report]"'


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
    # Value.dot(vs, ones, zero) is sum(vs), 0 + v1 + v2 + ... with the same floats, as one node instead of len(vs);
    # likewise Value.dot(ps, ps, zero) is sum(p * p for p in ps), one node instead of 2 * len(ps)
    zero = Value(0.0)
    data_loss = Value.dot(losses, [1.0] * len(losses), zero) * (1.0 / len(losses))
    params = model.parameters()
    reg_loss = alpha * Value.dot(params, params, zero)
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


# --- the picture: matplotlib is imported here only, when a plot is asked for ---


class PlotUnavailable(RuntimeError):
    """matplotlib is missing; the message says how to install it."""


def _matplotlib_figure() -> type[Figure]:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailable(MATPLOTLIB_MISSING) from exc
    return Figure


def score(model: MLP, point: Sequence[float]) -> float:
    """The model's output for one point, as a float: its sign is the predicted class."""
    out = model(point)
    if not isinstance(out, Value):
        raise ValueError(f"score: the model must have one output, this one has {len(out)}")
    return out.data


def decision_grid(
    model: MLP, X: Sequence[Sequence[float]], resolution: int = 100, margin: float = 0.5
) -> tuple[list[float], list[float], list[list[float]]]:
    """xs, ys covering the data (plus a margin) and scores[i][j], the model's score at (xs[j], ys[i])."""
    if resolution < 2:
        raise ValueError(f"decision_grid: resolution must be at least 2, got {resolution}")

    def axis(values: list[float]) -> list[float]:
        low, high = min(values) - margin, max(values) + margin
        return [low + (high - low) * i / (resolution - 1) for i in range(resolution)]

    xs, ys = axis([p[0] for p in X]), axis([p[1] for p in X])
    return xs, ys, [[score(model, (x, y)) for x in xs] for y in ys]


def draw_decision_boundary(
    ax: Axes,
    model: MLP,
    X: Sequence[Sequence[float]],
    y: Sequence[float],
    resolution: int = 100,
    title: str = "",
    legend: bool = True,
) -> None:
    """On `ax`: the plane tinted by the class the model predicts, the boundary (score 0), the points by class;
    the legend below the axes unless `legend` is False (several panels can share one: ax.get_legend_handles_labels)."""
    xs, ys, scores = decision_grid(model, X, resolution)
    ax.contourf(xs, ys, scores, levels=[-math.inf, 0.0, math.inf], colors=[CLASS_TINTS[-1.0], CLASS_TINTS[1.0]])
    ax.contour(xs, ys, scores, levels=[0.0], colors="black", linewidths=1.5)
    ax.plot([], [], color="black", linewidth=1.5, label="decision boundary (score = 0)")  # contour lines get no legend entry
    for label in (-1.0, 1.0):
        points = [p for p, yi in zip(X, y) if yi == label]
        ax.scatter([p[0] for p in points], [p[1] for p in points], s=28, color=CLASS_COLORS[label], edgecolors="white",
                   linewidths=0.6, label=CLASS_NAMES[label], zorder=3)  # fmt: skip
    ax.set(xlabel="$x_1$", ylabel="$x_2$", aspect="equal", title=title)
    if legend:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncols=3, fontsize="small", frameon=False)


def draw_loss_curve(
    ax: Axes, history: Sequence[tuple[float, float]], title: str = "", loss_label: str = "loss (SVM + L2)"
) -> None:
    """On `ax`: the loss per step (log scale), and the accuracy per step on a second y axis at the right."""
    steps = range(len(history))
    (loss_line,) = ax.plot(steps, [h[0] for h in history], color="black", linewidth=2, label=loss_label)
    ax.set(xlabel="step", ylabel="loss (log scale)", yscale="log", title=title)
    ax.grid(alpha=0.3, which="both")
    right = ax.twinx()
    (accuracy_line,) = right.plot(steps, [100 * h[1] for h in history], color="#009e73", linewidth=1.5,
                                  linestyle="--", label="accuracy (%)")  # fmt: skip
    right.set(ylabel="training accuracy (%)", ylim=(0, 105))
    ax.legend(handles=[loss_line, accuracy_line], loc="center right")


def plot(
    model: MLP, X: Sequence[Sequence[float]], y: Sequence[float], history: Sequence[tuple[float, float]], path: Path
) -> Path:
    """The trained model's decision boundary beside its loss curve, written to `path` atomically."""
    figure_class = _matplotlib_figure()
    fig = figure_class(figsize=(12, 5.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1.15, 1))
    loss_now, accuracy_now = history[-1]
    draw_decision_boundary(left, model, X, y, title=f"decision boundary after {len(history)} steps (accuracy {accuracy_now:.0%})")
    draw_loss_curve(right, history, title=f"training: loss per step (last {loss_now:.4f})")
    sizes = ", ".join(str(n) for n in model.sizes[1:])
    fig.suptitle(f"micrograd MLP(2, [{sizes}]) on {len(X)} two-moons points, full-batch SGD", fontsize="x-large")
    return save_atomically(fig, path)


def save_atomically(fig: Figure, path: Path) -> Path:
    """fig.savefig to a temporary file beside `path`, then os.replace: a reader never sees half a picture."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(temporary, dpi=100, format=path.suffix.lstrip(".") or "png")
        os.chmod(temporary, 0o644)  # mkstemp makes it private; the picture is for everyone
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def _check_plot_path(text: str) -> Path:
    """The --plot file, its folder created; a one-line error (exit 2) if it cannot be written there."""
    path = Path(text)
    if path.suffix.lower() not in PLOT_FORMATS:
        _fail(f"--plot: {text!r} must end in .png, .svg or .pdf (the picture's format)")
    if path.is_dir():
        _fail(f"--plot: {text!r} is a folder; give a file name such as {str(path / DEFAULT_PLOT.name)!r}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"--plot: cannot create the folder {str(path.parent)!r} for {text!r}: {exc.strerror or exc}")
    if not os.access(path.parent, os.W_OK):
        _fail(f"--plot: cannot write into the folder {str(path.parent)!r}; choose another FILE")
    return path


def _fail(message: str) -> None:
    print(f"python -m micrograd.demo: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m micrograd.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, metavar="N", help="training steps, at least 1 (default: 100)")
    parser.add_argument(
        "--samples", type=int, default=100, metavar="N", help="points in the two-moons data set, at least 2 (default: 100)"
    )
    parser.add_argument("--seed", type=int, default=1337, help="seeds both the data set and the initial weights (default: 1337)")
    parser.add_argument(
        "--plot", nargs="?", const=str(DEFAULT_PLOT), metavar="FILE",
        help=f"after training, draw the decision boundary and the loss curve to FILE (.png, .svg or .pdf; "
        f"default {DEFAULT_PLOT}); needs matplotlib",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.steps < 1:
        _fail(f"--steps must be at least 1, got {args.steps}")
    if args.samples < 2:
        _fail(f"--samples must be at least 2, got {args.samples}")
    plot_path = None
    if args.plot is not None:
        plot_path = _check_plot_path(args.plot)
        try:
            _matplotlib_figure()  # before training, so that a missing matplotlib costs no wait
        except PlotUnavailable as exc:
            _fail(str(exc))
    X, y = make_moons(args.samples, noise=0.1, seed=args.seed)
    model = MLP(2, [16, 16, 1], seed=args.seed)
    print(f"{model}\nparameters: {len(model.parameters())}")
    start = time.perf_counter()
    history = train(model, X, y, steps=args.steps, verbose=True)
    print(f"final accuracy {history[-1][1]:.0%} after {args.steps} steps in {time.perf_counter() - start:.1f}s")
    if plot_path is not None:
        try:
            plot(model, X, y, history, plot_path)
        except OSError as exc:
            _fail(f"--plot: cannot write {str(plot_path)!r}: {exc.strerror or exc}")
        print(f"saved the decision boundary and the loss curve to {plot_path}")


if __name__ == "__main__":
    main()
