"""Grading a learner's engine: every probe, then the catalog, random expressions and the network, each compared
with the reference (`reference`, the one place that says what the right answer is) and turned into a record:
probe, status (pass / fail / skip / info), expected, got, diagnosis, and where the learner's op is defined.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.expr import Expression, ExpressionError, Node, parse
from comparisons.check.probes import (
    CHECKS,
    EQ_WITHOUT_HASH,
    MERGED,
    OP_NAMES,
    OVERFLOW_TOLERATED,
    PROBES,
    REVERSE_OPS,
    Expected,
    Observed,
    Probe,
    error_cause,
    error_diagnosis,
    num,
    same,
)
from comparisons.check.session import DEADLINE_S, JOB_TIMEOUT_S, LearnerProcess

DEPTHS = (100, 500, 1_000, 5_000, 10_000, 100_000)
DEEP_TIMEOUT_S = 60.0
RANDOM_COUNT = 40
SHRINK_ATTEMPTS = 60
NN_SIZES = (3, (4, 4, 1))

TOLERATED = {
    OVERFLOW_TOLERATED: "exp(800) is beyond float range: math.exp raises OverflowError there, as your exp does "
    "(PyTorch and NumPy give inf); information, not a failure",
}
ROOT_FIRST = "every gradient is 0, as in `root grad seeded` above: fix that first"
TICK = "tick"  # a step that only moves the progress bar
Record = dict[str, Any]
Tick = Callable[[str], None]


def reference(expr: Expression, inputs: Mapping[str, float]) -> Expected:
    """The right answer: this project's micrograd (switch to comparisons.judge.truth here when it lands)."""
    import backends

    result = backends.get(backends.REFERENCE).value_and_grad(expr, dict(inputs))
    return Expected(result.value, result.grads)


@dataclass
class Report:
    """What `check` found: the discovery (names, ops, file:line of each) and one record per probe."""

    discovery: dict[str, Any]
    records: list[Record] = field(default_factory=list)
    failing_ops: set[str] = field(default_factory=set)  # ops a probe about them failed on: not listed as working

    @property
    def failed(self) -> bool:
        return any(r["status"] == "fail" for r in self.records)

    def counts(self) -> dict[str, int]:
        out = {"pass": 0, "fail": 0, "skip": 0, "info": 0}
        for r in self.records:
            out[r["status"]] += 1
        return out


NOT_JUDGED = "not judged against a certified truth (a structural, network or depth check): compared with micrograd"


def record(probe: str, status: str, expected: str = "", got: str = "", diagnosis: str = "", where: str | None = None) -> Record:
    """One row: status is pass, fail, skip or info; `checks` says what the probe is about. An expression probe's row
    also gets the verdict's class and why (Grader.compare); any other row says it is not judged against a truth."""
    checks = CHECKS.get(probe) or ("a catalog expression" if probe.startswith("catalog: ") else "a random expression")
    return {
        "probe": probe, "status": status, "expected": expected, "got": got, "diagnosis": diagnosis, "where": where or "",
        "checks": checks, "class": "undefined", "why": NOT_JUDGED,
    }  # fmt: skip


def plan_size(random_count: int) -> int:
    """How many ticks `check` makes (for a progress bar)."""
    return len(PROBES) + 4 + len(_catalog()) + random_count + 1


def check(
    target: str, class_name: str = "", backward: str = "", *, import_timeout: float = 30.0,
    job_timeout: float = JOB_TIMEOUT_S, random_count: int = RANDOM_COUNT, seed: int = 0, depths: Sequence[int] = DEPTHS,
    tick: Tick | None = None, timeout: float = DEADLINE_S, nn: str = "",
) -> Report:  # fmt: skip
    """Grade the engine at `target` (a file, folder or module), its MLP from `nn` (a file) or found beside it;
    TargetError if it cannot be loaded."""
    tick = tick or (lambda name: None)
    with LearnerProcess(target, class_name, backward, import_timeout, timeout) as learner:
        report = Report(learner.start())
        grader = Grader(learner, report.discovery, job_timeout, depths, nn)
        for step in grader.steps(random_count, seed):
            if step["status"] != TICK:
                report.records.append(step)
            tick(step["probe"])
        report.failing_ops = grader.failing_ops
    return report


class Grader:
    """Runs each probe on the learner's process and judges the answer; `steps` yields the records in table order."""

    def __init__(
        self, learner: LearnerProcess, discovery: dict[str, Any], job_timeout: float = JOB_TIMEOUT_S,
        depths: Sequence[int] = DEPTHS, nn: str = "",
    ):  # fmt: skip
        self.learner, self.discovery, self.job_timeout, self.depths = learner, discovery, job_timeout, tuple(depths)
        self.nn_file = str(Path(nn).resolve()) if nn else ""
        self.failing_ops: set[str] = set()
        self.ops: dict[str, bool] = discovery["ops"]
        self.deepest = math.inf
        self.root_broken = False  # backward() leaves every gradient 0: other probes then say so instead of guessing

    def where(self, op: str) -> str | None:
        where: str | None = self.discovery["where"].get(op)
        return where

    def missing(self, ops: Sequence[str]) -> str:
        """Why some of `ops` cannot run here ('' when all can), with a hint for a close misspelling."""
        absent = [op for op in ops if not self.ops.get(op, False)]
        hints = [self.discovery["hints"][op] for op in absent if op in self.discovery["hints"]]
        if not absent:
            return ""
        names = ", ".join(OP_NAMES.get(op, op) for op in absent)
        return f"your {self.discovery['class']} has no {names}" + (f" ({'; '.join(hints)})" if hints else "")

    def run(self, job: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        return self.learner.run(job, timeout or self.job_timeout)

    def expr_job(self, expr: Expression, inputs: Mapping[str, float], **options: Any) -> dict[str, Any]:
        nodes = [[n.op, list(n.args), n.value, n.name] for n in expr.nodes]
        return {"job": "expr", "nodes": nodes, "inputs": dict(inputs), **options}

    def steps(self, random_count: int, seed: int) -> Iterator[Record]:
        yield self.root_seeded()  # first: when every gradient is 0, the other probes point here
        deep = self.deep()  # before the catalog, which skips what is deeper than the engine can go
        for probe in PROBES:
            yield self.probe(probe)
        yield deep
        yield self.backward_twice()
        yield self.zero_grad()
        for case in _catalog():
            yield self.catalog_case(case)
        yield from self.random_expressions(random_count, seed)
        yield self.network()

    # --- the probes ---

    def probe(self, p: Probe) -> Record:
        expr = parse(p.source)
        want = reference(expr, p.inputs)
        expected = describe(want.value, want.grads)
        where = self.where(p.focus)
        skipped = self.missing(p.needs)
        if skipped:
            return record(p.name, "skip", expected, diagnosis=skipped)
        if p.reverse and not self.ops[p.reverse]:
            hint = self.discovery["hints"].get(p.reverse, "")
            method = REVERSE_OPS[p.reverse]
            why = f"your {self.discovery['class']} has no {method}: with a number on the left Python calls it" + (
                f" ({hint})" if hint else ""
            )
            return record(p.name, "fail", expected, "TypeError", why, self.where("class"))
        job = self.expr_job(expr, p.inputs, strict=p.strict)
        if p.sum_of:
            job["sum"] = list(p.sum_of)
        got = Observed.from_reply(self.run(job))
        shown = got.error or describe(got.value, got.grads)
        if got.error is None and agrees(got, want):
            return record(p.name, "pass", expected, shown)
        if p.tolerated and got.error and got.error.startswith(p.tolerated):
            return record(p.name, "info", expected, shown, TOLERATED.get(p.tolerated, ""), where)
        structural = self.structural(got)
        if structural:
            if structural[1] == (self.discovery.get("number_children") or {}).get("where"):
                self.failing_ops.add("pow")  # pow's own line; a renamed children attribute is backward's, no op's
            return record(p.name, "fail", expected, shown, *structural)
        diagnosis = self.diagnose(p, got, want)
        if diagnosis not in (ROOT_FIRST, MERGED, EQ_WITHOUT_HASH):  # those are about the class, not this op
            self.failing_ops.update(op for op in (p.reverse or p.focus,) if op in self.ops)
        if got.error and " at " in got.error:  # the line that raised (the innermost of the learner's frames)
            where = got.error.rsplit(" at ", 1)[1].rsplit(" in ", 1)[0]
        if diagnosis == EQ_WITHOUT_HASH and self.where("__eq__"):
            where = self.where("__eq__")
        assigned = self.assignment(p) if "self.grad = ..." in diagnosis else None
        if assigned:
            diagnosis, where = f"{diagnosis}: `{assigned['line']}` in {assigned['method']}", assigned["where"]
        return record(p.name, "fail", expected, shown, diagnosis, where)

    def assignment(self, p: Probe) -> dict[str, str] | None:
        """The `self.grad = ...` line of the op the probe is about (or of an op it uses) that should read `+=`."""
        found: dict[str, dict[str, str]] = self.discovery.get("assignments") or {}
        return next((found[op] for op in (p.focus, "mul", "add", *p.needs) if op in found), None)

    def line(self, where: str) -> str:
        """'line 12' for a line of the engine's own file, else the file:line as it is."""
        file = self.discovery.get("file", "")
        return "line " + where[len(file) + 1 :] if file and where.startswith(f"{file}:") else where

    def structural(self, got: Observed) -> tuple[str, str] | None:
        """(diagnosis, where) for an error that comes from how the graph is stored, whichever probe met it: backward
        reading the children under another name than __init__ stores them, or a number stored among the children."""
        if got.error is None:
            return None
        mismatch = self.discovery.get("children_mismatch")
        if mismatch and f"no attribute '{mismatch['read']}'" in got.error:
            return (
                f"backward reads the children as .{mismatch['read']} ({self.line(mismatch['read_at'])}) but __init__ "
                f"stores them as .{mismatch['written']} ({self.line(mismatch['written_at'])}): use one name in both places",
                mismatch["read_at"],
            )
        children, numbers = self.discovery.get("children"), self.discovery.get("number_children")
        if (
            numbers
            and children
            and re.search(rf"'(int|float)' object (has no attribute '{re.escape(children)}'|is not iterable)", got.error)
        ):
            return (
                f"__pow__ stores the exponent {numbers['exponent']}, a number, among the children: `{numbers['line']}`; "
                f"backward then looks for .{children} on a number. Only Values are children: (self,)",
                numbers["where"],
            )
        return None

    def diagnose(self, p: Probe, got: Observed, want: Expected) -> str:
        """An exception that names its cause; else the probe's own diagnosis; else what any exception or difference says."""
        if self.root_broken and got.error is None and all(same(g, 0.0) for g in got.grads.values()):
            return ROOT_FIRST
        if self.discovery.get("merges_equal_data") and got.error is None:
            return MERGED
        return error_cause(got) or p.diagnose(got, want) or error_diagnosis(got) or differences(got, want)

    def root_seeded(self) -> Record:
        name, expr, inputs = "root grad seeded", parse("x*y"), {"x": 2.0, "y": 3.0}
        want = reference(expr, inputs)
        expected = "root grad 1; " + describe(None, want.grads)
        if self.missing(("mul",)):
            return record(name, "skip", expected, diagnosis=self.missing(("mul",)))
        got = Observed.from_reply(self.run(self.expr_job(expr, inputs)))
        if got.error:
            structural = self.structural(got)
            if structural:
                return record(name, "fail", expected, got.error, *structural)
            why = self.shadow_diagnosis() or error_diagnosis(got) or ""
            return record(name, "fail", expected, got.error, why, self.where("backward"))
        shown = f"root grad {num(got.reads[0]['root'])}; " + describe(None, got.grads)
        if same(got.reads[0]["root"], 1.0) and agrees(got, want, value=False):
            return record(name, "pass", expected, shown)
        diagnosis = self.shadow_diagnosis()
        self.root_broken = all(same(g, 0.0) for g in got.grads.values())
        if not diagnosis and self.root_broken:
            diagnosis = "every gradient is 0: backward() never sets the root's gradient to 1 (self.grad = 1.0) before the loop"
        return record(
            name, "fail", expected, shown, diagnosis or "the root's gradient must be 1, and d(x*y)/dx = y", self.where("backward")
        )

    def shadow_diagnosis(self) -> str:
        d = self.discovery
        if not d["shadowed"]:
            return ""
        found = d["shadowing_lines"]
        lines = ", ".join(found[:2]) + (f" and {len(found) - 2} more" if len(found) > 2 else "") if found else "an op"
        return (
            f"calling .{d['backward']}() ran an instance attribute, not your method: {lines} stores a node's closure under "
            f"the method's name, which hides the method; call the closures _backward"
        )

    def backward_twice(self) -> Record:
        name, expr, inputs = "backward twice", parse("a = x*x; a*3"), {"x": 2.0}
        if self.missing(("mul",)):
            return record(name, "skip", diagnosis=self.missing(("mul",)))
        got = Observed.from_reply(self.run(self.expr_job(expr, inputs, steps=["backward", "read", "backward", "read"])))
        if got.error:
            return record(name, "info", "12, then 24 or 36", got.error, "the second backward() call raised")
        first, second = (read["grads"]["x"] for read in got.reads)
        meanings = {
            12.0: "backward() starts every gradient from 0 itself, so a second call gives the same answer",
            24.0: "leaves add up, intermediate nodes start again (PyTorch with retain_graph=True does the same); "
            "reset the grads between steps (zero_grad)",
            36.0: "the intermediate node a = x*x kept its gradient from the first call, so the second call added it "
            "again: 3x, not 2x (the original micrograd does this); set every grad to 0 before each backward()",
        }
        meaning = meanings.get(second, "neither 12 (reset), 24 (leaves accumulate) nor 36 (every node accumulates)")
        if first != 12.0:
            meaning = f"the first call already gave {num(first)}, not 12 (see the probes above)"
        return record(
            name, "info", "d/dx 12 after one call", f"{num(first)}, then {num(second)}", meaning, self.where("backward")
        )

    def zero_grad(self) -> Record:
        name, expr, inputs = "zero_grad", parse("a = x*x; a*3"), {"x": 2.0}
        expected = "0 after zero_grad(), then d/dx 12"
        if self.missing(("mul", "zero_grad")):
            return record(name, "skip", expected, diagnosis=self.missing(("mul", "zero_grad")))
        steps = ["backward", "zero_grad", "read", "backward", "read"]
        got = Observed.from_reply(self.run(self.expr_job(expr, inputs, steps=steps)))
        if got.error:
            return record(name, "fail", expected, got.error, f"zero_grad() {error_diagnosis(got)}", self.where("zero_grad"))
        zeroed, again = got.reads[0]["grads"]["x"], got.reads[1]["grads"]["x"]
        shown = f"{num(zeroed)} after zero_grad(), then d/dx {num(again)}"
        if same(zeroed, 0.0) and same(again, 12.0):
            return record(name, "pass", expected, shown)
        if not same(zeroed, 0.0):
            why = "zero_grad() left x's gradient as it was: it must reset every node the root was computed from"
        else:
            why = "zero_grad() reset x but not the intermediate node a = x*x, whose old gradient was added again"
        return record(name, "fail", expected, shown, why, self.where("zero_grad"))

    def deep(self) -> Record:
        name = "deep chain"
        if self.missing(("add",)):
            return record(name, "skip", diagnosis=self.missing(("add",)))
        job: dict[str, Any] = {"job": "deep", "depths": list(self.depths)}
        reply = self.run(job, DEEP_TIMEOUT_S)
        done = [message["depth"] for message in self.learner.progress]
        results = reply.get("depths") or [  # the process died or hung: the depths it reported, then the one it was on
            *({"depth": d, "ok": True} for d in done),
            {"depth": self.depths[len(done)], "ok": False, "error": reply.get("error", "failed")},
        ]
        good = [r["depth"] for r in results if r["ok"]]
        bad = next((r for r in results if not r["ok"]), None)
        deepest = max(good, default=0)
        wrong = " (with a wrong gradient: see the probes)" if any(r.get("right") is False for r in results) else ""
        expected = f"x + x + ... up to {self.depths[-1]:,} deep"
        if bad is None:
            slow = " (deeper ones were not tried: this one took over 3 s)" if results[-1].get("slow") else ""
            return record(name, "info", expected, f"{deepest:,} deep works", f"{deepest:,} additions deep runs{wrong}{slow}")
        self.deepest = deepest
        error, _, at = bad["error"].partition(" at ")
        got = f"works to {deepest:,}; {bad['depth']:,} fails: {error}"
        if bad.get("recursion") or "RecursionError" in error or "SIGSEGV" in error:
            why = (
                f"deepest that works: {deepest:,}. The topological sort recurses once per node and Python stops at about "
                "1,000 nested calls (the original micrograd too), so a loss summed over 1,000 samples fails; an explicit "
                "stack (a list you push to and pop from) has no limit"
            )
        elif "within" in error:
            why = f"deepest that works in time: {deepest:,}"
        else:
            why = f"deepest that works: {deepest:,}"
        return record(name, "info", expected, got, why + wrong, at or self.where("backward"))

    # --- the catalog and random expressions ---

    def needed_ops(self, expr: Expression) -> list[str]:
        needed: list[str] = []
        for n in expr.nodes:
            op = n.op
            if op == "pow" and expr.nodes[n.args[1]].op != "const":
                op = "rpow" if expr.nodes[n.args[0]].op == "const" else "pow_value"
            if op not in ("input", "const") and op not in needed:
                needed.append(op)
        return needed

    def compare(self, name: str, expr: Expression, inputs: Mapping[str, float]) -> Record:
        """A pass or fail record: the learner's engine against the reference on one expression, with the class and
        why the one verdict (comparisons.judge.verdict) gives its numbers against the truth: a number that is the
        truth passes even where micrograd's is off."""
        want = reference(expr, inputs)
        got = Observed.from_reply(self.run(self.expr_job(expr, inputs)))
        judged = judged_against_truth(expr, inputs, got, want)
        expected = describe(want.value, want.grads)
        if got.error is None and (agrees(got, want) or judged["class"] == "accurate"):
            return {**record(name, "pass", expected, describe(got.value, got.grads), f"at {_inputs(inputs)}"), **judged}
        source = "; ".join(line.strip() for line in expr.source.strip().splitlines())
        structural = self.structural(got)
        if structural:
            return {**record(name, "fail", expected, got.error or "", f"{source}: {structural[0]}", structural[1]), **judged}
        if got.error:
            return {**record(name, "fail", expected, got.error, f"{source}: {error_diagnosis(got)}"), **judged}
        return {**record(name, "fail", expected, describe(got.value, got.grads), f"{source}: {differences(got, want)}"), **judged}

    def catalog_case(self, case: Any) -> Record:
        name = f"catalog: {case.name}"
        expr = case.expression
        skipped = self.missing(self.needed_ops(expr))
        if skipped:
            return record(name, "skip", diagnosis=skipped)
        if depth(expr) > self.deepest:
            return record(name, "skip", diagnosis=f"{depth(expr):,} ops deep, deeper than your engine goes (see deep chain)")
        return self.compare(name, expr, case.inputs)

    def random_expressions(self, count: int, seed: int) -> Iterator[Record]:
        ops = [op for op in RANDOM_OPS if self.ops.get(op)]
        if not ops or count == 0:
            yield record("random expressions", "skip", diagnosis="no ops to combine" if count else "--random 0")
            return
        rng = random.Random(seed)
        failures: list[Record] = []
        for k in range(count):
            expr, inputs = random_expression(rng, ops)
            result = self.compare(f"random #{k + 1}", expr, inputs)
            if result["status"] == "fail":
                failures.append(self.shrink(result, expr, inputs) if len(failures) < 3 else result)
            if k < count - 1:
                yield {"probe": f"random #{k + 1}", "status": TICK}
        if failures:
            yield from failures[:3]
            if len(failures) > 3:
                yield record(
                    "random expressions", "fail", f"{count} agree", f"{len(failures)} of {count} differ", "3 shown above"
                )
        else:
            yield record("random expressions", "pass", f"{count} agree", f"{count} of {count} agree", f"ops: {', '.join(ops)}")

    def shrink(self, failed: Record, expr: Expression, inputs: Mapping[str, float]) -> Record:
        """The smallest sub-expression (replacing a node by one of its arguments, repeatedly) that still fails."""
        attempts = 0
        improved = True
        while improved and attempts < SHRINK_ATTEMPTS:
            improved = False
            for smaller in simplifications(expr):
                attempts += 1
                kept = {k: v for k, v in inputs.items() if k in smaller.inputs}
                if not _tame(smaller, kept):
                    continue
                again = self.compare(failed["probe"], smaller, kept)
                if again["status"] == "fail":
                    expr, inputs, failed, improved = smaller, kept, again, True
                    break
                if attempts >= SHRINK_ATTEMPTS:
                    break
        failed["diagnosis"] += f" (shrunk; at {_inputs(inputs)})"
        return failed

    # --- the network ---

    def network(self) -> Record:
        name = "nn: MLP(3, [4, 4, 1])"
        if not self.discovery.get("nn") and not self.nn_file:
            return record(
                name,
                "skip",
                diagnosis="no MLP class in the engine's file nor in a module beside it; name its file with --nn FILE",
            )
        from micrograd.engine import Value
        from micrograd.nn import MLP

        nin, sizes = NN_SIZES
        asked = {"nin": nin, "hidden": list(sizes[:-1]), "nout": sizes[-1], "nn_file": self.nn_file}
        plan = self.run({"job": "nn_plan", **asked}, 30.0)
        if not plan.get("ok"):
            error, _, at = plan.get("error", "").partition(" at ")
            return record(name, "fail", "", error, f"importing the MLP's module raised {error}", at)
        if "missing" in plan:
            return record(name, "skip", diagnosis=plan["missing"])
        nouts, call = plan["nouts"], plan["call"]
        rng = random.Random(7)
        shape = MLP(nin, list(nouts), seed=0).export_weights()
        nested = [[[rng.uniform(-1, 1) for _ in row] for row in layer] for layer in shape]
        weights = [w for layer in nested for row in layer for w in row]
        X = [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(5)]
        coefficients = [rng.uniform(-1, 1) for _ in X]
        job = {"job": "nn", **asked, "weights": weights, "X": X, "coefficients": coefficients}
        reply = self.run(job, 30.0)
        if not reply.get("ok"):
            error, _, at = reply.get("error", "").partition(" at ")
            return record(name, "fail", call, error, f"building, running or differentiating {call} raised {error}", at)
        if "missing" in reply:
            return record(name, "skip", diagnosis=reply["missing"])
        if reply.get("count") != len(weights) or "outputs" not in reply:
            return record(
                name, "fail", f"{len(weights)} parameters", f"{reply.get('count')} parameters",
                f"{call}: parameters() must return every weight and bias of every neuron",
            )  # fmt: skip
        for activation in ("relu", "tanh"):
            model = MLP.from_weights(nested, activation=activation)
            outputs = [out if isinstance(out := model(row), Value) else out[0] for row in X]
            if all(same(g, o.data) for g, o in zip(reply["outputs"], outputs)):
                break
        else:
            return record(
                name, "fail", "the outputs of relu or tanh hidden layers and a linear last layer",
                ", ".join(num(v) for v in reply["outputs"]), "the outputs match neither activation: check Neuron.__call__",
            )  # fmt: skip
        loss = Value(0.0)
        for c, o in zip(coefficients, outputs):
            loss = loss + c * o
        loss.backward()
        want = [p.grad for p in model.parameters()]
        wrong = [i for i, (g, w) in enumerate(zip(reply["grads"], want)) if not same(g, w)]
        expected = f"{activation} hidden layers, loss {num(loss.data)}, {len(want)} gradients"
        got = f"loss {num(reply['loss'])}, {len(want) - len(wrong)} of {len(want)} gradients agree"
        if not same(reply["loss"], loss.data) or wrong:
            return record(name, "fail", expected, got, f"parameter gradients differ (the first: #{wrong[0] if wrong else '-'})")
        if reply["zeroed"] is not None and not all(same(g, 0.0) for g in reply["zeroed"]):
            return record(
                name, "fail", "every grad 0 after zero_grad()", got, "MLP.zero_grad() must set every parameter's grad to 0"
            )
        return record(name, "pass", expected, got, f"{call} in {plan['file']}: activation identified as {activation}")


# --- helpers ---


LEARNER = "your engine"


def judged_against_truth(expr: Expression, inputs: Mapping[str, float], got: Observed, want: Expected) -> Record:
    """{"class", "why"} of the learner's numbers on `expr` (the worst of its value and gradients), from the one
    verdict, with micrograd's numbers beside them as the other backend."""
    from comparisons.judge import verdict

    mine: dict[str, float] | str
    if got.error is not None:
        mine = got.error
    else:
        numbers = {"value": got.value, **{f"grad:{k}": got.grads.get(k) for k in want.grads}}
        if not all(isinstance(v, float | int) and not isinstance(v, bool) for v in numbers.values()):
            return {"class": "unexplained", "why": "your engine did not give a number for every quantity"}
        mine = {k: float(v) for k, v in numbers.items()}
    reference_numbers = {"value": want.value, **{f"grad:{k}": v for k, v in want.grads.items()}}
    records = [r for r in verdict.judge(expr, dict(inputs), "float64", {LEARNER: mine, "micrograd": reference_numbers})
               if r["backend"] == LEARNER]  # fmt: skip
    worst = max(records, key=lambda r: verdict.SEVERITY.index(r["class"]))
    return {"class": worst["class"], "why": worst["why"]}


def agrees(got: Observed, want: Expected, value: bool = True) -> bool:
    return (not value or same(got.value, want.value)) and all(same(got.grads.get(k), v) for k, v in want.grads.items())


def differences(got: Observed, want: Expected) -> str:
    """'d/dy is 0, should be -1' for every quantity that differs."""
    parts = [] if same(got.value, want.value) else [f"the value is {num(got.value)}, should be {num(want.value)}"]
    parts += [
        f"d/d{k} is {num(got.grads.get(k))}, should be {num(v)}" for k, v in want.grads.items() if not same(got.grads.get(k), v)
    ]
    return "; ".join(parts)


def describe(value: Any, grads: Mapping[str, Any]) -> str:
    parts = [] if value is None else [num(value)]
    parts += [f"d/d{k} {num(v)}" for k, v in grads.items()]
    return "; ".join(parts)


def _inputs(inputs: Mapping[str, float]) -> str:
    return " ".join(f"{k}={v:g}" for k, v in inputs.items())


def depth(expr: Expression) -> int:
    """The longest path from an input to the result, in ops."""
    level: list[int] = []
    for n in expr.nodes:
        level.append(1 + max((level[a] for a in n.args), default=-1) if n.args else 0)
    return level[-1]


def _catalog() -> tuple[Any, ...]:
    from comparisons.judge.catalog import CATALOG

    return CATALOG


RANDOM_OPS = ("add", "sub", "mul", "div", "pow", "neg", "relu", "tanh", "exp", "log", "sigmoid")


def random_expression(rng: random.Random, ops: Sequence[str]) -> tuple[Expression, dict[str, float]]:
    """A random expression over `ops` (each op the engine has), with inputs where every op is smooth and finite."""
    while True:
        names = ("x", "y", "z")
        inputs = {name: round(rng.uniform(0.3, 1.7) * rng.choice((1, -1)), 3) for name in names}
        nodes: list[Node] = [Node("input", name=name) for name in names]
        for _ in range(rng.randint(2, 7)):
            op = rng.choice(ops)
            a = rng.randrange(len(nodes))
            if op in ("relu", "tanh", "exp", "log", "sigmoid", "neg"):
                nodes.append(Node(op, (a,)))
            elif op == "pow":
                nodes.append(Node("const", value=rng.choice((2.0, 3.0, -1.0))))
                nodes.append(Node("pow", (a, len(nodes) - 1)))
            elif rng.random() < 0.25:
                nodes.append(Node("const", value=rng.choice((2.0, -1.5, 0.5))))
                pair = (a, len(nodes) - 1) if rng.random() < 0.5 else (len(nodes) - 1, a)
                nodes.append(Node(op, pair))
            else:
                nodes.append(Node(op, (a, rng.randrange(len(nodes)))))
        try:
            expr = _expression(nodes)
        except ExpressionError:
            continue
        kept = {k: v for k, v in inputs.items() if k in expr.inputs}
        if _tame(expr, kept):
            return expr, kept


def _expression(nodes: list[Node]) -> Expression:
    """The nodes as a parsed expression: unused nodes dropped, constant parts folded."""
    return parse(str(Expression(tuple(nodes))))


def _tame(expr: Expression, inputs: Mapping[str, float]) -> bool:
    """Every intermediate value finite, below 1e6 and away from relu's kink, log's and division's poles."""
    from backends.micrograd_backend import FUNCTIONS
    from micrograd.engine import Value

    try:
        values = expr.evaluate_all({name: Value(inputs[name]) for name in expr.inputs}, FUNCTIONS, Value)
        want = reference(expr, inputs)
    except (ArithmeticError, ValueError):
        return False
    data = [v if isinstance(v, float) else v.data for v in values]
    for n in expr.nodes:
        if (n.op in ("relu", "log") and abs(data[n.args[0]]) < 1e-3) or (n.op == "log" and data[n.args[0]] <= 0):
            return False
        if n.op in ("div", "pow") and abs(data[n.args[1] if n.op == "div" else n.args[0]]) < 1e-3:
            return False
    numbers = [*data, want.value, *want.grads.values()]
    return all(math.isfinite(v) and abs(v) < 1e6 for v in numbers)


def simplifications(expr: Expression) -> Iterator[Expression]:
    """Each expression made by replacing one op node with one of its (non-constant) arguments."""
    nodes = expr.nodes
    for i, n in enumerate(nodes):
        for a in n.args:
            if nodes[a].op == "const":
                continue
            replaced = [Node(m.op, tuple(a if x == i else x for x in m.args), m.value, m.name) for m in nodes]
            if i == len(nodes) - 1:
                replaced = replaced[: a + 1]
            try:
                yield _expression(replaced)
            except ExpressionError:
                continue
