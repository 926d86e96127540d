// What tessel allocates (tessel::memory_stats(), counted by its caching allocator):
//  * after a warm-up call (the engine's packing buffers exist), matmul_with_multi_head
//    allocates exactly one block, its output;
//  * matmul_with_importance allocates O3 only without grad_output (the `selected` vector is
//    a std::vector and not counted), and O3 + dA1 + dW1 with it: no copy of A3, no
//    head-major temporaries;
//  * the _into calls allocate nothing;
//  * an allocating call repeated in a loop reuses cached blocks (no fresh allocation in
//    the steady state), and release_cached_memory() empties the cache.
// One thread throughout, so the engine's per-thread packing buffers are warmed up by the
// first call (with several threads a thread that got no work in the warm-up would get its
// buffers later).
#include <catch2/catch.hpp>

#include "support/reference.hpp"

#include <cstdint>
#include <vector>

using namespace tessel_test;
using tessel::Tensor;

namespace {

template <class T, std::size_t R>
std::int64_t bytes_of(const std::array<std::int64_t, R>& shape) {
  std::int64_t n = static_cast<std::int64_t>(sizeof(T));
  for (auto d : shape) n *= d;
  return n;
}

}  // namespace

TEMPLATE_TEST_CASE("memory: each call allocates its outputs and nothing else", "[memory]", float, float16, bfloat16) {
  using T = TestType;
  SettingsGuard guard;
  tessel::set_num_threads(1);
  const std::int64_t b = 2, s = 48, h = 64, nh = 4, e = 40;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 11);
  const auto W1 = random_tensor<T, 2>({h, e}, 12);
  const auto P = random_tensor<T, 2>({b, s}, 13, 0.0, 1.0);
  tessel::ImportanceOptions o;
  o.top_p = 0.0;
  o.top_k = 10;
  const auto sel = tessel::select_important(P, o);
  const auto t = static_cast<std::int64_t>(sel.size());
  REQUIRE(t == b * 10);
  const auto dO3 = random_tensor<T, 3>({t, nh, e}, 14);
  Tensor<T, 4> O2({b, s, nh, e});
  Tensor<T, 3> O3({t, nh, e}), dA1({b, s, h});
  Tensor<T, 2> dW1({h, e});

  // Warm-up: every kind of call once (packing buffers, thread-local selection scratch).
  (void)tessel::matmul_with_multi_head(A1, W1, nh);
  (void)tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
  tessel::matmul_with_multi_head_into(A1, W1, nh, O2);
  tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), dO3.view(), dA1.view(), dW1.view());
  tessel::matmul_into(A1, W1, O2.view().select(2, 0));

  SECTION("matmul_with_multi_head: one block, the output") {
    tessel::reset_memory_stats();
    const auto out = tessel::matmul_with_multi_head(A1, W1, nh);
    const auto st = tessel::memory_stats();
    CHECK(st.allocations == 1);
    CHECK(st.bytes_requested == bytes_of<T>(out.shape()));
    CHECK(st.bytes_requested == bytes_of<T>(std::array<std::int64_t, 4>{b, s, nh, e}));
  }
  SECTION("matmul_with_importance without grad_output: O3 only") {
    tessel::reset_memory_stats();
    const auto r = tessel::matmul_with_importance(A1, W1, P, nh, o);
    const auto st = tessel::memory_stats();
    CHECK(st.allocations == 1);
    CHECK(st.bytes_requested == bytes_of<T>(std::array<std::int64_t, 3>{t, nh, e}));
    CHECK_FALSE(r.grad_input);
  }
  SECTION("matmul_with_importance with grad_output: O3, dA1 and dW1") {
    tessel::reset_memory_stats();
    const auto r = tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
    const auto st = tessel::memory_stats();
    CHECK(st.allocations == 3);
    CHECK(st.bytes_requested == bytes_of<T>(std::array<std::int64_t, 3>{t, nh, e}) +
                                    bytes_of<T>(std::array<std::int64_t, 3>{b, s, h}) +
                                    bytes_of<T>(std::array<std::int64_t, 2>{h, e}));
    CHECK(r.grad_weight);
  }
  SECTION("matmul_with_importance with t = 0: empty O3 allocates nothing, the gradients do") {
    tessel::ImportanceOptions none;  // top_p = 1: uniform [0, 1) never passes
    Tensor<T, 3> g0({0, nh, e});
    (void)tessel::matmul_with_importance(A1, W1, P, nh, none, g0);
    tessel::reset_memory_stats();
    const auto r = tessel::matmul_with_importance(A1, W1, P, nh, none, g0);
    const auto st = tessel::memory_stats();
    CHECK(r.selected.empty());
    CHECK(st.allocations == 2);
    CHECK(st.bytes_requested ==
          bytes_of<T>(std::array<std::int64_t, 3>{b, s, h}) + bytes_of<T>(std::array<std::int64_t, 2>{h, e}));
  }
  SECTION("the _into calls allocate nothing") {
    tessel::reset_memory_stats();
    tessel::matmul_with_multi_head_into(A1, W1, nh, O2);
    tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view());
    tessel::matmul_with_importance_into<T>(A1, W1, sel, nh, O3.view(), dO3.view(), dA1.view(), dW1.view());
    tessel::matmul_into(A1, W1, O2.view().select(2, 0));  // [b, s, e], a strided output
    std::vector<std::int64_t> sel2;
    sel2.reserve(static_cast<std::size_t>(b * s));
    tessel::select_important_into<T>(P, o, sel2);
    const auto st = tessel::memory_stats();
    CHECK(st.allocations == 0);
    CHECK(st.bytes_requested == 0);
    CHECK(st.fresh_allocations == 0);
  }
}

TEST_CASE("memory: allocating calls in a loop reuse cached blocks; release_cached_memory empties the cache",
          "[memory]") {
  using T = float;
  SettingsGuard guard;
  tessel::set_num_threads(1);
  // O2 = 2·64·4·512 floats = 1 MiB, at the caching allocator's large-block size.
  const std::int64_t b = 2, s = 64, h = 64, nh = 4, e = 512;
  const auto A1 = random_tensor<T, 3>({b, s, h}, 21);
  const auto W1 = random_tensor<T, 2>({h, e}, 22);
  const auto P = random_tensor<T, 2>({b, s}, 23, 0.0, 1.0);
  tessel::ImportanceOptions o;
  o.top_p = 0.0;
  o.top_k = 32;
  const std::int64_t t = b * 32;
  const auto dO3 = random_tensor<T, 3>({t, nh, e}, 24);
  REQUIRE(bytes_of<T>(std::array<std::int64_t, 4>{b, s, nh, e}) >= (std::int64_t{1} << 20));

  (void)tessel::matmul_with_multi_head(A1, W1, nh);  // warm-up
  (void)tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
  const auto first = tessel::matmul_with_multi_head(A1, W1, nh);  // kept alive: the loop needs a second block
  (void)tessel::matmul_with_multi_head(A1, W1, nh);               // which this call leaves in the cache
  tessel::reset_memory_stats();
  for (int step = 0; step < 5; ++step) {
    const auto O2 = tessel::matmul_with_multi_head(A1, W1, nh);
    CHECK(same_bits(O2, first));
  }
  auto st = tessel::memory_stats();
  CHECK(st.allocations == 5);
  CHECK(st.fresh_allocations == 0);
  CHECK(st.cached_bytes > 0);  // the freed outputs are kept

  // The importance call with gradients (O3 and dW1 are small; dA1 is not): steady state.
  tessel::reset_memory_stats();
  for (int step = 0; step < 3; ++step) (void)tessel::matmul_with_importance(A1, W1, P, nh, o, dO3);
  st = tessel::memory_stats();
  CHECK(st.allocations == 9);

  // Large blocks only: the 1 MiB multi-head output never comes fresh in the loop.
  tessel::reset_memory_stats();
  for (int step = 0; step < 3; ++step) (void)tessel::matmul_with_multi_head(A1, W1, nh);
  CHECK(tessel::memory_stats().fresh_allocations == 0);

  tessel::release_cached_memory();
  st = tessel::memory_stats();
  CHECK(st.cached_bytes == 0);
  // After the release the next large output has to come from the system again.
  tessel::reset_memory_stats();
  (void)tessel::matmul_with_multi_head(A1, W1, nh);
  CHECK(tessel::memory_stats().fresh_allocations == 1);
}
