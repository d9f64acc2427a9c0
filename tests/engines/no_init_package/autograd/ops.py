"""The local derivatives, in a module of their own (imported relatively by engine.py)."""

import math


def tanh_and_slope(x):
    t = math.tanh(x)
    return t, 1 - t * t
