"""micrograd: a scalar autograd engine (`Value`) and a small neural-network library (`MLP`) on top of it."""

from micrograd.engine import Value
from micrograd.nn import MLP, SGD, Layer, Module, Neuron

__all__ = ["MLP", "SGD", "Layer", "Module", "Neuron", "Value"]
