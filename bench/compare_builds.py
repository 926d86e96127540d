#!/usr/bin/env python3
"""Summarise bench/compare_builds.sh output: per row, before ÷ after of the fastest run and of
the median run (> 1: the after build is faster), and their geometric means over all rows.

The fastest run estimates each build's speed on an undisturbed machine; the median shows
whether a difference persists across the machine's phases. A row is only slower "beyond
noise" when both ratios say so and a rerun with more pairs agrees.
"""
import collections
import math
import statistics
import sys


def main(paths):
    rows = collections.OrderedDict()
    for path in paths:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] != "missing":
                    rows.setdefault(parts[0], {"before": [], "after": []})[parts[1]].append(float(parts[2]))
    fastest, median = [], []
    print(f"{'row':70s} {'pairs':>5s} {'fastest':>8s} {'median':>8s}")
    for row, runs in rows.items():
        b, a = runs["before"], runs["after"]
        if not b or not a:
            print(f"{row:70s} incomplete")
            continue
        fastest.append(min(b) / min(a))
        median.append(statistics.median(b) / statistics.median(a))
        print(f"{row.strip('^$'):70s} {min(len(a), len(b)):5d} {fastest[-1]:8.3f} {median[-1]:8.3f}")
    if fastest:
        geo = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))
        print(f"{'geometric mean over ' + str(len(fastest)) + ' rows':70s} {'':5s} {geo(fastest):8.3f} {geo(median):8.3f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1:]))
