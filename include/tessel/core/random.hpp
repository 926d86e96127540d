// tessel/core/random.hpp — the random numbers behind randn(shape, seed): a documented generator
// that gives the same values on every platform, compiler and flag set.
//
// std::normal_distribution is implementation-defined (libstdc++, libc++ and MSVC give different
// values for the same engine), so a test seeded on one machine would not reproduce on another.
// tessel defines its stream completely:
//
//   bits      SplitMix64 (Steele, Lea, Flood 2014; the seeding generator of xoshiro): the state
//             starts at `seed` and advances by 0x9E3779B97F4A7C15; each output is the state
//             mixed by (x ^ x>>30) * 0xBF58476D1CE4E5B9, (x ^ x>>27) * 0x94D049BB133111EB, x ^ x>>31.
//   uniforms  the top 53 bits of one output, k, as (k + 1) / 2^53 in (0, 1] (u) or k / 2^53 in
//             [0, 1) (w): exact in double.
//   normal    the ratio-of-uniforms method (Kinderman and Monahan 1977) with the quadratic bounds
//             of Leva (ACM TOMS 18(4), 1992): draw u, then w, set v = 1.7156 (w - 1/2); accept
//             x = v / u when v² <= -4 u² ln u, using Leva's two quadratic bounds to decide most
//             draws without the logarithm; otherwise draw again.
//
// Why this method: every accepted value is one IEEE division of two exactly computed numbers, so
// it is bit-identical everywhere. The only libm call, std::log, decides acceptance only for the
// ~1 % of draws that fall between Leva's bounds, and a libm differing in the last bit could change
// the decision only for a point within a few ulps of the acceptance curve (probability ~1e-15 per
// draw). The bounds themselves cannot change a decision: the inner one lies inside the acceptance
// region and the outer one outside it, so rounding in the quadratic form (or an FMA contracting
// it) only moves a draw to the exact test, which decides it the same way.
#pragma once

#include "config.hpp"

#include <cmath>
#include <cstdint>

TESSEL_NAMESPACE_BEGIN
namespace detail {

class NormalGenerator {
 public:
  explicit NormalGenerator(std::uint64_t seed) : state_(seed) {}

  // The next SplitMix64 output.
  std::uint64_t next_bits() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  // The next standard normal sample (mean 0, variance 1), as a double.
  double next_normal() {
    constexpr double two_pow_minus_53 = 1.0 / 9007199254740992.0;  // 2^-53
    while (true) {
      const double u = static_cast<double>((next_bits() >> 11) + 1) * two_pow_minus_53;  // (0, 1]
      const double w = static_cast<double>(next_bits() >> 11) * two_pow_minus_53;        // [0, 1)
      const double v = 1.7156 * (w - 0.5);
      const double x = u - 0.449871;
      const double y = std::fabs(v) + 0.386595;
      const double q = x * x + y * (0.19600 * y - 0.25472 * x);
      if (q < 0.27597) return v / u;                                   // inside the inner bound
      if (q > 0.27846) continue;                                       // outside the outer bound
      if (v * v <= -4.0 * u * u * std::log(u)) return v / u;           // the exact test
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace detail
TESSEL_NAMESPACE_END
