#!/usr/bin/env python3
"""Markdown tables for the README from bench_gemm / bench_ops JSON (medians of repetitions).

    B=build/release/bench
    $B/bench_gemm --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
        --benchmark_format=json --benchmark_out=gemm.json
    $B/bench_ops  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
        --benchmark_format=json --benchmark_out=ops.json
    python3 bench/tables.py --gemm gemm.json --ops ops.json

Every cell is the median of the repetitions in the file (the `_median` aggregate; a file
without aggregates uses its single runs). Given several files of one program (runs of the same
build at different times), every cell is the median over the files of those medians, and a
ratio is taken between the two medians. "GF (p %)" is GFLOP/s and the % of the peak the same
run measured (the denominator the benchmark reports as peak_GFLOP/s); "a / b" is 1 thread /
2 threads. A ratio "x×" is peer time ÷ tessel time in the same run (> 1: tessel faster).
Missing rows print as "–", never as a number.
"""
import argparse
import sys

from bench_json import load_many

def cell(row):
    if row is None or "GFLOP/s" not in row:
        return "–"
    return f"{row['GFLOP/s']:.0f} ({row['%peak']:.0f} %)"


def gflops(row):
    if row is None or "GFLOP/s" not in row:
        return "–"
    return f"{row['GFLOP/s']:.0f}"


def ratio(ours, peer):
    """Peer time ÷ our time = our GFLOP/s ÷ peer GFLOP/s (same flop count per row)."""
    if ours is None or peer is None or "GFLOP/s" not in ours or "GFLOP/s" not in peer:
        return "–"
    return f"{ours['GFLOP/s'] / peer['GFLOP/s']:.2f}×"


def both(fn, rows, key):
    return " / ".join(fn(rows.get((key, t))) for t in (1, 2))


def pair(fn, rows, a, b):
    return " / ".join(fn(rows.get((a, t)), rows.get((b, t))) for t in (1, 2))


GEMM_SHAPES = [
    ("sq512", "square 512"), ("sq1024", "square 1024"), ("sq2048", "square 2048"),
    ("mh16", "M=2048 K=64 N=1024 ×16"), ("mh12", "M=2048 K=64 N=768 ×12"),
    ("mh32", "M=4096 K=128 N=128 ×32"),
    ("mh16_dA", "×16, dA (k = N)"), ("mh12_dA", "×12, dA (k = N)"), ("mh32_dA", "×32, dA (k = N)"),
    ("mh16_dW", "×16, dW (k = M)"), ("mh12_dW", "×12, dW (k = M)"), ("mh32_dW", "×32, dW (k = M)"),
]


def gemm_table(rows):
    out = ["| shape | tessel fp32 | tessel f16 | tessel bf16 | oneDNN fp32 | oneDNN bf16 | OpenBLAS fp32 | Eigen fp32 "
           "| vs oneDNN fp32 | vs oneDNN bf16 |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for s, label in GEMM_SHAPES:
        if not any(k[0][1] == s for k in rows):
            continue
        cells = [both(cell, rows, ("tessel", s, d)) for d in ("float32", "float16", "bfloat16")]
        cells += [both(gflops, rows, ("onednn", s, d)) for d in ("float32", "bfloat16")]
        cells += [both(gflops, rows, (p, s, "float32")) for p in ("openblas", "eigen")]
        cells += [pair(ratio, rows, ("tessel", s, d), ("onednn", s, d)) for d in ("float32", "bfloat16")]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


OPS_CASES = [("multi_head", w, f"{w} multi-head") for w in ("W1", "W2", "W3")] + \
            [("importance_fwd", "W4a", "W4a importance fwd (t = 512)"),
             ("importance_fwd", "W4b", "W4b importance fwd (top_p 0.5)")] + \
            [("importance_fwdbwd", w, f"{w} importance fwd+bwd") for w in ("W1", "W2", "W3", "W4a", "W4b")]


def ops_table(rows):
    out = ["| workload | fp32 | f16 | bf16 | vs oneDNN fp32 | vs oneDNN bf16 | allocating ÷ `_into` time, bf16 |",
           "|---|---|---|---|---|---|---|"]
    for op, w, label in OPS_CASES:
        cells = [both(cell, rows, (op, w, d, "tessel_into")) for d in ("float", "float16", "bfloat16")]
        cells += [pair(ratio, rows, (op, w, d, "tessel_into"), (op, w, d, "onednn")) for d in ("float", "bfloat16")]
        cells.append(pair(ratio, rows, (op, w, "bfloat16", "tessel_into"), (op, w, "bfloat16", "tessel")))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def layer_table(rows):
    """linear, einsum and attention scores: our cell, then the issue's ratios."""
    out = ["| op | dtype | tessel | vs its own reference | vs oneDNN | vs libtorch |",
           "|---|---|---|---|---|---|"]
    specs = [
        ("linear_fwd", "L1", "linear + bias, x [4,512,1024]·W [1024,1024]", "tessel_into", "tessel_matmul"),
        ("linear_fwdbwd", "L1", "linear forward + backward", "tessel", None),
        ("einsum_mh", "W1", "einsum bsnk,nke->bsne (W1)", "tessel", "tessel_multi_head"),
        ("attn_scores", "A1", "einsum bhqd,bhkd->bhqk (4,16,512,64)", "tessel", None),
    ]
    for op, w, label, ours, ref in specs:
        for d, dl in (("float", "fp32"), ("float16", "f16"), ("bfloat16", "bf16")):
            me = (op, w, d, ours)
            if not any((me, t) in rows for t in (1, 2)):
                continue
            cells = [both(cell, rows, me),
                     pair(ratio, rows, me, (op, w, d, ref)) if ref else "–",
                     pair(ratio, rows, me, (op, w, d, "onednn")),
                     pair(ratio, rows, me, (op, w, d, "torch"))]
            out.append(f"| {label} | {dl} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def portable_table(gemm_rows, ops_rows):
    out = ["| shape | tessel_portable fp32 | Eigen fp32 | portable ÷ Eigen time⁻¹ |", "|---|---|---|---|"]
    for s, label in GEMM_SHAPES:
        me, peer = ("tessel_portable", s, "float32"), ("eigen", s, "float32")
        if any((me, t) in gemm_rows for t in (1, 2)):
            out.append(f"| {label} | {both(cell, gemm_rows, me)} | {both(cell, gemm_rows, peer)} | "
                       f"{pair(ratio, gemm_rows, me, peer)} |")
    for op, w, label in OPS_CASES:
        me, peer = (op, w, "float", "tessel_portable"), (op, w, "float", "eigen")
        if any((me, t) in ops_rows for t in (1, 2)):
            out.append(f"| {label} | {both(cell, ops_rows, me)} | {both(cell, ops_rows, peer)} | "
                       f"{pair(ratio, ops_rows, me, peer)} |")
    return "\n".join(out)


def scaling_table(rows):
    """scaling_eff of every tessel_into row with more than one thread."""
    out = ["| row | threads | scaling efficiency |", "|---|---|---|"]
    for (key, t), r in sorted(rows.items()):
        if t > 1 and key[-1] == "tessel_into" and "scaling_eff" in r:
            out.append(f"| {'/'.join(key[:-1])} | {t} | {r['scaling_eff']:.2f} |")
    return "\n".join(out)


def context_line(ctx):
    keys = ("date", "host_name", "num_cpus", "tessel_isa", "peak_fp32_fma_gflops_per_core",
            "peak_vdpbf16ps_gflops_per_core", "peak_amx_bf16_gflops_per_core", "load_avg")
    return "; ".join(f"{k} {ctx[k]}" for k in keys if k in ctx)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gemm", nargs="+", help="bench_gemm JSON (one or several runs)")
    ap.add_argument("--ops", nargs="+", help="bench_ops JSON (one or several runs)")
    a = ap.parse_args()
    if not a.gemm and not a.ops:
        ap.error("give --gemm and/or --ops")
    gemm_rows, ops_rows = {}, {}
    if a.gemm:
        contexts, gemm_rows = load_many(a.gemm)
        for ctx in contexts:
            print(f"<!-- bench_gemm: {context_line(ctx)} -->")
        print(f"\n{gemm_table(gemm_rows)}\n")
    if a.ops:
        contexts, ops_rows = load_many(a.ops)
        for ctx in contexts:
            print(f"<!-- bench_ops: {context_line(ctx)} -->")
        print(f"\n{ops_table(ops_rows)}\n")
        print(layer_table(ops_rows) + "\n")
        print(scaling_table(ops_rows) + "\n")
    print(portable_table(gemm_rows, ops_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
