// First touch (NUMA placement) as far as two cores can show it:
//   * the ops' outputs are not zero-filled by the calling thread before the engine's
//     threads write them (memory_stats().zero_filled_bytes counts every zero fill);
//   * each thread's packing workspace is allocated by that thread, within the bound the
//     plan states (gemm_workspace_bytes);
//   * the caching allocator hands a thread a cached block of its own NUMA node when one
//     fits, and another node's only when none does (nodes named explicitly: this machine
//     has one);
//   * tessel's parallel regions keep the binding OMP_PROC_BIND / OMP_PLACES ask for (a
//     separate CTest entry runs that case with them set; hidden from the default run).
#include <catch2/catch.hpp>

#include "support/reference.hpp"

#include <tessel/tessel.hpp>

#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace {

using tessel::Tensor;
using tessel_test::random_tensor;
using tessel_test::SettingsGuard;

constexpr std::size_t MiB = std::size_t{1} << 20;

}  // namespace

TEST_CASE("first touch: the ops allocate their outputs without zero-filling them", "[first_touch][memory]") {
  SettingsGuard guard;
  tessel::set_num_threads(2);
  const auto A1 = random_tensor<float, 3>({2, 128, 256}, 1);
  const auto W1 = random_tensor<float, 2>({256, 192}, 2);
  const auto P = random_tensor<float, 2>({2, 128}, 3, 0.0, 1.0);
  const auto sel = tessel::select_important(P, {.top_p = 0.5, .top_k = std::nullopt});
  const auto dO3 = random_tensor<float, 3>({static_cast<std::int64_t>(sel.size()), 4, 192}, 4);
  const auto x = random_tensor<float, 3>({2, 64, 96}, 5);
  const auto w = random_tensor<float, 2>({80, 96}, 6);
  const auto b = random_tensor<float, 1>({80}, 7);
  const auto dy = random_tensor<float, 3>({2, 64, 80}, 8);
  const auto q = random_tensor<float, 4>({2, 3, 40, 16}, 9);

  tessel::reset_memory_stats();
  {
    const auto o2 = tessel::matmul_with_multi_head(A1, W1, 4);
    const auto r = tessel::matmul_with_importance(A1, W1, P, 4, {.top_p = 0.5, .top_k = std::nullopt}, dO3);
    const auto c = tessel::matmul(W1.view().transpose(0, 1), W1);
    const auto y = tessel::linear(x, w, b);
    const auto g = tessel::linear_backward(dy, x, w, true);
    const auto s = tessel::einsum<"bhqd,bhkd->bhqk">(q, q);
    const auto e = tessel::einsum<"bsnk,nke->bsne">(A1.view().view(2, 128, 4, 64), W1.view().view(4, 64, 192));
    const auto copy = o2;  // a copy is written by memcpy, not zeroed first
    CHECK(tessel::memory_stats().allocations > 0);
  }
  CHECK(tessel::memory_stats().zero_filled_bytes == 0);
  // The zero-filling constructor (and zeros()) are counted: the counter can see a fill.
  { const Tensor<float, 2> zeroed({8, 8}); }
  CHECK(tessel::memory_stats().zero_filled_bytes == 8 * 8 * 4);
  { const auto z = tessel::zeros<tessel::bfloat16>(3, 5); }
  CHECK(tessel::memory_stats().zero_filled_bytes == 8 * 8 * 4 + 3 * 5 * 2);
}

TEST_CASE("first touch: each thread's packing workspace is its own allocation, within the plan's bound",
          "[first_touch][threads]") {
#if !defined(_OPENMP)
  WARN("SKIPPED: built without OpenMP, no worker threads");
  return;
#else
  SettingsGuard guard;
  tessel::set_num_threads(2);
  // Large enough for two threads (and several k blocks: all three buffers in use).
  const auto A = random_tensor<float, 2>({300, 700}, 11);
  const auto B = random_tensor<float, 2>({700, 500}, 12);
  // (Units go to whichever thread is free: a few calls let both threads take some.)
  for (int i = 0; i < 10; ++i) (void)tessel::matmul(A, B);
  // The bound of the plan the call ran, on the kernel it ran.
  std::int64_t bound = 0;
  tessel::detail::GemmProblem<float> p;
  p.m = 300, p.n = 500, p.k = 700;
  tessel::detail::for_each_kernel_config<float>([&]<class Config>() {
    const auto plan = tessel::detail::plan_for<Config>(p, tessel::cpu_features(), 2);
    bound = std::max(bound, tessel::detail::gemm_workspace_bytes(plan));
  });
  // The same team of OpenMP threads looks at its workspaces (libgomp keeps its threads).
  struct Seen {
    bool has = false, own = false;
    std::size_t bytes = 0;
  };
  std::vector<Seen> seen(2);
  tessel::detail::parallel_region(2, [&](int t, int) {
    const auto& ws = tessel::detail::thread_workspace();
    Seen s;
    for (const auto* buf : {&ws.a, &ws.b, &ws.c}) {
      if (buf->capacity_bytes() == 0) continue;
      s.has = true;
      s.own = buf->allocated_by() == std::this_thread::get_id();
      s.bytes += buf->capacity_bytes();
      if (!s.own) break;
    }
    seen[static_cast<std::size_t>(t)] = s;
  });
  int working = 0;
  for (std::size_t t = 0; t < seen.size(); ++t) {
    if (!seen[t].has) continue;  // took no unit
    ++working;
    INFO("thread " << t);
    CHECK(seen[t].own);  // buffers it allocated itself
    // (Rounded to the allocator's 64-byte units; this process ran only this call's size.)
    CHECK(static_cast<std::int64_t>(seen[t].bytes) <= bound + 3 * 64);
  }
  CHECK(working >= 1);
  if (working < 2) WARN("one thread took every unit of the calls: only its workspace was checked");
#endif
}

TEST_CASE("first touch: the cache hands a thread a block of its own node when one fits", "[first_touch][memory]") {
  auto& alloc = tessel::detail::CachingAllocator::instance();
  tessel::release_cached_memory();
  tessel::reset_memory_stats();
  // Two cached blocks of 4 MiB, got fresh on nodes 0 and 1.
  void* on0 = alloc.allocate_on(4 * MiB, 0);
  void* on1 = alloc.allocate_on(4 * MiB, 1);
  CHECK(alloc.node_of(on0) == 0);
  CHECK(alloc.node_of(on1) == 1);
  alloc.deallocate(on0);
  alloc.deallocate(on1);
  CHECK(tessel::memory_stats().cached_bytes == std::int64_t(8 * MiB));
  // Each node gets its own block back, whichever was freed last.
  void* again1 = alloc.allocate_on(4 * MiB, 1);
  void* again0 = alloc.allocate_on(4 * MiB, 0);
  CHECK(again1 == on1);
  CHECK(again0 == on0);
  CHECK(tessel::memory_stats().fresh_allocations == 2);
  alloc.deallocate(again0);
  alloc.deallocate(again1);

  // Its own node's block even when another node's fits more tightly (within the usual 2×).
  void* big1 = alloc.allocate_on(6 * MiB, 1);
  alloc.deallocate(big1);  // cached now: 4 MiB of node 0, 4 and 6 MiB of node 1
  void* n1 = alloc.allocate_on(4 * MiB, 1);
  CHECK(alloc.node_of(n1) == 1);
  void* second1 = alloc.allocate_on(4 * MiB, 1);  // the 6 MiB one, not node 0's 4 MiB
  CHECK(second1 == big1);
  CHECK(alloc.node_of(second1) == 1);
  // No block of its node left: another node's, rather than fresh memory; the block keeps
  // the node its pages are on.
  const auto fresh_before = tessel::memory_stats().fresh_allocations;
  void* borrowed = alloc.allocate_on(4 * MiB, 1);
  CHECK(borrowed == on0);
  CHECK(alloc.node_of(borrowed) == 0);
  CHECK(tessel::memory_stats().fresh_allocations == fresh_before);
  for (void* p : {n1, second1, borrowed}) alloc.deallocate(p);
  tessel::release_cached_memory();
  CHECK(tessel::memory_stats().cached_bytes == 0);
  // An ordinary allocation is tagged with the calling thread's node (or -1 off Linux).
  void* here = alloc.allocate(2 * MiB);
  CHECK(alloc.node_of(here) == tessel::detail::current_numa_node());
  alloc.deallocate(here);
  tessel::release_cached_memory();
}

// Run by its own CTest entry with OMP_PROC_BIND=close and OMP_PLACES=cores (tests/CMakeLists.txt).
TEST_CASE("first touch: tessel's threads keep the binding OMP_PROC_BIND and OMP_PLACES ask for",
          "[.][proc_bind][threads]") {
#if !defined(_OPENMP)
  WARN("SKIPPED: built without OpenMP");
#else
  REQUIRE(omp_get_proc_bind() != omp_proc_bind_false);  // run with OMP_PROC_BIND set
  REQUIRE(omp_get_num_places() >= 2);
  const auto bind_before = omp_get_proc_bind();
  std::vector<int> place(2, -1);
  tessel::detail::parallel_region(2, [&](int t, int) { place[static_cast<std::size_t>(t)] = omp_get_place_num(); });
  CHECK(place[0] >= 0);
  CHECK(place[1] >= 0);
  CHECK(place[0] != place[1]);  // close binding over two cores: one thread a core
  std::vector<int> unit_place(2, -1);
  tessel::detail::parallel_for_dynamic(2, 2, [&](std::int64_t u) {
    unit_place[static_cast<std::size_t>(u)] = omp_get_place_num();
  });
  CHECK(unit_place[0] >= 0);
  CHECK(unit_place[1] >= 0);
  CHECK(omp_get_proc_bind() == bind_before);  // tessel changed nothing
#endif
}
