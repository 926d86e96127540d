// Each micro-kernel on its own, as BLIS's test suite checks its micro-kernels: for every
// kernel configuration the registry has for an element type (gemm/paths.hpp, the ones this
// CPU runs), one register tile packed with the kernel's own packing and computed by
// Kernel::run, against an fp64 reference loop, for depths around its unrolling and group
// sizes:
//   * C = A·B within the fp32 accumulation bound |ours − ref| ≤ 2·sqrt(kc)·2^-24·Σ|a·b|
//     (+ the smallest subnormal), and padded rows/columns exactly 0;
//   * accumulate: C += A·B on a C holding other values;
//   * the declared extensions keep the contract (kernel_contract.hpp): run with a next-block
//     prefetch gives the same bits; run_output writes what the store would make of run's
//     sums, bit for bit, and nothing else, also with the earlier k blocks' sums, α and a
//     bias added (and results they make denormal).
#include <catch2/catch.hpp>

#include <tessel/gemm/gemm.hpp>
#include <tessel/gemm/kernel_scalar.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support/reference.hpp"

namespace {

using tessel::bfloat16;
using tessel::float16;
using tessel::detail::Axis;
using tessel::detail::BlockPrefetch;
using tessel::detail::Operand;

// A 64-byte aligned float buffer (the contract's panels and C rows), zeroed or filled with
// `fill` bytes (0xff: NaN floats, as stale workspace may hold: a kernel must read only what
// its packing wrote).
struct Aligned {
  std::unique_ptr<float, decltype(&std::free)> p{nullptr, &std::free};
  explicit Aligned(std::size_t n, unsigned char fill = 0)
      : p(static_cast<float*>(std::aligned_alloc(64, (n * 4 + 63) / 64 * 64)), &std::free) {
    std::memset(p.get(), fill, n * 4);
  }
  float* get() const { return p.get(); }
};

template <class Config>
std::string label() {
  using K = typename Config::Kernel;
  return std::string(tessel::isa_name(K::isa)) + " " + std::to_string(K::MR) + "x" + std::to_string(K::NR) +
         (K::features.own_panels ? " (own panels)" : "") + (K::features.holds_thread_state ? " (tiles)" : "");
}

template <class K, class T>
void pack_a(const Operand<const T>& a, std::int64_t rows, std::int64_t kc, float* out) {
  if constexpr (K::features.own_panels) K::template pack_a<T>(a, 0, 0, rows, 0, kc, out);
  else tessel::detail::pack_a<K::isa, K::MR>(a, 0, 0, rows, 0, kc, out);
}
template <class K, class T>
void pack_b(const Operand<const T>& b, std::int64_t cols, std::int64_t kc, float* out) {
  if constexpr (K::features.own_panels) K::template pack_b<T>(b, 0, 0, kc, 0, cols, out);
  else tessel::detail::pack_b<K::isa, K::NR>(b, 0, 0, kc, 0, cols, out);
}

// What the store makes of run's fp32 sum at (i, j) with what `x` adds (kernel_contract.hpp:
// writes_output): the earlier sums, then α·v + bias, in the fp32 block's arithmetic.
template <class TC, int MR>
float stored_value(const tessel::detail::OutputTile<TC, MR>& x, float sum, int i, int j) {
  const float v = x.partial != nullptr ? x.partial[i * x.ldp + j] + sum : sum;
  if (!x.epilogue) return v;
  const float b = x.bias_cols != nullptr ? x.bias_cols[j] : x.bias_rows != nullptr ? x.bias_rows[i] : -0.0f;
  return x.alpha != 1.0f ? std::fma(x.alpha, v, b) : v + b;
}

// run_output (features.writes_output) against run: every output element the store's rounding
// of run's fp32 sum with what `extras` adds, bit for bit, the columns beside the tile
// untouched, from rows that are 64-byte aligned or not, streaming or not.
template <class K, class TC>
void check_run_output(std::int64_t kc, const float* ap, const float* bp, const float* c, std::int64_t ldc,
                      tessel::detail::OutputTile<TC, K::MR> extras = {}, const char* what = "sums") {
  if constexpr (tessel::detail::writes_output_of<K, TC>()) {
    constexpr int MR = K::MR, NR = K::NR;
    constexpr std::int64_t ld = 2 * NR + 64 / sizeof(TC);  // whole 64-byte lines per row
    const TC sentinel = tessel::from_float<TC>(-5.0f);
    for (std::int64_t j0 : {std::int64_t(64 / sizeof(TC)), std::int64_t(64 / sizeof(TC)) + 1})
      for (bool stream : {false, true}) {
        std::unique_ptr<TC, decltype(&std::free)> buf(static_cast<TC*>(std::aligned_alloc(64, MR * ld * sizeof(TC))),
                                                      &std::free);
        std::fill(buf.get(), buf.get() + MR * ld, sentinel);
        TC* row[MR];
        for (int i = 0; i < MR; ++i) row[i] = buf.get() + i * ld;
        tessel::detail::OutputTile<TC, MR> out = extras;
        out.row = row, out.j0 = j0, out.stream = stream;
        K::template run_output<TC>(kc, ap, bp, out);
        tessel::detail::streaming_store_fence();
        std::int64_t wrong = 0, touched = 0;
        for (int i = 0; i < MR; ++i)
          for (std::int64_t x = 0; x < ld; ++x) {
            const TC got = buf.get()[i * ld + x];
            const bool in_tile = x >= j0 && x < j0 + NR;
            const int j = static_cast<int>(x - j0);
            const TC want = in_tile ? tessel::from_float<TC>(stored_value(extras, c[i * ldc + j], i, j)) : sentinel;
            (in_tile ? wrong : touched) += std::memcmp(&got, &want, sizeof(TC)) != 0;
          }
        INFO("run_output (" << what << ") to " << tessel::dtype_name<TC>() << " kc " << kc << " column " << j0
                            << " stream " << stream);
        CHECK(wrong == 0);
        CHECK(touched == 0);
      }
  }
}

// run_output with what the driver's last k block adds: the earlier blocks' sums alone, with a
// bias by column and α, with a bias by row; and sums the additions cancel to an fp32 denormal
// (partial = −sum, bias by row a denormal), which a bfloat16 conversion that flushes denormals
// would write as zero.
template <class K, class TC>
void check_run_output_extras(std::int64_t kc, const float* ap, const float* bp, const float* c, std::int64_t ldc,
                             std::mt19937& rng) {
  constexpr int MR = K::MR, NR = K::NR;
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  Aligned partial(static_cast<std::size_t>(MR * ldc));
  std::vector<float> bias_cols(NR), bias_rows(MR);
  for (std::int64_t x = 0; x < MR * ldc; ++x) partial.get()[x] = dist(rng);
  for (auto& v : bias_cols) v = dist(rng);
  for (auto& v : bias_rows) v = dist(rng);
  tessel::detail::OutputTile<TC, MR> x;
  x.partial = partial.get(), x.ldp = ldc;
  check_run_output<K, TC>(kc, ap, bp, c, ldc, x, "partial sums");
  x.epilogue = true, x.alpha = 0.75f, x.bias_cols = bias_cols.data();
  check_run_output<K, TC>(kc, ap, bp, c, ldc, x, "partial sums, alpha, bias by column");
  x.alpha = 1.0f, x.bias_cols = nullptr, x.bias_rows = bias_rows.data();
  check_run_output<K, TC>(kc, ap, bp, c, ldc, x, "partial sums, bias by row");
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) partial.get()[i * ldc + j] = -c[i * ldc + j];
    bias_rows[static_cast<std::size_t>(i)] = std::ldexp(1.0f + float(i) / 16.0f, -130 - i % 4);
  }
  check_run_output<K, TC>(kc, ap, bp, c, ldc, x, "denormal results");
}

// One tile of Config's kernel for depth kc, rows × cols of it real (the rest padding).
template <class Config, class T>
void check_tile(std::int64_t kc, std::int64_t rows, std::int64_t cols, std::uint32_t seed) {
  using K = typename Config::Kernel;
  constexpr int MR = K::MR, NR = K::NR;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<T> A(static_cast<std::size_t>(rows * kc)), B(static_cast<std::size_t>(kc * cols));
  for (auto& v : A) v = tessel::from_float<T>(dist(rng));
  for (auto& v : B) v = tessel::from_float<T>(dist(rng));
  const Operand<const T> a{A.data(), Axis::strided(0), Axis::strided(kc), Axis::strided(1)};
  const Operand<const T> b{B.data(), Axis::strided(0), Axis::strided(cols), Axis::strided(1)};
  Aligned ap(static_cast<std::size_t>(MR * kc), 0xff), bp(static_cast<std::size_t>(NR * kc), 0xff);
  pack_a<K>(a, rows, kc, ap.get());
  pack_b<K>(b, cols, kc, bp.get());
  const std::int64_t ldc = NR + 16;
  Aligned c(static_cast<std::size_t>(MR * ldc)), c_acc(static_cast<std::size_t>(MR * ldc));
  std::vector<float> old(static_cast<std::size_t>(MR * ldc));
  for (auto& v : old) v = dist(rng);
  std::memcpy(c_acc.get(), old.data(), old.size() * 4);
  K::run(kc, ap.get(), bp.get(), c.get(), ldc, false);
  K::run(kc, ap.get(), bp.get(), c_acc.get(), ldc, true);
  std::int64_t bad = 0, bad_acc = 0, bad_pad = 0;
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      const float got = c.get()[i * ldc + j], got_acc = c_acc.get()[i * ldc + j];
      if (i >= rows || j >= cols) {  // padding: zero panels give exact zeros
        bad_pad += got != 0.0f;
        continue;
      }
      double ref = 0, mag = 0;
      for (std::int64_t p = 0; p < kc; ++p) {
        const double x = double(float(A[i * kc + p])) * double(float(B[p * cols + j]));
        ref += x, mag += std::abs(x);
      }
      const double tol = 2.0 * std::sqrt(double(kc)) * std::ldexp(mag, -24) + std::ldexp(1.0, -149);
      bad += !(std::abs(got - ref) <= tol);
      const double ref_acc = ref + old[i * ldc + j];
      bad_acc += !(std::abs(got_acc - ref_acc) <= tol + std::ldexp(std::abs(ref_acc), -24));
    }
  // A kernel that set up per-thread state (AMX tiles) gives it back, as the driver has it do
  // after each work unit; the next run() sets it up again.
  if constexpr (K::features.holds_thread_state) K::release_thread_state();
  INFO(label<Config>() << " " << tessel::dtype_name<T>() << " kc " << kc << " rows " << rows << " cols " << cols);
  CHECK(bad == 0);
  CHECK(bad_acc == 0);
  CHECK(bad_pad == 0);

  // Extensions: the same tile bits whatever else the kernel does meanwhile.
  if constexpr (K::features.prefetches_next_block) {
    Aligned c2(static_cast<std::size_t>(MR * ldc));
    BlockPrefetch next;
    next.a = tessel::detail::block_lines(a, 0, 0, rows, 0, kc);
    next.b = tessel::detail::block_lines(b, 0, 0, kc, 0, cols);
    K::run(kc, ap.get(), bp.get(), c2.get(), ldc, false, &next);
    if constexpr (K::features.holds_thread_state) K::release_thread_state();
    CHECK(std::memcmp(c2.get(), c.get(), sizeof(float) * MR * ldc) == 0);
    // prefetch_steps(kc) is the number of step() calls a run makes (the driver spreads the
    // next panel's lines over them): counted on a run of more lines than steps, one per step.
    std::vector<float> lines(static_cast<std::size_t>(16 * (4 * kc + 64)));
    const Operand<const float> many{lines.data(), Axis::strided(0), Axis::strided(16), Axis::strided(1)};
    BlockPrefetch counted;
    counted.panel = tessel::detail::block_lines(many, 0, 0, 4 * kc + 64, 0, 16);
    counted.rate = 1;
    const auto remaining = [](tessel::detail::LineRuns l) {
      std::int64_t n = 0;
      for (; !l.done(); ++n) l.next();
      return n;
    };
    const std::int64_t before = remaining(counted.panel);
    K::run(kc, ap.get(), bp.get(), c2.get(), ldc, false, &counted);
    if constexpr (K::features.holds_thread_state) K::release_thread_state();
    CHECK(before - remaining(counted.panel) == K::prefetch_steps(kc));
    CHECK(std::memcmp(c2.get(), c.get(), sizeof(float) * MR * ldc) == 0);
  }
  // short_panels: run_rows(r) gives the first r rows run()'s bits, with and without
  // accumulating, and touches no other row; the same prefetch steps as run().
  if constexpr (K::features.short_panels) {
    const std::size_t n = static_cast<std::size_t>(MR * ldc);
    Aligned c3(n, 0xff), c3_acc(n);
    const auto sentinel = c3.get()[0];  // 0xffffffff: a NaN no sum produces bit for bit here
    for (int r = 1; r <= MR; ++r) {
      std::memset(c3.get(), 0xff, n * 4);
      std::memcpy(c3_acc.get(), old.data(), n * 4);
      BlockPrefetch counted;
      std::vector<float> lines(static_cast<std::size_t>(16 * (4 * kc + 64)));
      const Operand<const float> many{lines.data(), Axis::strided(0), Axis::strided(16), Axis::strided(1)};
      counted.panel = tessel::detail::block_lines(many, 0, 0, 4 * kc + 64, 0, 16);
      counted.rate = 1;
      std::int64_t steps = 0;
      for (tessel::detail::LineRuns l = counted.panel; !l.done(); ++steps) l.next();
      K::run_rows(r, kc, ap.get(), bp.get(), c3.get(), ldc, false, &counted);
      for (tessel::detail::LineRuns l = counted.panel; !l.done(); --steps) l.next();
      K::run_rows(r, kc, ap.get(), bp.get(), c3_acc.get(), ldc, true, nullptr);
      if constexpr (K::features.holds_thread_state) K::release_thread_state();
      std::int64_t wrong = 0, touched = 0, wrong_acc = 0, touched_acc = 0;
      for (int i = 0; i < MR; ++i)
        for (std::int64_t j = 0; j < ldc; ++j) {
          const std::size_t at = static_cast<std::size_t>(i * ldc + j);
          const bool ours = i < r && j < NR;
          const float got = c3.get()[at], got_acc = c3_acc.get()[at];
          if (ours) {
            wrong += std::memcmp(&got, &c.get()[at], 4) != 0;
            wrong_acc += std::memcmp(&got_acc, &c_acc.get()[at], 4) != 0;
          } else {
            touched += std::memcmp(&got, &sentinel, 4) != 0;
            touched_acc += std::memcmp(&got_acc, &old[at], 4) != 0;
          }
        }
      INFO("run_rows(" << r << ") kc " << kc);
      CHECK(wrong == 0);
      CHECK(wrong_acc == 0);
      CHECK(touched == 0);
      CHECK(touched_acc == 0);
      CHECK(steps == K::prefetch_steps(kc));
    }
  }
  check_run_output<K, T>(kc, ap.get(), bp.get(), c.get(), ldc);
  check_run_output<K, float>(kc, ap.get(), bp.get(), c.get(), ldc);
  if (rows == MR && cols == NR) {
    check_run_output_extras<K, T>(kc, ap.get(), bp.get(), c.get(), ldc, rng);
    check_run_output_extras<K, float>(kc, ap.get(), bp.get(), c.get(), ldc, rng);
  }
}

// Sums below fp32's normal range (inputs near 2^-70, so products near 2^-140: the FMA
// kernels keep them as denormals, vdpbf16ps flushes them to zero): run_output still writes
// exactly what the store makes of run's sums.
template <class Config, class T>
void check_tiny_sums(std::uint32_t seed) {
  using K = typename Config::Kernel;
  constexpr int MR = K::MR, NR = K::NR;
  const std::int64_t kc = 24;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(0.5f, 1.0f);
  std::vector<T> A(static_cast<std::size_t>(MR * kc)), B(static_cast<std::size_t>(kc * NR));
  for (auto& v : A) v = tessel::from_float<T>(std::ldexp(dist(rng), -70));
  for (auto& v : B) v = tessel::from_float<T>(std::ldexp(dist(rng), -70));
  const Operand<const T> a{A.data(), Axis::strided(0), Axis::strided(kc), Axis::strided(1)};
  const Operand<const T> b{B.data(), Axis::strided(0), Axis::strided(NR), Axis::strided(1)};
  Aligned ap(static_cast<std::size_t>(MR * kc)), bp(static_cast<std::size_t>(NR * kc));
  pack_a<K>(a, MR, kc, ap.get());
  pack_b<K>(b, NR, kc, bp.get());
  const std::int64_t ldc = NR + 16;
  Aligned c(static_cast<std::size_t>(MR * ldc));
  K::run(kc, ap.get(), bp.get(), c.get(), ldc, false);
  if constexpr (K::features.holds_thread_state) K::release_thread_state();
  check_run_output<K, T>(kc, ap.get(), bp.get(), c.get(), ldc);
  check_run_output<K, float>(kc, ap.get(), bp.get(), c.get(), ldc);
}

template <class Config, class T>
void check_kernel() {
  using K = typename Config::Kernel;
  std::uint32_t seed = 1;
  for (std::int64_t kc : {1, 2, 3, 4, 7, 15, 16, 17, 31, 32, 33, 64, 100}) check_tile<Config, T>(kc, K::MR, K::NR, seed++);
  check_tile<Config, T>(9, K::MR - 1, K::NR - 3, seed++);  // edge tiles: padded rows and columns
  check_tile<Config, T>(40, 1, 1, seed++);
  check_tiny_sums<Config, T>(seed++);
}

template <class T>
void check_every_kernel() {
  int kernels = 0;
  tessel::detail::for_each_kernel_config<T>([&]<class Config>() {
    ++kernels;
    check_kernel<Config, T>();
  });
  CHECK(kernels >= static_cast<int>(tessel::available_isas().size()));
  // The plain-loop kernel, in no path, that the portable path's vector-extension kernel
  // replaced: still a kernel of the contract (test_gemm_partition plans with it).
  check_kernel<tessel::detail::KernelConfig<tessel::detail::ScalarKernel>, T>();
}

}  // namespace

TEMPLATE_TEST_CASE("micro-kernels: every registered kernel against fp64, on its own", "[gemm][kernels]", float, float16,
                   bfloat16) {
  check_every_kernel<TestType>();
}

TEST_CASE("micro-kernels: every kernel keeps the contract", "[gemm][kernels]") {
  // check_micro_kernel is a static_assert per requirement; instantiating it for every kernel
  // of every compiled path compiles only if all keep the contract.
  int kernels = 0;
  tessel::detail::for_each_kernel_config<bfloat16>([&]<class Config>() {
    static_assert(tessel::detail::check_micro_kernel<typename Config::Kernel, bfloat16>());
    static_assert(tessel::detail::MicroKernel<typename Config::Kernel>);
    ++kernels;
  });
  CHECK(kernels >= 1);
}
