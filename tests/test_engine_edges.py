"""micrograd's Value where mutation testing found nothing asserted: the operation a bad operand's TypeError names, the
comparisons at equality, the op labels draw_dot shows, and copy.copy keeping the whole node (its op, its children
and their local derivatives, so backward through a copy gives the original's gradients)."""

from __future__ import annotations

import copy
import math
import operator
import random

import numpy as np
import pytest

from micrograd.engine import Value
from micrograd.nn import MLP, Layer


@pytest.mark.parametrize(
    ("operation", "name"),
    [
        (lambda v: v + "2", "Value + x"),
        (lambda v: "2" + v, "x + Value"),
        (lambda v: v - "2", "Value - x"),
        (lambda v: "2" - v, "x - Value"),
        (lambda v: v * "2", "Value * x"),
        (lambda v: "2" * v, "x * Value"),
        (lambda v: v / "2", "Value / x"),
        (lambda v: "2" / v, "x / Value"),
        (lambda v: v ** "2", "Value ** x"),
        (lambda v: "2" ** v, "x ** Value"),
        (lambda v: v < "2", "Value < x"),
        (lambda v: v <= "2", "Value <= x"),
        (lambda v: v > "2", "Value > x"),
        (lambda v: v >= "2", "Value >= x"),
    ],
)
def test_a_bad_operand_is_a_type_error_that_names_the_operation(operation, name):
    with pytest.raises(TypeError) as raised:
        operation(Value(3.0))
    message = str(raised.value)
    assert message.startswith(f"{name}: expected a Value or a real number (int or float), got str: '2'"), message


def test_comparing_a_value_with_a_number_by_equality_names_the_fix():
    with pytest.raises(TypeError, match=r"^Value == float: Values compare by identity .* v\.data == 2\.0$"):
        _ = Value(2.0) == 2.0
    with pytest.raises(TypeError, match=r"^Value == int: "):
        _ = Value(2.0) == 2


@pytest.mark.parametrize(
    ("compare", "expected"),
    [(operator.lt, False), (operator.le, True), (operator.gt, False), (operator.ge, True)],
)
def test_order_comparisons_at_equality(compare, expected):
    # equal data: only <= and >= hold, against a Value or a number
    assert compare(Value(1.5), 1.5) is expected and compare(Value(1.5), Value(1.5)) is expected


def test_op_labels():
    x, y = Value(2.0), Value(4.0)
    assert (x / y)._op == "/" and (3.0 / x)._op == "3/" and (x / 4)._op == "/4"  # what draw_dot shows on the op node
    assert (2.0**x)._op == "2**" and (x**y)._op == "**" and (0.5 - x)._op == "+"


def test_a_shallow_copy_is_the_same_node_and_backward_through_it_gives_the_same_gradients():
    x, y = Value(2.0), Value(-3.0)
    out = x / y
    twin = copy.copy(out)
    assert twin is not out and twin._op == out._op and twin._prev == out._prev
    assert twin.data == out.data and twin._prev[0] is x and twin._prev[1] is y
    twin.backward()
    got = (x.grad, y.grad)
    x.grad = y.grad = 0.0
    out.backward()
    assert got == (x.grad, y.grad) == (1 / -3.0, -2.0 / 9.0)


@pytest.mark.parametrize(("a", "b"), [(1.0, 0.0), (-1.0, 0.0), (1.0, -0.0), (-2.0, -0.0)])
def test_division_by_zero_is_a_signed_infinity(a, b):
    got = (Value(a) / Value(b)).data
    assert math.isinf(got) and math.copysign(1.0, got) == math.copysign(1.0, a) * math.copysign(1.0, b)


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "relu", "sigmoid"])
def test_unary_op_labels_are_the_functions_names(name):
    assert getattr(Value(0.5), name)()._op == name


def test_a_layer_of_one_neuron_gives_a_value_and_of_two_a_list():
    one, two = Layer(3, 1, rng=random.Random(0)), Layer(3, 2, rng=random.Random(0))
    single = one([1.0, 2.0, 3.0])
    assert isinstance(single, Value)
    assert single.data == one.outputs([1.0, 2.0, 3.0])[0].data
    pair = two([1.0, 2.0, 3.0])
    assert isinstance(pair, list) and len(pair) == 2


def test_load_weights_refuses_a_weight_that_is_not_a_number():
    model = MLP(1, [1], seed=0)
    with pytest.raises(TypeError, match=r"^load_weights: layer 0 neuron 0 holds 'a' \(str\); expected real numbers$"):
        model.load_weights([[["a", 0.0]]])


def test_tanh_labels_both_of_its_formulas():
    assert Value(0.25).tanh()._op == "tanh" and Value(-3.0).tanh()._op == "tanh"  # |x| < 0.5 and beyond


@pytest.mark.parametrize(
    ("base", "exponent"),
    [(0.5, -1075.0), (-0.5, -1075.0), (-0.5, -1076.0), (0.0, -1.0), (-0.0, -1.0), (-0.0, -2.0), (-0.0, -3.0), (10.0, 400.0)],
)
def test_powers_out_of_range_are_ieee_754s_signed_infinities(base, exponent):
    # numpy's pow is IEEE 754's: an overflow is inf signed as the power, 0 to a negative power a pole signed by -0.0
    # to an odd power
    with np.errstate(over="ignore", divide="ignore"):
        expected = float(np.power(np.float64(base), np.float64(exponent)))
    got = (Value(base) ** exponent).data
    assert got == expected and math.isinf(got)


def test_from_weights_refuses_an_empty_list():
    message = "MLP.from_weights: expected weights[layer][neuron] == [w_1, ..., w_nin, bias], got an empty list"
    with pytest.raises(ValueError) as raised:
        MLP.from_weights([])
    assert str(raised.value) == message


def test_zero_to_a_value_power_has_derivative_zero_in_the_exponent():
    # d/dy 0**y = 0**y * log(0): 0 for y > 0 (the limit), as micrograd defines it where log(0) is -inf
    y = Value(2.0)
    out = 0.0**y
    out.backward()
    assert out.data == 0.0 and y.grad == 0.0


def _exact(f, *args: float) -> float:
    """f at the exact floats `args`, in 300-bit arithmetic, rounded once to a float (the truth at these inputs)."""
    import mpmath

    with mpmath.workprec(300):
        return float(f(*(mpmath.mpf(a) for a in args)))


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (2.0, -1074.0),  # x**(y-1) = 2**-1075 underflows to 0; the slope -1074 * 2**-1075 is a subnormal
        (-2.0, -1074.0),  # the same with a negative base: an even power, a positive slope
        (1e-310, 1e-10),  # x**(y-1) overflows; the slope 1e-10 * x**(y-1) is about 1e300
        (1e-310, 1e-20),  # the same where x**y rounds to 1.0 exactly
    ],
)
def test_the_power_rule_where_x_to_the_y_minus_1_leaves_the_float_range(x, y):
    """d/dx x**y = y * x**(y-1), where x**(y-1) underflows or overflows while x**y and the slope itself do not: within
    2 ulps of the exact slope, never 0 or inf. (The slope is computed from x**y, so where x**y is a subnormal with few
    bits left, like 3**-677, it carries that rounding: the judge reports it.)"""
    v = Value(x)
    (v**y).backward()
    exact = _exact(lambda a, b: b * a ** (b - 1), x, y)
    assert exact != 0 and math.isfinite(exact)
    assert abs(v.grad - exact) <= 2 * math.ulp(exact), (v.grad, exact)


@pytest.mark.parametrize("x", [0.5, -0.5])
def test_tanh_derivative_is_correctly_rounded_at_the_boundary_of_its_two_formulas(x):
    """tanh' is 1 - t*t up to |x| = 0.5 inclusive (correctly rounded there) and the exp form beyond."""
    v = Value(x)
    v.tanh().backward()
    assert v.grad == _exact(lambda a: 1 - __import__("mpmath").tanh(a) ** 2, x)


def test_every_op_is_labelled_for_draw_dot_and_a_leaf_has_no_label():
    """The label draw_dot puts on each op node (a leaf has none, so no op node is drawn for it)."""
    x, y = Value(2.0), Value(3.0)
    assert Value(1.0)._op == ""
    assert (x + y)._op == "+" and (x * y)._op == "*" and (x * 3.0)._op == "*"
    assert (x**3)._op == "**3" and (x**0.5)._op == "**0.5"
    assert Value.dot([x], [y], Value(0.0))._op == "dot" and Value.dot([x], [2.0], Value(0.0))._op == "dot"
    assert x.relu()._op == "relu" and x.tanh()._op == "tanh" and x.exp()._op == "exp" and x.log()._op == "log"


@pytest.mark.parametrize(
    ("make", "where"),
    [
        (lambda: Value("1.5"), "Value(data)"),
        (lambda: Value.dot([Value(1.0)], ["1.5"], Value(0.0)), "Value.dot input"),
        (lambda: Value.dot([Value(1.0), Value(2.0)], [Value(1.0), "1.5"], Value(0.0)), "Value.dot input"),
    ],
)
def test_a_bad_number_is_a_type_error_that_says_where_it_was_given(make, where):
    with pytest.raises(TypeError) as raised:
        make()
    assert str(raised.value).startswith(f"{where}: expected a Value or a real number"), str(raised.value)


@pytest.mark.parametrize("inputs", [[3], [np.float64(3.0)], [Value(1.0) * 3.0]])
def test_dot_of_one_input_of_any_kind_backpropagates(inputs):
    """A neuron of fan-in one (its inputs an int, a numpy float or a Value): the forward value and every gradient."""
    w, bias = Value(2.0), Value(0.5)
    out = Value.dot([w], inputs, bias)
    out.backward()
    assert out.data == 6.5 and w.grad == 3.0 and bias.grad == 1.0
    if isinstance(inputs[0], Value):
        assert inputs[0].grad == 2.0


def test_dot_of_no_inputs_is_its_bias():
    bias = Value(0.5)
    out = Value.dot([], [], bias)
    out.backward()
    assert out.data == 0.5 and bias.grad == 1.0


def test_dot_whose_bias_is_computed_backpropagates_into_the_bias_graph():
    """A Value.dot node whose weights and inputs were reached first, through another path, and whose bias is itself
    computed: backward still orders the bias's graph before it, so the bias's leaves get their gradients."""
    w, x, s, t = Value(2.0), Value(3.0), Value(5.0), Value(7.0)
    product = w * x  # reached first: the last child pushed is visited first
    dot = Value.dot([w], [x], s * t)
    root = dot + product
    root.backward()
    assert (s.grad, t.grad) == (7.0, 5.0)
    assert (w.grad, x.grad) == (6.0, 4.0)


def test_backward_from_a_leaf_accumulates_its_own_gradient():
    """backward() adds 1 to the root's grad: a leaf root (never zeroed) counts each call, as its docstring says."""
    x = Value(3.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_relu_of_negative_zero_is_positive_zero():
    """relu(x) is x for x > 0, else +0.0: never -0.0 (1/relu(-0.0) must be +inf, as in torch and jax)."""
    out = Value(-0.0).relu()
    assert out.data == 0.0 and math.copysign(1.0, out.data) == 1.0


def test_pickling_a_graph_leaves_its_gradients_as_they_were():
    """Copying a graph (pickle, deepcopy) reads it and changes nothing in it: every node's grad stays."""
    import pickle

    x = Value(2.0)
    mid = x * x
    out = (mid + x).tanh()
    out.backward()
    before = (out.grad, mid.grad, x.grad)
    twin = pickle.loads(pickle.dumps(out))
    assert (out.grad, mid.grad, x.grad) == before
    assert twin.grad == out.grad and twin.data == out.data


def test_defaults_of_layer_and_sgd_are_the_originals():
    """Layer's neurons are nonlinear unless nonlin=False (as in the original), SGD's learning rate is 0.01, and an
    MLP keeps the activation it was given; an MLP prints its layers separated by ', '."""
    from micrograd.nn import SGD

    assert all(n.activation == "relu" for n in Layer(2, 3).neurons)
    assert all(n.activation == "linear" for n in Layer(2, 3, nonlin=False).neurons)
    p = Value(1.0)
    p.grad = 2.0
    SGD([p]).step()
    assert p.data == 1.0 - 0.01 * 2.0
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    assert model.activation == "tanh"
    assert repr(model) == f"MLP of [{model.layers[0]!r}, {model.layers[1]!r}]"
