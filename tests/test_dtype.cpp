// Tests of tessel/core/dtype.hpp: float16 and bfloat16 conversions.
//
// Every conversion is checked against references that share no code with the library:
//  * an arithmetic reference written here: the table of every finite value of the type,
//    computed from its bit fields with ldexp, and "round to the nearer of the two
//    neighbouring table entries, ties to the one with an even bit pattern", decided by an
//    exact comparison in double (the midpoint of two neighbours has at most 12 significant
//    bits, so it and every float/double comparison with it are exact);
//  * the CPU's own conversion instructions when it has them: F16C vcvtps2ph for float16 and
//    AVX512-BF16 vcvtneps2bf16 for bfloat16, compiled per function with
//    __attribute__((target(...))) and chosen at run time, so this file builds and passes on
//    any x86-64 CPU (and on other architectures, where only the arithmetic reference runs).
#include <catch2/catch.hpp>

#include <tessel/core/dtype.hpp>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define TESSEL_TEST_X86 1
#endif

using tessel::bfloat16;
using tessel::float16;

namespace {

std::uint32_t bits_of(float f) { return std::bit_cast<std::uint32_t>(f); }
float float_of(std::uint32_t u) { return std::bit_cast<float>(u); }
std::uint64_t bits_of(double d) { return std::bit_cast<std::uint64_t>(d); }

// ---- the format description, written from the IEEE / bfloat16 definitions ----
template <class T>
struct Format;
template <>
struct Format<float16> {
  static constexpr int exp_bits = 5, man_bits = 10;
  static constexpr const char* name = "float16";
};
template <>
struct Format<bfloat16> {
  static constexpr int exp_bits = 8, man_bits = 7;
  static constexpr const char* name = "bfloat16";
};

template <class T>
struct Reference {
  static constexpr int E = Format<T>::exp_bits, M = Format<T>::man_bits;
  static constexpr int bias = (1 << (E - 1)) - 1;
  static constexpr std::uint16_t sign_bit = std::uint16_t(1u << (E + M));
  static constexpr std::uint16_t inf_bits = std::uint16_t(((1u << E) - 1) << M);
  static constexpr std::uint16_t quiet_bit = std::uint16_t(1u << (M - 1));

  // Exact value of a finite, non-negative bit pattern, from its fields.
  static double value_of(std::uint16_t b) {
    const int e = b >> M;
    const int f = b & ((1 << M) - 1);
    if (e == 0) return std::ldexp(double(f), 1 - bias - M);             // subnormal: f * 2^(emin - M)
    return std::ldexp(double((1 << M) + f), e - bias - M);              // (1.f) * 2^(e - bias)
  }
  static bool is_nan_bits(std::uint16_t b) { return (b & inf_bits) == inf_bits && (b & ((1u << M) - 1)) != 0; }

  std::vector<double> values;      // every finite non-negative value, ascending (bits 0 .. inf-1)
  double overflow_value;           // the value the next exponent would have: rounding to it means Inf

  Reference() {
    for (std::uint32_t b = 0; b < inf_bits; ++b) values.push_back(value_of(std::uint16_t(b)));
    overflow_value = std::ldexp(1.0, (1 << E) - 1 - bias);  // 2^(emax+1)
    for (std::size_t i = 1; i < values.size(); ++i) REQUIRE(values[i - 1] < values[i]);
  }

  // Index of the largest table value <= a (a finite, >= 0).
  std::size_t floor_index(double a) const {
    auto it = std::upper_bound(values.begin(), values.end(), a);
    return std::size_t(it - values.begin()) - 1;
  }
  // Rounds |a| given floor index i: nearer neighbour, ties to even bits (Inf's bits are even).
  std::uint16_t round_abs(double a, std::size_t i) const {
    const double lo = values[i];
    if (a == lo) return std::uint16_t(i);
    const bool top = i + 1 == values.size();
    const double hi = top ? overflow_value : values[i + 1];
    const std::uint16_t hi_bits = top ? inf_bits : std::uint16_t(i + 1);
    const double mid = (lo + hi) / 2;  // exact: at most 12 significant bits
    if (a < mid) return std::uint16_t(i);
    if (a > mid) return hi_bits;
    return (i & 1) == 0 ? std::uint16_t(i) : hi_bits;
  }
  // The correctly rounded bits of any non-NaN double (floats convert to double exactly).
  std::uint16_t round(double x) const {
    const std::uint16_t s = std::signbit(x) ? sign_bit : 0;
    const double a = std::fabs(x);
    if (std::isinf(a) || a >= overflow_value) return std::uint16_t(s | inf_bits);
    return std::uint16_t(s | round_abs(a, floor_index(a)));
  }
  // What a NaN becomes: same sign, quiet, the top payload bits kept (what the hardware does).
  std::uint16_t nan_of(float f) const {
    const std::uint32_t u = bits_of(f);
    const std::uint16_t s = (u >> 31) ? sign_bit : 0;
    return std::uint16_t(s | inf_bits | quiet_bit | ((u & 0x7fffffu) >> (23 - M)));
  }
  std::uint16_t nan_of(double d) const {
    const std::uint64_t u = bits_of(d);
    const std::uint16_t s = (u >> 63) ? sign_bit : 0;
    return std::uint16_t(s | inf_bits | quiet_bit | ((u & ((std::uint64_t{1} << 52) - 1)) >> (52 - M)));
  }
  std::uint16_t expected(float f) const { return std::isnan(f) ? nan_of(f) : round(double(f)); }
  std::uint16_t expected(double d) const { return std::isnan(d) ? nan_of(d) : round(d); }
};

template <class T>
const Reference<T>& reference() {
  static const Reference<T> r;
  return r;
}

// ---- hardware references ----
#ifdef TESSEL_TEST_X86
__attribute__((target("avx,f16c"))) void hw_float16(const float* in, std::uint16_t* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = static_cast<std::uint16_t>(_cvtss_sh(in[i], _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("avx512bf16,avx512f,avx512vl"))) void hw_bfloat16(const float* in, std::uint16_t* out,
                                                                         std::size_t n) {
  for (std::size_t i = 0; i < n; i += 16) {
    alignas(64) float buf[16] = {};
    const std::size_t m = std::min<std::size_t>(16, n - i);
    std::memcpy(buf, in + i, m * sizeof(float));
    const __m256bh r = _mm512_cvtneps_pbh(_mm512_load_ps(buf));
    std::uint16_t res[16];
    static_assert(sizeof(r) == sizeof(res));
    std::memcpy(res, &r, sizeof(res));
    std::memcpy(out + i, res, m * sizeof(std::uint16_t));
  }
}
#endif

bool has_hw_float16() {
#ifdef TESSEL_TEST_X86
  // CPUID.1:ECX[29] is F16C (read directly: clang 14 has no "f16c" for __builtin_cpu_supports);
  // the "avx" check includes the OS saving YMM state.
  if (!__builtin_cpu_supports("avx")) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  return (ecx >> 29) & 1u;
#else
  return false;
#endif
}
bool has_hw_bfloat16() {
#ifdef TESSEL_TEST_X86
  // __builtin_cpu_supports("avx512bf16") is unknown to clang 14 too, so read
  // CPUID.(EAX=7,ECX=1):EAX[5] directly; avx512f's check also covers OS support of ZMM state.
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vl")) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || eax < 1) return false;
  __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx);
  return (eax >> 5) & 1u;
#else
  return false;
#endif
}

template <class T>
bool has_hw() {
  if constexpr (std::is_same_v<T, float16>) return has_hw_float16();
  else return has_hw_bfloat16();
}

// Hardware conversion of a batch; only call when has_hw<T>().
template <class T>
void hw_convert(const std::vector<float>& in, std::vector<std::uint16_t>& out) {
  out.resize(in.size());
#ifdef TESSEL_TEST_X86
  if constexpr (std::is_same_v<T, float16>) hw_float16(in.data(), out.data(), in.size());
  else hw_bfloat16(in.data(), out.data(), in.size());
#endif
}

// Whether the hardware result is a valid reference for this input. vcvtneps2bf16 treats
// denormal inputs as zero and flushes denormal outputs (Intel SDM, "VCVTNEPS2BF16": "Input
// denormals are always treated as zero ... MXCSR is not consulted"), so float subnormals
// become ±0 there, while tessel rounds them correctly (bfloat16 has the same subnormals as
// float). Those inputs are compared against the arithmetic reference only. Normal floats
// never round to a bfloat16 subnormal (both formats share the exponent range), so no output
// flushing happens for the inputs we do compare. vcvtps2ph handles denormals in IEEE fashion
// (DAZ is off in the default MXCSR), so float16 compares everything.
template <class T>
bool hw_valid_for(float f) {
  if constexpr (std::is_same_v<T, bfloat16>) return std::fpclassify(f) != FP_SUBNORMAL;
  else return true;
}

std::string hex(std::uint32_t u) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", u);
  return buf;
}

// Converts every float of `in` with tessel and compares with the arithmetic reference and,
// when available, the hardware. Reports only the first few mismatches, then counts.
template <class T>
void check_floats(const std::vector<float>& in) {
  const auto& ref = reference<T>();
  std::vector<std::uint16_t> hw;
  const bool use_hw = has_hw<T>();
  if (use_hw) hw_convert<T>(in, hw);
  std::size_t bad_ref = 0, bad_hw = 0, hw_compared = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const float f = in[i];
    const std::uint16_t ours = T(f).bits;
    const std::uint16_t want = ref.expected(f);
    if (ours != want && ++bad_ref <= 5) {
      INFO(Format<T>::name << "(" << hex(bits_of(f)) << " = " << f << "): tessel " << ours << ", reference " << want);
      CHECK(ours == want);
    }
    if (use_hw && hw_valid_for<T>(f)) {
      ++hw_compared;
      if (ours != hw[i] && ++bad_hw <= 5) {
        INFO(Format<T>::name << "(" << hex(bits_of(f)) << " = " << f << "): tessel " << ours << ", hardware " << hw[i]);
        CHECK(ours == hw[i]);
      }
    }
  }
  INFO(Format<T>::name << ": " << in.size() << " floats, " << hw_compared << " also against hardware");
  CHECK(bad_ref == 0);
  CHECK(bad_hw == 0);
}

// Floats within `k` ulps (as bit patterns, staying within the same sign) of `center`.
void push_around(std::vector<float>& out, float center, int k) {
  const std::uint32_t u = bits_of(center);
  const std::uint32_t mag = u & 0x7fffffffu, sign = u & 0x80000000u;
  for (int j = -k; j <= k; ++j) {
    const std::int64_t m = std::int64_t(mag) + j;
    if (m < 0 || m > 0x7f800000) continue;  // stay within [0, Inf]
    out.push_back(float_of(sign | std::uint32_t(m)));
  }
}

// Every float near every rounding boundary: for each pair of neighbouring finite values
// (and the largest value and the overflow threshold), the floats around the midpoint and
// around the values themselves, with both signs.
template <class T>
std::vector<float> boundary_floats(int k) {
  const auto& ref = reference<T>();
  std::vector<float> v;
  for (std::size_t i = 0; i < ref.values.size(); ++i) {
    const double lo = ref.values[i];
    const double hi = i + 1 < ref.values.size() ? ref.values[i + 1] : ref.overflow_value;
    const double mid = (lo + hi) / 2;
    REQUIRE(double(float(mid)) == mid);  // every midpoint is a float: the sweep hits the tie exactly
    for (float s : {1.0f, -1.0f}) {
      push_around(v, s * float(mid), k);
      push_around(v, s * float(lo), k);
    }
  }
  return v;
}

std::vector<float> special_floats() {
  std::vector<float> v = {0.0f, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          FLT_MAX, -FLT_MAX, FLT_MIN, -FLT_MIN, std::numeric_limits<float>::denorm_min(),
                          65504.0f, 65520.0f, 65536.0f, -65520.0f, 1.0f, -1.0f};
  // NaNs: quiet and signalling, small and large payloads, both signs. 0x7f800001 is the
  // signalling NaN whose payload would truncate to the Inf pattern if not made quiet.
  for (std::uint32_t n : {0x7fc00000u, 0x7f800001u, 0x7f800fffu, 0x7f801000u, 0x7f802000u, 0x7fa00000u, 0x7fbfffffu,
                          0x7fffffffu, 0x7fc00001u, 0x7fd55555u, 0x7f8aaaaau})
    for (std::uint32_t s : {0u, 0x80000000u}) v.push_back(float_of(n | s));
  // Around the overflow thresholds, the subnormal/normal boundaries of both formats and of
  // float itself, and the smallest subnormals and half of them.
  for (float c : {65504.0f, 65520.0f, 65536.0f, FLT_MAX, std::ldexp(1.0f, -14), std::ldexp(1.0f, -24),
                  std::ldexp(1.0f, -25), std::ldexp(1.5f, -25), std::ldexp(1.0f, -26), std::ldexp(1.0f, -126),
                  std::ldexp(1.0f, -133), std::ldexp(1.0f, -134), std::ldexp(1.5f, -134), std::ldexp(1.0f, -135),
                  std::ldexp(1.0f, -149), std::ldexp(1.0f, 127), std::ldexp(1.0f, 128 - 8)})
    for (float s : {1.0f, -1.0f}) push_around(v, s * c, 64);
  return v;
}

template <class T>
std::vector<float> random_floats(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> v;
  v.reserve(n);
  // Half: any bit pattern (all exponents, NaNs included). Half: magnitudes spread over the
  // type's range and a little beyond, where most rounding decisions are non-trivial.
  constexpr int lo_exp = std::is_same_v<T, float16> ? -30 : -140;
  constexpr int hi_exp = std::is_same_v<T, float16> ? 17 : 128;
  std::uniform_int_distribution<int> exps(lo_exp, hi_exp);
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      v.push_back(float_of(rng()));
    } else {
      const float f = std::ldexp(mant(rng), exps(rng) - 1);  // may overflow to Inf: fine
      v.push_back((rng() & 1) ? -f : f);
    }
  }
  return v;
}

}  // namespace

TEMPLATE_TEST_CASE("dtype: size, layout and traits", "[dtype]", float16, bfloat16) {
  STATIC_REQUIRE(sizeof(TestType) == 2);
  STATIC_REQUIRE(std::is_trivially_copyable_v<TestType>);
  STATIC_REQUIRE(!std::is_convertible_v<float, TestType>);  // conversions are explicit
  STATIC_REQUIRE(!std::is_convertible_v<TestType, float>);
  STATIC_REQUIRE(tessel::is_element_type_v<TestType>);
  CHECK(std::string(tessel::dtype_name<TestType>()) == Format<TestType>::name);
  CHECK(std::string(tessel::dtype_name<const TestType>()) == Format<TestType>::name);
  CHECK(std::string(tessel::dtype_name<float>()) == "float32");
}

TEMPLATE_TEST_CASE("dtype: every bit pattern converts to float exactly and back", "[dtype]", float16, bfloat16) {
  using R = Reference<TestType>;
  std::size_t nans = 0;
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto h = TestType::from_bits(std::uint16_t(b));
    const float f = static_cast<float>(h);
    const double d = static_cast<double>(h);
    INFO(Format<TestType>::name << " bits " << b);
    if (R::is_nan_bits(std::uint16_t(b & ~R::sign_bit))) {
      ++nans;
      REQUIRE(std::isnan(f));
      REQUIRE(std::isnan(d));
      REQUIRE(std::signbit(f) == bool(b & R::sign_bit));
      REQUIRE(std::isnan(static_cast<float>(TestType(f))));
      REQUIRE(std::isnan(static_cast<float>(TestType(d))));
      continue;
    }
    // The value from the bit fields, independently of the library.
    const std::uint16_t mag = std::uint16_t(b & ~R::sign_bit);
    const double v = mag == R::inf_bits ? std::numeric_limits<double>::infinity() : R::value_of(mag);
    const double want = (b & R::sign_bit) ? -v : v;
    REQUIRE(double(f) == want);
    REQUIRE(std::signbit(f) == bool(b & R::sign_bit));  // -0 stays -0
    REQUIRE(d == want);
    REQUIRE(TestType(f).bits == b);
    REQUIRE(TestType(d).bits == b);
    REQUIRE(tessel::from_float<TestType>(tessel::to_float(h)).bits == b);
  }
  CHECK(nans == 2 * ((1u << Format<TestType>::man_bits) - 1));
}

TEMPLATE_TEST_CASE("dtype: float -> T near every rounding boundary", "[dtype]", float16, bfloat16) {
  const auto v = boundary_floats<TestType>(3);
  CHECK(v.size() > 400000);
  check_floats<TestType>(v);
}

TEMPLATE_TEST_CASE("dtype: float -> T special values, NaNs, overflow and subnormal edges", "[dtype]", float16,
                   bfloat16) {
  const auto v = special_floats();
  check_floats<TestType>(v);
  const auto& ref = reference<TestType>();
  for (float f : v) {
    const TestType h(f);
    if (std::isnan(f)) {
      // NaN stays NaN (made quiet, sign kept), never Inf.
      CHECK(std::isnan(static_cast<float>(h)));
      CHECK((h.bits & Reference<TestType>::quiet_bit) != 0);
      CHECK(std::signbit(static_cast<float>(h)) == std::signbit(f));
    }
  }
  // A few results spelled out as values (independent of any bit arithmetic).
  constexpr float inf = std::numeric_limits<float>::infinity();
  if constexpr (std::is_same_v<TestType, float16>) {
    CHECK(static_cast<float>(float16(65504.0f)) == 65504.0f);
    CHECK(static_cast<float>(float16(std::nextafter(65520.0f, 0.0f))) == 65504.0f);
    CHECK(static_cast<float>(float16(65520.0f)) == inf);  // the tie rounds to the even "2^16" = Inf
    CHECK(static_cast<float>(float16(-65520.0f)) == -inf);
    CHECK(static_cast<float>(float16(std::ldexp(1.0f, -25))) == 0.0f);  // tie between 0 and 2^-24: even 0
    CHECK(static_cast<float>(float16(std::nextafter(std::ldexp(1.0f, -25), 1.0f))) == std::ldexp(1.0f, -24));
    CHECK(static_cast<float>(float16(std::ldexp(1.5f, -24))) == std::ldexp(2.0f, -24));  // tie 1 vs 2 units: 2
    CHECK(std::signbit(static_cast<float>(float16(-std::ldexp(1.0f, -30)))));             // -tiny -> -0
  } else {
    CHECK(static_cast<float>(bfloat16(FLT_MAX)) == inf);  // FLT_MAX is above the last midpoint
    CHECK(static_cast<float>(bfloat16(std::ldexp(255.0f, 120))) == std::ldexp(255.0f, 120));  // largest finite
    CHECK(static_cast<float>(bfloat16(std::numeric_limits<float>::denorm_min())) == 0.0f);
    CHECK(static_cast<float>(bfloat16(0.7f)) == 0.69921875f);  // SPEC §2's example
  }
  CHECK(ref.round(0.0) == 0);
}

// 4 million random floats in the default run (2 per type); 100 million more under [long].
TEMPLATE_TEST_CASE("dtype: float -> T on millions of random floats", "[dtype]", float16, bfloat16) {
  check_floats<TestType>(random_floats<TestType>(2'000'000, 20240611u));
}
TEMPLATE_TEST_CASE("dtype: float -> T on 100 million random floats", "[dtype][long]", float16, bfloat16) {
  for (std::uint32_t batch = 0; batch < 20; ++batch) check_floats<TestType>(random_floats<TestType>(5'000'000, 1000 + batch));
}

// Every float, both signs: 2^32 conversions against the reference (with a moving floor
// index instead of a binary search) and the hardware. About a minute.
TEMPLATE_TEST_CASE("dtype: float -> T for every float", "[dtype][long]", float16, bfloat16) {
  const auto& ref = reference<TestType>();
  const bool use_hw = has_hw<TestType>();
  std::size_t idx = 0, bad = 0;
  std::vector<float> batch;
  std::vector<std::uint16_t> hw;
  constexpr std::uint32_t kBatch = 1u << 16;
  for (std::uint32_t start = 0; start < 0x7f800000u; start += kBatch) {
    batch.clear();
    for (std::uint32_t u = start; u < start + kBatch && u < 0x7f800000u; ++u) batch.push_back(float_of(u));
    if (use_hw) hw_convert<TestType>(batch, hw);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const float f = batch[i];
      const double a = f;
      if (a >= ref.overflow_value) {
        idx = ref.values.size() - 1;
      } else {
        while (idx + 1 < ref.values.size() && ref.values[idx + 1] <= a) ++idx;
      }
      const std::uint16_t want = a >= ref.overflow_value ? Reference<TestType>::inf_bits : ref.round_abs(a, idx);
      const std::uint16_t ours = TestType(f).bits;
      const std::uint16_t neg = TestType(-f).bits;
      const bool ok = ours == want && neg == (want | Reference<TestType>::sign_bit) &&
                      (!use_hw || !hw_valid_for<TestType>(f) || hw[i] == ours);
      if (!ok && ++bad <= 5) {
        INFO(Format<TestType>::name << "(" << hex(bits_of(f)) << "): tessel " << ours << "/" << neg << ", reference "
                                    << want);
        CHECK(ok);
      }
    }
  }
  CHECK(bad == 0);
}

// ---- double -> T: one rounding, never through float ----

namespace {

template <class T>
void check_doubles(const std::vector<double>& in) {
  const auto& ref = reference<T>();
  std::size_t bad = 0;
  for (double d : in) {
    const std::uint16_t ours = T(d).bits;
    const std::uint16_t want = ref.expected(d);
    if (ours != want && ++bad <= 5) {
      INFO(Format<T>::name << "(double " << std::hexfloat << d << "): tessel " << ours << ", reference " << want);
      CHECK(ours == want);
    }
  }
  INFO(in.size() << " doubles");
  CHECK(bad == 0);
}

}  // namespace

TEMPLATE_TEST_CASE("dtype: double -> T rounds once (the double-rounding trap)", "[dtype]", float16, bfloat16) {
  // For every midpoint m between neighbours, doubles just above and just below m that are
  // closer to m than half a float ulp: float(d) == m, so double -> float -> T sees a tie
  // and rounds to even, which is wrong for half of them. tessel must round d directly.
  const auto& ref = reference<TestType>();
  std::vector<double> v;
  std::size_t traps = 0;
  for (std::size_t i = 0; i < ref.values.size(); ++i) {
    const double lo = ref.values[i];
    const double hi = i + 1 < ref.values.size() ? ref.values[i + 1] : ref.overflow_value;
    const double mid = (lo + hi) / 2;
    const double float_ulp = double(std::nextafter(float(mid), FLT_MAX)) - mid;
    for (double s : {1.0, -1.0}) {
      for (double off : {std::nextafter(mid, 2 * hi) - mid, float_ulp / 4, float_ulp * 0.4999, float_ulp * 0.5001,
                         float_ulp}) {
        for (double d : {s * (mid + off), s * (mid - off), s * mid}) {
          v.push_back(d);
          const std::uint16_t via_float = TestType(float(d)).bits;
          if (via_float != ref.expected(d)) ++traps;
        }
      }
    }
  }
  // The sweep must really contain double-rounding cases (about half of the near-midpoint ones).
  INFO(traps << " of " << v.size() << " doubles round differently through float");
  CHECK(traps > ref.values.size());
  check_doubles<TestType>(v);

  // Specific values.
  if constexpr (std::is_same_v<TestType, float16>) {
    const double d = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);  // just above the 1 / 1+2^-10 tie
    CHECK(float(d) == float(1.0 + std::ldexp(1.0, -11)));                 // float rounds it onto the tie
    CHECK(float16(float(d)).bits == 0x3c00);                              // ... which goes to even: 1.0
    CHECK(float16(d).bits == 0x3c01);                                     // the right answer: 1 + 2^-10
    CHECK(float16(65520.0 - std::ldexp(1.0, -30)).bits == 0x7bff);        // 65504, while float(.) = 65520 -> Inf
    CHECK(float16(float(65520.0 - std::ldexp(1.0, -30))).bits == 0x7c00);
  } else {
    const double d = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
    CHECK(bfloat16(float(d)).bits == 0x3f80);
    CHECK(bfloat16(d).bits == 0x3f81);
  }
}

TEMPLATE_TEST_CASE("dtype: double -> T special and random values", "[dtype]", float16, bfloat16) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {0.0, -0.0, inf, -inf, DBL_MAX, -DBL_MAX, DBL_MIN, std::numeric_limits<double>::denorm_min(),
                           -std::numeric_limits<double>::denorm_min(), double(FLT_MAX), 65504.0, 65520.0, 65519.999,
                           std::ldexp(1.0, 128), std::ldexp(1.0, 128) - std::ldexp(1.0, 119),
                           std::ldexp(1.0, 128) - std::ldexp(1.0, 119) - std::ldexp(1.0, 60)};
  for (std::uint64_t n : {0x7ff8000000000000ull, 0x7ff0000000000001ull, 0x7ff0000000001fffull, 0x7ff4000000000000ull,
                          0x7fffffffffffffffull, 0x7ff0020000000000ull})
    for (std::uint64_t s : {0ull, 0x8000000000000000ull}) v.push_back(std::bit_cast<double>(n | s));
  std::mt19937_64 rng(77);
  constexpr int lo_exp = std::is_same_v<TestType, float16> ? -30 : -140;
  constexpr int hi_exp = std::is_same_v<TestType, float16> ? 17 : 129;
  std::uniform_int_distribution<int> exps(lo_exp, hi_exp);
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  for (int i = 0; i < 500'000; ++i) {
    if (i % 4 == 0) {
      v.push_back(std::bit_cast<double>(rng()));
    } else {
      const double d = std::ldexp(mant(rng), exps(rng) - 1);
      v.push_back((rng() & 1) ? -d : d);
    }
  }
  check_doubles<TestType>(v);
  for (double d : v)
    if (std::isnan(d)) {
      CHECK(std::isnan(static_cast<float>(TestType(d))));
      CHECK(std::signbit(static_cast<float>(TestType(d))) == std::signbit(d));
    }
  // Doubles that are exactly a float agree with the float conversion.
  std::mt19937 r32(5);
  for (int i = 0; i < 100000; ++i) {
    const float f = float_of(r32());
    if (std::isnan(f)) continue;
    REQUIRE(TestType(double(f)).bits == TestType(f).bits);
  }
}

TEST_CASE("dtype: conversions are usable in constant expressions", "[dtype]") {
  static_assert(float16(1.0f).bits == 0x3c00);
  static_assert(float16(-2.0).bits == 0xc000);
  static_assert(bfloat16(1.0f).bits == 0x3f80);
  static_assert(static_cast<float>(float16::from_bits(0x3555)) > 0.333f);
  static_assert(static_cast<float>(bfloat16::from_bits(0x4049)) == 3.140625f);
  SUCCEED();
}
