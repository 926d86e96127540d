"""Reading Google Benchmark JSON written by bench_gemm / bench_ops (shared by tables.py and
plot_bench.py)."""
import json
import re
import statistics

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


def load_many(paths):
    """(contexts, rows) over several runs of the same program (a slow phase of a shared machine
    then moves a cell only if it hit most of the runs): each row's numeric fields are the median
    over the files of each file's row (load's median of its repetitions); a row that failed or
    is missing in a file is left out of that file's vote, and a row with no successful run is
    its first error."""
    loaded = [load(path) for path in paths]
    rows = {}
    for key in {k for _, r in loaded for k in r}:
        runs = [r[key] for _, r in loaded if key in r and "error" not in r[key]]
        if not runs:
            rows[key] = next(r[key] for _, r in loaded if key in r)
            continue
        merged = dict(runs[0])
        for field, value in runs[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values = [run[field] for run in runs if isinstance(run.get(field), (int, float))]
                merged[field] = statistics.median(values)
        rows[key] = merged
    return [ctx for ctx, _ in loaded], rows
