"""One colour per backend, defined once (comparisons/palette.py), in every chart the project draws: the report's loss
and speed charts and training_speed's chart, drawn here from small frames, give each backend its palette colour."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pd = pytest.importorskip("pandas", reason="the charts need pandas: pip install -e '.[report]'")
pytest.importorskip("matplotlib", reason="the charts need matplotlib: pip install -e '.[report]'")

from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from comparisons import render  # noqa: E402
from comparisons.palette import BACKEND_COLORS, backend_color  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["micrograd", "torch", "jax", "tinygrad"]


def drawn_colors(monkeypatch: pytest.MonkeyPatch, draw: Any) -> dict[str, set[str]]:
    """{label: the colours of the lines and bars drawn with it} in the figure that `draw` saves."""
    figures: list[Figure] = []
    monkeypatch.setattr(Figure, "savefig", lambda self, *args, **kwargs: figures.append(self))
    draw()
    colors: dict[str, set[str]] = {}
    for ax in figures[0].axes:
        for line in ax.get_lines():
            colors.setdefault(str(line.get_label()), set()).add(to_hex(line.get_color()))
        for container in ax.containers:
            for patch in container:
                colors.setdefault(str(container.get_label()), set()).add(to_hex(patch.get_facecolor()))
    return {label: c for label, c in colors.items() if not label.startswith("_")}


def expected(names: list[str]) -> dict[str, set[str]]:
    return {name: {BACKEND_COLORS[name].lower()} for name in names}


def test_the_loss_chart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    training = pd.DataFrame(
        [{"backend": n, "step": s, "quantity": "loss", "value": 1.0 / (s + 1), "abs_err": 0.0} for n in NAMES for s in range(3)]
    )
    assert drawn_colors(monkeypatch, lambda: render.plot_losses(training, tmp_path / "x.png", "t")) == expected(NAMES)


def test_the_speed_chart_in_any_backend_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    order = ["jax", "micrograd", "tinygrad"]  # a backend keeps its colour whatever the others
    speed = pd.DataFrame([{"case": c, "backend": n, "value": 1e-3, "warmup": 1e-2} for c in ("add", "neg") for n in order])
    assert drawn_colors(monkeypatch, lambda: render.plot_speed(speed, tmp_path / "x.png", order)) == expected(order)


def test_the_training_speed_chart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sweep = pd.DataFrame(
        [{"backend": n, "width": 16, "points": p, "step_ms": 1.0} for n in ("torch", "tinygrad") for p in (100, 1000)]
    )
    assert drawn_colors(monkeypatch, lambda: render.plot_step_times(sweep, tmp_path / "x.png")) == expected(["torch", "tinygrad"])


def test_colours_are_defined_once() -> None:
    """No module but the palette names a colour (a matplotlib 'tab:' name or a hex code)."""
    colour = re.compile(r"""["'](tab:\w+|#[0-9a-fA-F]{6})["']""")
    for path in sorted((ROOT / "comparisons").rglob("*.py")):
        if path.name != "palette.py":
            assert not colour.search(path.read_text()), f"{path.relative_to(ROOT)} names a colour; use comparisons.palette"
    assert len(set(BACKEND_COLORS.values())) == len(BACKEND_COLORS)
    assert backend_color("a learner's engine") not in BACKEND_COLORS.values()
