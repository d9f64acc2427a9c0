"""comparisons.history.summary on a made-up history: a git repository of 16 commits and asv 0.6 results files for them."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from comparisons.history import summary

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75"]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """Commits 0-15; the code changes at 4 (a comment) and 8 (the step: the timing halves there); 10 changes only the
    README; the tracked loss changes at 12."""
    repo, results = tmp_path / "repo", tmp_path / "results"
    repo.mkdir()
    results.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commits = []
    for i in range(16):
        target = repo / ("engine.py" if i in (0, 4, 8) else "README.md")
        target.write_text(f"# version {i}\n")
        git(repo, "add", "-A")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", f"commit {i}")
        commits.append(git(repo, "rev-parse", "HEAD"))
        time = (0.010 if i < 8 else 0.005) * (1.1 if i % 2 else 1.0)  # the noise: 10 % between neighbours
        rows = {
            "bench.Suite.time_step": [[time], [["'demo'"]], "v", 0, 1.0, None, None, [time * 0.9], [time * 1.1]],
            "bench.Suite.track_loss": [[0.5 if i < 12 else 0.25], [["'demo'"]], "v", 0, 1.0, None, None, None, None],
        }
        results.joinpath(f"{commits[-1][:8]}-env.json").write_text(
            json.dumps({"commit_hash": commits[-1], "result_columns": COLUMNS, "results": rows})
        )
    results.joinpath("machine.json").write_text("{}")
    return repo, results, commits


def test_it_finds_the_step_and_the_track_change_and_measures_the_noise(history, capsys) -> None:
    repo, results, commits = history
    assert summary.main(["--results", str(results), "--repo", str(repo), "--code", "engine.py", "--window", "3"]) == 0
    out = capsys.readouterr().out
    assert "16 of 16 first-parent commits of main recorded" in out
    assert "asv's ± over 16 timings: median 10.0 %" in out
    # of the 15 neighbouring pairs, 13 leave engine.py alone (3-4 and 7-8 change it); each differs by 1.1x
    assert "13 pairs of commits, 13 timings; ratio of medians 1.1 at the median" in out and "beyond 2x: 0.0 %" in out
    steps = [line for line in out.splitlines() if "time_step" in line and "->" in line]
    assert len(steps) == 1 and steps[0].startswith(commits[8][:7]) and "0.011 -> 0.005 (x0.455)" in steps[0], (
        steps
    )  # window medians
    tracks = [line for line in out.splitlines() if "track_loss" in line and "->" in line]
    assert len(tracks) == 1 and tracks[0].startswith(commits[12][:7]) and "0.5 -> 0.25" in tracks[0], tracks


def test_without_results_it_says_what_to_do(tmp_path, capsys) -> None:
    assert summary.main(["--results", str(tmp_path / "none")]) == 2
    assert "record some history first" in capsys.readouterr().err


def add_counts(results, commits, count_at, name="bench_counts.C.track_n"):
    """Add an instruction count to each commit's results file (count_at(i) -> value), and its unit to benchmarks.json."""
    for i, commit in enumerate(commits):
        path = results / f"{commit[:8]}-env.json"
        saved = json.loads(path.read_text())
        saved["results"][name] = [[count_at(i)], [], "v", 0, 1.0, None, None, None, None]  # asv 0.6: no params
        path.write_text(json.dumps(saved))
    (results.parent / "benchmarks.json").write_text(json.dumps({name: {"unit": "instructions/node"}, "version": 2}))


def test_counts_noise_false_regressions_steps_and_agreement(history, tmp_path, capsys) -> None:
    """A count that moves by 0.001 % between unchanged neighbours and steps by 6 % where engine.py changes (commit 8):
    no false regression at a 4 % threshold, the step at its commit, and a second recording's agreement."""
    repo, results, commits = history
    add_counts(results, commits, lambda i: (1000.0 if i < 8 else 1060.0) * (1 + 1e-5 * (i % 2)))
    again = tmp_path / "again" / "machine"
    again.mkdir(parents=True)
    for path in results.glob("*-env.json"):
        saved = json.loads(path.read_text())
        saved["results"]["bench_counts.C.track_n"][0][0] *= 1.0002  # the second recording: 0.02 % higher
        (again / path.name).write_text(json.dumps(saved))
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps({"regressions_thresholds": {r"bench_counts\.": 0.04}}))
    arguments = ["--results", str(results), "--repo", str(repo), "--code", "engine.py", "--window", "3"]
    assert summary.main([*arguments, "--config", str(config), "--again", str(again)]) == 0
    out = capsys.readouterr().out
    noise = "16 commits, 13 neighbour pairs that changed none of engine.py: largest difference 0.0010 % (bench_counts.C.track_n)"
    assert noise in out
    assert "(false regressions): 0" in out
    changes = [line for line in out.splitlines() if "track_n" in line and "->" in line]
    assert len(changes) == 1 and changes[0].startswith(f"{commits[7][:7]}..{commits[8][:7]}") and "(+6.0%)" in changes[0]
    assert "two recordings of one commit, instruction counts: 16 figures, largest difference 0.0200 %" in out


def test_a_count_over_its_threshold_between_unchanged_neighbours_is_a_false_regression(history, tmp_path, capsys) -> None:
    repo, results, commits = history
    add_counts(results, commits, lambda i: 1000.0 if i < 10 else 1050.0)  # commit 10 changes only the README
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps({"regressions_thresholds": {r"bench_counts\.": 0.04}}))
    arguments = ["--results", str(results), "--repo", str(repo), "--code", "engine.py", "--config", str(config)]
    assert summary.main(arguments) == 0
    out = capsys.readouterr().out
    assert "(false regressions): 1" in out and f"{commits[10][:7]} bench_counts.C.track_n +5.00%" in out


def test_each_benchmarks_noise_beside_its_threshold(history, tmp_path, capsys) -> None:
    """The made-up timing differs by 10 % between every pair of neighbours and a second recording is 3 % higher: its
    line says so, with its threshold; the tracked loss halves at commit 12, which changes only the README, so its
    unchanged neighbours differ by 100 % there and by nothing elsewhere."""
    repo, results, _ = history
    again = tmp_path / "again" / "machine"
    again.mkdir(parents=True)
    for path in sorted(results.glob("*-env.json"))[:5]:
        saved = json.loads(path.read_text())
        saved["results"]["bench.Suite.time_step"][0][0] *= 1.03
        (again / path.name).write_text(json.dumps(saved))
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps({"regressions_thresholds": {r"bench\.Suite\.time_": 0.5}}))
    arguments = ["--results", str(results), "--repo", str(repo), "--code", "engine.py", "--config", str(config)]
    assert summary.main([*arguments, "--again", str(again)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[lines.index(next(line for line in lines if line.startswith("noise per benchmark"))) + 1 :][:2] == [
        "  bench.Suite.time_step(demo): two recordings largest 3 % over 5; "
        "unchanged neighbours median 10 %, largest 10 % over 13 pairs; limit 50 %",
        "  bench.Suite.track_loss(demo): two recordings largest 0 % over 5; "
        "unchanged neighbours median 0 %, largest 100 % over 13 pairs; limit 5 %",
    ]


def test_thresholds_from_each_timings_own_noise(history, tmp_path, capsys) -> None:
    """The made-up timing moves by 10 % between unchanged neighbours: at a 5 % threshold, 8 of its 13 unchanged pairs
    (each even commit to the odd one after it) are false regressions; --thresholds gives it 25 % (10 %, a quarter more,
    rounded up to a quarter), as an entry asv and the gate both read, and with it there are none."""
    from comparisons.history.gate import threshold_for

    repo, results, _ = history
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps({"regressions_thresholds": {r"bench\.Suite\.time_": 0.05}}))
    arguments = ["--results", str(results), "--repo", str(repo), "--code", "engine.py", "--config", str(config)]
    assert summary.main([*arguments, "--thresholds"]) == 0
    derived = json.loads(capsys.readouterr().out)
    assert derived == {r"bench\.Suite\.time_step\('demo'\)(@|$)": 0.25}
    assert summary.main(arguments) == 0
    assert "timings over their threshold between unchanged neighbours (false regressions): 8\n" in capsys.readouterr().out
    thresholds = {r"bench\.Suite\.time_": 0.05, **derived}
    config.write_text(json.dumps({"regressions_thresholds": thresholds}))
    assert summary.main(arguments) == 0
    assert "timings over their threshold between unchanged neighbours (false regressions): 0\n" in capsys.readouterr().out
    assert summary.main([*arguments, "--thresholds"]) == 0
    assert json.loads(capsys.readouterr().out) == {}  # nothing more is called for
    assert threshold_for(thresholds, "bench.Suite.time_step", ("'demo'",)) == 0.25
    assert threshold_for(thresholds, "bench.Suite.time_step", ("'other'",)) == 0.05
    assert all(re.match(regex, "bench.Suite.time_step('demo')@main") for regex in derived)  # asv's name, several branches
    assert not any(re.match(regex, "bench.Suite.time_step('demo2')") for regex in derived)


def test_a_step_is_placed_where_the_figures_cross() -> None:
    """The split of largest change ties between c4 (its window after is 1.05, 4, 4) and c5 (its window before is 1, 1,
    1.05): both medians are 1 and 4. The step is at c5, the first commit beyond the midpoint, not at c4 (1.05)."""
    order = [f"c{i}" for i in range(10)]
    by = dict(zip(order, [1.0, 1.0, 1.0, 1.0, 1.05, 4.0, 4.0, 4.0, 4.0, 4.0], strict=True))
    assert summary.steps(by, order, window=3, factor=1.4) == [("c5", 1.0, 4.0)]
    # a lone figure beyond the midpoint before it (c3) is noise: the crossing needs the next figure beyond it too
    by["c3"] = 3.0
    assert summary.steps(by, order, window=3, factor=1.4) == [("c5", 1.0, 4.0)]


def test_a_track_figure_in_seconds_is_a_timing(history, capsys) -> None:
    """bench_import's track_import_cpu is a track_ figure in seconds: the summary finds its step (at commit 8, where it
    halves) as it does a time_ benchmark's, rather than listing each of its noisy changes as a track_ change."""
    repo, results, commits = history
    add_counts(results, commits, lambda i: (0.004 if i < 8 else 0.002) * (1.1 if i % 2 else 1.0), name="bench.I.track_cpu")
    (results.parent / "benchmarks.json").write_text(json.dumps({"bench.I.track_cpu": {"unit": "seconds"}, "version": 2}))
    assert summary.main(["--results", str(results), "--repo", str(repo), "--code", "engine.py", "--window", "3"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "track_cpu" in line and "->" in line]
    assert len(lines) == 1 and lines[0].startswith(commits[8][:7]), lines
