// The one translation unit that holds Catch2's main(); compiled once (tessel_catch_main)
// and linked into every tests/test_*.cpp executable. It counts the test cases that start, so
// that a run whose every case skipped (TESSEL_SKIP, tests/support/skip.hpp) exits with 77,
// which CTest reports as skipped rather than passed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "support/skip.hpp"

namespace {
struct CaseCounter : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    ++tessel_test::cases_started();
    TestEventListenerBase::testCaseStarting(info);
  }
};
}  // namespace
CATCH_REGISTER_LISTENER(CaseCounter)

int main(int argc, char** argv) {
  const int result = Catch::Session().run(argc, argv);
  const int started = tessel_test::cases_started(), skipped = tessel_test::cases_skipped();
  if (result == 0 && skipped > 0 && skipped == started) return 77;
  return result;
}
