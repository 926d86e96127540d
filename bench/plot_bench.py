#!/usr/bin/env python3
"""Chart bench_ops results: tessel against each peer, per workload, dtype and thread count.

    build/release/bench/bench_ops --benchmark_format=json --benchmark_out=ops.json
    python3 bench/plot_bench.py ops.json                 # writes docs/bench_ops.png
    python3 bench/plot_bench.py ops.json -o chart.png --note "quiet machine, governor performance"

One panel per (dtype, threads); in each, one group of bars per (op, workload) with one bar
per implementation (GFLOP/s), the % of the measured peak written on each bar, the peak as a
dashed line, and "n/a" where a peer cannot run the dtype. The selection's share of the
forward time (W4a/W4b) is in the panel title. Needs matplotlib (Debian: python3-matplotlib;
run it with /usr/bin/python3 if another python3 comes first on PATH).
"""
import argparse
import os
import re
import sys

import bench_json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

IMPLS = ["tessel", "tessel_into", "eigen", "onednn", "torch"]
COLORS = {"tessel": "#1f77b4", "tessel_into": "#0b3d91", "eigen": "#7f7f7f", "onednn": "#ff7f0e", "torch": "#d62728"}
LABELS = {"tessel": "tessel", "tessel_into": "tessel _into", "eigen": "Eigen (naive)", "onednn": "oneDNN",
          "torch": "libtorch (reference)"}
OPS = {"multi_head": "multi-head", "importance_fwd": "imp. fwd", "importance_fwdbwd": "imp. fwd+bwd"}
CASES = [(op, w) for w in ("W1", "W2", "W3") for op in ("multi_head", "importance_fwd", "importance_fwdbwd")] + \
        [(op, w) for w in ("W4a", "W4b") for op in ("importance_fwd", "importance_fwdbwd")]
DTYPES = ["float", "float16", "bfloat16"]
NAME = re.compile(r"^(?P<op>[a-z_]+)/(?P<w>W[0-9a-z]+)/(?P<dtype>[a-z0-9]+)/(?P<impl>[a-z_]+)$")


def load(path):
    """The bench_ops rows keyed (op, workload, dtype, impl, threads)."""
    ctx, rows = bench_json.load(path)
    return ctx, {(*parts, n): row for (parts, n), row in rows.items() if NAME.match("/".join(parts))}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("json", help="bench_ops --benchmark_format=json --benchmark_out=<this file>")
    ap.add_argument("-o", "--output", default=os.path.join(here, "..", "docs", "bench_ops.png"))
    ap.add_argument("--note", default="", help="a line added under the title (e.g. the machine's state)")
    args = ap.parse_args()
    ctx, rows = load(args.json)
    if not rows:
        sys.exit(f"{args.json}: no bench_ops results found")

    threads = sorted({k[4] for k in rows})
    dtypes = [d for d in DTYPES if any(k[2] == d for k in rows)]
    impls = [i for i in IMPLS if any(k[3] == i for k in rows)]
    cases = [c for c in CASES if any(k[0] == c[0] and k[1] == c[1] for k in rows)]

    fig, axes = plt.subplots(len(dtypes), len(threads), figsize=(10 * len(threads), 4.2 * len(dtypes)),
                             squeeze=False)
    width = 0.8 / len(impls)
    for r, dtype in enumerate(dtypes):
        for c, n in enumerate(threads):
            ax = axes[r][c]
            peak = None
            for j, impl in enumerate(impls):
                for x, (op, w) in enumerate(cases):
                    row = rows.get((op, w, dtype, impl, n))
                    xpos = x - 0.4 + (j + 0.5) * width
                    if row is None:
                        continue
                    if "error" in row:
                        ax.text(xpos, 0, "n/a", rotation=90, ha="center", va="bottom", fontsize=7, color="#999999")
                        continue
                    g = row["GFLOP/s"]
                    peak = row.get("peak_GFLOP/s", peak)
                    ax.bar(xpos, g, width, color=COLORS[impl])
                    ax.text(xpos, g, f" {row['%peak']:.0f}%", rotation=90, ha="center", va="bottom", fontsize=7)
            if peak:
                ax.axhline(peak, color="black", linestyle="--", linewidth=0.8)
                ax.text(len(cases) - 0.5, peak, f"peak {peak:.0f}", ha="right", va="bottom", fontsize=7)
                ax.set_ylim(0, peak * 1.25)
            sel = []
            for w in ("W4a", "W4b"):
                row = rows.get(("select", w, dtype, "tessel", n))
                if row and "error" not in row:
                    sel.append(f"{w} {row['pct_of_fwd']:.2g}%")
            title = f"{dtype}, {n} thread{'s' if n > 1 else ''}"
            if sel:
                title += "   (selection alone, share of fwd: " + ", ".join(sel) + ")"
            ax.set_title(title, fontsize=10)
            ax.set_xticks(range(len(cases)))
            ax.set_xticklabels([f"{OPS[op]}\n{w}" for op, w in cases], fontsize=7)
            ax.set_xlim(-0.5, len(cases) - 0.5)
            ax.set_ylabel("GFLOP/s")
            ax.grid(axis="y", alpha=0.3)
            for sep in (2.5, 5.5, 8.5):
                if sep < len(cases) - 0.5:
                    ax.axvline(sep, color="#cccccc", linewidth=0.6)

    handles = [matplotlib.patches.Patch(color=COLORS[i], label=LABELS[i]) for i in impls]
    fig.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=9, bbox_to_anchor=(0.5, 0.995))
    custom = []
    for key, label in (("tessel_isa", "tessel ISA {}"), ("peak_fp32_fma_gflops_per_core", "fp32 FMA peak {:.0f} GFLOP/s/core"),
                       ("peak_vdpbf16ps_gflops_per_core", "vdpbf16ps peak {:.0f} GFLOP/s/core")):
        if key in ctx:
            v = ctx[key]
            custom.append(label.format(v if key == "tessel_isa" else float(v)))
    fig.suptitle(f"bench_ops — {ctx.get('date', '')[:16]}, {ctx.get('host_name', '')}, {ctx.get('num_cpus', '?')} CPUs;  "
                 + ";  ".join(custom) + ".   Bars: GFLOP/s, label: % of peak × threads; W1–W3 importance selects every row"
                 + (f"\n{args.note}" if args.note else ""), fontsize=9, y=0.965)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
