"""micrograd.engine: every op's gradient against central finite differences and PyTorch (float64), the original
micrograd's two tests, a 1,000,000-op chain, backward twice, zero_grad, the IEEE domain policy, bad operands;
micrograd.viz.draw_dot with and without graphviz; and the machinery of comparisons.commands.engine_speed.
"""

from __future__ import annotations

import copy
import hashlib
import math
import pickle
import random
import shutil
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from comparisons.commands import engine_speed
from micrograd import demo, viz
from micrograd.engine import Value, _topological_order
from micrograd.nn import MLP
from tests.conftest import IN_CI

INF, NAN = math.inf, math.nan


def required(module: str, extra: str):
    """Import `module`; skip (locally) or fail (in CI, where every extra is installed) with the fix if it is missing."""
    try:
        return __import__(module)
    except ImportError:
        message = f"{module} is not installed; install it with: pip install -e '.[{extra}]'"
        if IN_CI:
            pytest.fail(f"required in CI: {message}")
        pytest.skip(message)


def grads(f: Callable[..., Value], xs: Sequence[float]) -> tuple[float, list[float]]:
    """f's value and its gradient with respect to each input, by backward()."""
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves]


H = 1e-6  # the step, relative to max(1, |x|)


def central_difference(f: Callable[..., Value], xs: Sequence[float], i: int) -> float:
    h = H * max(1.0, abs(xs[i]))
    up = [x + h if k == i else x for k, x in enumerate(xs)]
    down = [x - h if k == i else x for k, x in enumerate(xs)]
    return (f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * h)


def assert_matches_finite_differences(f: Callable[..., Value], xs: Sequence[float], rtol: float = 1e-6) -> None:
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    # f's own rounding error: each node's (at most epsilon relative) error, carried to the output by its gradient;
    # finite differences magnify it by 1/h (it matters where large terms cancel, e.g. exp(20) - exp(20))
    rounding = sys.float_info.epsilon * sum(abs(v.data * v.grad) for v in _topological_order(out))
    assert math.isfinite(rounding), f"no finite-difference check is possible at {xs}: the graph overflows"
    for i, leaf in enumerate(leaves):
        numeric = central_difference(f, xs, i)
        tolerance = rtol * max(1.0, abs(leaf.grad)) + rounding / (H * max(1.0, abs(xs[i])))
        assert abs(numeric - leaf.grad) <= tolerance, f"d/dx{i} at {xs}: backward={leaf.grad!r} | finite differences={numeric!r}"


def same(got: float, want: float, rtol: float = 1e-12) -> bool:
    """Equal as IEEE numbers (nan matches nan, inf only inf), or within rtol."""
    if math.isnan(want) or math.isinf(want):
        return math.isnan(got) if math.isnan(want) else got == want
    return math.isclose(got, want, rel_tol=rtol, abs_tol=1e-300)


# --- every op, against finite differences ---

# name -> (f, points); the points keep away from kinks (relu at 0) and out of each op's domain edges
OPS: dict[str, tuple[Callable[..., Value], list[list[float]]]] = {
    "add": (lambda a, b: a + b, [[1.5, -2.0]]),
    "add number": (lambda a: a + 2.5, [[-1.0]]),
    "radd number": (lambda a: 2.5 + a, [[-1.0]]),
    "sub": (lambda a, b: a - b, [[1.5, -2.0]]),
    "sub number": (lambda a: a - 2.5, [[0.3]]),
    "rsub number": (lambda a: 2.5 - a, [[0.3]]),
    "mul": (lambda a, b: a * b, [[1.5, -2.0]]),
    "mul number": (lambda a: a * -3.0, [[0.7]]),
    "rmul number": (lambda a: -3 * a, [[0.7]]),
    "div": (lambda a, b: a / b, [[1.5, -2.0], [-0.3, 0.25]]),
    "div number": (lambda a: a / 4.0, [[0.7]]),
    "rdiv number": (lambda a: 4.0 / a, [[0.7], [-3.0]]),
    "neg": (lambda a: -a, [[0.7]]),
    "pow number": (lambda a: a**3, [[-1.3], [2.0]]),
    "pow negative number": (lambda a: a**-2, [[-1.3], [0.5]]),
    "pow fractional number": (lambda a: a**0.5, [[2.0], [0.1]]),
    "pow value": (lambda a, b: a**b, [[1.7, 0.3], [0.4, -2.5], [3.0, 2.0]]),
    "rpow number": (lambda a: 2.0**a, [[-1.5], [3.0]]),
    "relu": (lambda a: a.relu(), [[1.3], [-0.4]]),
    "tanh": (lambda a: a.tanh(), [[0.3], [-2.0]]),
    "exp": (lambda a: a.exp(), [[0.3], [-4.0]]),
    "log": (lambda a: a.log(), [[0.3], [25.0]]),
    "sigmoid": (lambda a: a.sigmoid(), [[0.3], [-3.0], [8.0]]),
    "dot": (lambda w1, w2, x1, b: Value.dot([w1, w2], [x1, 0.5], b), [[0.3, -1.2, 2.0, 0.1]]),
}


@pytest.mark.parametrize("name", OPS)
def test_every_op_matches_finite_differences(name: str) -> None:
    f, points = OPS[name]
    for xs in points:
        assert_matches_finite_differences(f, xs)


@pytest.mark.parametrize("name", OPS)
def test_every_op_matches_torch(name: str) -> None:
    torch = required("torch", "torch")
    f, points = OPS[name]
    for xs in points:
        out, ours = grads(f, xs)
        leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        if name == "dot":  # torch has no Value.dot: the same sum, written out
            w1, w2, x1, b = leaves
            result = b + w1 * x1 + w2 * 0.5
        else:
            result = f(*leaves)
        result.backward()
        assert same(out, result.item()), f"{name}{xs}: micrograd={out!r} | torch={result.item()!r}"
        for i, (g, leaf) in enumerate(zip(ours, leaves)):
            assert same(g, leaf.grad.item()), f"{name}{xs} d/dx{i}: micrograd={g!r} | torch={leaf.grad.item()!r}"


def test_dot_is_exactly_the_unfused_sum() -> None:
    rng = random.Random(4)
    ws = [Value(rng.uniform(-1, 1)) for _ in range(7)]
    xs = [Value(rng.uniform(-1, 1)) if i % 2 else rng.uniform(-1, 1) for i in range(7)]
    b = Value(0.25)
    fused = Value.dot(ws, xs, b)
    unfused = sum((w * x for w, x in zip(ws, xs)), b)
    assert fused.data == unfused.data
    fused.backward()
    first = [v.grad for v in [*ws, b, *(x for x in xs if isinstance(x, Value))]]
    for v in [*ws, b, *(x for x in xs if isinstance(x, Value))]:
        v.grad = 0.0
    unfused.backward()
    assert first == [v.grad for v in [*ws, b, *(x for x in xs if isinstance(x, Value))]]
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        Value.dot(ws[:2], [1.0, 2.0, 3.0], b)


# --- random compositions, with nodes reused, against finite differences ---

# Each op takes two operands (some ignore the second); guarded forms keep log, /, ** inside their domains.
COMPOSABLE: dict[str, Callable[[Value, Value], Value]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),
    "rdiv": lambda a, b: 1.5 / (a * a + 0.5),
    "number ops": lambda a, b: 2 - (3 * a + 1.5) * 0.5,
    "neg": lambda a, b: -a,
    "pow number": lambda a, b: a**2 + a**3,
    "pow fractional": lambda a, b: (a * a + 0.1) ** 1.5,
    "pow value": lambda a, b: (a * a + 0.5) ** b.tanh(),
    "rpow": lambda a, b: 2.0 ** b.tanh(),
    "relu": lambda a, b: a.relu(),
    "tanh": lambda a, b: a.tanh(),
    "exp": lambda a, b: a.exp(),
    "log": lambda a, b: (a * a + 0.1).log(),
    "sigmoid": lambda a, b: a.sigmoid(),
    "dot": lambda a, b: Value.dot([a, b, a], [b, 0.5, a], b),
}
STEP = st.tuples(st.sampled_from(sorted(COMPOSABLE)), st.integers(0, 1000), st.integers(0, 1000))


def run_program(program: list[tuple[str, int, int]], leaves: Sequence[Value]) -> tuple[Value, list[bool]]:
    """The sum of every node the program makes (so each is used at least twice), and the sign of each relu input."""
    pool = list(leaves)
    relu_signs = []
    for op, i, j in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if op == "relu":
            relu_signs.append(a.data > 0)
        pool.append(COMPOSABLE[op](a, b))
    return sum(pool[len(leaves) :], Value(0.0)), relu_signs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    xs=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=3),
    program=st.lists(STEP, min_size=1, max_size=12),
)
def test_random_compositions_match_finite_differences(xs: list[float], program: list[tuple[str, int, int]]) -> None:
    leaves = [Value(x) for x in xs]
    out, signs = run_program(program, leaves)
    out.backward()
    # large values (exp of exp) have large higher derivatives too, which finite differences cannot step over
    assume(all(abs(v.data) < 1e6 and math.isfinite(v.grad) for v in _topological_order(out)))
    for i in range(len(xs)):
        for delta in (H, -H):  # finite differences mean nothing across a relu's kink
            moved = [Value(x + delta * max(1.0, abs(x)) if k == i else x) for k, x in enumerate(xs)]
            assume(run_program(program, moved)[1] == signs)
    assert_matches_finite_differences(lambda *leaves: run_program(program, leaves)[0], xs, rtol=1e-5)


def test_a_node_reused_many_times() -> None:
    def f(x: Value, y: Value) -> Value:
        total = Value(0.0)
        for k in range(300):  # x feeds 900 ops, and z feeds the ones after it
            z = x * y + k * 0.01
            total = total + z.tanh() * x + z * z * 0.001
        return total

    assert_matches_finite_differences(f, [0.3, -0.7])


# --- the original micrograd's test suite, in our words: the same expressions through micrograd and torch ---


def sanity_check_expression(x):
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def more_ops_expression(a, b):
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return g


@pytest.mark.parametrize(("expression", "xs"), [(sanity_check_expression, [-4.0]), (more_ops_expression, [-4.0, 2.0])])
def test_original_suite_agrees_with_torch(expression: Callable, xs: list[float]) -> None:
    torch = required("torch", "torch")
    out, ours = grads(expression, xs)
    leaves = [torch.tensor([x], dtype=torch.float64, requires_grad=True) for x in xs]
    result = expression(*leaves)
    result.backward()
    assert same(out, result.item()), f"value: micrograd={out!r} | torch={result.item()!r}"
    for i, (g, leaf) in enumerate(zip(ours, leaves)):
        assert same(g, leaf.grad.item()), f"d/dx{i}: micrograd={g!r} | torch={leaf.grad.item()!r}"


# --- depth, repeated backward, zero_grad ---


def test_a_chain_of_a_million_ops_backpropagates_without_recursion() -> None:
    limit = sys.getrecursionlimit()
    x = Value(0.5)
    y = x
    a, c = 1.0000001, 1e-7
    for _ in range(500_000):
        y = y * a + c
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert math.isclose(x.grad, a**500_000, rel_tol=1e-9), f"d/dx of the chain: backward={x.grad} | closed form={a**500_000}"
    del y  # freeing a million-deep chain must not overflow the C stack either


def diamond(x: Value, w: Value) -> tuple[Value, list[Value]]:
    """A small DAG in which intermediate nodes are shared."""
    h = (x * w).tanh()
    k = h * h + h.exp()
    return k * x + k.sigmoid(), [h, k]


def test_backward_twice_doubles_the_leaves_but_not_the_intermediate_nodes() -> None:
    x, w = Value(0.4), Value(-1.3)
    out, inner = diamond(x, w)
    out.backward()
    leaves_once, inner_once = [x.grad, w.grad], [v.grad for v in inner]
    out.backward()
    assert [x.grad, w.grad] == [2 * g for g in leaves_once]
    assert [v.grad for v in inner] == inner_once
    assert out.grad == 1.0


def test_backward_twice_matches_torch_retain_graph() -> None:
    torch = required("torch", "torch")
    x, w = Value(0.4), Value(-1.3)
    out, _ = diamond(x, w)
    out.backward()
    out.backward()
    tx, tw = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.4, -1.3))
    tout, _ = diamond(tx, tw)
    tout.backward(retain_graph=True)
    tout.backward()
    assert same(x.grad, tx.grad.item()) and same(w.grad, tw.grad.item()), (x.grad, tx.grad.item(), w.grad, tw.grad.item())


def test_zero_grad_resets_every_node() -> None:
    x, w = Value(0.4), Value(-1.3)
    out, inner = diamond(x, w)
    out.backward()
    once = [x.grad, w.grad]
    out.zero_grad()
    assert all(v.grad == 0.0 for v in [x, w, out, *inner])
    out.backward()
    assert [x.grad, w.grad] == once


# --- the domain policy: IEEE 754, as torch has it, in forward and backward ---

# name -> (f, inputs, the value, the gradient with respect to each input): the policy in the engine's docstring
DOMAIN: dict[str, tuple[Callable[..., Value], list[float], float, list[float]]] = {
    "log(0)": (lambda x: x.log(), [0.0], -INF, [INF]),
    "log(-1)": (lambda x: x.log(), [-1.0], NAN, [-1.0]),
    "exp overflow": (lambda x: x.exp(), [1000.0], INF, [INF]),
    "exp underflow": (lambda x: x.exp(), [-1000.0], 0.0, [0.0]),
    "0 ** -1": (lambda x: x**-1, [0.0], INF, [-INF]),
    "0 ** -2": (lambda x: x**-2, [0.0], INF, [-INF]),
    "x / 0": (lambda x: x / 0, [3.0], INF, [INF]),
    "0 / 0": (lambda x: x / 0, [0.0], NAN, [INF]),
    "x ** 0.5 at 0": (lambda x: x**0.5, [0.0], 0.0, [INF]),
    "(-8) ** 0.5": (lambda x: x**0.5, [-8.0], NAN, [NAN]),
    "x ** 0 at 0": (lambda x: x**0, [0.0], 1.0, [0.0]),
    "negative base ** Value (fractional)": (lambda x, y: x**y, [-8.0, 0.5], NAN, [NAN, NAN]),
    "negative base ** Value (integral)": (lambda x, y: x**y, [-2.0, 2.0], 4.0, [-4.0, NAN]),
    "0 ** Value (positive)": (lambda x, y: x**y, [0.0, 2.0], 0.0, [0.0, 0.0]),
    "0 ** Value (zero)": (lambda x, y: x**y, [0.0, 0.0], 1.0, [0.0, 0.0]),
    "0 ** Value (negative)": (lambda x, y: x**y, [0.0, -1.0], INF, [-INF, -INF]),
    "negative number ** Value": (lambda y: (-2.0) ** y, [0.5], NAN, [NAN]),
    "number ** Value overflow": (lambda y: 2.0**y, [2000.0], INF, [INF]),
    "pow overflow, odd": (lambda x: x**3, [-1e200], -INF, [INF]),
    "sigmoid(1000)": (lambda x: x.sigmoid(), [1000.0], 1.0, [0.0]),
    "sigmoid(-1000)": (lambda x: x.sigmoid(), [-1000.0], 0.0, [0.0]),
    "tanh(1000)": (lambda x: x.tanh(), [1000.0], 1.0, [0.0]),
    "relu(0)": (lambda x: x.relu(), [0.0], 0.0, [0.0]),
}


@pytest.mark.parametrize("name", DOMAIN)
def test_domain_policy(name: str) -> None:
    f, xs, value, gradient = DOMAIN[name]
    out, got = grads(f, xs)  # no exception, whatever the input
    assert same(out, value), f"{name}: value {out!r}, the policy says {value!r}"
    for i, (g, want) in enumerate(zip(got, gradient)):
        assert same(g, want), f"{name}: d/dx{i} is {g!r}, the policy says {want!r}"


@pytest.mark.parametrize("name", DOMAIN)
def test_domain_policy_is_torchs(name: str) -> None:
    torch = required("torch", "torch")
    f, xs, _, _ = DOMAIN[name]
    out, ours = grads(f, xs)
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    result = f(*leaves)
    result.backward()
    assert same(out, result.item()), f"{name}: micrograd={out!r} | torch={result.item()!r}"
    for i, (g, leaf) in enumerate(zip(ours, leaves)):
        assert same(g, leaf.grad.item()), f"{name} d/dx{i}: micrograd={g!r} | torch={leaf.grad.item()!r}"


# --- operands, repr ---

BAD_OPERANDS = ["a", None, [1.0], 1 + 2j, Decimal("1.5")]
BINARY_OPS = {
    "+": lambda v, o: v + o,
    "r+": lambda v, o: o + v,
    "-": lambda v, o: v - o,
    "r-": lambda v, o: o - v,
    "*": lambda v, o: v * o,
    "r*": lambda v, o: o * v,
    "/": lambda v, o: v / o,
    "r/": lambda v, o: o / v,
    "**": lambda v, o: v**o,
    "r**": lambda v, o: o**v,
    "Value()": lambda v, o: Value(o),
    "dot": lambda v, o: Value.dot([v], [o], v),
}


@pytest.mark.parametrize("op", BINARY_OPS)
@pytest.mark.parametrize("operand", BAD_OPERANDS, ids=lambda o: type(o).__name__)
def test_a_bad_operand_is_a_type_error_naming_its_type(op: str, operand: object) -> None:
    with pytest.raises(TypeError, match=type(operand).__name__):
        BINARY_OPS[op](Value(2.0), operand)


def test_numbers_of_any_real_type_are_accepted() -> None:
    for number in (3, True, Fraction(1, 4), 2.5):
        assert (Value(1.0) + number).data == 1.0 + float(number)
        assert (Value(2.0) ** number).data == 2.0 ** float(number)
    assert type(Value(3).data) is float


def test_repr_shows_data_and_grad() -> None:
    x = Value(-1.5)
    y = x * 4
    y.backward()
    assert repr(x) == f"Value(data={x.data}, grad={x.grad})"
    assert "data=-1.5" in repr(x) and "grad=4.0" in repr(x)


# --- draw_dot ---


def test_draw_dot_shows_every_value_with_data_and_grad() -> None:
    graphviz = required("graphviz", "viz")
    x = Value(2.0)
    y = (x * x + 1).tanh()
    y.backward()
    dot = viz.draw_dot(y)
    assert isinstance(dot, graphviz.Digraph)
    records = [line for line in dot.source.splitlines() if "shape=record" in line]
    assert len(records) == 4  # x, x*x, x*x + 1, tanh
    for v in (x, y):
        assert f"data {v.data:.4f} | grad {v.grad:.4f}" in dot.source
    for op in ("label=tanh", 'label="*"', 'label="+ 1"'):
        assert op in dot.source
    if shutil.which("dot") or IN_CI:
        assert "<svg" in dot.pipe(format="svg", encoding="utf-8")


def test_draw_dot_without_the_graphviz_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` raise ImportError
    with pytest.raises(viz.GraphvizUnavailable, match=r'pip install -e "\.\[viz\]"'):
        viz.draw_dot(Value(1.0))


def test_rendering_without_dot_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    required("graphviz", "viz")
    dot = viz.draw_dot(Value(1.0) * 2)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `dot` to be found
    for render in (lambda: dot.pipe(), lambda: dot.render(directory=tmp_path)):
        with pytest.raises(viz.GraphvizUnavailable, match="apt-get install graphviz") as info:
            render()
        assert isinstance(info.value, RuntimeError)


def test_draw_dot_rejects_what_it_cannot_draw() -> None:
    with pytest.raises(TypeError, match="float"):
        viz.draw_dot(1.5)
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_dot(Value(1.0), rankdir="XY")


# --- comparisons.commands.engine_speed's machinery, with this very package standing in for the original ---


def test_engine_speed_machinery(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"micrograd/engine\.py"):
        engine_speed.original_dir(tmp_path)
    root = Path(__file__).resolve().parents[1]
    assert engine_speed.original_dir(root / "micrograd") == root
    numbers = engine_speed.numerics(root)
    assert numbers["original"] == numbers["this"] and numbers["loss_rel_diff"] == 0.0
    memory = engine_speed.chain_memory("original", root, "numbers", 200)
    assert memory["ops"] == memory["values"] == 200 and memory["per_op"] > 0
    assert len(engine_speed.measure_steps("this", root, gc_enabled=True, repeats=2)) == 2


# --- the speed-ups change no float: the demo's losses and final weights, bit for bit, as before them ---

# sha256 of repr((losses, final weights)), computed with the engine of commit 4e06c27 (before Value.dot read its
# operands in backward and the topological sort skipped visited children); any change in the order gradients are
# summed in changes the hash. The tanh run was pinned again when tanh's derivative became exact in its tails
# (4e/(1 + e)**2 instead of 1 - t*t for |x| >= 0.5, a deliberate change of the last bits: 108891.16740963272 before).
BIT_FOR_BIT = {
    ("relu", "svm", 10): (0.24523772600263913, "de7ffa229ff49a0fb13b5529a8867ace139855d98960d203a74438b12e0f33da"),
    ("tanh", "mse", 5): (108891.16740963089, "3b0bd5eca11cbd26e7bb34eeea7bde7bfcff74f54f3c7816ec0496534cf67f26"),
}


@pytest.mark.parametrize(("activation", "kind", "steps"), BIT_FOR_BIT)
def test_the_demo_trains_bit_for_bit_as_before_the_speedups(activation: str, kind: str, steps: int) -> None:
    X, y = demo.make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], seed=1337, activation=activation)
    losses = [loss for loss, _ in demo.train(model, X, y, steps=steps, kind=kind)]
    last, digest = BIT_FOR_BIT[activation, kind, steps]
    assert losses[-1] == last, f"last loss {losses[-1]!r}, before the speed-ups {last!r}"
    assert hashlib.sha256(repr((losses, model.export_weights())).encode()).hexdigest() == digest


# --- a Value as a Python object ---


def test_bool_and_float_follow_torchs_0d_tensors() -> None:
    assert not Value(0.0) and not Value(-0.0) and Value(1e-300) and Value(NAN) and Value(-INF)
    assert float(Value(3.5)) == 3.5 and math.exp(Value(0.0)) == 1.0  # float() is what math functions call
    x = Value(0.0)
    assert x._prev == () and (x * 2)._prev == (x,)  # a Value that is False still counts as a child


def test_equality_and_hashing_are_by_identity_and_a_number_is_refused() -> None:
    a, b = Value(2.0), Value(2.0)
    assert a == a and a != b and not (a == b) and len({a, b, a}) == 2 and {a: 1}[a] == 1  # noqa: SIM201 (== itself is under test)
    assert a in [b, a] and [b, a].index(a) == 1 and a != None  # noqa: E711
    for number in (2.0, 2, np_float(2.0)):
        with pytest.raises(TypeError, match=r"compare the data: v\.data == 2"):
            _ = a == number
        with pytest.raises(TypeError, match="by identity"):
            _ = a != number


def np_float(x: float) -> float:
    """numpy's float64 when numpy is installed (a subclass of float), else a float."""
    try:
        import numpy

        return numpy.float64(x)
    except ImportError:
        return x


def test_ordering_compares_the_data() -> None:
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a and a <= 1 and 0.5 < a and not (a > 1.0)  # noqa: SIM300 (the reflected form too)
    assert sorted([b, a]) == [a, b] and max(a, b) is b
    with pytest.raises(TypeError, match=r"Value < x: .* got str"):
        _ = a < "2"
    assert not (Value(NAN) < 1.0) and not (Value(NAN) >= 1.0)


def test_numpy_operands_give_values_or_a_type_error_never_an_array_of_objects() -> None:
    np = required("numpy", "torch")
    v = Value(3.0)
    for out in (np.float64(2.0) * v, v * np.float32(2.0), np.int64(2) * v, v + np.float64(3.0), np.float64(9.0) - v):
        assert type(out) is Value and out.data == 6.0
    for op in (lambda: np.array([1.0, 2.0]) * v, lambda: v * np.array([1.0, 2.0]), lambda: np.ones(3) + v):
        with pytest.raises(TypeError, match="ndarray"):
            op()
    with pytest.raises(TypeError, match="does not support ufuncs"):
        np.exp(v)


def chain(depth: int) -> tuple[Value, Value]:
    x = Value(0.5)
    y = x
    for _ in range(depth):
        y = y * 1.0000001 + 1e-7
    return x, y


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_pickle_and_deepcopy_work_at_any_depth_and_keep_shared_nodes_shared(how: str) -> None:
    copy_of = {"pickle": lambda obj: pickle.loads(pickle.dumps(obj)), "deepcopy": copy.deepcopy}[how]
    x, y = chain(50_000)  # 100,000 ops: far beyond the recursion limit
    z = y * x  # x is reached twice: from z and from the bottom of the chain
    x2, z2 = copy_of([x, z])
    assert z2.data == z.data and z2 is not z and x2 is not x
    assert z2._b is x2, "the copy's graph must use the copy of x, not another one"
    z.backward()
    z2.backward()
    assert x2.grad == x.grad and x2.grad != 0.0
    a = Value(2.0)
    b = a * a
    c = b.relu() + Value.dot([a, b], [b, 0.5], a)
    a2, c2 = copy_of([a, c])
    c.backward()
    c2.backward()
    assert a2.grad == a.grad and c2.data == c.data
    model = MLP(2, [3, 1], seed=0)
    assert copy_of(model).export_weights() == model.export_weights()


def test_copy_makes_a_new_node_over_the_same_children() -> None:
    x = Value(1.5)
    y = x * 2
    y.grad = 4.0
    y2 = copy.copy(y)
    assert y2 is not y and (y2.data, y2.grad, y2._prev) == (y.data, y.grad, (x,))
