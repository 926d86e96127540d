// tests/support/skip.hpp — test cases that cannot run here are reported as skipped, not passed.
//
// TESSEL_SKIP("reason") (at the top level of a TEST_CASE) prints the reason and leaves the
// case. The shared Catch2 main (tests/catch_main.cpp) then exits with code 77 when every test
// case it ran skipped, which CTest (SKIP_RETURN_CODE 77, one CTest test per case) reports as
// "Skipped" with the reason in the test's output.
#pragma once

#include <cstdio>

namespace tessel_test {

inline int& cases_started() {
  static int n = 0;
  return n;
}
inline int& cases_skipped() {
  static int n = 0;
  return n;
}
inline void mark_skipped(const char* reason) {
  ++cases_skipped();
  std::printf("SKIPPED: %s\n", reason);
  std::fflush(stdout);
}

}  // namespace tessel_test

#define TESSEL_SKIP(reason)                  \
  do {                                       \
    ::tessel_test::mark_skipped(reason);     \
    return;                                  \
  } while (0)
