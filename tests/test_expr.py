"""The expression language: what parses and what it means, what is refused (always as ExpressionError, with the
position and the reason, quickly, whatever the text), building from Python, and the canonical text round trip."""

from __future__ import annotations

import ast
import math
import random
import time
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import backends
from backends.expr import (
    FUNCTIONS,
    MAX_NESTING,
    Expression,
    ExpressionError,
    exp,
    log,
    parse,
    relu,
    sigmoid,
    tanh,
    var,
)
from comparisons.judge.catalog import CATALOG
from tests.strategies import examples

FLOAT_FUNCTIONS = {
    "relu": lambda v: max(v, 0.0),
    "tanh": math.tanh,
    "exp": math.exp,
    "log": math.log,
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
}


# --- meaning ---


@pytest.mark.parametrize(
    ("source", "python"),
    [
        (
            "z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); h + q + q*x",
            lambda x, y: (lambda z: max(z * z, 0) + (max(z, 0) + z * x) + (max(z, 0) + z * x) * x)(2 * x + 2 + x),
        ),
        ("x - y - 1", lambda x, y: x - y - 1),
        ("x / y / 2", lambda x, y: x / y / 2),
        ("2 ** x ** 0.5", lambda x, y: 2**x**0.5),
        ("-x ** 2 + -y", lambda x, y: -(x**2) + -y),
        ("+x * (y + 1)", lambda x, y: x * (y + 1)),
        (
            "a = x*y\nb = a + 1;c = tanh(b) * exp(-a)\nlog(c*c) + sigmoid(a)",
            lambda x, y: math.log((math.tanh(x * y + 1) * math.exp(-x * y)) ** 2) + 1 / (1 + math.exp(-x * y)),
        ),
    ],
)
def test_evaluate_follows_python_precedence_and_semantics(source, python):
    e = parse(source)
    assert e.evaluate({"x": 1.5, "y": 0.75}, FLOAT_FUNCTIONS) == pytest.approx(python(1.5, 0.75), rel=1e-15)


class Tracer:
    """Records which Python operator each step uses, and the types it meets."""

    def __init__(self, log: list[str], name: str):
        self.log, self.name = log, name

    def _op(self, symbol: str, other: object, reflected: bool = False) -> Tracer:
        other_name = other.name if isinstance(other, Tracer) else type(other).__name__
        text = f"{other_name}{symbol}{self.name}" if reflected else f"{self.name}{symbol}{other_name}"
        self.log.append(text)
        return Tracer(self.log, f"({text})")

    def __add__(self, o):
        return self._op("+", o)

    def __radd__(self, o):
        return self._op("+", o, True)

    def __sub__(self, o):
        return self._op("-", o)

    def __rsub__(self, o):
        return self._op("-", o, True)

    def __mul__(self, o):
        return self._op("*", o)

    def __rmul__(self, o):
        return self._op("*", o, True)

    def __truediv__(self, o):
        return self._op("/", o)

    def __rtruediv__(self, o):
        return self._op("/", o, True)

    def __pow__(self, o):
        return self._op("**", o)

    def __rpow__(self, o):
        return self._op("**", o, True)

    def __neg__(self):
        return self._op("neg", "")


def test_evaluate_uses_native_operators_reflected_ones_and_float_constants():
    log_: list[str] = []
    functions = {f: (lambda name: lambda t: Tracer(t.log, f"{name}({t.name})"))(f) for f in FUNCTIONS}
    leaves = {"x": Tracer(log_, "x"), "y": Tracer(log_, "y")}
    out = parse("(2 - x) + 2*x + x/2 + 2**x + x**y + -relu(x)").evaluate(leaves, functions)
    steps = [step for step in log_ if "+" not in step]
    assert steps == ["float-x", "float*x", "x/float", "float**x", "x**y", "relu(x)negstr"]
    assert out.name.endswith("+(relu(x)negstr))")


def test_a_reused_name_is_one_shared_node():
    e = parse("a = x*y; b = a*a; b + a + a")
    assert [n.op for n in e.nodes].count("mul") == 2
    assert len(e.nodes) == 6 and e.inputs == ("x", "y")
    # the same text without the name computes x*y three times
    assert [n.op for n in parse("(x*y)*(x*y) + x*y + x*y").nodes].count("mul") == 5


def test_constants_are_not_folded_and_unused_assignments_dropped():
    # every operation written stays a node: the backends and the truth see the program as written
    assert [n.op for n in parse("x * (2 + 3) ** 2").nodes] == ["input", "const", "const", "add", "const", "pow", "mul"]
    assert parse("x * (2 + 3) ** 2") != parse("x * 25")
    # an unused assignment is dropped, but the names it reads stay inputs (their gradient is 0)
    assert parse("unused = exp(x); y * 1").inputs == ("x", "y")
    assert [n.op for n in parse("unused = exp(x); y * 1").nodes] == ["input", "input", "const", "mul"]
    ops = [n.op for n in parse("relu(-2) + tanh(0) * x").nodes]
    assert ops == ["const", "relu", "const", "tanh", "input", "mul", "add"]
    # `-2` is the literal -2 (as Python reads it), and the text form reads back as the same graph
    assert (parse("-2 * x").nodes[0].op, parse("-2 * x").nodes[0].value) == ("const", -2.0)
    assert parse(str(parse("x*(exp(1e-12) - 1)/1e-12"))) == parse("x*(exp(1e-12) - 1)/1e-12")


def test_an_operation_on_constants_alone_gets_lifted_constants() -> None:
    """Where every argument of an operation is a constant (or computed from constants), `constant` lifts its literals
    to the backend's scalars; a constant beside an input (`2*x`) stays a Python float."""
    e = parse("2*x + exp(1e-12) - 0.0**0.0")
    lifted = [(n.op, n.value, i in e.lifted_constants) for i, n in enumerate(e.nodes) if n.op == "const"]
    assert lifted == [("const", 2.0, False), ("const", 1e-12, True), ("const", 0.0, True), ("const", 0.0, True)]
    seen: list[object] = []

    def exp(v: object) -> float:
        seen.append(v)
        return 1.0

    e.evaluate({"x": 1.0}, {"exp": exp}, lambda c: c)
    assert seen == [1e-12]
    kinds = e.evaluate_all({"x": 1.0}, {"exp": lambda v: v}, Fraction)
    assert [type(v).__name__ for v, n in zip(kinds, e.nodes) if n.op == "const"] == ["float", "Fraction", "Fraction", "Fraction"]


def test_constant_parts_that_are_not_finite_are_programs_too() -> None:
    """A constant part that overflows or has no value is what the backends and the truth judge, not a parse error."""
    assert [n.op for n in parse("exp(1000) * x").nodes] == ["const", "exp", "input", "mul"]
    assert [n.op for n in parse("x + 0 ** -1").nodes] == ["input", "const", "const", "pow", "add"]


def test_check_inputs_returns_floats_in_input_order():
    e = parse("b*a + c")
    assert e.inputs == ("b", "a", "c")
    checked = e.check_inputs({"a": 1, "b": 2.5, "c": -3})
    assert list(checked) == ["b", "a", "c"] and all(type(v) is float for v in checked.values())


# --- refusals: one exception type, the position and the reason ---


@pytest.mark.parametrize(
    ("source", "reason", "line", "column"),
    [
        ("x +", "syntax error", 1, 4),
        ("x = 1\ny = (", "syntax error", 2, 5),
        ("sin(x)", "unknown function 'sin'", 1, 1),
        ("x + __import__('os')", "unknown function '__import__'", 1, 5),
        ("relu(x, y)", "relu() takes exactly one argument", 1, 1),
        ("relu()", "relu() takes exactly one argument", 1, 1),
        ("tanh(x=1)", "tanh() takes exactly one argument", 1, 1),
        ("exp(*x)", "exp() takes exactly one argument", 1, 1),
        ("x.real", "attribute access", 1, 1),
        ("relu.__call__(x)", "calling anything but a function name", 1, 1),
        ("x[0]", "subscripts", 1, 1),
        ("lambda: x", "lambdas", 1, 1),
        ("(lambda: x)()", "calling anything but a function name", 1, 1),
        ("x if y else 1", "conditional expressions", 1, 1),
        ("x < y", "comparisons", 1, 1),
        ("x and y", "and/or", 1, 1),
        ("x // y", "the operator FloorDiv", 1, 1),
        ("x % y", "the operator Mod", 1, 1),
        ("x @ y", "the operator MatMult", 1, 1),
        ("~x", "the operator Invert", 1, 1),
        ("not x", "the operator Not", 1, 1),
        ("'x' * x", "'x' is not a number", 1, 1),
        ("True * x", "True is not a number", 1, 1),
        ("1j * x", "1j is not a number", 1, 1),
        ("1e999 * x", "not a finite float", 1, 1),
        ("1" + "0" * 400 + " * x", "not a finite float", 1, 1),
        ("[x]", "List expressions", 1, 1),
        ("f'{x}'", "JoinedStr expressions", 1, 1),
        ("(y := x)", "NamedExpr expressions", 1, 2),
        ("relu = x; relu", "relu is a function and cannot be assigned", 1, 1),
        ("x + tanh", "tanh is a function; call it", 1, 5),
        ("a = x; a = 2*x; a", "a is assigned twice", 1, 8),
        ("b = x; x = 2; b", "x is an input", 1, 8),
        ("a = b = x; a", "assign to exactly one plain name", 1, 1),
        ("a, b = x, y; a", "assign to exactly one plain name", 1, 1),
        ("x += 1; x", "augmented or annotated assignment", 1, 1),
        ("import os; x", "a Import statement", 1, 1),
        ("x = 2*y", "the last statement must be the expression to compute, not an assignment", 1, 1),
        ("a = x; del a", "not a Delete statement", 1, 8),
        ("x; y", "not an expression", 1, 1),
        ("2 + 3", "no inputs", 1, 1),
        ("", "empty", None, None),
        ("# only a comment\n", "empty", None, None),
        (" x", "unexpected indent", 1, 1),
        ("x\0", "null bytes", None, None),
        ("x + \ud800", "not a valid character", 1, 5),
        (
            "(" * (MAX_NESTING + 1) + "x" + ")" * (MAX_NESTING + 1),
            f"brackets nest more than {MAX_NESTING} deep",
            1,
            MAX_NESTING + 1,
        ),
    ],
)
def test_bad_text_raises_expression_error_with_position_and_reason(source, reason, line, column):
    with pytest.raises(ExpressionError) as info:
        parse(source)
    assert reason in info.value.reason
    assert (info.value.line, info.value.column) == (line, column) or line is None
    assert str(info.value).startswith(info.value.reason)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"x": 1.0}, "no value given for input y"),
        ({"x": 1.0, "y": 2.0, "z": 3.0}, "'z' is not an input"),
        ({"x": math.nan, "y": 1.0}, "input x = nan is not a finite number"),
        ({"x": math.inf, "y": 1.0}, "input x = inf is not a finite number"),
        ({"x": True, "y": 1.0}, "input x = True is not a finite number"),
        ({"x": "1", "y": 1.0}, "input x = '1' is not a finite number"),
        ({"x": 10**400, "y": 1.0}, "is not a finite number"),
        ({"x": None, "y": 1.0}, "input x = None is not a finite number"),
    ],
)
def test_bad_inputs_raise_expression_error(values, reason):
    with pytest.raises(ExpressionError, match=reason.replace("(", r"\(")):
        parse("x * y").check_inputs(values)


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("10 MB of text", "x+" * 5_000_000 + "x"),
        ("10,000 nested parentheses", "(" * 10_000 + "x" + ")" * 10_000),
        ("10,000 nested calls", "relu(" * 10_000 + "x" + ")" * 10_000),
        ("10,000 unary minuses", "-" * 10_000 + "x"),
        ("a 10,000-deep power tower", "x" + "**x" * 10_000),
        ("60,000 additions", "x+" * 60_000 + "x"),
    ],
)
def test_huge_or_deep_text_is_refused_within_a_second(name, source):
    start = time.perf_counter()
    with pytest.raises(ExpressionError):
        parse(source)
    assert time.perf_counter() - start < 1.0, name


def test_the_number_of_operations_is_bounded():
    with pytest.raises(ExpressionError, match="more than 50,000 operations"):
        parse("\n".join(f"a{i} = x*x*x*x*x*x" for i in range(10_000)) + "\nx")


def test_a_long_flat_sum_and_a_deep_chain_written_with_assignments_are_fine():
    assert len(parse(" + ".join(f"x{i % 7}" for i in range(2_000))).nodes) == 2 * 2_000 - 1 - (2_000 - 7)
    chain = "\n".join(["t0 = x", *(f"t{k} = tanh(t{k - 1})" for k in range(1, 5_000)), "t4999"])
    assert len(parse(chain).nodes) == 5_000


def test_not_text_is_refused():
    with pytest.raises(ExpressionError, match="must be text, got bytes"):
        parse(b"x")


# --- building from Python ---


def test_build_equals_parse_of_the_same_graph():
    x, y = var("x"), var("y")
    z = 2 * x + 2 + x
    q = relu(z) + z * x
    h = relu(z * z)
    assert Expression.build(h + q + q * x) == parse("z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); h + q + q*x")
    a = x * y  # one Python object used twice is one shared node, like a name
    assert Expression.build(a * a + tanh(a)) == parse("a = x*y; a*a + tanh(a)")
    assert Expression.build(x * y * (x * y)) == parse("x*y*(x*y)") != parse("a = x*y; a*a")
    assert Expression.build(sigmoid(exp(-x) / log(y) - 2**y**0.5)) == parse("sigmoid(exp(-x) / log(y) - 2**y**0.5)")
    assert Expression.build(var("x") + var("x")) == parse("x + x"), "two var('x') are one input"


@pytest.mark.parametrize("bad", ["1x", "", "relu", None, "x y"])
def test_var_refuses_bad_names(bad):
    with pytest.raises(ExpressionError, match="cannot name an input"):
        var(bad)


@pytest.mark.parametrize("bad", ["1", math.nan, math.inf, True, None, 10**400])
def test_operators_refuse_what_is_not_a_finite_number(bad):
    with pytest.raises(ExpressionError, match="cannot use"):
        var("x") + bad
    with pytest.raises(ExpressionError):
        Expression.build(bad)


# --- round trip: the canonical text parses back to the same graph ---


@pytest.mark.parametrize("case", CATALOG, ids=lambda case: case.name)
def test_canonical_text_of_every_catalog_case_parses_back(case):
    e = case.expression
    canonical = str(Expression(e.nodes))
    assert parse(canonical) == e
    assert parse(canonical).evaluate(case.inputs, FLOAT_FUNCTIONS) == e.evaluate(case.inputs, FLOAT_FUNCTIONS)


def test_canonical_text_keeps_signs_and_nesting_parseable():
    x = var("x")
    minus_zero = Expression.build(exp(x) * 0 + (-0.0) ** x)
    assert parse(str(minus_zero)) == minus_zero
    chain = x
    for _ in range(3 * MAX_NESTING):
        chain = tanh(chain * 1.5 + x)
    built = Expression.build(chain)
    assert parse(str(built)) == built


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(examples())
def test_random_expressions_round_trip(example):
    e = example.expression
    assert parse(str(e)) == e
    assert hash(parse(str(e))) == hash(e)


# --- fuzzing: random text and random syntax trees; nothing but ExpressionError, never a hang ---

EXPRESSION_ALPHABET = st.sampled_from(
    [
        *"xyz0123456789.+-*/()=;\n \t,[]'\"e_:@%<>!~",
        "**",
        "relu(",
        "tanh(",
        "exp(",
        "log(",
        "sigmoid(",
        "lambda",
        " if ",
        " else ",
        "import ",
        "__",
        ".real",
        "1e999",
        "\\",
        "\0",
        "\ud800",
        "é",
    ]
)
# no deadline: a test never times anything (a busy machine would fail it); the parser's speed is tracked by the asv
# instruction counts (comparisons/history/benchmarks/bench_counts.py) and bounded by MAX_SOURCE_CHARS
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_expression_error(source: str) -> None:
    try:
        e = parse(source)
    except ExpressionError as exc:
        assert exc.reason and isinstance(exc.reason, str)
        assert exc.line is None or (isinstance(exc.line, int) and isinstance(exc.column, int))
        return
    assert e.inputs and e.nodes[-1] is not None
    assert parse(str(Expression(e.nodes))) == e


@FUZZ
@given(st.text())
def test_random_text(source):
    _parse_or_expression_error(source)


@FUZZ
@given(st.lists(EXPRESSION_ALPHABET, max_size=60).map("".join))
def test_random_expression_like_text(source):
    _parse_or_expression_error(source)


NAMES = st.sampled_from(["x", "y", "a", *FUNCTIONS, "sin", "__import__", "print", "True"])
CONSTANTS = st.one_of(
    st.integers(-10, 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.complex_numbers(max_magnitude=10, allow_nan=False),
    st.just(...),
    st.binary(max_size=2),
)
OPERATORS = st.sampled_from([ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod, ast.MatMult, ast.BitXor])


def _expression_trees(leaves: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    def extend(children: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
        return st.one_of(
            st.builds(ast.BinOp, children, OPERATORS.map(lambda op: op()), children),
            st.builds(ast.UnaryOp, st.sampled_from([ast.USub, ast.UAdd, ast.Not, ast.Invert]).map(lambda op: op()), children),
            st.builds(lambda f, args: ast.Call(ast.Name(f, ast.Load()), args, []), NAMES, st.lists(children, max_size=2)),
            st.builds(lambda f, a, b: ast.Call(ast.Name(f, ast.Load()), [a], [ast.keyword("k", b)]), NAMES, children, children),
            st.builds(lambda v: ast.Attribute(v, "real", ast.Load()), children),
            st.builds(lambda v, i: ast.Subscript(v, i, ast.Load()), children, children),
            st.builds(lambda v: ast.Lambda(ast.arguments([], [], None, [], [], None, []), v), children),
            st.builds(lambda a, b: ast.Compare(a, [ast.Lt()], [b]), children, children),
            st.builds(lambda a, b, c: ast.IfExp(a, b, c), children, children, children),
            st.builds(lambda a, b: ast.BoolOp(ast.And(), [a, b]), children, children),
            st.builds(lambda a, b: ast.Tuple([a, b], ast.Load()), children, children),
            st.builds(lambda v: ast.Starred(v, ast.Load()), children),
        )

    return st.recursive(leaves, extend, max_leaves=20)


EXPRESSION_TREES = _expression_trees(st.one_of(NAMES.map(lambda n: ast.Name(n, ast.Load())), CONSTANTS.map(ast.Constant)))
STATEMENTS = st.one_of(
    st.builds(lambda n, v: ast.Assign([ast.Name(n, ast.Store())], v), NAMES, EXPRESSION_TREES),
    st.builds(ast.Expr, EXPRESSION_TREES),
    st.builds(lambda n, v: ast.AugAssign(ast.Name(n, ast.Store()), ast.Add(), v), NAMES, EXPRESSION_TREES),
    st.builds(lambda n: ast.Import([ast.alias(n)]), NAMES),
)


@FUZZ
@given(st.lists(STATEMENTS, min_size=1, max_size=4))
def test_random_syntax_trees(statements):
    module = ast.fix_missing_locations(ast.Module(statements, []))
    try:
        source = ast.unparse(module)
    except Exception:  # some random trees have no text form; nothing to test then
        return
    _parse_or_expression_error(source)


# --- results, not round trips: random programs evaluated by the parser and by an interpreter written here ---


def _sigmoid(v: float) -> float:  # the reference's formula
    return 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))


_SAFE_FUNCTIONS = {"relu": lambda v: v if v > 0 else 0.0, "tanh": math.tanh, "sigmoid": _sigmoid}


def _interpret(source: str, inputs: dict[str, float]) -> float:
    """Run the program statement by statement, as Python would: every assignment binds a name, the last line is the
    result (a bare name included). Independent of the parser's graph building."""
    env = dict(inputs)

    def ev(node: ast.expr) -> float:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp):
            return -ev(node.operand)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return float(_SAFE_FUNCTIONS[node.func.id](ev(node.args[0])))
        assert isinstance(node, ast.BinOp)
        a, b = ev(node.left), ev(node.right)
        return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}[type(node.op)]

    *assignments, last = ast.parse(source).body
    for stmt in assignments:
        assert isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
        env[stmt.targets[0].id] = ev(stmt.value)
    assert isinstance(last, ast.Expr)
    return ev(last.value)


def _random_program(rng: random.Random) -> str:
    names = ["x", "y"]
    lines = []

    def term(depth: int) -> str:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice([*names, repr(rng.choice([0.5, 2.0, -1.5]))])
        if rng.random() < 0.25:
            return f"{rng.choice(list(_SAFE_FUNCTIONS))}({term(depth - 1)})"
        return f"({term(depth - 1)} {rng.choice('+-*')} {term(depth - 1)})"

    for k in range(rng.randint(1, 5)):
        lines.append(f"t{k} = {term(3)}")
        names.append(f"t{k}")
    # the result: often a bare name bound earlier (not necessarily the last), else an expression
    lines.append(rng.choice(names) if rng.random() < 0.6 else term(2))
    return "; ".join(lines)


def test_random_programs_compute_what_an_interpreter_computes() -> None:
    rng = random.Random(99)
    checked = 0
    for _ in range(500):
        source = _random_program(rng)
        inputs = {"x": rng.uniform(-3, 3), "y": rng.uniform(-3, 3)}
        try:
            expr = parse(source)
        except ExpressionError as exc:  # only a result that reads no input
            assert "no inputs" in exc.reason, (source, exc)
            continue
        got = expr.evaluate(expr.check_inputs({k: v for k, v in inputs.items() if k in expr.inputs}), _SAFE_FUNCTIONS)
        assert got == _interpret(source, inputs), source
        checked += 1
    assert checked > 400


@pytest.mark.parametrize("backend", backends.names())
def test_every_backend_computes_operations_on_constants_itself(backend: str) -> None:
    """Nothing is folded before a backend sees the program: each computes exp(1e-12) - 1, 0.0**0.0 and 0.0**-1.0 on
    its own scalars (a bare float would make torch.exp raise, and Python's 0.0**-1.0 raise ZeroDivisionError)."""
    if backend not in backends.select([backend])[0]:
        pytest.skip(f"{backend} cannot run here")
    dtypes = ["float64"] if backend == "micrograd" else ["float64", "float32"]
    for dtype in dtypes:
        run = backends.get(backend).compile
        assert run(parse("x + 0.0**0.0"), dtype)({"x": 1.0}) == backends.Gradients(2.0, {"x": 1.0})  # 0**0 = 1 by convention
        assert run(parse("x + 0.0**-1.0"), dtype)({"x": 1.0}).value == math.inf
        # exp(1e-12) - 1 rounded in the dtype, then scaled back up: 1 + 5e-13 in exact arithmetic, a rounding error
        # of the dtype's epsilon / 1e-12 here (9e-5 in float64; in float32 exp(1e-12) rounds to 1, so 0)
        got = run(parse("x*(exp(1e-12) - 1)/1e-12"), dtype)({"x": 1.0})
        assert got.value == got.grads["x"] and abs(got.value - 1) <= (2.3e-4 if dtype == "float64" else 1.0)
