// tests/support/checks.hpp — small Catch2 helpers shared by the op tests.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <exception>
#include <string>

#include "reference.hpp"

namespace tessel_test {

// Checks a (message, ok) verdict from reference.hpp and shows the message on failure.
#define CHECK_VERDICT(expr)      \
  do {                           \
    const auto verdict_ = expr;  \
    INFO(verdict_.first);        \
    CHECK(verdict_.ok());        \
  } while (0)

// A value no result of the tests can take: output buffers are filled with it to prove that
// a rejected call wrote nothing.
template <class T>
T sentinel() {
  return from_double<T>(-1234.5);
}

template <class T, std::size_t R>
void fill(tessel::Tensor<T, R>& t, T x) {
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = x;
}

template <class T, std::size_t R>
bool all_equal_to(const tessel::Tensor<T, R>& t, T x) {
  for (std::int64_t i = 0; i < t.numel(); ++i)
    if (!(to_double(t.data()[i]) == to_double(x))) return false;
  return true;
}

inline tessel::ImportanceOptions opts(double top_p, std::int64_t top_k = -1) {
  tessel::ImportanceOptions o;
  o.top_p = top_p;
  if (top_k >= 0) o.top_k = top_k;
  return o;
}

// The message of the shape_error thrown by f (fails the test if none is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const tessel::shape_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("threw something other than shape_error: " << e.what());
  }
  FAIL("did not throw");
  return {};
}

}  // namespace tessel_test
