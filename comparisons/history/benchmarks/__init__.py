"""The asv suites (asv.conf.json's benchmark_dir): bench_*.py, one class per suite; bench_support.py is what they share.

asv imports every module of this folder and takes any time_/track_/peakmem_/timeraw_ name for a benchmark, so only
suites live here. They reach the library through its stable interface only, since they also run against old commits.
"""
