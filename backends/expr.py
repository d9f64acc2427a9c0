"""The expression language: assignments and one final expression, written once, run by every backend.

    z = 2*x + 2 + x; q = relu(z) + z*x; h = relu(z*z); h + q + q*x

Numbers, names, + - * / **, unary -, and the functions relu, tanh, exp, log, sigmoid. Source text is
parsed with `ast` and checked against that whitelist, never evaluated by Python. A name assigned once
and used many times is one shared node, so the graph is a DAG. `var` and the function helpers build the
same thing from Python. Anything else raises `ExpressionError` with the position and the reason.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import sys
import threading
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FUNCTIONS = ("relu", "tanh", "exp", "log", "sigmoid")
BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv, "pow": operator.pow}
_AST_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}

MAX_SOURCE_CHARS = 200_000
MAX_NODES = 50_000
MAX_NESTING = 100  # parentheses, calls and unary minus inside one another
_MAX_LITERAL_DIGITS = 4_300  # Python's own limit on an int literal's digits (sys.get_int_max_str_digits)
_LONG_LITERAL = re.compile(r"(?<![\w.])\d{4301,}")


class ExpressionError(ValueError):
    """Bad expression text or inputs: `reason`, and where (1-based line and column) when it is in the text."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None):
        self.reason, self.line, self.column = reason, line, column
        where = f" (line {line}, column {column})" if line is not None else ""
        super().__init__(f"{reason}{where}")


@dataclass(frozen=True, slots=True)
class Node:
    """One operation; args are indices of earlier nodes. op is input, const, a BINARY key, neg, or a FUNCTION."""

    op: str
    args: tuple[int, ...] = ()
    value: float = 0.0  # for const
    name: str = ""  # for input


class Expression:
    """A parsed expression: nodes in topological order (the last is the result) and the input names."""

    def __init__(self, nodes: tuple[Node, ...], source: str | None = None):
        self.nodes = nodes
        self.inputs: tuple[str, ...] = tuple(n.name for n in nodes if n.op == "input")
        self.source = source if source is not None else _to_source(nodes)

    def evaluate(
        self,
        leaves: Mapping[str, Any],
        functions: Mapping[str, Callable[[Any], Any]],
        constant: Callable[[float], Any] | None = None,
    ) -> Any:
        """Run the graph with any number type: `leaves` maps input names to native values (tensors,
        Values, tracers), `functions` maps relu/tanh/exp/log/sigmoid to native functions. Arithmetic uses
        the native objects' own operators; constants are Python floats, as a user writes `2*x`, except in an
        operation whose arguments are all constants (`exp(1e-12) - 1`): there `constant` lifts each literal
        to the backend's own scalar of its dtype, so that the backend computes that operation itself."""
        return self.evaluate_all(leaves, functions, constant)[-1]

    def evaluate_all(
        self,
        leaves: Mapping[str, Any],
        functions: Mapping[str, Callable[[Any], Any]],
        constant: Callable[[float], Any] | None = None,
    ) -> list[Any]:
        """Like `evaluate`, but the value of every node, in node order (the last is the result)."""
        lift = self.lifted_constants if constant is not None else frozenset()
        vals: list[Any] = []
        for i, n in enumerate(self.nodes):
            if n.op == "input":
                vals.append(leaves[n.name])
            elif n.op == "const":
                vals.append(constant(n.value) if constant is not None and i in lift else n.value)
            elif n.op == "neg":
                vals.append(-vals[n.args[0]])
            elif n.op in BINARY:
                vals.append(BINARY[n.op](vals[n.args[0]], vals[n.args[1]]))
            else:
                vals.append(functions[n.op](vals[n.args[0]]))
        return vals

    @property
    def lifted_constants(self) -> frozenset[int]:
        """The constants that are an argument of an operation computed from constants alone (`exp(1e-12)`,
        `0.0**0.0`): a backend evaluates those with its own scalars, where Python floats would differ or raise."""
        lifted: frozenset[int] | None = self.__dict__.get("_lifted")
        if lifted is None:
            from_constants = [False] * len(self.nodes)  # computed from constants alone
            found: set[int] = set()
            for i, n in enumerate(self.nodes):
                if n.args and all(self.nodes[a].op == "const" or from_constants[a] for a in n.args):
                    from_constants[i] = True
                    found.update(a for a in n.args if self.nodes[a].op == "const")
            lifted = self._lifted = frozenset(found)
        return lifted

    def check_inputs(self, values: Mapping[str, Any]) -> dict[str, float]:
        """The input values as floats, in input order; ExpressionError for a missing, unknown or non-finite one."""
        values = _normalized(values)
        missing = [name for name in self.inputs if name not in values]
        known = set(self.inputs)  # a set: a tuple scanned once per name would be quadratic in the number of inputs
        unknown = [name for name in values if name not in known]
        if missing:
            raise ExpressionError(
                f"no value given for input {_names(missing)}{_lookalikes([*missing, *unknown])} (inputs: {_names(self.inputs)})"
            )
        if unknown:
            raise ExpressionError(
                f"{_names(unknown, quoted=True)} is not an input of this expression{_lookalikes(unknown)} "
                f"(inputs: {_names(self.inputs)})"
            )
        out = {}
        for name in self.inputs:
            v = values[name]
            if isinstance(v, bool) or not isinstance(v, int | float) or not _is_finite(v):
                raise ExpressionError(f"input {name} = {_short(v)} is not a finite number")
            out[name] = float(v)
        return out

    @classmethod
    def build(cls, result: Sym) -> Expression:
        """The expression that computes `result`, a Sym made with `var`, numbers, operators and the functions."""
        if not isinstance(result, Sym):
            raise ExpressionError(f"Expression.build needs a Sym (from var(...)), got {type(result).__name__}")
        nodes: list[Node] = []
        index: dict[int, int] = {}  # id(Sym) -> node index; a Sym used twice is one shared node
        inputs: dict[str, int] = {}
        stack: list[tuple[Sym, bool]] = [(result, False)]
        while stack:
            sym, expanded = stack.pop()
            if id(sym) in index:
                continue
            if not expanded:
                stack.append((sym, True))
                stack.extend((a, False) for a in reversed(sym.args) if id(a) not in index)
                continue
            if sym.op == "input" and sym.name in inputs:
                index[id(sym)] = inputs[sym.name]
                continue
            index[id(sym)] = len(nodes)
            if sym.op == "input":
                inputs[sym.name] = len(nodes)
            nodes.append(Node(sym.op, tuple(index[id(a)] for a in sym.args), sym.value, sym.name))
        return _finish(nodes, None, None)

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __eq__(self, other: object) -> bool:
        """The same graph: the same operations on the same inputs and constants, shared where they are shared,
        whatever the order the nodes were written in (so `parse(str(e)) == e` and build equals parse)."""
        return isinstance(other, Expression) and self._canonical() == other._canonical()

    def __hash__(self) -> int:
        return hash(self._canonical())

    def _canonical(self) -> tuple[tuple[Any, ...], ...]:
        """The nodes renumbered in post-order from the result (arguments left to right), equal constants merged."""
        key: tuple[tuple[Any, ...], ...] | None = self.__dict__.get("_key")
        if key is not None:
            return key
        number: dict[int, int] = {}
        consts: dict[tuple[float, float], int] = {}  # (value, sign) -> canonical index; 0.0 and -0.0 differ
        out: list[tuple[Any, ...]] = []
        stack: list[tuple[int, bool]] = [(len(self.nodes) - 1, False)]
        while stack:
            i, expanded = stack.pop()
            if i in number:
                continue
            n = self.nodes[i]
            if not expanded and n.args:
                stack.append((i, True))
                stack.extend((a, False) for a in reversed(n.args) if a not in number)
                continue
            if n.op == "const":
                const_key = (n.value, math.copysign(1.0, n.value))
                if const_key not in consts:
                    consts[const_key] = len(out)
                    out.append(("const", n.value, const_key[1]))
                number[i] = consts[const_key]
                continue
            number[i] = len(out)
            out.append((n.op, n.name, *(number[a] for a in n.args)))
        out += sorted(("input", n.name) for i, n in enumerate(self.nodes) if n.op == "input" and i not in number)
        self._key = tuple(out)
        return self._key


def parse(source: str) -> Expression:
    """Parse source text (statements separated by newlines or ';') into an Expression."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, got {type(source).__name__}")
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"the expression is {len(source):,} characters long; at most {MAX_SOURCE_CHARS:,} are allowed")
    _check_nesting(source)
    operators = len(_OPERATOR.findall(source))  # refuse a huge sum before parsing it
    if operators > MAX_NODES:
        raise ExpressionError(f"the expression has {operators:,} operators; at most {MAX_NODES:,} operations are allowed")
    if "\x00" in source:
        at = source.index("\x00")
        line, column = source.count("\n", 0, at) + 1, at - (source.rfind("\n", 0, at) + 1) + 1
        raise ExpressionError("the text holds null bytes (\\x00), which are not valid characters", line, column)
    try:
        tree = _parse_tree(source)
    except SyntaxError as exc:
        if long_literal := _LONG_LITERAL.search(source):  # Python's own advice (sys.set_int_max_str_digits) is no help here
            at = long_literal.start()
            line, column = source.count("\n", 0, at) + 1, at - (source.rfind("\n", 0, at) + 1) + 1
            raise ExpressionError(
                f"the literal of {len(long_literal.group()):,} digits is too long (at most {_MAX_LITERAL_DIGITS:,}); "
                "write a number with an exponent, like 1.5e300",
                line,
                column,
            ) from None
        raise ExpressionError(f"syntax error: {exc.msg}", exc.lineno, exc.offset) from None
    except UnicodeEncodeError as exc:
        line = source.count("\n", 0, exc.start) + 1
        column = exc.start - (source.rfind("\n", 0, exc.start) + 1) + 1
        raise ExpressionError(f"the text holds {source[exc.start]!r}, which is not a valid character", line, column) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExpressionError(
            f"the expression is too deeply nested for Python's parser ({type(exc).__name__}); "
            "split long chains into assignments, like `s1 = a + b; s2 = s1 + c; s2`"
        ) from None
    return _Compiler(source).compile(tree)


_OPERATOR = re.compile(r"(?<![eE.0-9])[-+]|\*\*?|/")  # not the sign of an exponent, as in 1e-5
_PARSER_STACK_BYTES = 256 * 1024 * 1024  # virtual memory: pages are touched only as deep as the tree goes


def _parse_tree(source: str) -> ast.Module:
    """ast.parse, in a thread with a large stack and a recursion limit that fits MAX_NODES: Python builds the tree of
    a flat sum `a + b + c + ...` recursively, so its default limit refuses sums of more than about 3,000 terms."""
    result: list[ast.Module | BaseException] = []

    def work() -> None:
        try:
            with warnings.catch_warnings():  # e.g. an invalid escape in a string literal: the string is refused anyway
                warnings.simplefilter("ignore")
                result.append(ast.parse(source, mode="exec"))
        except BaseException as exc:  # handed to the caller's thread
            result.append(exc)

    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(max(old_limit, 4 * MAX_NODES))
    try:
        threading.stack_size(_PARSER_STACK_BYTES)
        worker = threading.Thread(target=work, name="expression-parser")
        worker.start()
    finally:
        threading.stack_size(old_stack)
    worker.join()
    sys.setrecursionlimit(old_limit)
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


def _check_nesting(source: str) -> None:
    depth = 0
    for line_no, line in enumerate(source.splitlines() or [""], 1):
        for col, ch in enumerate(line, 1):
            if ch in "([{":
                depth += 1
                if depth > MAX_NESTING:
                    raise ExpressionError(f"brackets nest more than {MAX_NESTING} deep; use assignments", line_no, col)
            elif ch in ")]}":
                depth -= 1


class _Compiler:
    """Turns a checked `ast.Module` into nodes, iteratively (a 10,000-term sum needs no recursion)."""

    def __init__(self, source: str):
        self.source = source
        self.nodes: list[Node] = []
        self.bound: dict[str, int] = {}  # assigned names and inputs -> node index
        self.assigned: set[str] = set()

    def compile(self, tree: ast.Module) -> Expression:
        body = tree.body
        if not body:
            raise ExpressionError("the expression is empty; write assignments and then one final expression")
        for stmt in body[:-1]:
            if not isinstance(stmt, ast.Assign):
                what = _statement(stmt)
                raise _error(stmt, f"every statement before the last must be an assignment like `z = 2*x`, not {what}")
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise _error(stmt, "assign to exactly one plain name, like `z = 2*x`")
            name = stmt.targets[0].id
            if name in FUNCTIONS:
                raise _error(stmt, f"{name} is a function and cannot be assigned to")
            if name in self.assigned:
                raise _error(stmt, f"{name} is assigned twice; use a new name")
            if name in self.bound:
                raise _error(stmt, f"{name} is an input (used before this assignment) and cannot be assigned")
            value = self.expr(stmt.value)
            if name in self.bound:  # read inside its own assignment, before it has a value
                use = next(n for n in ast.walk(stmt.value) if isinstance(n, ast.Name) and n.id == name)
                raise _error(use, f"{name} is used before it is assigned; use a new name, like `{name}2 = {name} + 1`")
            self.bound[name] = value
            self.assigned.add(name)
        last = body[-1]
        if not isinstance(last, ast.Expr):
            what = "an assignment" if isinstance(last, ast.Assign) else _statement(last)
            raise _error(last, f"the last statement must be the expression to compute, not {what}")
        return _finish(self.nodes, self.source, last, self.expr(last.value))

    def add(self, node: Node, at: ast.AST) -> int:
        if len(self.nodes) >= MAX_NODES:
            raise _error(at, f"the expression has more than {MAX_NODES:,} operations")
        self.nodes.append(node)
        return len(self.nodes) - 1

    def expr(self, root: ast.expr) -> int:
        done: dict[int, int] = {}
        stack: list[tuple[ast.expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            children = self.children(node)
            if not expanded and children:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(children))
                continue
            done[id(node)] = self.leaf_or_op(node, [done[id(c)] for c in children])
        return done[id(root)]

    def children(self, node: ast.expr) -> list[ast.expr]:
        if isinstance(node, ast.BinOp) and type(node.op) in _AST_BINARY:
            return [node.left, node.right]
        if _negative_literal(node):
            return []
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return [node.operand]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS:
            if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
                raise _error(node, f"{node.func.id}() takes exactly one argument, like {node.func.id}(x)")
            return [node.args[0]]
        if isinstance(node, ast.Name | ast.Constant):
            return []
        raise _error(node, _describe_forbidden(node))

    def leaf_or_op(self, node: ast.expr, args: list[int]) -> int:
        if _negative_literal(node):  # `-2` is the number -2, as Python reads it, not an operation on 2
            assert isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)
            literal = node.operand.value
            assert isinstance(literal, int | float)
            return self.add(Node("const", value=-float(literal)), node)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise _error(node, f"{v!r} is not a number; only int and float literals are allowed")
            if not _is_finite(v):
                raise _error(node, f"the literal {_short(v)} is not a finite float")
            return self.add(Node("const", value=float(v)), node)
        if isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise _error(node, f"{node.id} is a function; call it, like {node.id}(x)")
            if node.id not in self.bound:
                self.bound[node.id] = self.add(Node("input", name=node.id), node)
            return self.bound[node.id]
        if isinstance(node, ast.BinOp):
            return self.add(Node(_AST_BINARY[type(node.op)], tuple(args)), node)
        if isinstance(node, ast.UnaryOp):
            return args[0] if isinstance(node.op, ast.UAdd) else self.add(Node("neg", tuple(args)), node)
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)  # children() let nothing else through
        return self.add(Node(node.func.id, tuple(args)), node)


def _negative_literal(node: ast.expr) -> bool:
    """`-` written directly before a finite int or float literal."""
    if not (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)):
        return False
    v = node.operand.value
    return isinstance(v, int | float) and not isinstance(v, bool) and _is_finite(v)


def _statement(stmt: ast.stmt) -> str:
    if isinstance(stmt, ast.AugAssign | ast.AnnAssign):
        return "an augmented or annotated assignment (use a new name: `z2 = z + 1`)"
    if isinstance(stmt, ast.Expr):
        return "an expression"
    return f"a {type(stmt).__name__} statement"


def _describe_forbidden(node: ast.AST) -> str:
    allowed = f"allowed: numbers, names, + - * / **, unary -, and {', '.join(FUNCTIONS)}"
    if isinstance(node, ast.Call):
        func = node.func.id if isinstance(node.func, ast.Name) else None
        what = f"unknown function {func!r}" if func else "calling anything but a function name"
    elif isinstance(node, ast.BinOp | ast.UnaryOp):
        what = f"the operator {type(node.op).__name__}"
    else:
        what = {
            ast.Attribute: "attribute access",
            ast.Subscript: "subscripts",
            ast.Lambda: "lambdas",
            ast.Compare: "comparisons",
            ast.BoolOp: "and/or",
            ast.IfExp: "conditional expressions",
        }.get(type(node), f"{type(node).__name__} expressions")
    return f"{what} not allowed ({allowed})"


def _normalized(values: Mapping[str, Any]) -> dict[str, Any]:
    """Input names as Python reads identifiers in the text (NFKC: the name `𝑥` in an expression is `x`)."""
    out: dict[str, Any] = {}
    for name, v in values.items():
        key = unicodedata.normalize("NFKC", name) if isinstance(name, str) else name
        if key in out:
            raise ExpressionError(f"input {key} is given twice ({name!r} is the same name as {key!r})")
        out[key] = v
    return out


MAX_NAMES_SHOWN, MAX_NAME_CHARS = 10, 100  # a message lists at most this many names, each cut to this length


def _names(names: Sequence[object], quoted: bool = False) -> str:
    """Names as a message lists them: the first MAX_NAMES_SHOWN, each cut to MAX_NAME_CHARS, control and bidi
    characters escaped (never echoed raw), and how many more there are."""
    shown = []
    for name in names[:MAX_NAMES_SHOWN]:
        text = name if isinstance(name, str) else repr(name)
        text = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
        text = text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 3] + "..."
        shown.append(f"'{text}'" if quoted else text)
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def _lookalikes(names: Sequence[object]) -> str:
    """ "; х is U+0445 CYRILLIC SMALL LETTER HA, not an ASCII letter" for the first name with a non-ASCII letter (a
    Cyrillic х beside a Latin x reads the same), or "" when every name is ASCII."""
    for name in names:
        if isinstance(name, str) and not name.isascii():
            ch = next(c for c in name if not c.isascii())
            what = unicodedata.name(ch, "a character without a name")
            return (
                f"; {_names([name])} holds {ch if ch.isprintable() else ascii(ch)} (U+{ord(ch):04X} {what}), not an ASCII letter"
            )
    return ""


def _is_finite(v: float) -> bool:
    try:
        return math.isfinite(float(v))
    except OverflowError:  # an int beyond float range
        return False


def _short(v: object) -> str:
    try:
        text = repr(v)
    except ValueError:  # an int too long to print
        return f"an int of {v.bit_length():,} bits" if isinstance(v, int) else f"a {type(v).__name__} that cannot be shown"
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def _error(node: ast.AST, reason: str) -> ExpressionError:
    return ExpressionError(reason, getattr(node, "lineno", None), getattr(node, "col_offset", -1) + 1)


def _finish(nodes: list[Node], source: str | None, at: ast.stmt | None, result: int | None = None) -> Expression:
    """Keep what `result` (default: the last node) depends on, with `result` last; every operation written stays a
    node (nothing is folded: each backend and the truth see the program as written). Inputs the result does not
    depend on stay (before it), so their gradient is 0 rather than an unknown name."""
    where = (at.lineno, at.col_offset + 1) if at is not None else (None, None)
    result = len(nodes) - 1 if result is None else result
    live = {result}
    for i in range(result, -1, -1):
        if i in live:
            live.update(nodes[i].args)
    if not any(nodes[i].op == "input" for i in live):
        raise ExpressionError("the result has no inputs (it is a constant): use at least one name in it, like x", *where)
    unused_inputs = [i for i, n in enumerate(nodes) if n.op == "input" and i not in live]
    order = sorted((live - {result}).union(unused_inputs)) + [result]  # inputs in the order the text reads them
    remap: dict[int, int] = {}
    kept: list[Node] = []
    for i in order:
        n = nodes[i]
        remap[i] = len(kept)
        kept.append(Node(n.op, tuple(remap[a] for a in n.args), n.value, n.name))
    return Expression(tuple(kept), source)


def _to_source(nodes: tuple[Node, ...]) -> str:
    """Canonical text: shared intermediate nodes become assignments, everything else is parenthesised inline,
    and so does a node whose brackets would nest deeper than half of MAX_NESTING, so that the text parses."""
    uses = [0] * len(nodes)
    for n in nodes:
        for a in n.args:
            uses[a] += 1
    taken = {n.name for n in nodes if n.op == "input"}
    text: list[str] = []
    depth: list[int] = []  # how deep the brackets of text[i] nest
    lines: list[str] = []
    counter = 0
    for i, n in enumerate(nodes):
        d = 1 + max((depth[a] for a in n.args), default=0)
        if n.op == "input":
            s, d = n.name, 0
            if uses[i] == 0 and i != len(nodes) - 1:  # an input the result does not use: `t0 = y` keeps it an input
                while f"t{counter}" in taken:
                    counter += 1
                taken.add(f"t{counter}")
                lines.append(f"t{counter} = {n.name}")
        elif n.op == "const":  # copysign: -0.0 must be bracketed too, or `-0.0 ** x` would read as -(0.0 ** x)
            s, d = (repr(n.value), 0) if math.copysign(1.0, n.value) > 0 else (f"({n.value!r})", 1)
        elif n.op == "neg":
            s = f"(-{text[n.args[0]]})"
        elif n.op in BINARY:
            s = f"({text[n.args[0]]} {_SYMBOL[n.op]} {text[n.args[1]]})"
        else:
            s = f"{n.op}({text[n.args[0]]})"
        if (uses[i] > 1 or d > MAX_NESTING // 2) and n.op not in ("input", "const") and i != len(nodes) - 1:
            while f"t{counter}" in taken:
                counter += 1
            name = f"t{counter}"
            taken.add(name)
            lines.append(f"{name} = {_strip(s)}")
            s, d = name, 0
        text.append(s)
        depth.append(d)
    lines.append(_strip(text[-1]))
    return "; ".join(lines)


def _strip(s: str) -> str:
    return s[1:-1] if s.startswith("(") and s.endswith(")") and _balanced(s[1:-1]) else s


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


# --- building expressions from Python ---


class Sym:
    """A symbolic scalar: combine with numbers, operators and relu/tanh/exp/log/sigmoid, then Expression.build."""

    __slots__ = ("args", "name", "op", "value")

    def __init__(self, op: str, args: tuple[Sym, ...] = (), value: float = 0.0, name: str = ""):
        self.op, self.args, self.value, self.name = op, args, value, name

    @staticmethod
    def _lift(x: Sym | float) -> Sym:
        if isinstance(x, Sym):
            return x
        if isinstance(x, bool) or not isinstance(x, int | float) or not _is_finite(x):
            raise ExpressionError(f"cannot use {_short(x)} ({type(x).__name__}) in an expression; use a finite number or a Sym")
        return Sym("const", value=float(x))

    def _bin(self, op: str, other: Sym | float, reverse: bool = False) -> Sym:
        a, b = (Sym._lift(other), self) if reverse else (self, Sym._lift(other))
        return Sym(op, (a, b))

    def __add__(self, o: Sym | float) -> Sym:
        return self._bin("add", o)

    def __radd__(self, o: Sym | float) -> Sym:
        return self._bin("add", o, True)

    def __sub__(self, o: Sym | float) -> Sym:
        return self._bin("sub", o)

    def __rsub__(self, o: Sym | float) -> Sym:
        return self._bin("sub", o, True)

    def __mul__(self, o: Sym | float) -> Sym:
        return self._bin("mul", o)

    def __rmul__(self, o: Sym | float) -> Sym:
        return self._bin("mul", o, True)

    def __truediv__(self, o: Sym | float) -> Sym:
        return self._bin("div", o)

    def __rtruediv__(self, o: Sym | float) -> Sym:
        return self._bin("div", o, True)

    def __pow__(self, o: Sym | float) -> Sym:
        return self._bin("pow", o)

    def __rpow__(self, o: Sym | float) -> Sym:
        return self._bin("pow", o, True)

    def __neg__(self) -> Sym:
        return Sym("neg", (self,))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def var(name: str) -> Sym:
    """An input called `name` (a Python identifier that is not a function name)."""
    name = unicodedata.normalize("NFKC", name) if isinstance(name, str) else name
    if not isinstance(name, str) or not _NAME.match(name) or name in FUNCTIONS:
        raise ExpressionError(f"{name!r} cannot name an input: use an identifier like x or w_1, not {', '.join(FUNCTIONS)}")
    return Sym("input", name=name)


def _function(op: str) -> Callable[[Sym | float], Sym]:
    def apply(x: Sym | float) -> Sym:
        return Sym(op, (Sym._lift(x),))

    apply.__name__ = op
    apply.__doc__ = f"{op}(x) in an expression."
    return apply


relu, tanh, exp, log, sigmoid = (_function(op) for op in FUNCTIONS)
