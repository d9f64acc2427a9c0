"""Not a suite: what the asv suites (history/benchmarks/bench_*.py) share to reach the library through its stable interface.

asv runs today's suites against older commits, so every import of the library happens here, inside a suite's
`setup`, and a missing backend or API becomes NotImplementedError, asv's "skipped", carrying the reason.
Speed rules (a whole commit records in about a minute): the frameworks are imported once, when asv imports the
suites in the process it forks every benchmark from; and what a setup builds (a compiled expression, a warmed-up
trainer) is kept per process, since asv 0.6 re-runs setup before every timed call.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import inspect
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

BACKENDS = ["micrograd", "torch", "jax", "tinygrad"]  # the reference first, as backends.names() lists them
TIMEOUT = 180.0  # seconds for one benchmark, its setup included (jax compiles sum_1000 in 3 s, 60 s on a busy machine)
FRAMEWORK_MODULES = ("torch", "jax", "tinygrad")
# calls (or training steps) before timing: jax.jit compiles on the first; tinygrad's TinyJit captures on the second
# and is steady from the third (sum_1000: 4 s, 1.5 s, then 5-17 ms), so one warm-up call left a 1.5 s sample
WARMUP_CALLS = 3


T = TypeVar("T", bound=type)


def cpu_timed(cls: T) -> T:
    """A suite class whose time_ benchmarks measure the CPU time of the benchmark's process (time.process_time, every
    thread's), not the wall clock. This machine is shared: a wall-clock sample holds whatever else ran meanwhile (the
    history recorded that way moved 15-fold from one commit to the next with no change to the code), CPU time does
    not. Nothing measured here sleeps or waits. The class's asv `version` is its source's hash marked "cpu1", so asv
    never compares these results with wall-clock ones recorded before, and a change to the class still invalidates
    them as asv's own code hash would."""
    cls.timer = time.process_time  # type: ignore[attr-defined]
    digest = hashlib.sha256(inspect.getsource(cls).encode()).hexdigest()
    # "1": one thread per framework (single_threaded), so no result from before that is compared with these
    cls.version = f"cpu1-{digest[:16]}"  # type: ignore[attr-defined]
    return cls


# One thread per framework, so a benchmark's CPU time is its own work: torch's second worker thread spins while it waits,
# and time.process_time counted that spinning (one demo step: 0.5 ms at the median, 3.9-20 ms at the upper quartile
# with two threads; 0.39-0.70 ms with one). Set before the frameworks are imported, which read them then.
SINGLE_THREAD_ENVIRONMENT = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",  # jax's CPU client
    "NUM_CPU_THREADS": "1",  # tinygrad's CPU device (tinygrad.helpers.NUM_CPU_THREADS)
}


def single_threaded() -> None:
    """Make every framework run on one thread (the environment above, then torch's own two pools)."""
    os.environ.update(SINGLE_THREAD_ENVIRONMENT)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(1)
        with contextlib.suppress(RuntimeError):  # already set, or parallel work has started: it stays as set then
            torch.set_num_interop_threads(1)


def preload_frameworks() -> None:
    """Import the frameworks now (asv's forkserver imports the suites once, then forks each benchmark from it), so a
    benchmark's process starts with them loaded instead of paying 1-3 s each. Only the pinned frameworks: the
    project's own modules are imported in setups, from the commit being measured. Nothing is initialised here
    (no tensors, no jit), which keeps forking safe."""
    for module_name in FRAMEWORK_MODULES:
        # not installed or broken here: the setups that need it skip, with the reason
        with contextlib.suppress(Exception):
            importlib.import_module(module_name)
    single_threaded()


os.environ.update(SINGLE_THREAD_ENVIRONMENT)
# asv's discovery process (`asv/benchmark.py discover ...`) imports the suites only to list them: no benchmark runs
# there, and the frameworks' imports would cost it 2.6 s of CPU for nothing
DISCOVERING = sys.argv[1:2] == ["discover"]
if os.environ.get("MICROGRAD_BENCH_PRELOAD", "1") != "0" and not DISCOVERING:  # 0: only the counted suites will run
    preload_frameworks()


def need(module_name: str, *attributes: str) -> Any:
    """The module, or its attributes, or NotImplementedError if this commit does not have them."""
    try:
        module = importlib.import_module(module_name)
        found = [getattr(module, name) for name in attributes]
    except (ImportError, AttributeError) as exc:
        raise NotImplementedError(f"this commit has no {module_name} {' '.join(attributes)}: {exc}") from None
    if not attributes:
        return module
    return found[0] if len(found) == 1 else tuple(found)


def load_backend(name: str) -> Any:
    """backends.get(name), or NotImplementedError saying why that backend cannot run at this commit."""
    backends = need("backends")
    get = need("backends", "get")
    # a backend missing at this commit: an unregistered name, an adapter module not written yet, a framework not installed
    unavailable: tuple[type[BaseException], ...] = (ImportError, KeyError, getattr(backends, "BackendUnavailable", ImportError))
    try:
        return get(name)
    except unavailable as exc:
        raise NotImplementedError(f"backend {name!r} is unavailable at this commit: {exc}") from None


def need_first(module_names: tuple[str, ...], *attributes: str) -> Any:
    """need() from the first of module_names this commit has (a module that moved keeps its history)."""
    reasons = []
    for module_name in module_names:
        try:
            return need(module_name, *attributes)
        except NotImplementedError as exc:
            reasons.append(str(exc))
    raise NotImplementedError("; ".join(reasons))


CATALOG_MODULES = ("comparisons.judge.catalog", "comparisons.catalog")  # the catalog's home since the re-layout, and before


def load_case(case_name: str) -> tuple[str, dict[str, float]]:
    """A catalog case's source text and inputs (plain data, so an older commit's parser can read it)."""
    get_case = need_first(CATALOG_MODULES, "get_case")
    case = get_case(case_name)
    return case.source, dict(case.inputs)


def compile_source(backend: Any, source: str) -> Callable[[Mapping[str, float]], Any]:
    """backend.compile(parse(source)): a function from input values to Gradients(value, grads)."""
    parse = need("backends", "parse")
    value_and_grad: Callable[[Mapping[str, float]], Any] = backend.compile(parse(source))
    return value_and_grad


@functools.cache
def compiled_case(backend_name: str, case_name: str) -> tuple[Callable[[Mapping[str, float]], Any], dict[str, float]]:
    """A catalog case compiled by a backend and called WARMUP_CALLS times, with its inputs; built once per process,
    so asv's repeated setups cost nothing."""
    source, inputs = load_case(case_name)
    value_and_grad = compile_source(load_backend(backend_name), source)
    for _ in range(WARMUP_CALLS):
        value_and_grad(inputs)
    return value_and_grad, inputs


def relative_error(got: float, want: float) -> float:
    """|got - want| / |want| (absolute where want is 0), capped at 1.0; a nan or inf on one side only counts as 1.0.

    The cap keeps every tracked number finite (asv's dashboard cannot plot inf) while still showing a total miss.
    """
    if got == want or (math.isnan(got) and math.isnan(want)):
        return 0.0
    error = abs(got - want) / (abs(want) if want != 0 else 1.0)
    return min(error, 1.0) if math.isfinite(error) else 1.0


def max_gradient_error(got: Any, want: Any) -> float:
    """The largest relative_error over the value and every gradient of two Gradients results."""
    errors = [relative_error(got.value, want.value)]
    errors += [relative_error(got.grads[name], want.grads[name]) for name in want.grads]
    return max(errors)


def train_spec(**overrides: Any) -> Any:
    """TrainSpec.demo(**overrides): the classic two-moons run, resized by the overrides."""
    return need("backends", "TrainSpec").demo(**overrides)


# ------------------------------------------------------------------ instruction counts (bench_counts.py)

# callgrind counts instructions only while the program is inside libffi's ffi_call: the counted script runs its
# work as a ctypes callback, so the interpreter's start-up, the imports and the setup are never counted
VALGRIND = [
    "valgrind",
    "--tool=callgrind",
    "--callgrind-out-file=/dev/null",
    "--collect-atstart=no",
    "--toggle-collect=ffi_call",
]
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
COUNT_HASH_SEED = "0"  # str/bytes hashes, and so set and dict orders, are the same in every counted run
COUNTED_SCRIPT = """{setup}
import ctypes, gc, sys
gc.collect()
gc.freeze()  # the collector's runs during the work depend on the work alone, not on what the imports left
finished = False
def counted_work():
    global finished
{work}
    finished = True
ctypes.CFUNCTYPE(None)(counted_work)()
sys.exit(0 if finished else 3)  # an exception in a ctypes callback is printed, not raised
"""


def project_root() -> str | None:
    """The folder this process imports the project from (a checkout first on sys.path, an installed wheel's
    site-packages, or an editable install's source, which `python -S` would not find through its .pth hook)."""
    spec = importlib.util.find_spec("micrograd")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return os.path.dirname(locations[0]) if locations else None


COUNT_LINKS = "/tmp/micrograd-bench-count-"  # + 16 hex digits: the folder of fixed-length links (fixed_length_path)


def fixed_length_path(entries: list[str]) -> str:
    """`entries` as a PYTHONPATH of links whose names have the same length wherever the folders are: one link per
    entry, /tmp/micrograd-bench-count-<16 hex digits of the entries' hash>/<its position, two digits>.

    The count must not depend on where asv checked the commit out: the path strings' lengths move every later
    object in memory, and with them which id()-hashed set entries collide (the project copied to a folder with a
    37-letter name counted an adapter call 0.68 % higher than the same files under /tmp/p1). Links of one length
    make the interpreter allocate the same bytes wherever the files are; so does its own bytecode cache in that
    folder (count_environment), whose compiled files name the links, not the folders asv compiled them in."""
    folder = COUNT_LINKS + hashlib.sha256("\0".join(entries).encode()).hexdigest()[:16]
    os.makedirs(folder, exist_ok=True)
    links = []
    for position, entry in enumerate(entries):
        link = os.path.join(folder, f"{position:02d}")
        if not (os.path.islink(link) and os.readlink(link) == entry):
            staged = f"{link}.{os.getpid()}"  # a link made aside, then moved in: a concurrent recording sees one or the other
            with contextlib.suppress(FileNotFoundError):
                os.remove(staged)
            os.symlink(entry, staged)
            os.replace(staged, link)
        links.append(link)
    return os.pathsep.join(links)


def count_environment() -> dict[str, str]:
    """A small fixed environment for the counted interpreter: the hash seed, and a PYTHONPATH that imports the
    commit being measured exactly as this process does (project_root first), then this interpreter's own paths
    (the standard library, site-packages) without any further copy of the project (an editable install would fill
    in what an old commit lacks) and without the folders asv or a script added, whose files change, each
    through a link of fixed length (fixed_length_path), and a bytecode cache of its own beside the links: a .pyc
    keeps the name of the file it was compiled from, and a longer name read in is more memory moved."""
    root = project_root()
    entries = [root] if root else []
    prefixes = tuple(os.path.join(prefix, "") for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    for entry in sys.path:  # the standard library and site-packages; not asv's folders or a script's
        own = entry.startswith(prefixes) and os.path.isdir(entry) and entry not in entries
        if own and not os.path.isdir(os.path.join(entry, "micrograd")):
            entries.append(entry)
    path = fixed_length_path(entries)
    cache = os.path.join(os.path.dirname(path.split(os.pathsep)[0]), "pycache")
    return {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": COUNT_HASH_SEED, "PYTHONPATH": path, "LC_ALL": "C.UTF-8"} | {
        "PYTHONPYCACHEPREFIX": cache
    }


def instructions(setup: str, work: str) -> int:
    """The instructions `work` executes after `setup`, in a fresh interpreter under valgrind's callgrind (-S: no site
    module; the path comes from PYTHONPATH; run in / so that the working folder's name is the same too). Only the
    work is counted, plus the ctypes call that wraps it (see work_instructions). Exactly the same figure on every
    run: no other process, and no load, can change it.
    NotImplementedError when this commit lacks what the script needs (asv: skipped, with the reason)."""
    if shutil.which("valgrind") is None:
        raise NotImplementedError("valgrind is not installed (make setup installs it: apt-get install valgrind)")
    body = "\n".join("    " + line for line in work.strip().splitlines())
    script = COUNTED_SCRIPT.format(setup=setup, work=body)
    command = [sys.executable, "-S", "-c", script]
    environment = count_environment()
    # once without valgrind first, which compiles every module the script imports into the cache: the counted run
    # then reads them all from there, whether or not an earlier count had compiled them
    subprocess.run(command, env=environment, cwd="/", capture_output=True, timeout=TIMEOUT, check=False)
    done = subprocess.run([*VALGRIND, *command], env=environment, cwd="/", capture_output=True, text=True, timeout=TIMEOUT)
    if done.returncode != 0:
        python_lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("==")]  # not valgrind's
        last = (python_lines or ["no output"])[-1]
        if re.search(r"\b(NotImplementedError|ModuleNotFoundError|ImportError|AttributeError)\b", done.stderr):
            raise NotImplementedError(f"this commit cannot run the counted script: {last}")
        raise RuntimeError(f"the counted script failed (exit {done.returncode}):\n{script}\n{done.stderr[-3000:]}")
    found = COLLECTED.search(done.stderr)
    if found is None or int(found.group(1)) == 0:
        raise RuntimeError(f"callgrind counted nothing inside ffi_call (no libffi symbol?):\n{done.stderr[-2000:]}")
    return int(found.group(1))


@functools.cache
def empty_call_instructions() -> int:
    """What the ctypes call around the work costs: a counted call that does nothing (the same at every commit)."""
    return instructions("", "pass")


def work_instructions(setup: str, work: str, operations: int = 1) -> float:
    """The instructions of `work` alone, per operation: the counted run less an empty counted call."""
    return (instructions(setup, work) - empty_call_instructions()) / operations


with contextlib.suppress(Exception):  # counted once here, in the process asv forks every benchmark from
    empty_call_instructions()
