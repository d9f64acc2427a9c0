"""The performance history: asv's suites (benchmarks/, asv.conf.json's benchmark_dir), the regression gate (gate),
the dashboard's offline post-processing (dashboard) and what the recorded history says (summary).
"""
