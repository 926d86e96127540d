// tests/support/einsum_reference.hpp — an fp64 einsum written from torch.einsum's documented
// rules, sharing nothing with tessel's parser, planner or loops, and helpers for views of any
// rank (dense copies, odd layouts, judging).
//
// The reference spells every ellipsis dimension as a digit label ('0' + position in the
// right-aligned ellipsis block), then sums the product of all operands over every assignment
// of every label (brute force), with Σ|products| as the magnitude and the product of the
// summed labels' sizes as K.
#pragma once

#include <tessel/tessel.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "reference.hpp"

namespace tessel_test {

// ---------------------------------------------------------------- views of any rank

// Row-major double copy of a view of any rank (R = 0 included).
template <class T, std::size_t R>
Dense dense_any(tessel::TensorView<T, R> x) {
  Dense d;
  d.shape.assign(x.shape().begin(), x.shape().end());
  const std::int64_t n = x.numel();
  for (std::int64_t flat = 0; flat < n; ++flat) {
    std::int64_t rest = flat, off = 0;
    for (std::size_t k = R; k-- > 0;) {
      off += (rest % x.size(static_cast<std::int64_t>(k))) * x.stride(static_cast<std::int64_t>(k));
      rest /= x.size(static_cast<std::int64_t>(k));
    }
    d.v.push_back(to_double(x.data()[off]));
  }
  return d;
}
template <class T, std::size_t R>
Dense dense_any(const tessel::Tensor<T, R>& x) {
  return dense_any(x.view());
}

// Judges a result of any rank by reference.hpp's rule; `unit` > 0 widens the per-product
// term to unit·sqrt(K)·mag (for chains that round intermediates to T).
template <class T, std::size_t R>
Verdict judge_any(tessel::TensorView<const T, R> ours, const Ref& ref, double unit = 0) {
  return unit > 0 ? judge_values<T>(dense_any(ours), ref, unit) : judge_values<T>(dense_any(ours), ref);
}
template <class T, std::size_t R>
Verdict judge_any(const tessel::Tensor<T, R>& ours, const Ref& ref, double unit = 0) {
  return judge_any<T, R>(ours.view(), ref, unit);
}

// A view of `src`'s values in another layout: dimension perm[0] outermost in memory, ...,
// every stride stretched by `gap` (gap 1, identity perm: contiguous). The storage lives in
// the returned object.
template <class T, std::size_t R>
struct Laid {
  tessel::Tensor<T, 1> storage;
  tessel::TensorView<T, R> view;
};
template <class T, std::size_t R>
Laid<T, R> lay_out(const tessel::Tensor<T, R>& src, std::array<std::size_t, R> perm, std::int64_t gap) {
  std::array<std::int64_t, R> strides{};
  std::int64_t extent = gap;
  for (std::size_t q = R; q-- > 0;) {
    const std::size_t d = perm[q];
    strides[d] = extent;
    extent *= std::max<std::int64_t>(src.shape()[d], 1);
  }
  Laid<T, R> l{tessel::Tensor<T, 1>({extent}), {}};
  l.view = tessel::TensorView<T, R>(l.storage.data(), src.shape(), strides);
  l.view.copy_(src.view());
  return l;
}
// The same in row-major order with one unused element after each run of every dimension
// (stride[d] = (size[d+1] + 1)·stride[d+1]): no two dimensions merge.
template <class T, std::size_t R>
Laid<T, R> padded_layout(const tessel::Tensor<T, R>& src) {
  std::array<std::int64_t, R> strides{};
  std::int64_t extent = 1;
  for (std::size_t d = R; d-- > 0;) {
    strides[d] = extent;
    extent *= src.shape()[d] + 1;
  }
  Laid<T, R> l{tessel::Tensor<T, 1>({extent}), {}};
  l.view = tessel::TensorView<T, R>(l.storage.data(), src.shape(), strides);
  l.view.copy_(src.view());
  return l;
}
template <class T, std::size_t R>
Laid<T, R> random_layout(const tessel::Tensor<T, R>& src, std::mt19937& rng) {
  std::array<std::size_t, R> perm{};
  std::iota(perm.begin(), perm.end(), std::size_t{0});
  std::shuffle(perm.begin(), perm.end(), rng);
  return lay_out(src, perm, 1 + static_cast<std::int64_t>(rng() % 2));
}

// ---------------------------------------------------------------- the reference einsum

struct RefTerm {
  std::string labels;  // one char per dimension; ellipsis dimensions as digits
};

// The fp64 einsum of `ops` by `equation` (assumed valid).
inline Ref ref_einsum(const std::string& equation, const std::vector<const Dense*>& ops) {
  std::string eq;
  for (char ch : equation)
    if (ch != ' ') eq += ch;
  const auto arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<std::string> terms(1);
  for (char ch : lhs) {
    if (ch == ',') terms.emplace_back();
    else terms.back() += ch;
  }
  // Ellipsis dimensions: E = the most any operand has; right-aligned digits.
  auto letters_of = [](const std::string& t) {
    const auto p = t.find("...");
    return p == std::string::npos ? t : t.substr(0, p) + t.substr(p + 3);
  };
  std::size_t E = 0;
  for (std::size_t i = 0; i < terms.size(); ++i)
    if (terms[i].find("...") != std::string::npos)
      E = std::max(E, ops[i]->shape.size() - letters_of(terms[i]).size());
  auto expand = [&](const std::string& t, std::size_t dims) {
    const auto p = t.find("...");
    if (p == std::string::npos) return t;
    std::string block;
    for (std::size_t k = E - dims; k < E; ++k) block += static_cast<char>('0' + k);
    return t.substr(0, p) + block + t.substr(p + 3);
  };
  std::vector<std::string> in;
  for (std::size_t i = 0; i < terms.size(); ++i)
    in.push_back(expand(terms[i], ops[i]->shape.size() - letters_of(terms[i]).size()));
  std::string out;
  if (arrow == std::string::npos) {
    std::map<char, int> count;
    for (const auto& t : terms)
      for (char ch : letters_of(t)) ++count[ch];
    for (std::size_t k = 0; k < E; ++k) out += static_cast<char>('0' + k);
    for (auto [ch, n] : count)  // std::map orders by char: ASCII, uppercase first
      if (n == 1) out += ch;
  } else {
    out = expand(eq.substr(arrow + 2), E);
  }
  std::map<char, std::int64_t> size;
  for (std::size_t i = 0; i < in.size(); ++i)
    for (std::size_t d = 0; d < in[i].size(); ++d) {
      const std::int64_t s = ops[i]->shape[d];
      auto it = size.find(in[i][d]);
      if (it == size.end() || it->second == 1) size[in[i][d]] = s;
    }
  std::string all;
  for (auto [ch, s] : size) all += ch;
  Ref r;
  std::int64_t out_n = 1, K = 1;
  for (char ch : out) r.shape.push_back(size[ch]), out_n *= size[ch];
  for (char ch : all)
    if (out.find(ch) == std::string::npos) K *= size[ch];
  r.K = K;
  r.val.assign(static_cast<std::size_t>(out_n), 0.0);
  r.mag = r.val;
  std::int64_t total = 1;
  for (char ch : all) total *= size[ch];
  std::map<char, std::int64_t> idx;
  for (std::int64_t flat = 0; flat < total; ++flat) {
    std::int64_t rest = flat;
    for (std::size_t q = all.size(); q-- > 0;) {
      idx[all[q]] = rest % size[all[q]];
      rest /= size[all[q]];
    }
    double p = 1;
    for (std::size_t i = 0; i < in.size(); ++i) {
      std::int64_t off = 0;
      for (std::size_t d = 0; d < in[i].size(); ++d) {
        const std::int64_t s = ops[i]->shape[d];
        off = off * s + (s == 1 ? 0 : idx[in[i][d]]);  // a size-1 dimension broadcasts
      }
      p *= ops[i]->v[static_cast<std::size_t>(off)];
    }
    std::int64_t o = 0;
    for (char ch : out) o = o * size[ch] + idx[ch];
    r.val[static_cast<std::size_t>(o)] += p;
    r.mag[static_cast<std::size_t>(o)] += std::fabs(p);
  }
  return r;
}

}  // namespace tessel_test
