"""The child process that imports a learner's engine and runs the checker's jobs on it (standard library only).

Run as `python -I learner.py TARGET CLASS BACKWARD`: it imports the learner's module, finds the constructor, the data
and grad attributes, the backward method and the MLP (in the engine's file or a module beside it) by duck typing,
reads what the source says where an error needs it (the children attribute backward reads and __init__ stores, the
`self.grad = ...` lines), and answers JSON jobs read from a private pipe, one line per job, on another (the
learner's own prints go to stdout and stderr). It never imports this project: learner code and
the checker share no process, so an endless loop or a crash ends here and the checker goes on.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import importlib
import importlib.util
import inspect
import io
import json
import os
import re
import sys
import textwrap
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATA_NAMES = ("data", "val", "value", "v", "x", "scalar", "item")
GRAD_NAMES = ("grad", "gradient", "grade", "g", "grads", "derivative", "d")
CHILDREN_NAMES = ("_prev", "_children", "children", "prev", "_parents", "parents", "_inputs", "inputs")
BACKWARD_NAMES = ("backward", "backprop", "full_backward", "backpropagate", "back_prop", "backward_pass", "backpropagation")
DUNDERS = {
    "add": "__add__", "radd": "__radd__", "sub": "__sub__", "rsub": "__rsub__", "mul": "__mul__", "rmul": "__rmul__",
    "div": "__truediv__", "rdiv": "__rtruediv__", "pow": "__pow__", "rpow": "__rpow__", "neg": "__neg__",
}  # fmt: skip
FUNCTION_NAMES = {
    "relu": ("relu", "ReLU", "Relu"), "tanh": ("tanh", "Tanh"), "exp": ("exp", "Exp"), "log": ("log", "ln", "Log"),
    "sigmoid": ("sigmoid", "Sigmoid", "sig"),
}  # fmt: skip
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a**b,
}  # fmt: skip
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}


class LoadError(Exception):
    """The target cannot be imported or used: one line saying why (the checker exits 2 with it)."""


class Engine:
    """The learner's Value class and the names discovered on it."""

    def __init__(self, target: str, class_name: str, backward_name: str):
        self.module, self.nn_module_name = _import_target(target)
        self.cls = _find_class(self.module, class_name)
        self.files = {os.path.realpath(f) for f in (_source_file(self.module), _source_file(self.cls)) if f}
        node = self.make(2.5)
        self.data_attr = _find_data(node)
        self.grad_attr = _find_grad(node, self.data_attr)
        self.children_attr = next((n for n in CHILDREN_NAMES if hasattr(node, n)), None)
        self.backward_name = _find_backward(self.cls, backward_name)
        self.ops = {op: _defined(self.cls, name) for op, name in DUNDERS.items()}
        self.functions: dict[str, str] = {}
        for op, names in FUNCTION_NAMES.items():
            found = next((n for n in names if _defined(self.cls, n)), None)
            if found:
                self.functions[op] = found
        self.ops.update({op: op in self.functions for op in FUNCTION_NAMES})
        self.ops["pow_value"] = self.ops["pow"] and _works(lambda: self.make(2.0) ** self.make(3.0))
        self.ops["zero_grad"] = _defined(self.cls, "zero_grad")

    def make(self, x: float) -> Any:
        try:
            return self.cls(x)
        except Exception as exc:
            name = self.cls.__name__
            raise LoadError(f"{name}({x}) raised {_exception(exc)}; the checker makes nodes as {name}(number)") from None

    def data(self, node: Any) -> float | str | None:
        return _number(getattr(node, self.data_attr, None))

    def grad(self, node: Any) -> float | str | None:
        return _number(getattr(node, self.grad_attr, None))

    def backward(self, root: Any) -> None:
        getattr(root, self.backward_name)()

    def where(self, name: str) -> str | None:
        """file:line where the class (or its bases) defines `name`."""
        for klass in self.cls.__mro__:
            if name in vars(klass):
                return _source_line(vars(klass)[name])
        return None

    def shadowing_lines(self) -> list[str]:
        """Lines that assign an instance attribute called like the backward method (`out.backward = ...`)."""
        found = []
        pattern = re.compile(rf"\.\s*{re.escape(self.backward_name)}\s*=(?!=)")
        for path in self.files:
            try:
                lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            found += [f"{_shown(path)}:{i}" for i, line in enumerate(lines, 1) if pattern.search(line)]
        return found

    def describe(self) -> dict[str, Any]:
        fresh = self.make(1.0)
        product = _try(lambda: self.make(2.0) * self.make(3.0))
        shadowed = any(self.backward_name in getattr(n, "__dict__", {}) for n in (fresh, product) if n is not None)
        class_names = [n for klass in self.cls.__mro__[:-1] for n in vars(klass)]
        functions = [n for n, v in vars(self.module).items() if callable(v)]
        expected = [*DUNDERS.values(), *(n for names in FUNCTION_NAMES.values() for n in names), "zero_grad", *BACKWARD_NAMES]
        candidates = [n for n in class_names + functions if n not in expected and not _is_standard(n)]
        hints = {}
        for op, present in self.ops.items():
            if not present and op in DUNDERS | FUNCTION_NAMES:
                wanted = DUNDERS.get(op) or FUNCTION_NAMES[op][0]
                close = difflib.get_close_matches(wanted, candidates, n=1, cutoff=0.7)
                if close:
                    hints[op] = f"there is a {close[0]}: did you mean {wanted}?"
        if not self.ops["div"] and "__div__" in class_names:
            hints["div"] = "__div__ is Python 2's name; Python 3 calls __truediv__ (and __rtruediv__)"
        where = {op: self.where(name) for op, name in {**DUNDERS, **self.functions}.items() if self.ops.get(op)}
        where["backward"] = self.where(self.backward_name)
        where["__eq__"] = self.where("__eq__") if "__eq__" in vars(self.cls) else None
        where["class"] = _source_line(self.cls)
        for op, wanted in {**DUNDERS, **{f: names[0] for f, names in FUNCTION_NAMES.items()}}.items():
            if not self.ops.get(op) and op not in hints:  # __tanh__ for tanh, backwardpropagation for backward, ...
                near = _near_name(wanted, candidates)
                if near:
                    hints[op] = f"there is a {near}: did you mean {wanted}? (the checker calls {_call_of(op, wanted)})"
        twins = (self.make(1.0), self.make(1.0))
        merged = _try(lambda: bool(twins[0] == twins[1]) and len({twins[0], twins[1]}) == 1) is True
        return {
            "merges_equal_data": merged,  # two nodes holding 1.0 are one set member: __eq__/__hash__ by data
            "class": self.cls.__name__,
            "module": self.module.__name__,
            "file": _shown(_source_file(self.cls) or _source_file(self.module) or "?"),
            "data": self.data_attr,
            "grad": self.grad_attr,
            "children": self.children_attr,
            "backward": self.backward_name,
            "ops": self.ops,
            "functions": self.functions,
            "where": where,
            "hints": hints,
            "shadowed": shadowed,
            "shadowing_lines": self.shadowing_lines() if shadowed else [],
            "nn": self.nn_module_name,
            "children_mismatch": _children_mismatch(self.cls, self.backward_name),
            "number_children": self.number_children(),
            "assignments": self.assignments(),
        }

    def number_children(self) -> dict[str, str] | None:
        """x**3's children hold the number 3 (`(self, other)` where `(self,)` belongs): the line that puts it there."""
        if not self.ops["pow"] or not self.children_attr:
            return None
        out = _try(lambda: self.make(2.0) ** 3)
        kids = _try(lambda: list(getattr(out, self.children_attr or "")))
        if not kids or all(isinstance(k, self.cls) for k in kids):
            return None
        method = vars(next(k for k in self.cls.__mro__ if "__pow__" in vars(k)))["__pow__"]
        params = list(inspect.signature(method).parameters)
        exponent = params[1] if len(params) > 1 else "other"
        pattern = re.compile(rf"\(\s*self\s*,\s*{re.escape(exponent)}\s*,?\s*\)")
        found = _find_line(method, lambda text: pattern.search(text) and not text.lstrip().startswith("def "))
        return {"where": found[0], "line": found[1], "exponent": exponent} if found else None

    def assignments(self) -> dict[str, dict[str, str]]:
        """For each op, the first line of its code that sets an input's gradient with `=` (`self.grad = ...`), not `+=`."""
        grad = re.escape(self.grad_attr)
        pattern = re.compile(rf"^\s*(?!out\b)[A-Za-z_]\w*(\[[^\]]*\])?\s*\.\s*{grad}\s*=(?!=)")
        found: dict[str, dict[str, str]] = {}
        for op, name in {**DUNDERS, **self.functions}.items():
            method = next((vars(k)[name] for k in self.cls.__mro__ if name in vars(k)), None) if self.ops.get(op) else None
            line = _find_line(method, pattern.search) if method is not None else None
            if line:
                found[op] = {"where": line[0], "line": line[1], "method": name}
        return found


# --- import and discovery ---


def _import_target(target: str) -> tuple[Any, str | None]:
    """Import `path/to/engine.py`, a folder holding engine.py, or `package.module`; also say where the MLP is."""
    path = Path(target)
    if path.is_dir():
        if not (path / "engine.py").is_file():
            raise LoadError(f"{target} is a folder without an engine.py; give the file, like {target}/engine.py:Value")
        path = path / "engine.py"
    if target.endswith(".py") or path.suffix == ".py":
        if not path.is_file():
            raise LoadError(f"there is no file {target}; give the path of your engine, like path/to/engine.py:Value")
        path = path.resolve()
        package_parts: list[str] = []
        folder = path.parent
        while (folder / "__init__.py").is_file():  # inside a package: import it as package.engine
            package_parts.insert(0, folder.name)
            folder = folder.parent
        sys.path[:0] = [str(folder)] + ([str(path.parent)] if package_parts else [])
        if not package_parts and _relative_imports(path):  # a package without __init__.py: import it as folder.engine
            package_parts, folder = [path.parent.name], path.parent.parent
            sys.path.insert(0, str(folder))
        name = ".".join([*package_parts, path.stem])
    else:
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", target):
            raise LoadError(f"{target!r} is neither a .py file, a folder nor a module name like package.engine")
        sys.path.insert(0, os.environ.get("CHECK_FOLDER") or os.getcwd())  # where the user started the check
        name = target
    top = name.partition(".")[0]
    if top in sys.modules or top in sys.stdlib_module_names:
        raise LoadError(f"{top} is the name of a module of Python's own; rename your {top}.py (or folder) to import it")
    try:
        module = importlib.import_module(name)
    except SyntaxError as exc:
        raise LoadError(_syntax_error(exc, name)) from None
    except BaseException as exc:  # SystemExit, KeyboardInterrupt from learner code too
        raise LoadError(f"importing {name} raised {_exception(exc)}{_at(exc)}") from None
    return module, _find_network(module)


def _relative_imports(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError):
        return False
    return any(isinstance(node, ast.ImportFrom) and node.level > 0 for node in ast.walk(tree))


NEWER_SYNTAX = ("f-string: expecting", "f-string: unmatched", "f-string expression part cannot include", "f-string: single")


def _syntax_error(exc: SyntaxError, name: str) -> str:
    """file:line and why; for syntax that only a newer Python reads (3.12's f-strings), which Python it needs."""
    where = f"{_shown(exc.filename or name)}:{exc.lineno}"
    if sys.version_info < (3, 12) and (exc.msg or "").startswith(NEWER_SYNTAX):
        this = f"{sys.version_info.major}.{sys.version_info.minor}"
        return (
            f"{where}: needs Python 3.12, this is {this} (an f-string that reuses its quotes, or holds a backslash or a "
            f"comment, is new in 3.12; {this} says: {exc.msg}); run the check under Python 3.12, or change that f-string"
        )
    return f"{where}: syntax error: {exc.msg}"


MLP_NAMES = re.compile(r"^class\s+(MLP|Mlp|MultiLayerPerceptron|NeuralNet(?:work)?|Network)\b", re.M)


def _network_class(module: Any) -> type | None:
    """The module's multi-layer perceptron: a class named like one (MLP first) that can be called."""
    classes = [v for n, v in vars(module).items() if isinstance(v, type) and MLP_NAMES.match(f"class {n}")]
    classes.sort(key=lambda c: c.__name__ != "MLP")
    return next((c for c in classes if _defined(c, "__call__")), None)


def _find_network(module: Any) -> str | None:
    """Where the MLP is, by duck typing: the engine's own module, else a module beside it whose source defines a class
    called MLP and is nn.py or imports the engine (read as text first: a module is imported only when it holds one)."""
    if _network_class(module) is not None:
        return str(module.__name__)
    file = _source_file(module)
    if not file:
        return None
    folder, prefix = Path(file).parent, module.__name__.rpartition(".")[0]
    beside = sorted(folder.glob("*.py"), key=lambda f: (f.name != "nn.py", f.name))
    for candidate in beside:
        if candidate.resolve() == Path(file).resolve() or candidate.name == "__init__.py":
            continue
        try:
            text = candidate.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        stem = re.escape(Path(file).stem)
        builds_on_engine = re.search(rf"^\s*(from\s+[\w.]*\b{stem}\s+import|import\s+[\w.]*\b{stem}\b)", text, re.M)
        if MLP_NAMES.search(text) and (candidate.name == "nn.py" or builds_on_engine):
            return ".".join(filter(None, [prefix, candidate.stem]))
    return None


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _find_class(module: Any, class_name: str) -> type:
    classes = {n: v for n, v in vars(module).items() if isinstance(v, type) and v.__module__ == module.__name__}
    if class_name:
        named = getattr(module, class_name, None)
        if isinstance(named, type):
            return named
        close = difflib.get_close_matches(class_name, list(classes), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f"; its classes: {', '.join(classes) or 'none'}"
        raise LoadError(f"{module.__name__} has no class {class_name}{hint}")
    value = getattr(module, "Value", None)
    if isinstance(value, type):
        return value
    engines = [c for c in classes.values() if _defined(c, "__add__") and _defined(c, "__mul__")]
    if len(engines) == 1:
        return engines[0]
    names = ", ".join(c.__name__ for c in engines) or "none with __add__ and __mul__"
    raise LoadError(f"{module.__name__} has no class Value; name yours after a colon, like engine.py:MyValue (classes: {names})")


def _find_data(node: Any) -> str:
    for name in DATA_NAMES:
        if _number(getattr(node, name, None)) == 2.5:
            return name
    for name, value in vars(node).items() if hasattr(node, "__dict__") else ():
        if _number(value) == 2.5:
            return str(name)
    raise LoadError(f"a new {type(node).__name__}(2.5) holds 2.5 in none of {', '.join(DATA_NAMES)} (nor any other attribute)")


def _find_grad(node: Any, data_attr: str) -> str:
    for name in GRAD_NAMES:
        if name != data_attr and hasattr(node, name) and not callable(getattr(node, name)):
            return name
    for name, value in vars(node).items() if hasattr(node, "__dict__") else ():
        if name != data_attr and _number(value) == 0.0:
            return str(name)
    raise LoadError(f"a new {type(node).__name__}(2.5) has none of the attributes {', '.join(GRAD_NAMES)} for its gradient")


def _find_backward(cls: type, requested: str) -> str:
    names = [requested] if requested else list(BACKWARD_NAMES)
    for name in names:
        if callable(getattr(cls, name, None)):
            return name
    methods = [n for n in dir(cls) if callable(getattr(cls, n, None)) and not _is_standard(n)]
    close = next((found for wanted in names if (found := _near_name(wanted, methods))), None)
    close = close or next(iter(difflib.get_close_matches(names[0], methods, n=1, cutoff=0.6)), None)
    hint = f"; did you mean {close}? (--backward {close})" if close else "; name it with --backward NAME"
    tried = requested or ", ".join(BACKWARD_NAMES)
    raise LoadError(f"{cls.__name__} has no backward method (looked for {tried}){hint}")


def _defined(cls: type, name: str) -> bool:
    return any(name in vars(klass) and vars(klass)[name] is not None for klass in cls.__mro__[:-1])


def _near_name(wanted: str, candidates: list[str]) -> str | None:
    """A name that is `wanted` misspelled, wrapped in underscores (__tanh__) or lengthened (backwardpropagation)."""
    bare = wanted.strip("_").lower()
    for name in candidates:
        other = name.strip("_").lower()
        if other == bare or (len(bare) >= 6 and other.startswith(bare)):
            return name
    close = difflib.get_close_matches(wanted, candidates, n=1, cutoff=0.7)
    return close[0] if close else None


def _call_of(op: str, name: str) -> str:
    return f"x.{name}()" if op in FUNCTION_NAMES else name


def _find_line(function: Any, matches: Callable[[str], Any]) -> tuple[str, str] | None:
    """('file:line', the line's text) of the first line of `function`'s source that `matches`."""
    function = getattr(function, "__func__", function)
    try:
        lines, first = inspect.getsourcelines(function)
        file = inspect.getsourcefile(function) or "?"
    except (TypeError, OSError):
        return None
    for offset, text in enumerate(lines):
        if matches(text):
            return f"{_shown(file)}:{first + offset}", text.strip()
    return None


CHILDREN_LIKE = re.compile(r"prev|child|parent|input|operand|src|_from|deps", re.I)


def _children_mismatch(cls: type, backward_name: str) -> dict[str, str] | None:
    """backward reads the children as one attribute (`v._prev`) while __init__ stores them as another (`self.prev`):
    both places, or None. Read from the source of the two methods (and the functions backward calls by name)."""
    init = next((vars(k)["__init__"] for k in cls.__mro__[:-1] if "__init__" in vars(k)), None)
    backward = getattr(cls, backward_name, None)
    written = _attributes(init, ast.Store, only_self=True)
    read = _attributes(backward, ast.Load)
    known = {n for k in cls.__mro__[:-1] for n in vars(k)}
    stray = {n: at for n, at in read.items() if CHILDREN_LIKE.search(n) and n not in written and n not in known}
    stored = {n: at for n, at in written.items() if CHILDREN_LIKE.search(n)}
    if not stray or not stored:
        return None
    (read_name, read_at), (written_name, written_at) = next(iter(stray.items())), next(iter(stored.items()))
    return {"read": read_name, "read_at": read_at, "written": written_name, "written_at": written_at}


def _attributes(function: Any, context: type, only_self: bool = False) -> dict[str, str]:
    """attribute name -> 'file:line' of its first use in `function`'s source, read (ast.Load) or written (ast.Store)."""
    function = getattr(function, "__func__", function)
    try:
        lines, first = inspect.getsourcelines(function)
        file = inspect.getsourcefile(function) or "?"
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (TypeError, OSError, SyntaxError):
        return {}
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, context) and node.attr not in found:
            if only_self and not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                continue
            found[node.attr] = f"{_shown(file)}:{first + node.lineno - 1}"
    return dict(sorted(found.items(), key=lambda item: int(item[1].rsplit(":", 1)[1])))


CLASS_INTERNALS = ("__dict__", "__weakref__", "__module__", "__qualname__", "__slots__", "__annotations__")


def _is_standard(name: str) -> bool:
    return name in vars(object) or name in CLASS_INTERNALS


def _works(make: Callable[[], Any]) -> bool:
    return _try(make) is not None


def _try(make: Callable[[], Any]) -> Any:
    try:
        return make()
    except Exception:
        return None


# --- small helpers ---


def _number(x: Any) -> float | str | None:
    """A float for anything float() takes (int, numpy scalar); None stays None; anything else as its type name."""
    if x is None:
        return None
    if isinstance(x, bool):
        return f"<bool {x}>"
    try:
        return float(x)
    except (TypeError, ValueError, OverflowError):
        return f"<{type(x).__name__}>"


def _exception(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _shown(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def _source_file(obj: Any) -> str | None:
    try:
        return inspect.getsourcefile(obj)
    except TypeError:  # a built-in or a class without a file
        return None


def _source_line(obj: Any) -> str | None:
    obj = getattr(obj, "fget", None) or getattr(obj, "__func__", None) or obj
    try:
        file = inspect.getsourcefile(obj)
        _, line = inspect.getsourcelines(obj)
    except (TypeError, OSError):
        return None
    return f"{_shown(file or '?')}:{max(line, 1)}"


def _at(exc: BaseException) -> str:
    """' at file:line in function', the innermost frame in the learner's code (not this file, not the stdlib)."""
    here = os.path.realpath(__file__)
    stdlib = os.path.realpath(os.path.dirname(os.__file__))

    def learners(filename: str) -> bool:
        real = os.path.realpath(filename)
        return real != here and not real.startswith(stdlib) and "<frozen" not in filename

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if learners(f.filename)]
    if not frames:
        return ""
    f = frames[-1]
    return f" at {_shown(f.filename)}:{f.lineno} in {f.name}"


# --- jobs ---


class Interpreter:
    """Runs the checker's expression nodes on the learner's Values; numbers are wrapped only where the engine
    cannot take them (and never in a strict job, whose point is whether it can)."""

    def __init__(self, engine: Engine, strict: bool):
        self.engine, self.strict = engine, strict
        self.wrapped: list[str] = []

    def binary(self, op: str, a: Any, b: Any) -> Any:
        number_a, number_b = not isinstance(a, self.engine.cls), not isinstance(b, self.engine.cls)
        if op == "pow" and number_b and float(b).is_integer():
            b = int(b)
        try:
            return BINARY[op](a, b)
        except Exception:
            if self.strict or not (number_a or number_b) or (op == "pow" and number_b):
                raise
        shown = f"{a if number_a else 'x'} {SYMBOLS[op]} {b if number_b else 'x'}"
        self.wrapped.append(shown)
        return BINARY[op](self.engine.make(a) if number_a else a, self.engine.make(b) if number_b else b)

    def neg(self, a: Any) -> Any:
        if self.engine.ops["neg"] or self.strict:
            return -a
        self.wrapped.append("-x as x * -1")
        return self.binary("mul", a, -1.0)

    def function(self, op: str, a: Any) -> Any:
        return getattr(a, self.engine.functions[op])()

    def run(self, nodes: list[list[Any]], leaves: dict[str, Any]) -> list[Any]:
        vals: list[Any] = []
        for op, args, value, name in nodes:
            if op == "input":
                vals.append(leaves[name])
            elif op == "const":
                vals.append(value)
            elif op == "neg":
                vals.append(self.neg(vals[args[0]]))
            elif op in BINARY:
                vals.append(self.binary(op, vals[args[0]], vals[args[1]]))
            else:
                vals.append(self.function(op, vals[args[0]]))
            if op not in ("input", "const") and not isinstance(vals[-1], self.engine.cls):
                got, name = vals[-1], self.engine.cls.__name__
                raise TypeError(f"the {SYMBOLS.get(op, op)} op returned {type(got).__name__} {_short(got)}, not a {name}")
        return vals


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) < 40 else text[:37] + "..."


def job_expr(engine: Engine, job: dict[str, Any]) -> dict[str, Any]:
    """Build the expression's graph, then run `steps` (backward, zero_grad, read) and report what each read saw."""
    interp = Interpreter(engine, job.get("strict", False))
    leaves = {name: engine.make(v) for name, v in job["inputs"].items()}
    if job.get("sum"):
        total = sum(leaves[name] for name in job["sum"])
        if not isinstance(total, engine.cls):
            raise TypeError(f"sum() returned {type(total).__name__}, not a {engine.cls.__name__}")
        vals = [total]
    else:
        vals = interp.run(job["nodes"], leaves)
    root: Any = vals[-1]
    reads = []
    for step in job.get("steps", ["backward", "read"]):
        if step == "backward":
            engine.backward(root)
        elif step == "zero_grad":
            root.zero_grad()
        elif step == "read":
            reads.append({"root": engine.grad(root), "grads": {n: engine.grad(leaf) for n, leaf in leaves.items()}})
    return {"value": engine.data(root), "reads": reads, "wrapped": interp.wrapped}


def job_deep(engine: Engine, job: dict[str, Any]) -> dict[str, Any]:
    """v = x + x + ... (depth additions), for each depth until one fails or takes longer than the budget."""
    results = []
    for depth in job["depths"]:
        started = time.perf_counter()
        x = engine.make(0.5)
        try:
            v = x
            for _ in range(depth):
                v = v + x
            engine.backward(v)
            results.append({"depth": depth, "ok": True, "error": None, "right": engine.grad(x) == depth + 1})
        except RecursionError as exc:
            results.append({"depth": depth, "ok": False, "error": f"RecursionError{_at(exc)}", "recursion": True})
        except Exception as exc:
            results.append({"depth": depth, "ok": False, "error": f"{_exception(exc)}{_at(exc)}"})
        v = x = None  # free the graph before the next one
        if not results[-1]["ok"]:
            break
        if time.perf_counter() - started > job.get("budget_s", 3.0):
            results[-1]["slow"] = True  # ten times deeper would take too long: stop here
            break
        _send({"kind": "progress", "depth": depth})
    return {"depths": results}


def _network_module(engine: Engine, job: dict[str, Any]) -> Any:
    """The module holding the MLP: the file the job names (--nn FILE), else the one discovery found."""
    file = job.get("nn_file")
    if not file:
        return importlib.import_module(engine.nn_module_name or "")
    path = Path(file).resolve()
    if not path.is_file():
        raise LoadError(f"there is no file {file} (--nn)")
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # for its own imports of modules beside it
    loaded = sys.modules.get(path.stem)
    if loaded is not None and os.path.realpath(getattr(loaded, "__file__", None) or "") == str(path):
        return loaded
    spec = importlib.util.spec_from_file_location(path.stem, path)  # by its path: another nn.py may be loaded already
    if spec is None or spec.loader is None:
        raise LoadError(f"{file} cannot be imported (--nn)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise LoadError(_syntax_error(exc, path.stem)) from None
    return module


def _network_call(mlp_class: type, nin: int, hidden: list[int], nout: int) -> tuple[tuple[Any, ...], list[int], str]:
    """How to build the MLP, as its constructor's signature reads: (arguments, the layer sizes they give, the call shown).
    MLP(nin, nouts) gets MLP(3, [4, 4, 1]); MLP(n_in, n_hidden, n_out) gets MLP(3, 4, 1), or MLP(3, [4, 4], 1) when
    its hidden argument is a list (a plural name or a list annotation)."""
    name = mlp_class.__name__
    try:
        parameters = list(inspect.signature(mlp_class).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) <= 2 <= len(positional):
        return (nin, [*hidden, nout]), [*hidden, nout], f"{name}({nin}, {[*hidden, nout]})"
    if len(required) == 3:
        second = required[1]
        annotation = str(second.annotation).lower()
        listed = second.name.endswith(("s", "sizes", "layers")) or "list" in annotation or "sequence" in annotation
        if listed:
            return (nin, list(hidden), nout), [*hidden, nout], f"{name}({nin}, {list(hidden)}, {nout})"
        return (nin, hidden[0], nout), [hidden[0], nout], f"{name}({nin}, {hidden[0]}, {nout})"
    shown = ", ".join(p.name for p in parameters) or "?"
    raise LoadError(
        f"{name}({shown}): the checker builds an MLP as {name}(nin, nouts), like {name}({nin}, {[*hidden, nout]}), "
        f"or {name}(n_in, n_hidden, n_out), like {name}({nin}, {hidden[0]}, {nout})"
    )


def job_nn_plan(engine: Engine, job: dict[str, Any]) -> dict[str, Any]:
    """Which MLP class will be built and how: {"call", "nouts", "file"}, or {"missing": why}."""
    module = _network_module(engine, job)
    mlp_class = _network_class(module)
    if mlp_class is None:
        return {"missing": f"{module.__name__} has no MLP class"}
    try:
        _, nouts, call = _network_call(mlp_class, job["nin"], list(job["hidden"]), job["nout"])
    except LoadError as exc:
        return {"missing": str(exc)}
    return {"call": call, "nouts": nouts, "file": _shown(_source_file(mlp_class) or "?")}


def job_nn(engine: Engine, job: dict[str, Any]) -> dict[str, Any]:
    """The MLP built as its signature reads, every parameter set in parameters() order, the outputs on each input, the
    loss sum(c_i * out_i), every parameter's gradient after backward, and after zero_grad()."""
    mlp_class = _network_class(_network_module(engine, job))
    if mlp_class is None:
        return {"missing": "no MLP class"}
    arguments, _, _ = _network_call(mlp_class, job["nin"], list(job["hidden"]), job["nout"])
    model = mlp_class(*arguments)
    params = getattr(model, "parameters", None)
    if params is None:
        close = difflib.get_close_matches("parameters", dir(model), n=1, cutoff=0.7)
        return {"missing": "MLP has no parameters()" + (f" (there is a {close[0]}: did you mean parameters?)" if close else "")}
    params = list(params())
    strangers = [p for p in params if not isinstance(p, engine.cls)]
    if strangers:  # e.g. nn.py imports another engine (an installed micrograd) than the one being checked
        kind = type(strangers[0])
        return {"missing": f"MLP's parameters are {kind.__module__}.{kind.__qualname__} objects, not {engine.cls.__name__} "
                f"from {_shown(_source_file(engine.cls) or '?')}: does nn.py import another engine?"}  # fmt: skip
    if len(params) != len(job["weights"]):
        return {"count": len(params)}
    for p, w in zip(params, job["weights"]):
        setattr(p, engine.data_attr, w)
    interp = Interpreter(engine, strict=False)
    outputs, loss = [], None
    for row, c in zip(job["X"], job["coefficients"]):
        out = model([float(v) for v in row])
        if isinstance(out, list | tuple):
            out = out[0]
        outputs.append(engine.data(out))
        term = interp.binary("mul", out, c)
        loss = term if loss is None else interp.binary("add", loss, term)
    engine.backward(loss)
    grads = [engine.grad(p) for p in params]
    zeroed = None
    if callable(getattr(model, "zero_grad", None)):
        model.zero_grad()
        zeroed = [engine.grad(p) for p in params]
    return {"outputs": outputs, "loss": engine.data(loss), "grads": grads, "zeroed": zeroed, "count": len(params)}


JOBS = {"expr": job_expr, "deep": job_deep, "nn": job_nn, "nn_plan": job_nn_plan}
_protocol: io.TextIOWrapper | None = None


def _send(message: dict[str, Any]) -> None:
    assert _protocol is not None
    _protocol.write(json.dumps(message, allow_nan=True) + "\n")
    _protocol.flush()


def _open_channel() -> tuple[io.TextIOWrapper, io.TextIOWrapper]:
    """The checker's private pipes, named by fd in the environment: replies out, jobs in (the engine's prints go to
    stdout and stderr, which the checker keeps apart; the checker rejects any line here that is not a reply)."""
    replies = io.TextIOWrapper(os.fdopen(int(os.environ.pop("CHECK_REPLY_FD")), "wb"), encoding="utf-8")
    jobs = io.TextIOWrapper(os.fdopen(int(os.environ.pop("CHECK_JOB_FD")), "rb"), encoding="utf-8")
    return replies, jobs


class _NotebookMagics:
    """What `get_ipython()` returns here: a notebook exported to .py keeps its magics as calls
    (`get_ipython().run_line_magic('matplotlib', 'inline')`, `.system('pip install ...')`); outside Jupyter they
    raise NameError at import. Here each one does nothing, so the engine in the file can be checked."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def main() -> None:
    global _protocol
    _protocol, jobs = _open_channel()
    target, class_name, backward_name = sys.argv[1:4]
    builtins.get_ipython = _NotebookMagics  # type: ignore[attr-defined]
    try:
        engine = Engine(target, class_name, backward_name)
        described = engine.describe()
    except LoadError as exc:
        _send({"kind": "load_error", "message": str(exc)})
        return
    except BaseException as exc:
        _send({"kind": "load_error", "message": f"discovering {target} raised {_exception(exc)}{_at(exc)}"})
        return
    _send({"kind": "ready", "discovery": described})
    for line in jobs:
        job = json.loads(line)
        try:
            reply = {"kind": "result", "ok": True, **JOBS[job["job"]](engine, job)}
        except RecursionError as exc:
            reply = {"kind": "result", "ok": False, "error": f"RecursionError{_at(exc)}", "recursion": True}
        except BaseException as exc:
            reply = {"kind": "result", "ok": False, "error": f"{_exception(exc)}{_at(exc)}"}
        _send(reply)


if __name__ == "__main__":
    main()
