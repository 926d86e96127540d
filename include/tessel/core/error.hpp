// tessel/core/error.hpp — the one error type and the one check helper.
//
// Every public entry point validates its arguments before it touches caller memory and
// reports a violation as tessel::shape_error. A message names the function, the argument,
// the shapes involved and what was expected (SPEC §5), e.g.
//   matmul_with_multi_head: W1 has shape [96, 64] but A1 [2, 5, 128] needs W1.size(0) == 128
#pragma once

#include "config.hpp"

#include <array>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

TESSEL_NAMESPACE_BEGIN

// Thrown for every invalid argument: wrong ranks, shapes, dimensions, indices, options.
// Derives from std::invalid_argument so generic handlers catch it too.
class shape_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

namespace detail {

// "[2, 5, 128]" for any contiguous range of integers.
template <class Range>
std::string shape_string(const Range& dims) {
  std::string s = "[";
  bool first = true;
  for (auto d : dims) {
    if (!first) s += ", ";
    s += std::to_string(static_cast<long long>(d));
    first = false;
  }
  return s + "]";
}

// Streams std::array<int64_t, R> and std::vector<int64_t> as shapes, everything else as-is.
template <class T>
void append_part(std::ostringstream& os, const T& part) {
  os << part;
}
template <std::size_t R>
void append_part(std::ostringstream& os, const std::array<std::int64_t, R>& dims) {
  os << shape_string(dims);
}
inline void append_part(std::ostringstream& os, const std::vector<std::int64_t>& dims) { os << shape_string(dims); }

// Throws shape_error("<where>: <parts...>"). Kept out of line of the check so the happy
// path stays small.
template <class... Parts>
[[noreturn]] void fail(std::string_view where, const Parts&... parts) {
  std::ostringstream os;
  os << where << ": ";
  (append_part(os, parts), ...);
  throw shape_error(os.str());
}

// The check helper: cheap when the condition holds (the parts are only formatted on failure).
template <class... Parts>
inline void check(bool condition, std::string_view where, const Parts&... parts) {
  if (!condition) [[unlikely]]
    fail(where, parts...);
}

}  // namespace detail
TESSEL_NAMESPACE_END
