// Tests of tessel/simd/convert.hpp: every ISA path's bulk conversions give exactly the bits
// of the scalar definitions in core/dtype.hpp (all 65536 patterns to float; NaN, Inf,
// subnormals, rounding ties and random floats back; beta (0, 1, other) and stream variants; odd lengths and
// unaligned pointers).
#include <catch2/catch.hpp>

#include <tessel/gemm/store.hpp>
#include <tessel/simd/convert.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

namespace {

using tessel::bfloat16;
using tessel::float16;
using tessel::Isa;

using tessel::available_isas;

template <class T>
std::uint32_t bits(T v) {
  if constexpr (std::is_same_v<T, float>) return std::bit_cast<std::uint32_t>(v);
  else return std::bit_cast<std::uint16_t>(v);
}

// Floats that exercise rounding: specials, subnormals of every type, exact ties and their
// neighbours for both 16-bit types, and random bit patterns.
std::vector<float> interesting_floats() {
  std::vector<float> v = {0.0f, -0.0f, 1.0f, -1.0f, std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
                          std::bit_cast<float>(0x7f800001u), std::bit_cast<float>(0xff800001u),  // signalling NaNs
                          std::bit_cast<float>(0x7fffffffu), std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
                          65504.0f, 65520.0f, 65519.99f, 5.9604645e-08f, 2.9802322e-08f, 2.9802326e-08f,
                          6.1035156e-05f, 3.3895314e38f, 3.3961776e38f};
  for (std::uint32_t h = 0; h < 0x10000u; h += 7) {
    const std::uint32_t b = h << 16;
    for (std::uint32_t low : {0x8000u, 0x7fffu, 0x8001u, 0x0001u}) v.push_back(std::bit_cast<float>(b | low));
    // float16 ties: halfway between consecutive float16 values.
    const float a = static_cast<float>(float16::from_bits(static_cast<std::uint16_t>(h)));
    const float c = static_cast<float>(float16::from_bits(static_cast<std::uint16_t>(h + 1)));
    if (std::isfinite(a) && std::isfinite(c)) {
      const float mid = a + (c - a) / 2;
      v.push_back(mid);
      v.push_back(std::nextafter(mid, 0.0f));
      v.push_back(std::nextafter(mid, 1e30f));
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) v.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
  return v;
}

template <class T>
void check_to_float(Isa isa) {
  std::vector<T> src(0x10000 + 40);
  for (std::uint32_t i = 0; i < src.size(); ++i) src[i] = T::from_bits(static_cast<std::uint16_t>(i));
  for (std::int64_t offset : {0, 1, 3}) {
    for (std::int64_t n : {std::int64_t{0x10000}, std::int64_t{1}, std::int64_t{15}, std::int64_t{17}, std::int64_t{33}}) {
      std::vector<float> out(n + 8, 123.0f);
      tessel::detail::convert_to_float(isa, src.data() + offset, out.data() + offset % 2, n);
      std::int64_t bad = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        std::uint32_t want = bits(static_cast<float>(src[i + offset]));
        bad += bits(out[i + offset % 2]) != want;
      }
      INFO(tessel::isa_name(isa) << " " << tessel::dtype_name<T>() << " n " << n << " offset " << offset);
      CHECK(bad == 0);
    }
  }
}

template <class T>
void check_from_float(Isa isa, const std::vector<float>& values) {
  std::mt19937 rng(3);
  for (float beta : {0.0f, 1.0f, 0.625f}) {
    for (bool stream : {false, true}) {
      for (std::int64_t offset : {0, 1, 5}) {
        for (std::int64_t n : {std::int64_t(values.size()) - 8, std::int64_t{1}, std::int64_t{7}, std::int64_t{31}}) {
          std::vector<T> dst(values.size() + 16), expect;
          for (auto& d : dst) d = tessel::from_float<T>(std::uniform_real_distribution<float>(-4, 4)(rng));
          expect = dst;
          for (std::int64_t i = 0; i < n; ++i) {
            // With beta = 0 the value is converted as it is (a signalling NaN + 0 would be quiet).
            const float old = static_cast<float>(expect[i + offset]);
            const float v = beta == 0.0f ? values[i] : beta == 1.0f ? values[i] + old : std::fma(beta, old, values[i]);
            expect[i + offset] = tessel::from_float<T>(v);
          }
          tessel::detail::convert_from_float(isa, values.data(), dst.data() + offset, n, beta, stream);
          if (stream) tessel::detail::streaming_store_fence();
          std::int64_t bad = 0;
          for (std::size_t i = 0; i < dst.size(); ++i) bad += bits(dst[i]) != bits(expect[i]);
          INFO(tessel::isa_name(isa) << " " << tessel::dtype_name<T>() << " n " << n << " offset " << offset << " beta "
                                     << beta << " stream " << stream);
          CHECK(bad == 0);
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("convert: all 65536 float16/bfloat16 patterns to float, every path", "[convert]") {
  for (Isa isa : available_isas()) {
    check_to_float<float16>(isa);
    check_to_float<bfloat16>(isa);
  }
}

TEST_CASE("convert: floats back to every type, every path, beta and stream variants", "[convert]") {
  const auto values = interesting_floats();
  for (Isa isa : available_isas()) {
    check_from_float<float16>(isa, values);
    check_from_float<bfloat16>(isa, values);
    check_from_float<float>(isa, values);
  }
}

// The store of a micro-tile of bfloat16 results (gemm/store.hpp: store_tile), which on CPUs
// with AVX512-BF16 rounds with vcvtne2ps2bf16 and falls back to the shifts-and-adds rounding
// for rows holding an fp32 denormal: every bit equals the scalar definition either way.
TEST_CASE("convert: bfloat16 micro-tile stores give the scalar rounding's bits", "[convert]") {
  bool has_avx512 = false;
  for (Isa isa : available_isas()) has_avx512 |= isa == Isa::avx512;
  if (!has_avx512) {
    WARN("SKIPPED: this CPU has no AVX-512 path; the AVX-512 tile store is not tested here");
    return;
  }
#if defined(TESSEL_HAVE_X86_TARGETS)
  if (!tessel::detail::isa_avx512_bf16::converts_bf16())
    WARN("this CPU has no AVX512-BF16: only the fallback rounding of the tile store is tested");
  const auto values = interesting_floats();
  constexpr std::int64_t rows = 32, ldc = 48;
  std::mt19937 rng(11);
  std::int64_t rows_with_denormal = 0, tiles = 0;
  for (std::size_t start = 0; start + rows * 32 <= values.size(); start += rows * 32 - 5) {
    std::vector<float> buf(rows * ldc + 16, 0.0f);
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < 32; ++j) buf[r * ldc + j] = values[start + r * 32 + j];
    // One row without any denormal, one with a single one, whatever the sample holds.
    for (std::int64_t j = 0; j < 32; ++j) buf[j] = std::uniform_real_distribution<float>(-3, 3)(rng);
    for (std::int64_t j = 0; j < 32; ++j) buf[ldc + j] = std::uniform_real_distribution<float>(-3, 3)(rng);
    buf[ldc + 7] = std::numeric_limits<float>::denorm_min() * 3;
    for (std::int64_t r = 0; r < rows; ++r) {
      bool d = false;
      for (std::int64_t j = 0; j < 32; ++j) d |= std::fpclassify(buf[r * ldc + j]) == FP_SUBNORMAL;
      rows_with_denormal += d;
    }
    for (int cols : {32, 31, 17}) {
      for (bool stream : {false, true}) {
        for (std::int64_t offset : {0, 1}) {  // C's rows 64-byte aligned, and not
          std::vector<bfloat16> c(static_cast<std::size_t>(rows * 64 + 64), bfloat16::from_bits(0x1234));
          auto* base = reinterpret_cast<bfloat16*>((reinterpret_cast<std::uintptr_t>(c.data()) + 63) / 64 * 64) + offset;
          bfloat16* crow[rows];
          for (std::int64_t r = 0; r < rows; ++r) crow[r] = base + r * 64;
          tessel::detail::store_rows<Isa::avx512>(buf.data(), ldc, rows, cols, crow, tessel::detail::Axis::strided(1), 0,
                                                  0.0f, stream);
          tessel::detail::streaming_store_fence();
          std::int64_t bad = 0;
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t j = 0; j < 64 - offset; ++j) {
              const std::uint32_t want =
                  j < cols ? bits(tessel::from_float<bfloat16>(buf[r * ldc + j])) : std::uint32_t{0x1234};
              bad += bits(crow[r][j]) != want;
            }
          INFO("tile at value " << start << " cols " << cols << " stream " << stream << " offset " << offset);
          CHECK(bad == 0);
          ++tiles;
        }
      }
    }
  }
  INFO("rows with a denormal: " << rows_with_denormal);
  CHECK(rows_with_denormal > 0);
  CHECK(tiles > 100);
#endif
}
