// The one translation unit that holds Catch2's main(); compiled once (tessel_catch_main)
// and linked into every tests/test_*.cpp executable.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
