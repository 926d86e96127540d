#!/usr/bin/python3
"""Generates the PyTorch reference cases that tests/test_views_pytorch.cpp replays.

    /usr/bin/python3 tests/data/views/generate.py        (Debian's python3-torch, PyTorch 1.13)

Writes, next to this script (the outputs are checked in; rerun only to change the cases):

  chains.txt  random chains of view operations on contiguous, permuted, sliced, selected and
              expanded starts, as PyTorch executes them: after every step the shape, strides,
              storage offset, whether a copy was made (the storage changed) and every value, or
              that the call raised.
  print.txt   tensors and the exact text print(tensor) shows for them.
  randn.txt   the first values of tessel's normal generator for a few seeds, computed here from
              its definition (core/random.hpp) in Python's strict IEEE double arithmetic.

The generator is deterministic (random.Random with fixed seeds), so rerunning it reproduces the
files byte for byte with the same PyTorch.

chains.txt format (one token stream per line, '#' lines are comments):

  case <id> <start-kind>
  base <rank> <sizes...>                 torch.arange(numel, dtype=float32).view(sizes)
  op <name> <args...>                    one call on the current tensor, then one result line:
  = <rank> <sizes> <strides> <offset> <copied> <numel> <values...>
  = throws                               PyTorch raised; the current tensor stays as it was
  = pieces <count> <take>                split/chunk: <count> lines "- <rank> <sizes> <strides>
                                         <offset> <copied> <numel> <values>" follow, and the chain
                                         continues with piece <take>
  end

Operations and their arguments:
  view <n> <sizes...>         reshape <n> <sizes...>      permute <n> <dims...>
  transpose <d0> <d1>         narrow <dim> <start> <len>  select <dim> <index>
  split <size> <dim> <take>   splitlist <k> <sizes...> <dim> <take>
  chunk <chunks> <dim> <take> unsqueeze <dim>             expand <n> <sizes...>
  contiguous                  clone

<offset> is storage_offset() in elements, relative to the storage of the tensor (the base, or the
latest copy in the chain). <copied> is 1 when the result lives in a new storage (compared by
storage data pointer; for empty storages by the operation's rule, since PyTorch gives empty
tensors a null data pointer). clone is called as clone(memory_format=torch.contiguous_format),
the contiguous copy tessel's clone() makes (PyTorch's default preserve_format keeps the strides of
a dense permuted tensor).
"""

import math
import os
import random
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_RANK = 5
MAX_NUMEL = 240  # results larger than this are not generated (keeps the files small)


# ---------------------------------------------------------------------------------------------
# chains

def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def fmt_tensor(t, base_storage_ptr, copied):
    vals = t.reshape(-1).tolist() if t.numel() > 0 else []
    toks = [str(t.dim())] + [str(s) for s in t.shape] + [str(s) for s in t.stride()]
    toks += [str(t.storage_offset()), str(int(copied)), str(t.numel())]
    toks += ['%d' % v if float(v).is_integer() else repr(v) for v in vals]
    return ' '.join(toks)


def storage_ptr(t):
    return t.storage().data_ptr()


def storage_nbytes(t):
    return t.storage().nbytes()


class ChainGen:
    def __init__(self, rng):
        self.rng = rng

    def dim(self, rank, allow_bad=True):
        """A dimension argument: sometimes negative, rarely out of range."""
        r = self.rng
        if rank == 0:
            return r.choice([0, -1])
        if allow_bad and r.random() < 0.04:
            return r.choice([rank, -rank - 1])
        d = r.randrange(rank)
        return d - rank if r.random() < 0.4 else d

    def target_shape(self, shape, n_out):
        """A shape of n_out dims for the same number of elements: a factorisation, or the
        current shape with dimensions merged/split; sometimes a -1, sometimes invalid."""
        r = self.rng
        n = numel(shape)
        if n_out == 0:
            t = []
        elif r.random() < 0.5 or not shape:
            t = [1] * n_out
            if n == 0:
                t = [r.randint(0, 3) for _ in range(n_out)]
                t[r.randrange(n_out)] = 0
            else:
                m, p = n, 2
                while m > 1:
                    while m % p == 0:
                        t[r.randrange(n_out)] *= p
                        m //= p
                    p += 1
        else:
            t = list(shape)
            while len(t) > n_out:
                i = r.randrange(len(t) - 1)
                t[i:i + 2] = [t[i] * t[i + 1]]
            while len(t) < n_out:
                i = r.randrange(len(t))
                f = 1
                for c in range(2, t[i] + 1):
                    if t[i] % c == 0 and r.random() < 0.5:
                        f = c
                        break
                rest = t[i] // f if f != 1 else t[i]
                pair = [f, rest] if r.random() < 0.5 else [rest, f]
                t[i:i + 1] = pair
        if t:
            x = r.random()
            if x < 0.3:
                t[r.randrange(len(t))] = -1
            elif x < 0.36:
                t[r.randrange(len(t))] += 1  # almost always the wrong element count
            elif x < 0.39 and len(t) >= 2:
                t[0] = t[1] = -1
        return t

    def random_op(self, t):
        """An operation (name, args) for tensor t."""
        r = self.rng
        rank = t.dim()
        shape = list(t.shape)
        choices = ['view', 'reshape', 'permute', 'transpose', 'unsqueeze', 'expand', 'contiguous', 'clone']
        if rank >= 1 or r.random() < 0.2:  # on a 0-d tensor PyTorch raises; tessel rejects at compile time
            choices += ['narrow', 'select', 'split', 'splitlist', 'chunk', 'narrow', 'select']
        name = r.choice(choices)
        if name in ('view', 'reshape'):
            n_out = r.randint(1, MAX_RANK)
            if t.numel() == 1 and r.random() < 0.2:
                n_out = 0
            sizes = self.target_shape(shape, n_out)
            return name, [n_out] + sizes
        if name == 'permute':
            p = list(range(rank))
            r.shuffle(p)
            p = [d - rank if (r.random() < 0.4) else d for d in p]
            if rank >= 2 and r.random() < 0.05:
                p[0] = p[1] % rank if p[1] < 0 else p[1]  # a repeated dimension
            return name, [rank] + p
        if name == 'transpose':
            if rank == 0 and r.random() < 0.1:
                a, b = 1, 0
            else:
                a, b = self.dim(rank), self.dim(rank)
            return name, [a, b]
        if name == 'unsqueeze':
            if rank >= MAX_RANK:
                return self.random_op(t)
            d = r.randint(-rank - 1, rank)
            if r.random() < 0.04:
                d = rank + 1
            return name, [d]
        if name == 'expand':
            n_out = rank + (1 if rank < MAX_RANK and r.random() < 0.4 else 0)
            lead = n_out - rank
            sizes = []
            for _ in range(lead):
                sizes.append(r.choice([1, 1, 2, 3, 0]) if r.random() > 0.03 else -1)
            for s in shape:
                if s == 1:
                    sizes.append(r.choice([1, 2, 3, 4, -1, 0]))
                else:
                    sizes.append(r.choice([s, -1]) if r.random() > 0.05 else s + 1)
            return name, [n_out] + sizes
        if name == 'contiguous':
            return name, []
        if name == 'clone':
            return name, []
        d = self.dim(rank)
        size = shape[d] if -rank <= d < rank and rank > 0 else 1
        if name == 'narrow':
            start = r.randint(-size, size)
            lo = start + size if start < 0 else start
            length = r.randint(0, max(size - lo, 0))
            if r.random() < 0.06:
                length = size - lo + 1
            if r.random() < 0.03:
                start = size + 1
            return name, [d, start, length]
        if name == 'select':
            i = r.randint(-size, size - 1) if size > 0 else 0
            if r.random() < 0.05:
                i = size
            return name, [d, i]
        if name == 'split':
            s = r.randint(1, size + 1)
            if r.random() < 0.05:
                s = 0
            return name, [s, d]
        if name == 'splitlist':
            parts = []
            left = size
            for _ in range(r.randint(1, 4) - 1):
                parts.append(r.randint(0, left))
                left -= parts[-1]
            parts.append(left)
            if r.random() < 0.06:
                parts[-1] += 1
            return name, [len(parts)] + parts + [d]
        if name == 'chunk':
            c = r.randint(1, 5)
            if r.random() < 0.03:
                c = 0
            return name, [c, d]
        raise AssertionError(name)

    def start(self, kind):
        """A base tensor and the ops that turn it into a start of the given kind."""
        r = self.rng
        rank = r.randint(1, 4)
        shape = [r.randint(1, 5) if r.random() > 0.08 else 0 for _ in range(rank)]
        while numel(shape) > 120:
            shape[r.randrange(rank)] = max(1, shape[r.randrange(rank)] // 2)
        ops = []
        if kind == 'permuted' and rank >= 2:
            p = list(range(rank))
            r.shuffle(p)
            ops.append(('permute', [rank] + p))
        elif kind == 'sliced':
            for d in range(rank):
                if shape[d] >= 2 and r.random() < 0.7:
                    start = r.randint(0, shape[d] - 1)
                    ops.append(('narrow', [d, start, r.randint(1, shape[d] - start)]))
        elif kind == 'selected':
            shape.append(r.randint(1, 4))
            ops.append(('select', [len(shape) - 1, r.randrange(shape[-1])]))
        elif kind == 'expanded':
            small = [s if r.random() < 0.5 else 1 for s in shape]
            target = [s if small[i] != 1 else r.randint(1, 4) for i, s in enumerate(shape)]
            shape = small
            ops.append(('expand', [rank] + target))
        return shape, ops


def call(t, name, args):
    """Runs operation `name` with the recorded arguments `args` on t."""
    if name == 'view':
        return t.view(args[1:])
    if name == 'reshape':
        return t.reshape(args[1:])
    if name == 'permute':
        return t.permute(args[1:])
    if name == 'transpose':
        return t.transpose(*args)
    if name == 'unsqueeze':
        return t.unsqueeze(*args)
    if name == 'expand':
        return t.expand(args[1:])
    if name == 'contiguous':
        return t.contiguous()
    if name == 'clone':
        return t.clone(memory_format=torch.contiguous_format)
    if name == 'narrow':
        return t.narrow(*args)
    if name == 'select':
        return t.select(*args)
    if name == 'split':
        return t.split(args[0], args[1])
    if name == 'splitlist':
        return t.split(args[1:1 + args[0]], args[1 + args[0]])
    if name == 'chunk':
        return t.chunk(*args)
    raise AssertionError(name)


# Chains written out by hand: PyTorch idioms, and the cases where an earlier tessel differed from
# PyTorch (expand's strides for new leading dimensions, storage offsets of empty pieces, 0-d
# transpose, unsqueeze out of range). Each op may carry the split piece to continue with.
FIXED_CHAINS = [
    ('expand-leading', [3], [('expand', [2, 1, 3])]),
    ('expand-leading', [3], [('expand', [3, 2, 1, 3])]),
    ('expand-leading', [3], [('expand', [3, 1, 1, 3])]),
    ('expand-leading', [3, 1], [('expand', [3, 1, 3, 4])]),
    ('expand-scalar', [1], [('select', [0, 0]), ('expand', [2, 1, 3]), ('contiguous', [])]),
    ('expand-scalar', [1], [('select', [0, 0]), ('expand', [1, 1])]),
    ('empty-offsets', [3], [('narrow', [0, 3, 0])]),
    ('empty-offsets', [3, 4], [('narrow', [0, 3, 0]), ('narrow', [1, 4, 0])]),
    ('empty-offsets', [3, 4], [('narrow', [-1, -2, 0])]),
    ('empty-offsets', [3, 4], [('splitlist', [3, 1, 2, 0, 0], 2)]),
    ('empty-offsets', [3, 4], [('splitlist', [3, 0, 4, 0, 1], 0)]),
    ('empty-offsets', [3, 4], [('narrow', [1, 4, 0]), ('chunk', [3, 1], 2)]),
    ('empty-offsets', [3, 4], [('narrow', [0, 3, 0]), ('split', [2, 0], 0)]),
    ('empty-offsets', [0], [('narrow', [0, -1, 0])]),
    ('scalar', [1], [('select', [0, 0]), ('transpose', [0, 0]), ('transpose', [-1, 0]), ('transpose', [0, -1]),
                     ('transpose', [1, 0]), ('unsqueeze', [0]), ('unsqueeze', [-2])]),
    ('scalar', [1], [('select', [0, -1]), ('narrow', [0, 0, 1]), ('select', [0, 0]), ('split', [1, 0], 0),
                     ('chunk', [1, 0], 0), ('view', [0]), ('reshape', [2, 1, 1]), ('view', [0])]),
    ('unsqueeze-range', [2, 3], [('unsqueeze', [5]), ('unsqueeze', [3]), ('unsqueeze', [-4]), ('unsqueeze', [2]),
                                 ('unsqueeze', [-5]), ('unsqueeze', [4])]),
    # x.transpose(1, 2).contiguous().view(b, s, -1): attention heads back to rows.
    ('attention', [2, 4, 3, 5], [('transpose', [1, 2]), ('contiguous', []), ('view', [3, 2, 3, -1])]),
    # the fused-QKV split done right, and the two readings of split-then-view.
    ('fused-qkv', [2, 3, 24], [('view', [5, 2, 3, 3, 2, 4]), ('select', [2, 0]), ('transpose', [1, 2]),
                               ('contiguous', [])]),
    ('fused-qkv', [2, 3, 24], [('splitlist', [3, 8, 8, 8, -1], 1), ('view', [4, 2, 3, 2, 4]),
                               ('transpose', [1, 2])]),
    ('fused-qkv', [2, 3, 24], [('view', [4, 2, 3, 2, 12]), ('split', [4, -1], 2), ('transpose', [1, 2]),
                               ('reshape', [3, 2, 2, 12])]),
    # copies of copies, and views of them
    ('copies', [2, 3, 4], [('permute', [3, 2, 0, 1]), ('reshape', [1, -1]), ('clone', []), ('transpose', [0, 0]),
                           ('expand', [2, 3, 24]), ('contiguous', []), ('chunk', [4, -1], 3), ('reshape', [2, 6, 3])]),
]


def copy_rule(name, before):
    """Whether an operation copies, by PyTorch's rules (for empty storages)."""
    if name == 'clone':
        return True
    if name == 'contiguous':
        return not before.is_contiguous()
    return False


def record_step(out, stats, cur, name, args, pick):
    """Runs one operation on cur and records it. pick(n) chooses the split piece that continues the
    chain. Returns the new current tensor (cur when the call raised), or None when the result is not
    worth recording (too large, or a split into no pieces)."""
    try:
        res = call(cur, name, args)
    except (RuntimeError, IndexError, ValueError):
        out.append(('op %s %s' % (name, ' '.join(map(str, args)))).rstrip())
        out.append('= throws')
        stats['throws'] += 1
        return cur
    pieces = list(res) if isinstance(res, (tuple, list)) else None
    results = pieces if pieces is not None else [res]
    if any(p.numel() > MAX_NUMEL for p in results):
        return None  # too large for the checked-in files
    if any(s < 0 for p in results for s in p.shape):
        return None  # PyTorch 1.13 lets expand() of an empty tensor take sizes below -1
    if not results:
        return None  # a split into no pieces: nothing to continue the chain with
    take = pick(len(results))
    if pieces is not None:
        args = args + [take]
    out.append(('op %s %s' % (name, ' '.join(map(str, args)))).rstrip())
    lines = []
    for p in results:
        if storage_nbytes(cur) > 0 and storage_nbytes(p) > 0:
            copied = storage_ptr(p) != storage_ptr(cur)
        else:
            copied = copy_rule(name, cur)
        if copied:
            assert p.storage_offset() == 0 and p.is_contiguous()
            stats['copies'] += 1
        lines.append(fmt_tensor(p, None, copied))
    if pieces is not None:
        out.append('= pieces %d %d' % (len(pieces), take))
        out.extend('- ' + line for line in lines)
        stats['pieces'] += len(pieces)
    else:
        out.append('= ' + lines[0])
    stats['steps'] += 1
    return results[take]


def gen_chains(out, count, seed):
    rng = random.Random(seed)
    g = ChainGen(rng)
    kinds = ['contiguous', 'permuted', 'sliced', 'selected', 'expanded']
    stats = {'steps': 0, 'throws': 0, 'copies': 0, 'pieces': 0}
    case = 0
    for label, shape, ops in FIXED_CHAINS:
        out.append('case %d %s' % (case, label))
        out.append('base %d %s' % (len(shape), ' '.join(map(str, shape))))
        cur = torch.arange(numel(shape), dtype=torch.float32).view(shape)
        for op in ops:
            name, args = op[0], op[1]
            take = op[2] if len(op) > 2 else 0
            cur = record_step(out, stats, cur, name, args, lambda n: take)
            assert cur is not None
        out.append('end')
        case += 1
    for _ in range(count):
        kind = kinds[case % len(kinds)]
        shape, start_ops = g.start(kind)
        cur = torch.arange(numel(shape), dtype=torch.float32).view(shape)
        out.append('case %d %s' % (case, kind))
        out.append('base %d %s' % (len(shape), ' '.join(map(str, shape))))
        for name, args in start_ops:
            nxt = record_step(out, stats, cur, name, args, lambda n: 0)
            cur = cur if nxt is None else nxt
        steps = rng.randint(3, 9)
        while steps > 0:
            name, args = g.random_op(cur)
            nxt = record_step(out, stats, cur, name, args, lambda n: rng.randrange(n))
            if nxt is None:
                continue  # draw another operation
            cur = nxt
            steps -= 1
        out.append('end')
        case += 1
    return stats


# ---------------------------------------------------------------------------------------------
# print

def print_cases():
    g = torch.Generator().manual_seed(5)
    cases = [
        torch.arange(6.).view(2, 3),
        torch.arange(6.).view(2, 3) / 2,
        torch.tensor([1.5, 2.25e-5]),
        torch.tensor([1.0, 1000.0, 1e9]),
        torch.tensor([-1.0, 2.0, -3.0]),
        torch.tensor([0.1, -0.25, 12.5]),
        torch.tensor([float('nan'), 1.0, float('inf'), -float('inf')]),
        torch.tensor([float('nan'), 0.5, -float('inf')]),
        torch.tensor([0.0, -0.0, 0.0]),
        torch.tensor([1e-5, 3e-5]),
        torch.tensor([123456.0, 0.5]),
        torch.tensor(3.5),
        torch.tensor(3.0),
        torch.tensor(-2.5e-7),
        torch.zeros(0),
        torch.zeros(0, 3),
        torch.zeros(2, 0, 4),
        torch.zeros(0, dtype=torch.float16),
        torch.zeros(2, 3, dtype=torch.float16),
        (torch.arange(12.).view(3, 4) / 7).to(torch.bfloat16),
        (torch.randn(3, 5, generator=g) * 100).to(torch.float16),
        torch.arange(2000.),
        torch.arange(2000.).view(20, 100),
        torch.randn(10, 10, 20, generator=g),
        torch.randn(2, 3, 4, 5, generator=g),
        torch.randn(30, generator=g),
        torch.randn(30, generator=g) * 1e-6,
        torch.arange(1001.).to(torch.bfloat16),
        torch.arange(40.).view(1, 40),
        torch.randn(1, 19, generator=g).to(torch.float16),
        torch.randn(7, 1, 1, generator=g),
        torch.tensor([[1e10, 1.0], [2.0, 3.0]]),
        torch.full((4, 4), 7.0).to(torch.bfloat16),
    ]
    # torch.set_printoptions settings: (precision, threshold, edgeitems, linewidth, sci_mode)
    default = (4, 1000, 3, 80, None)
    runs = [(t, default) for t in cases]
    runs += [(cases[1], (2, 1000, 3, 80, None)), (cases[23], (4, 10, 2, 80, None)),
             (cases[21], (4, 10, 1, 60, None)), (cases[25], (3, 1000, 3, 40, None)),
             (cases[5], (4, 1000, 3, 80, True)), (cases[3], (4, 1000, 3, 80, False)),
             (cases[19], (6, 5, 2, 50, True))]
    lines = []
    for t, (precision, threshold, edgeitems, linewidth, sci_mode) in runs:
        torch.set_printoptions(precision=precision, threshold=threshold, edgeitems=edgeitems,
                               linewidth=linewidth, sci_mode=sci_mode)
        text = str(t)
        torch.set_printoptions(profile='default')
        torch.set_printoptions(sci_mode=None)
        vals = t.float().reshape(-1).tolist()
        lines.append('print %s %d %s' % (str(t.dtype).replace('torch.', ''), t.dim(),
                                         ' '.join(map(str, t.shape))))
        lines.append('options %d %d %d %d %d' % (precision, threshold, edgeitems, linewidth,
                                                 -1 if sci_mode is None else int(sci_mode)))
        lines.append('values %d %s' % (len(vals), ' '.join(float(v).hex() for v in vals)))
        text_lines = text.split('\n')
        lines.append('text %d' % len(text_lines))
        lines.extend(text_lines)
    return lines


# ---------------------------------------------------------------------------------------------
# randn: core/random.hpp's generator, from its definition

MASK = (1 << 64) - 1


class Normal:
    def __init__(self, seed):
        self.state = seed & MASK

    def bits(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def normal(self):
        while True:
            u = float((self.bits() >> 11) + 1) * 2.0 ** -53
            w = float(self.bits() >> 11) * 2.0 ** -53
            v = 1.7156 * (w - 0.5)
            x = u - 0.449871
            y = abs(v) + 0.386595
            q = x * x + y * (0.19600 * y - 0.25472 * x)
            if q < 0.27597:
                return v / u
            if q > 0.27846:
                continue
            if v * v <= -4.0 * u * u * math.log(u):
                return v / u


def randn_cases():
    lines = []
    for seed in [0, 1, 7, 12345, 2 ** 64 - 1]:
        gen = Normal(seed)
        vals = [gen.normal() for _ in range(2000)]
        lines.append('seed %d %d' % (seed, len(vals)))
        lines.append(' '.join(v.hex() for v in vals))
    return lines


def main():
    print('PyTorch', torch.__version__, file=sys.stderr)
    out = ['# Generated by tests/data/views/generate.py with PyTorch %s; do not edit.' % torch.__version__]
    stats = gen_chains(out, 600, seed=20261201)
    with open(os.path.join(HERE, 'chains.txt'), 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('chains:', stats, file=sys.stderr)
    with open(os.path.join(HERE, 'print.txt'), 'w') as f:
        f.write('# Generated by tests/data/views/generate.py with PyTorch %s; do not edit.\n' % torch.__version__)
        f.write('\n'.join(print_cases()) + '\n')
    with open(os.path.join(HERE, 'randn.txt'), 'w') as f:
        f.write('# Generated by tests/data/views/generate.py from the definition in core/random.hpp.\n')
        f.write('\n'.join(randn_cases()) + '\n')


if __name__ == '__main__':
    main()
