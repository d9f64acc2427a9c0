"""One colour per backend, the same in every chart the project draws (the report's, the speed scripts', the notebooks',
asv's dashboard). Plain hex strings, so anything can use them; no import of matplotlib here.
The colours are Okabe and Ito's palette for colour-blind readers; the truth and unknown names are black and grey.
"""

from __future__ import annotations

BACKEND_COLORS: dict[str, str] = {
    "micrograd": "#0072B2",  # blue
    "torch": "#D55E00",  # vermilion
    "jax": "#009E73",  # bluish green
    "tinygrad": "#CC79A7",  # reddish purple
    "truth": "#000000",  # the exact value, where a chart shows it
}
OTHER_COLOR = "#999999"  # any other name (a learner's engine, say)


def backend_color(name: str) -> str:
    """The colour of backend `name` in every chart; grey for a name the palette does not know."""
    return BACKEND_COLORS.get(name, OTHER_COLOR)
