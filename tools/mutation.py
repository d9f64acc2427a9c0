"""`make mutation`: mutmut over the engine, the adapters and the judge, one group of modules at a time, each with the
few test files that exercise it, so that one mutant costs seconds. Prints the score per group and in total, and every
survivor with its diff.

mutmut takes one test selection per project, so each group runs in a folder of its own, .mutation/GROUP: a copy of
the packages and tests/, and a pyproject.toml whose [tool.mutmut] names the group's files and tests (the rest of the
settings come from the repository's [tool.mutmut]). Within a group mutmut runs, for each mutant, only the tests that
called the mutated function. A group resumes where it stopped: each run copies the repository's files in again, and
mutmut keeps the result of every mutant whose function (and callers) are unchanged (it hashes each function) and
tests the rest; a change of the group's test selection in GROUPS starts the group over, as `--fresh` does. A kill
stands when tests are added; a survivor is rerun against the tests as they are now by --recheck. Hypothesis runs its
derandomized `ci` profile (tests/conftest.py), so a mutant meets the same examples as `make test`.

    python tools/mutation.py                  every group
    python tools/mutation.py dtypes rules     those groups
    python tools/mutation.py --report         the last results only, nothing run
    python tools/mutation.py --recheck rules  the last run's survivors again, against the tests as they are now

--recheck is for the tests written to kill survivors: it copies tests/ into the group's folder and runs the group's
tests once per survivor with that mutant switched on (mutmut's MUTANT_UNDER_TEST), recording a kill in mutmut's
results; everything else stands. (A plain run would not: it keeps the result of every unchanged function.)
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import difflib
import fnmatch
import functools
import json
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
COPIED = ("micrograd", "backends", "comparisons", "tests")  # what a group's folder holds (and pyproject.toml)


@dataclass(frozen=True)
class Group:
    """Source files to mutate (globs, as mutmut's only_mutate), the test files that exercise them, and how mutmut
    starts each mutant's tests: "fork" (fast) where the tests load no framework, "forkserver" (the repository's
    setting) where jax or torch run, whose threads make a plain fork deadlock."""

    sources: tuple[str, ...]
    tests: tuple[str, ...]
    isolation: str = "forkserver"


GROUPS: dict[str, Group] = {
    "dtypes": Group(
        ("comparisons/judge/dtypes.py",),
        ("tests/test_dtypes.py", "tests/test_accuracy.py", "tests/test_rules.py"),
    ),
    "agreement": Group(
        ("comparisons/judge/agreement.py",), ("tests/test_agreement.py", "tests/test_gradients.py", "tests/test_truth.py")
    ),
    "rules": Group(("comparisons/judge/rules.py",), ("tests/test_rules.py", "tests/test_rule_edges.py", "tests/test_dtypes.py")),
    "verdict": Group(("comparisons/judge/verdict.py",), ("tests/test_verdict.py", "tests/test_gradients.py")),
    "truth": Group(
        ("comparisons/judge/truth.py",), ("tests/test_truth.py", "tests/test_truth_edges.py", "tests/test_accuracy.py")
    ),
    "engine": Group(
        ("micrograd/engine.py", "micrograd/nn.py"),
        ("tests/test_engine.py", "tests/test_engine_edges.py", "tests/test_nn.py"),
        "fork",
    ),
    "expr": Group(("backends/expr.py",), ("tests/test_expr.py",), "fork"),
    "backends": Group(
        (
            "backends/__init__.py",
            "backends/base.py",
            "backends/micrograd_backend.py",
            "backends/torch_backend.py",
            "backends/jax_backend.py",
            "backends/tinygrad_backend.py",
            "backends/training.py",
        ),
        ("tests/test_backends.py", "tests/test_training.py"),
    ),
}
KILLED = {"killed", "timeout", "caught by type check", "segfault"}  # the tests noticed the mutant
# mutmut's exit codes per mutant (mutmut/stats.py)
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout"}
STATUS |= {37: "caught by type check", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", -11: "segfault"}
STATUS |= {-9: "segfault"}

# Mutants that no test can kill, because they change no result: name -> why. A name that no longer survives (the
# source moved, mutmut renumbered) is reported as stale, so the list is kept honest.
EQUIVALENT: dict[str, str] = {
    "comparisons.judge.dtypes.x_round_to__mutmut_10": "`value == 1` for `value == 0` in the early return: 1.0 is "
    "exact in float32 either way, and 0 and -0.0 scale to themselves (copysign keeps -0.0)",
    "comparisons.judge.dtypes.x_round_to__mutmut_12": "`>` for `>=` FLOAT32_OVERFLOW: 2**128 itself scales to 2**128, "
    "which the overflow check after rounding turns into inf",
    "comparisons.judge.dtypes.x_literals_in__mutmut_30": "a literal's node rebuilt without its name: a const node's "
    'name is "", Node\'s default',
    "comparisons.judge.rules.x__python_op__mutmut_81": "inf / copysign(1.0, y) for inf * copysign(1.0, y): dividing "
    "by +-1 is multiplying",
    "comparisons.judge.rules.x__python_op__mutmut_90": "copysign(2.0, y) for copysign(1.0, y) times inf: the same inf",
    "comparisons.judge.rules.x__python_op__mutmut_9": "the second argument of a one-argument op, which it never reads",
    "comparisons.judge.rules.x__python_pow__mutmut_23": "`x <= 0` for `x < 0` after an OverflowError: 0 to any power "
    "never overflows (0 to a negative power is math.pow's ValueError)",
    "comparisons.judge.rules.x_explain_error__mutmut_28": "error.split(':') for error.split(':', 1): the text before "
    "the first colon is the same",
    "comparisons.judge.rules.x_explain_error__mutmut_31": "error.split(':', 2): as x_explain_error__mutmut_28",
    "comparisons.judge.truth.x__round_raw__mutmut_12": "`>=` for `>` overflow + 1: a number of 2**1024 or more "
    "rounds to inf either way (the early return, or _finish_rounding's overflow)",
    "comparisons.judge.truth.x__round_raw__mutmut_14": "`overflow + 2`: the numbers it no longer returns early for "
    "round to inf in _finish_rounding",
    "comparisons.judge.truth.x__round_raw__mutmut_18": "`<=` for `<` min_exp - 1: a number below half the smallest "
    "subnormal rounds to a zero of its sign either way",
    "comparisons.judge.truth.x__round_raw__mutmut_20": "`min_exp - 2`: the numbers it no longer returns early for "
    "round to a zero of their sign anyway",
    "comparisons.judge.truth.xǁ_Passǁincreasing__mutmut_8": "17 guard bits for 16: the enclosure stays rigorous "
    "(directed rounding) and as tight (it is widened by a unit of the precision after)",
    "comparisons.judge.truth.xǁ_Passǁincreasing__mutmut_42": "tanh (the one function without a `beyond`) evaluated at "
    "x > CAP instead of at CAP: both round down to the same number just below 1",
    "comparisons.judge.truth.xǁ_Passǁincreasing__mutmut_66": "tanh at x < -CAP instead of at -CAP: both round up to "
    "the same number just above -1 (see increasing__mutmut_42)",
    "comparisons.judge.truth.xǁ_Passǁincreasing__mutmut_49": "_widen(..., -2): _widen reads only the direction's sign",
    "comparisons.judge.truth.xǁ_Passǁincreasing__mutmut_72": "_widen(..., 2): _widen reads only the direction's sign",
    "comparisons.judge.agreement.x_close__mutmut_1": "`and` for `or` in close's nan test: one nan then fails the "
    "infinity test and the distance test (nan compares false), so it is still not close",
    "comparisons.judge.truth.x__subgraph__mutmut_9": "range(i, -2, -1) visits k = -1 too, which is never among the "
    "live nodes (they are indices from 0)",
    "comparisons.judge.truth.x__text__mutmut_2": "65 bits for 64 before printing three digits: the same digits",
    "comparisons.judge.truth.x__text_number__mutmut_2": "65 bits for 64 before printing three digits: the same digits",
    "comparisons.judge.truth.x__widen__mutmut_26": "`direction >= 0` for `> 0`: the direction is -1 or 1, never 0",
    "comparisons.judge.truth.x__widen__mutmut_30": "17 guard bits for 16 in the widened end's rounding: still outward, "
    "still within the last of the precision's bits",
    "comparisons.judge.truth.xǁ_Passǁdpow_dbase__mutmut_16": "`above_one >= 0` for `> 0`: 0 has returned just before",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_14": "`sb <= 0` for `sb < 0` after 0**0 has raised: the same",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_39": "which of two rigorous enclosures a power of exactly 2**32 "
    "takes (mpmath's interval power or exp(n log a)): the bound only picks the faster one",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_41": "3**32 for 2**32 as the interval power's limit: see power__mutmut_39",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_42": "2**33 for 2**32: see power__mutmut_39",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_60": "-(3**32) for -(2**32): see power__mutmut_39",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_61": "-(2**33) for -(2**32): see power__mutmut_39",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_62": "`<=` at -(2**32): see power__mutmut_39",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_64": "`integer < 1` for `integer < 0`: a power 0 of a nonzero base is 1 "
    "either way (1/x**0 or exp(0 log x))",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_51": "_interval(a, None): a is an enclosure here (an exact base "
    "took the exact path), which _interval returns as it is",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_77": "_interval(a, None): as power__mutmut_51",
    "comparisons.judge.agreement.x__forward__mutmut_11": "args[+1] for args[-1] of a division: its second argument "
    "either way (a division has two)",
    "comparisons.judge.agreement.x__local_derivatives__mutmut_5": "`a` for a node without arguments (an input or a "
    "constant), whose local derivatives are none: never read",
    "comparisons.judge.truth.x__round_fraction__mutmut_12": "`>` for `>=` at |q| = 2**top exactly: a power of two is "
    "a float of either binade, and rounds to itself (or to the same inf or subnormal) either way",
    "comparisons.judge.truth.x__round_fraction__mutmut_14": "`top > 0` for `top >= 0`: at top = 0 the other branch "
    "computes n << 0 >= d, the same test",
    "comparisons.judge.truth.x__round_fraction__mutmut_15": "`top >= 1`: as round_fraction__mutmut_14",
    "comparisons.judge.truth.x__round_fraction__mutmut_18": "`>` at |q| = 2**top below 1: as round_fraction__mutmut_12",
    "comparisons.judge.truth.x__round_fraction__mutmut_46": "`q <= 0` for `q < 0`: q = 0 has returned 0.0 before",
    "comparisons.judge.truth.xǁ_Passǁmul__mutmut_14": "interval arithmetic exact (no precision) instead of rounded "
    "outward to it: the same enclosure or a tighter one, and the same truth",
    "comparisons.judge.truth.xǁ_Passǁmul__mutmut_17": "as _Pass.mul__mutmut_14",
    "comparisons.judge.truth.xǁ_Passǁsub__mutmut_7": "as _Pass.mul__mutmut_14",
    "comparisons.judge.truth.xǁ_Passǁsub__mutmut_10": "as _Pass.mul__mutmut_14",
    "comparisons.judge.truth.x__round_settled__mutmut_40": "`mpf_sign(v[0]) <= 0` for `< 0`: in this branch the ends "
    "round to zeros of different signs with v[1] exactly 0, so v[0] is negative",
    "comparisons.judge.truth.x__round_settled__mutmut_41": "`< 1`: as round_settled__mutmut_40",
    "comparisons.judge.truth.x__worst_cancellation__mutmut_15": "`b is None and result is None`: a finite sum's "
    "operands are finite, so when b has no finite middle neither has the result",
    "comparisons.judge.truth.x__worst_cancellation__mutmut_16": "`a is None and b is None`: as worst_cancellation__mutmut_15",
    "comparisons.judge.truth.x__worst_cancellation__mutmut_26": "`a != 0 and b != 0` where a + b or a - b is exactly "
    "0: one operand is 0 exactly when the other is",
    "comparisons.judge.truth.x__worst_cancellation__mutmut_32": "a ratio of 1 for 0 where nothing cancels: both are "
    "below the 1000 that names one",
    "comparisons.judge.truth.xǁ_Passǁderivative__mutmut_76": "`sign >= 0` for relu': a sign of 0 has raised just before",
    "comparisons.judge.rules.x__pow_of_exp__mutmut_5": "s.op_of(n, ) is s.op_of(n, 0): 0 is the default",
    "comparisons.judge.rules.x__exp_product__mutmut_6": "s.op_of(n, ) is s.op_of(n, 0): 0 is the default",
    "comparisons.judge.rules.x__division_of_division__mutmut_8": "s.op_of(n, ) is s.op_of(n, 0): 0 is the default",
    "comparisons.judge.rules.x__reciprocal_power_overflows__mutmut_18": "s.arg(n, ) is s.arg(n, 0): 0 is the default",
    "comparisons.judge.rules.x__reciprocal_power_overflows__mutmut_5": "3.4028234663852886e+38 is the same literal",
    "comparisons.judge.rules.x__reciprocal_power_overflows__mutmut_9": "1.7976931348623157e+308 is the same literal",
    "comparisons.judge.rules.x__reciprocal_power_overflows__mutmut_32": "`e <= 0` for `e < 0`: at e = 0 the product e "
    "log(base) is 0, never beyond the top",
    "comparisons.judge.rules.x_structures__mutmut_8": "copysign(2.0, v) for copysign(1.0, v) in a node's key: it tells "
    "0.0 from -0.0 just the same",
    "comparisons.judge.rules.x__out_of_range_intermediate__mutmut_23": "tanh left out of the ops whose 0 is an "
    "underflow: tanh of a nonzero finite number is never 0 (tanh(5e-324) is 5e-324)",
    "comparisons.judge.rules.x__out_of_range_intermediate__mutmut_24": "as out_of_range_intermediate__mutmut_23",
    "comparisons.judge.rules.x__sigmoid_subnormal__mutmut_4": "`<= 0` for `< 0`: 0 does not saturate, so the "
    "conjunction is false at 0 either way",
    "comparisons.judge.rules.x__sigmoid_subnormal__mutmut_5": "`< 1` for `< 0`: an argument in [0, 1) does not saturate either",
    "comparisons.judge.rules.x__squashing_depth__mutmut_15": "max(depth, default=None): an expression has at least "
    "one node, so the default is never used",
    "comparisons.judge.rules.x__squashing_depth__mutmut_17": "max(depth) without a default: as squashing_depth__mutmut_15",
    "comparisons.judge.rules.x__squashing_depth__mutmut_18": "max(depth, default=1): as squashing_depth__mutmut_15",
    "comparisons.judge.rules.x__pow_negative_zero_base__mutmut_10": "copysign(2, v) < 0 is copysign(1, v) < 0: only "
    "the sign is read",
    "comparisons.judge.rules.x__pow_negative_zero_base__mutmut_12": "`copysign(1, v) <= 0`: copysign gives +-1, never 0",
    "comparisons.judge.rules.x__pow_negative_zero_base__mutmut_13": "`copysign(1, v) < 1`: copysign gives +-1, so it "
    "is < 0 exactly when < 1",
    "comparisons.judge.rules.x__relu_of_negative_zero__mutmut_10": "copysign(2, v) < 0 is copysign(1, v) < 0: only "
    "the sign is read",
    "comparisons.judge.rules.x__relu_of_negative_zero__mutmut_12": "`copysign(1, v) <= 0`: copysign gives +-1, never 0",
    "comparisons.judge.rules.x__relu_of_negative_zero__mutmut_13": "`copysign(1, v) < 1`: copysign gives +-1, so it "
    "is < 0 exactly when < 1",
    "comparisons.judge.rules.x_explain__mutmut_44": 'blamed starts as "" for None: `blamed or rule` takes the rule '
    "either way, and the loop runs at least once here",
    "comparisons.judge.truth.x__text_mpf__mutmut_6": "`x >= 0` for `x > 0` in the infinity branch: x is +-inf there",
    "comparisons.judge.truth.x__text_mpf__mutmut_7": "`x > 1` for `x > 0` in the infinity branch: x is +-inf there",
    "comparisons.judge.truth.x__text_mpf__mutmut_21": "`x <= 0` for `x < 0` beyond 10**1000: x is not 0 there",
    "comparisons.judge.truth.x__text_number__mutmut_9": "_text(v[1]) for _text(v[0]) where the two ends are equal",
    "comparisons.judge.truth.x__widen__mutmut_13": "`direction <= 0` for `< 0`: the direction is -1 or 1",
    "comparisons.judge.truth.x__widen__mutmut_14": "`direction < 1` for `< 0`: the direction is -1 or 1",
    "comparisons.judge.truth.x__holds_integer__mutmut_3": "`lo[1] or hi[1]` for `and`: an enclosure with an infinite "
    "or zero end holds an integer either way (ceil(-inf) <= hi; 0 is one)",
    "comparisons.judge.truth.x__holds_integer__mutmut_4": "lo's exponent for its mantissa: an end with exponent 0 is "
    "an odd integer, so the enclosure holds one either way",
    "comparisons.judge.truth.x__holds_integer__mutmut_5": "hi's exponent for its mantissa: as holds_integer__mutmut_4",
    "comparisons.judge.truth.x__exp_beyond__mutmut_9": "`mpf_sign(x) >= 0`: x is beyond CAP in size, never 0",
    "comparisons.judge.truth.x__tanh__mutmut_10": "tanh=2 for tanh=1: mpmath reads the flag as true or false",
    "comparisons.judge.truth.xǁ_Passǁcosh_of_abs__mutmut_12": "cosh's limit below -CAP is never reached: its argument is |a|",
    "comparisons.judge.truth.xǁ_Passǁcosh_of_abs__mutmut_13": "cosh's limit above CAP is never used: a `beyond` bound "
    "is given for that side",
    "comparisons.judge.truth.xǁ_Passǁexp__mutmut_6": "exp's limit below -CAP is never used: a `beyond` bound is given",
    "comparisons.judge.truth.xǁ_Passǁexp__mutmut_7": "exp's limit above CAP is never used: a `beyond` bound is given",
    "comparisons.judge.truth.xǁ_Passǁdpow_dexponent__mutmut_9": "`sign <= 0` for `< 0`: a sign of 0 has returned before",
    "comparisons.judge.truth.xǁ_Passǁdpow_dexponent__mutmut_10": "`sign < 1` for `< 0`: the sign is -1 or 1 here",
    "comparisons.judge.truth.xǁ_Passǁlog__mutmut_6": "_interval(a, None): a is an enclosure in this branch (its sign "
    "unknown), returned as it is",
    "comparisons.judge.truth.xǁ_Passǁlog__mutmut_40": "17 guard bits for 16: still rigorous after the widening by a "
    "unit of the precision",
    "comparisons.judge.truth.xǁ_Passǁlog__mutmut_47": "the lower end's log rounded to nearest, 16 bits past the "
    "precision: the widening by a unit of the precision after it still puts it below the exact log",
    "comparisons.judge.truth.xǁ_Passǁlog__mutmut_53": "the upper end's log rounded to nearest: as _Pass.log__mutmut_47",
    "comparisons.judge.truth.xǁ_Passǁlog__mutmut_63": "_widen(..., -2): _widen reads only the direction's sign",
    "comparisons.judge.truth.xǁ_Passǁlog__mutmut_71": "_widen(..., 2): _widen reads only the direction's sign",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_15": "`sb < 1` for `sb < 0` at a zero base: the sign is -1, 0 "
    "(raised before) or 1",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_98": "`sa <= 0` for `sa < 0`: a zero base has returned before",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_99": "`sa < 1` for `sa < 0`: the base's sign is -1 or 1 here",
    "comparisons.judge.truth.xǁ_Passǁpower__mutmut_106": "`sa <= 0` for `sa < 0`: a zero base has returned before",
    "micrograd.engine.x__div__mutmut_8": "inf / copysign(1.0, b) is inf * copysign(1.0, b): dividing by +-1 is multiplying",
    "micrograd.engine.x__div__mutmut_17": "inf * copysign(2.0, b) is inf * copysign(1.0, b): twice an infinity is the same",
    "micrograd.engine.x__pow__mutmut_9": "`base <= 0` for `base < 0` after an OverflowError: 0 to any power never overflows",
    "micrograd.engine.xǁValueǁ__neg____mutmut_1": "`self / -1.0` for `self * -1.0`: both exact, the same value and derivative",
    "micrograd.nn.xǁMLPǁfrom_weights__mutmut_20": "the seed of weights that from_weights overwrites at once (None, here)",
    "micrograd.nn.xǁMLPǁfrom_weights__mutmut_24": "the seed of weights that from_weights overwrites at once (left out)",
    "micrograd.nn.xǁMLPǁfrom_weights__mutmut_27": "the seed of weights that from_weights overwrites at once (1)",
    "micrograd.engine.xǁValueǁsigmoid__mutmut_14": "x = 0 through the other of sigmoid's two formulas: both give 0.5 "
    "and 0.25 exactly",
    "comparisons.judge.rules.x__pow_exponent_minus_one__mutmut_8": "`s.arg(n, )` is `s.arg(n, 0)`: 0 is the default",
    "comparisons.judge.rules.x__pow_exponent_minus_one__mutmut_31": "`>=` for `>` 2**-52: ulp(y - 1) * |log x| is a power "
    "of two times a logarithm, never exactly 2**-52 (log x = 0 gives 0 either way)",
    "micrograd.engine.x__as_float__mutmut_1": "the fast path for a float skipped: float(x) of a float is itself",
    "micrograd.engine.xǁValueǁ__init____mutmut_5": "the fast path for a float skipped: _as_float gives the float itself",
    "micrograd.engine.xǁValueǁ__init____mutmut_7": "the fast path for a float skipped: _as_float gives the float itself",
    "micrograd.engine.xǁValueǁ__init____mutmut_2": "a leaf's local derivative _da, which nothing reads (a leaf has no children)",
    "micrograd.engine.xǁValueǁ__init____mutmut_3": "a leaf's local derivative _db, which nothing reads",
    "micrograd.engine.x__dpow_dbase__mutmut_22": "`x != 1` for `x != 0`: 1**(y-1) is 1, never out of range, so x = 1 "
    "never reaches the fallback either way",
    "micrograd.engine.x__topological_order__mutmut_29": "`and` for `or`: a visited second child pushed anyway is popped "
    "and skipped (already visited): the same order, one more push",
    "micrograd.engine.xǁValueǁ__reduce____mutmut_12": "one node fewer handed over with the root: pickle reaches it as a "
    "root of its own, which hands over its own graph first; the same copy, no deeper recursion",
    "comparisons.judge.truth.xǁ_Passǁreverse__mutmut_69": "relu's kink: the inputs looked at run one node past its "
    "argument, whose slope from a reverse pass rooted at the argument is an exact 0 (only the root and what precedes "
    "it get one), so that node is skipped either way",
    "micrograd.engine.xǁValueǁdot__mutmut_20": "a dot node's _db (the bias's local derivative), which backward does "
    "not read: the bias gets the node's grad directly",
    "micrograd.engine.xǁValueǁdot__mutmut_26": "a dot node's _db, unread (see dot__mutmut_20)",
    "micrograd.engine.xǁValueǁdot__mutmut_31": "a dot node's _db, unread (see dot__mutmut_20)",
    "micrograd.engine.xǁValueǁdot__mutmut_49": "a dot node's _db, unread (see dot__mutmut_20)",
    "micrograd.engine.xǁValueǁdot__mutmut_55": "a dot node's _db, unread (see dot__mutmut_20)",
    "micrograd.engine.xǁValueǁdot__mutmut_59": "a dot node's _db, unread (see dot__mutmut_20)",
    "comparisons.judge.agreement.x__local_derivatives__mutmut_12": "the second argument of a one-argument op, which "
    "no unary derivative reads",
    "comparisons.judge.agreement.x__local_derivatives__mutmut_23": "the sign of sub's d/dy: cancellation_scales "
    "takes every local derivative's magnitude",
    "comparisons.judge.agreement.x__local_derivatives__mutmut_34": "the sign of div's d/dy: only its magnitude is used",
    "comparisons.judge.agreement.x__local_derivatives__mutmut_48": "the sign of neg's derivative: only its magnitude is used",
    "comparisons.judge.verdict.x_judge__mutmut_52": "`given.get(reference)` without a reference is given.get(None): "
    "None, as the original's else branch (no backend is named None)",
    "comparisons.judge.verdict.x_judge__mutmut_69": "close()'s rtol left to its default, which is GRAD_RTOL",
    "comparisons.judge.verdict.x__classed__mutmut_96": "same_number(None, v) is False, and then the ulps between "
    "identical numbers (nan and nan too) are 0: the same agreement",
    "comparisons.judge.verdict.x__classed__mutmut_97": "same_number(got, None) is False: as x__classed__mutmut_96",
    "comparisons.judge.verdict.x__classed__mutmut_107": "`or 1.0` for `or 0.0` after the ulps between two backends: "
    "ulps is 0 only for numbers that are the same (0.0 and -0.0 included), which same_number has already let through",
    "comparisons.judge.verdict.x__same_number_same_class__mutmut_29": "an unexplained record never has the same number "
    "as an inaccurate_agreeing one (the same number with the same other numbers agrees too), so only `known` lends",
    "comparisons.judge.verdict.x__same_number_same_class__mutmut_30": "as x__same_number_same_class__mutmut_29",
    "comparisons.judge.rules.x__backward_overflow__mutmut_17": "`<=` for `<` the top: whether a value of exactly 2**994 "
    "(2**30 below float64's overflow) is 'within 2**30 of overflow' is a convention, not a result",
}


def fail(message: str) -> None:
    """Bad input: one line on stderr, exit 2."""
    print(f"tools/mutation.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def existing(group: Group) -> Group:
    """The group without the files not (yet) in the repository: verdict.py and its tests land later."""
    sources = tuple(s for s in group.sources if list(ROOT.glob(s)))
    return Group(sources, tuple(t for t in group.tests if (ROOT / t).exists()), group.isolation)


def prepare(name: str, group: Group, fresh: bool) -> Path:
    """The group's folder with the repository's files copied in (anew with `fresh`). copy2 keeps each file's time, so
    mutmut regenerates the mutants of a source file only when it changed after them, and then keeps the results of
    the functions whose code is the same."""
    folder = WORK / name
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    for top in COPIED:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(ROOT / top, folder / top, ignore=ignore, dirs_exist_ok=True)
    if (folder / "mutants").exists():  # mutmut copies the modules it does not mutate in once only: bring them up to date
        refresh(folder, group)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    base = project.get("tool", {}).get("mutmut", {})
    settings = {
        **{k: v for k, v in base.items() if k not in ("only_mutate", "pytest_add_cli_args_test_selection")},
        "only_mutate": list(group.sources),
        "pytest_add_cli_args_test_selection": list(group.tests),
        "process_isolation": group.isolation,
    }
    lines = ["[tool.pytest.ini_options]", 'addopts = "--strict-markers -p no:cacheprovider"']
    lines += ['markers = ["slow: takes more than a few seconds"]', "", "[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return folder


FORK_MEMORY = 4 * 2**30  # address space of a "fork" group's mutmut and its mutants: a runaway mutant ends, not the machine


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (FORK_MEMORY, FORK_MEMORY))


def run_group(folder: Path, max_children: int, isolation: str) -> int:
    """mutmut run in the group's folder (it resumes: results already there stand); mutmut's exit status.

    mutmut limits a mutant's CPU time only, and a niced run gets little CPU: a mutant that grows a structure without end
    (a broken __reduce__ pickling a graph) reached 5.5 GB in 20 minutes. The "fork" groups (no framework) therefore
    run under an address-space limit, which such a mutant meets as a MemoryError: a failing test, so killed. (jax
    and torch reserve more address space than they use, so the other groups cannot take one.)"""
    # GRAD_EXAMPLES: tests/test_gradients.py's random expressions, 20 per backend (200 in make test): seconds per mutant
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci", "CI": "", "PYTHONDONTWRITEBYTECODE": "1", "GRAD_EXAMPLES": "20"}
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    limit = _limit_memory if isolation == "fork" else None
    with open(folder / "mutmut.log", "w") as log:
        status = subprocess.run(
            command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, check=False, preexec_fn=limit
        ).returncode
    if status != 0:
        tail = (folder / "mutmut.log").read_text(errors="replace")[-3000:]
        print(f"mutmut failed in {folder} (its whole output: {folder / 'mutmut.log'}):\n{tail}", file=sys.stderr)
    return status


def results(folder: Path) -> dict[str, str]:
    """Every mutant of the group's last run -> its status (killed, survived, no tests, timeout, not checked, ...)."""
    statuses: dict[str, str] = {}
    for meta in sorted((folder / "mutants").rglob("*.meta")):
        data = json.loads(meta.read_text())
        for mutant, code in data.get("exit_code_by_key", {}).items():
            statuses[mutant] = "not checked" if code is None else STATUS.get(code, "suspicious")
    return statuses


def refresh(folder: Path, group: Group) -> None:
    """The tests, and the modules mutmut does not mutate, copied into mutmut's mutants/ as they are now (mutmut copies
    a module in once only; its mutated sources it regenerates itself)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for target in (folder / "tests", folder / "mutants" / "tests"):
        shutil.copytree(ROOT / "tests", target, dirs_exist_ok=True, ignore=ignore)
    for path in sorted(p for top in COPIED[:3] for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts):
        relative = path.relative_to(ROOT).as_posix()
        if not any(fnmatch.fnmatch(relative, source) for source in group.sources):
            for base in (folder, folder / "mutants"):
                (base / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, base / relative)


RECHECK_SLOWDOWN = 10  # --recheck: a mutant whose tests use this many times their CPU time is killed (a timeout)
RECHECK_MIN_CPU_S = 30.0
RECHECK_WALL_FACTOR = 20  # and, as a backstop for a mutant that waits rather than runs, this many times that in wall time


def recheck(name: str, group: Group, tests: list[str], max_children: int = 1) -> None:
    """Runs the group's current tests (or `tests`) against each surviving mutant of its last run, and each that had no
    test then; a failure is recorded as a kill, a pass as a survivor (with the tests that now reach it)."""
    folder = WORK / name
    if not (folder / "mutants").exists():
        print(f"{name}: not run yet, nothing to recheck")
        return
    refresh(folder, group)
    pending = [m for m, s in results(folder).items() if s in ("survived", "no tests") and m not in EQUIVALENT]
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci", "CI": "", "PYTHONDONTWRITEBYTECODE": "1", "GRAD_EXAMPLES": "20"}
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow", *(tests or group.tests)]

    # a mutant that makes the tests run on (a loop that no longer ends, a precision that never settles) is killed once
    # they have used RECHECK_SLOWDOWN times the CPU time they use unmutated, as mutmut counts a timeout. CPU time, not
    # the wall clock: a run that merely waits for a busy machine is not cut short (the wall clock only backs it up)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=folder / "mutants", env={**env, "MUTANT_UNDER_TEST": ""}, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    cpu_limit = math.ceil(max(RECHECK_MIN_CPU_S, RECHECK_SLOWDOWN * cpu_used))

    limited = ["prlimit", f"--cpu={cpu_limit}:{cpu_limit + 5}", "--", *command]  # util-linux: SIGXCPU at the soft limit

    def run(mutant: str) -> int:
        try:
            done = subprocess.run(
                limited,
                cwd=folder / "mutants",
                env={**env, "MUTANT_UNDER_TEST": mutant},
                capture_output=True,
                timeout=RECHECK_WALL_FACTOR * cpu_limit,
            )
        except subprocess.TimeoutExpired:
            return 1
        return 1 if done.returncode in (1, -signal.SIGXCPU, -signal.SIGKILL) else 0

    with concurrent.futures.ThreadPoolExecutor(max_children) as pool:
        outcome = dict(zip(pending, pool.map(run, pending), strict=True))
    for meta in (folder / "mutants").rglob("*.meta"):
        data = json.loads(meta.read_text())
        codes = data.get("exit_code_by_key", {})
        if any(m in codes for m in outcome):
            codes.update({m: code for m, code in outcome.items() if m in codes})
            meta.write_text(json.dumps(data))
    killed = sum(outcome.values())
    print(f"{name}: rechecked {len(pending)} survivors and untested mutants against the current tests, {killed} now killed")


@functools.cache
def _functions(path: Path) -> dict[str, str]:
    """Every function's source in a (mutated) module, by name; {} where there is no such file."""
    source = path.read_text() if path.exists() else ""
    lines = source.splitlines()
    return {
        node.name: "\n".join(lines[node.lineno - 1 : node.end_lineno])
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def diff(folder: Path, mutant: str) -> str:
    """The lines `mutant` changes, "-old  |  +new": its function beside the original in mutmut's mutated copy of the
    module (where mutmut keeps both; far faster than a `mutmut show` per survivor)."""
    module, _, name = mutant.rpartition(".")
    path = folder / "mutants" / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    functions = _functions(path)
    original = functions.get(name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "").splitlines()[1:]
    mutated = functions.get(name, "").splitlines()[1:]
    changed = [
        line[0] + line[1:].strip()
        for line in difflib.unified_diff(original, mutated, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "  |  ".join(changed) or "(the signature or decorators: see `mutmut show` in .mutation/GROUP)"


def score(counts: Counter[str]) -> tuple[int, int]:
    """(killed, judged): judged counts every mutant that ran or had no test to run, equivalents left out."""
    killed = sum(counts[s] for s in KILLED)
    return killed, killed + counts["survived"] + counts["no tests"] + counts["suspicious"]


def report(names: list[str]) -> int:
    """Prints each group's score and survivors, then the total; 1 when a survivor is not a listed equivalent."""
    total: Counter[str] = Counter()
    unexplained = 0
    for name in names:
        folder = WORK / name
        if not (folder / "mutants").exists():
            print(f"{name}: not run yet")
            continue
        statuses = results(folder)
        counts = Counter("equivalent" if s == "survived" and m in EQUIVALENT else s for m, s in statuses.items())
        total += counts
        killed, judged = score(counts)
        rest = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in KILLED)
        print(f"{name}: {killed}/{judged} killed ({100 * killed / max(judged, 1):.1f} %){'; ' + rest if rest else ''}")
        for mutant, status in sorted(statuses.items()):
            if status in ("survived", "no tests", "suspicious") and mutant not in EQUIVALENT:
                unexplained += 1
                print(f"  {status}: {mutant}: {diff(folder, mutant)}")
        for mutant in sorted(m for m in EQUIVALENT if m in statuses):
            if statuses[mutant] != "survived":
                print(f"  stale equivalent (now {statuses[mutant]}): {mutant}")
    killed, judged = score(total)
    print(f"total: {killed}/{judged} killed ({100 * killed / max(judged, 1):.1f} %), {total['equivalent']} equivalent left out")
    return 1 if unexplained else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"which groups (default: all): {', '.join(GROUPS)}")
    parser.add_argument("--fresh", action="store_true", help="start each group over, even when its files are unchanged")
    parser.add_argument("--report", action="store_true", help="print the last results; run nothing")
    parser.add_argument("--recheck", action="store_true", help="rerun the last run's survivors against the current tests")
    parser.add_argument("--tests", nargs="+", default=[], metavar="FILE", help="with --recheck: only these test files")
    parser.add_argument("--max-children", type=int, default=1, help="mutants tested at once (default 1)")
    args = parser.parse_args(argv)
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        fail(f"no group named {', '.join(map(repr, unknown))}; choose from {', '.join(GROUPS)}")
    missing = [t for t in args.tests if not (ROOT / t).is_file()]
    if missing or (args.tests and not args.recheck):
        fail(f"--tests {' '.join(missing or args.tests)}: " + ("no such file" if missing else "goes with --recheck only"))
    if args.max_children < 1:
        fail(f"--max-children {args.max_children}: give 1 or more")
    names = args.groups or list(GROUPS)
    if args.recheck:
        for name in names:
            recheck(name, existing(GROUPS[name]), args.tests, args.max_children)
    elif not args.report:
        for name in names:
            group = existing(GROUPS[name])
            if not group.sources:
                print(f"{name}: skipped, {' '.join(GROUPS[name].sources)} not in the repository yet")
                continue
            start = time.monotonic()
            status = run_group(prepare(name, group, args.fresh), args.max_children, group.isolation)
            print(f"{name}: mutmut ran in {time.monotonic() - start:.0f} s (exit status {status})")
    return report(names)


if __name__ == "__main__":
    sys.exit(main())
