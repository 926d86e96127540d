// tessel/core/print.hpp — `std::cout << x` prints a tensor exactly as print(torch_tensor) does
// in PyTorch 1.13, so output can be diffed against Python's:
//
//   tensor([[0.0000, 0.5000, 1.0000],
//           [1.5000, 2.0000, 2.5000]])
//   tensor([1.0000e-05, 1.0000e+03], dtype=torch.float16)
//   tensor([ 0.,  1.,  2.,  ..., 97., 98., 99.])    (numel > 1000: 3 edge items per dimension)
//   tensor([], size=(0, 3))
//
// The rules are torch/_tensor_str.py's: one width and one notation for the whole tensor, chosen
// from its nonzero finite values (integers print as "3."; scientific notation when the largest
// is more than 1000 times the smallest, above 1e8, or, for non-integers, below 1e-4), rows
// wrapped at 80 columns, `...` past `threshold` elements, the dtype named when it is not float32
// and the shape when the tensor is empty. to_string(x, options) takes torch.set_printoptions'
// settings.
#pragma once

#include "config.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dtype.hpp"
#include "tensor.hpp"
#include "tensor_view.hpp"

TESSEL_NAMESPACE_BEGIN

// torch.set_printoptions' settings (and its defaults).
struct PrintOptions {
  int precision = 4;             // digits after the point
  std::int64_t threshold = 1000;  // more elements than this are summarised
  std::int64_t edgeitems = 3;     // elements shown at each end of a summarised dimension
  int linewidth = 80;             // characters per line before a row wraps
  std::optional<bool> sci_mode;   // force scientific notation on or off
};

namespace detail {

// A rank-free copy of the values, so the recursive printer need not be a template per rank.
struct PrintData {
  std::vector<std::int64_t> shape;
  std::vector<double> values;  // row-major

  std::int64_t stride(std::size_t d) const {
    std::int64_t s = 1;
    for (std::size_t i = d + 1; i < shape.size(); ++i) s *= shape[i];
    return s;
  }
};

// Python's '{:.<p>f}' / '{:.<p>e}' of a double; nan and inf spelled as Python does.
inline std::string python_format(double v, char conversion, int precision) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[512];
  const char fmt[] = {'%', '.', '*', conversion, '\0'};
  std::snprintf(buf, sizeof buf, fmt, precision, v);
  return buf;
}

// torch/_tensor_str.py's _Formatter: one notation and width for all the values shown.
class ValueFormatter {
 public:
  ValueFormatter(const std::vector<double>& shown, const PrintOptions& options) : precision_(options.precision) {
    std::vector<double> nonzero_finite;
    for (double v : shown)
      if (std::isfinite(v) && v != 0) nonzero_finite.push_back(v);
    if (!nonzero_finite.empty()) {
      double lo = std::fabs(nonzero_finite[0]), hi = lo;
      for (double v : nonzero_finite) {
        lo = std::min(lo, std::fabs(v));
        hi = std::max(hi, std::fabs(v));
        if (v != std::ceil(v)) int_mode_ = false;
      }
      sci_mode_ = hi / lo > 1000.0 || hi > 1.0e8 || (!int_mode_ && lo < 1.0e-4);
      for (double v : nonzero_finite) {
        if (sci_mode_) width_ = std::max(width_, python_format(v, 'e', precision_).size());
        else if (int_mode_) width_ = std::max(width_, python_format(v, 'f', 0).size() + 1);
        else width_ = std::max(width_, python_format(v, 'f', precision_).size());
      }
    }
    if (options.sci_mode) sci_mode_ = *options.sci_mode;
  }

  std::size_t width() const { return width_; }

  std::string format(double v) const {
    std::string s;
    if (sci_mode_) {
      s = python_format(v, 'e', precision_);
    } else if (int_mode_) {
      s = python_format(v, 'f', 0);
      if (std::isfinite(v)) s += '.';
    } else {
      s = python_format(v, 'f', precision_);
    }
    if (s.size() < width_) s.insert(0, width_ - s.size(), ' ');
    return s;
  }

 private:
  int precision_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

// The values a summarised tensor shows (torch's get_summarized_data), for the formatter.
inline void collect_shown(const PrintData& t, std::size_t dim, std::int64_t base, bool summarize,
                          const PrintOptions& o, std::vector<double>& out) {
  if (dim == t.shape.size()) {
    out.push_back(t.values[static_cast<std::size_t>(base)]);
    return;
  }
  const std::int64_t n = t.shape[dim], stride = t.stride(dim);
  const bool cut = summarize && n > 2 * o.edgeitems;
  for (std::int64_t i = 0; i < n; ++i) {
    if (cut && i == o.edgeitems) i = n - o.edgeitems;
    collect_shown(t, dim + 1, base + i * stride, summarize, o, out);
  }
}

// torch's _tensor_str_with_formatter: the bracketed text of dimensions dim.. at `indent`.
inline std::string tensor_text(const PrintData& t, std::size_t dim, std::int64_t base, std::size_t indent,
                               bool summarize, const ValueFormatter& f, const PrintOptions& o) {
  const std::size_t rank = t.shape.size();
  const std::int64_t n = t.shape[dim], stride = t.stride(dim);
  const bool cut = summarize && n > 2 * o.edgeitems;
  std::vector<std::string> items;
  for (std::int64_t i = 0; i < n; ++i) {
    if (cut && i == o.edgeitems) {
      items.emplace_back(dim + 1 == rank ? " ..." : "...");
      i = n - o.edgeitems;
    }
    if (dim + 1 == rank) items.push_back(f.format(t.values[static_cast<std::size_t>(base + i * stride)]));
    else items.push_back(tensor_text(t, dim + 1, base + i * stride, indent + 1, summarize, f, o));
  }
  std::string s = "[";
  if (dim + 1 == rank) {
    // A row: as many elements per line as fit in linewidth.
    const auto room = static_cast<std::int64_t>(o.linewidth) - static_cast<std::int64_t>(indent);
    const auto per_line = static_cast<std::size_t>(
        std::max<std::int64_t>(1, room / static_cast<std::int64_t>(f.width() + 2)));
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) s += i % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ";
      s += items[i];
    }
  } else {
    const std::string separator = "," + std::string(rank - dim - 1, '\n') + std::string(indent + 1, ' ');
    for (std::size_t i = 0; i < items.size(); ++i) s += (i > 0 ? separator : "") + items[i];
  }
  return s + "]";
}

inline std::string print_text(const PrintData& t, const char* dtype, const PrintOptions& o) {
  const std::string prefix = "tensor(";
  const std::size_t indent = prefix.size();
  std::vector<std::string> suffixes;
  std::string body;
  std::int64_t numel = 1;
  for (auto d : t.shape) numel *= d;
  if (numel == 0) {
    if (t.shape.size() != 1) {
      std::string size = "size=(";
      for (std::size_t i = 0; i < t.shape.size(); ++i) size += (i ? ", " : "") + std::to_string(t.shape[i]);
      suffixes.push_back(size + ")");
    }
    body = "[]";
  } else {
    const bool summarize = numel > o.threshold;
    std::vector<double> shown;
    collect_shown(t, 0, 0, summarize, o, shown);
    const ValueFormatter f(shown, o);
    body = t.shape.empty() ? f.format(t.values[0]) : tensor_text(t, 0, 0, indent, summarize, f, o);
  }
  if (std::string(dtype) != "float32") suffixes.push_back(std::string("dtype=torch.") + dtype);
  // torch's _add_suffixes: on the last line while it fits in linewidth, else on a new line.
  std::string s = prefix + body;
  const std::size_t newline = s.rfind('\n');
  std::size_t last_line = newline == std::string::npos ? s.size() + 2 : s.size() - newline + 1;
  for (const auto& suffix : suffixes) {
    if (last_line + suffix.size() + 2 > static_cast<std::size_t>(o.linewidth)) {
      s += ",\n" + std::string(indent, ' ') + suffix;
      last_line = indent + suffix.size();
    } else {
      s += ", " + suffix;
      last_line += suffix.size() + 2;
    }
  }
  return s + ")";
}

}  // namespace detail

// The text print(torch_tensor) shows for x, with torch.set_printoptions' settings.
template <TensorLike X>
std::string to_string(const X& x, const PrintOptions& options = {}) {
  const auto v = as_const_view(x);
  constexpr std::size_t R = rank_of_v<X>;
  detail::PrintData data;
  data.shape.assign(v.shape().begin(), v.shape().end());
  data.values.reserve(static_cast<std::size_t>(v.numel()));
  const auto* p = v.data();
  detail::for_each_offset<R, 1>(v.shape(), {v.strides()}, [&](const std::array<std::int64_t, 1>& off) {
    data.values.push_back(static_cast<double>(to_float(p[off[0]])));
  });
  return detail::print_text(data, dtype_name<element_of_t<X>>(), options);
}

template <TensorLike X>
std::ostream& operator<<(std::ostream& os, const X& x) {
  return os << to_string(x);
}

TESSEL_NAMESPACE_END
