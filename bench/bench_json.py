"""Reading Google Benchmark JSON written by bench_gemm / bench_ops (shared by tables.py and
plot_bench.py)."""
import json
import re

# "<part>/<part>/.../threads:<n>/real_time" (or manual_time), with "_<aggregate>" when the run
# had repetitions.
NAME = re.compile(r"^(?P<head>.+)/threads:(?P<n>\d+)/(?:real|manual)_time(?:_(?P<agg>\w+))?$")


def load(path):
    """(context, rows): rows[(parts, threads)] is one benchmark's result, where parts is its name
    before "/threads:" split at "/". The median of the repetitions when the file has aggregates
    (--benchmark_repetitions, with or without --benchmark_report_aggregates_only), else the
    single run; a run that failed is {"error": message}."""
    with open(path) as f:
        data = json.load(f)
    rows, from_median = {}, set()
    for b in data.get("benchmarks", []):
        m = NAME.match(b["name"])
        if not m:
            continue
        median = b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"
        if b.get("run_type", "iteration") != "iteration" and not median:
            continue
        key = (tuple(m["head"].split("/")), int(m["n"]))
        if key in from_median:
            continue
        rows[key] = {"error": b.get("error_message", "error")} if b.get("error_occurred") else b
        if median:
            from_median.add(key)
    return data.get("context", {}), rows
