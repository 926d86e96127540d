// Tests of gemm/partition.hpp: the work units the driver creates cover every element of C
// exactly once for every thread count (with many threads they may be finer; the k blocking,
// which decides the bits, never changes),
// never use more threads than are available or useful, and carry the cost the driver
// estimates (the flops of their register tiles). Shapes: the engine's benchmark shapes
// (multi-head forward and backward, square) and awkward small ones.
#include <catch2/catch.hpp>

#include <tessel/gemm/gemm.hpp>
#include <tessel/gemm/kernel_scalar.hpp>
#include <tessel/gemm/partition.hpp>

#include <cstdint>
#include <vector>

namespace {

using namespace tessel::detail;

struct Case {
  const char* name;
  std::int64_t batch, m, n, k;
};

const std::vector<Case> kCases = {
    {"W1 multi-head", 16, 2048, 1024, 64}, {"W3 multi-head", 32, 4096, 128, 128}, {"dW (k = M)", 16, 64, 1024, 2048},
    {"square 1024", 1, 1024, 1024, 1024},  {"one row", 3, 1, 500, 70},            {"tiny", 1, 5, 7, 3},
    {"k = 0", 2, 40, 50, 0}};

GemmShape shape_of(const Case& c, int mr, int nr) { return GemmShape{c.batch, c.m, c.n, c.k, mr, nr, 2, 2, false}; }

}  // namespace

namespace {
// How many units cover each element of C (each must be covered once); adds up their cost.
std::int64_t miscovered(const GemmPlan& plan, const Case& c, double& cost) {
  std::vector<std::uint8_t> covered(static_cast<std::size_t>(c.batch * c.m * c.n), 0);
  cost = 0;
  for (const WorkUnit& w : work_units(plan)) {
    if (w.rows <= 0 || w.cols <= 0) return -1;
    for (std::int64_t i = w.i0; i < w.i0 + w.rows; ++i)
      for (std::int64_t j = w.j0; j < w.j0 + w.cols; ++j) ++covered[static_cast<std::size_t>((w.g * c.m + i) * c.n + j)];
    cost += w.cost;
    if (w.cost != 2.0 * double(round_up(w.rows, plan.shape.mr)) * double(round_up(w.cols, plan.shape.nr)) *
                      double(std::max<std::int64_t>(c.k, 1)))
      return -2;
  }
  std::int64_t wrong = 0;
  for (auto x : covered) wrong += x != 1;
  return wrong;
}
}  // namespace

TEST_CASE("partition: units tile C exactly once, whatever the thread count", "[gemm][partition]") {
  // With many threads the units may be finer (rows and columns, never k): the k blocking,
  // which alone decides the bits, must be the same for every thread count.
  const auto& cpu = tessel::cpu_features();
  for (const Case& c : kCases) {
    const GemmShape s = shape_of(c, 14, 32);
    const Blocking bk = make_blocking(14, 32, c.m, c.n, c.k, cpu);
    const GemmPlan one = plan_gemm(s, bk, cpu, 1);
    CAPTURE(c.name);
    double cost = 0;
    CHECK(miscovered(one, c, cost) == 0);
    CHECK(cost >= 2.0 * double(c.batch * c.m * c.n) * double(std::max<std::int64_t>(c.k, 1)));
    for (int P : {2, 4, 8, 16, 32, 64, 128}) {
      const GemmPlan many = plan_gemm(s, bk, cpu, P);
      CAPTURE(P);
      CHECK(many.units >= one.units);
      CHECK(many.threads >= 1);
      CHECK(many.threads <= P);
      CHECK(many.threads <= many.units);
      CHECK(many.bk.kc == one.bk.kc);
      CHECK(many.bk.k_blocks == one.bk.k_blocks);
      CHECK(many.bk.mc % 14 == 0);
      CHECK(many.bk.nc % 32 == 0);
      double many_cost = 0;
      CHECK(miscovered(many, c, many_cost) == 0);
    }
  }
}

TEST_CASE("partition: small calls stay on one thread, large ones use what is there", "[gemm][partition]") {
  const auto& cpu = tessel::cpu_features();
  const Case tiny{"tiny", 1, 20, 20, 20}, big{"W1", 16, 2048, 1024, 64};
  CHECK(plan_gemm(shape_of(tiny, 14, 32), make_blocking(14, 32, 20, 20, 20, cpu), cpu, 64).threads == 1);
  const GemmPlan p = plan_gemm(shape_of(big, 14, 32), make_blocking(14, 32, 2048, 1024, 64, cpu), cpu, 2);
  CHECK(p.threads == 2);
  CHECK(plan_gemm(shape_of(big, 14, 32), p.bk, cpu, 0).threads == 1);  // nothing available: one
}

TEST_CASE("partition: the plan of a problem is the one the driver runs", "[gemm][partition]") {
  // dW-shaped products run transposed on the fp32 kernels when that fills the tiles better;
  // plan_for reports the plan of the problem as it actually runs.
  GemmProblem<float> p;
  p.batch = 1, p.m = 30, p.n = 1024, p.k = 2048;
  const auto& cpu = tessel::cpu_features();
  const GemmPlan plan = plan_for<KernelConfig<ScalarKernel>>(p, cpu, 4);
  if (runs_transposed<KernelConfig<ScalarKernel>>(p)) {
    CHECK(plan.shape.m == p.n);
    CHECK(plan.shape.n == p.m);
  } else {
    CHECK(plan.shape.m == p.m);
  }
  p.m = 64, p.n = 64, p.k = 64;
  CHECK_FALSE(runs_transposed<KernelConfig<ScalarKernel>>(p));
  CHECK(plan_for<KernelConfig<ScalarKernel>>(p, cpu, 4).shape.m == 64);
}

TEST_CASE("partition: the next A panel goes to L2 when its rows share L1 sets", "[gemm][partition]") {
  // A head's column slice of A1 [rows, h]: its rows are h elements apart. 8 KiB apart (h = 4096
  // bfloat16, W3) every row of a panel falls in the same L1 sets (the AVX-512 kernels' 14 rows
  // against 8-12 ways); 2 KiB apart (h = 1024, W1) they spread over two set ranges, and a small
  // panel stays an L1 prefetch.
  tessel::CpuFeatures cpu;
  cpu.l1d = 32 * 1024, cpu.l2 = 1024 * 1024;
  auto plan_with_row_stride = [&](std::int64_t h, std::int64_t kc) {
    GemmProblem<tessel::bfloat16> p;
    p.batch = 1, p.m = 512, p.n = 256, p.k = kc;
    p.a.rows = Axis::strided(h), p.a.cols = Axis::strided(1);
    const GemmShape s = gemm_shape<ScalarKernel>(p);
    return plan_gemm(s, make_blocking(s.mr, s.nr, p.m, p.n, p.k, cpu), cpu, 1);
  };
  const std::int64_t mr = ScalarKernel::MR;
  REQUIRE(mr * 128 * 2 <= cpu.l1d / 8);  // small panels: only the sets decide
  CHECK(plan_with_row_stride(4096, 128).shape.a_rows_share_l1_sets);
  CHECK(plan_with_row_stride(4096, 128).a_prefetch_l2);
  CHECK(plan_with_row_stride(2048, 64).a_prefetch_l2);   // 4 KiB apart: the same sets too
  CHECK_FALSE(plan_with_row_stride(1024, 64).a_prefetch_l2);
  CHECK_FALSE(plan_with_row_stride(1000, 64).a_prefetch_l2);
  // A whose rows are not contiguous along k (Aᵀ of dW) is prefetched as before.
  GemmProblem<tessel::bfloat16> t;
  t.batch = 1, t.m = 64, t.n = 256, t.k = 64;
  t.a.rows = Axis::strided(1), t.a.cols = Axis::strided(4096);
  CHECK_FALSE(gemm_shape<ScalarKernel>(t).a_rows_share_l1_sets);
}

TEST_CASE("blocking: a longer k block where k then fits one block or the row is two tiles wide", "[gemm][partition]") {
  tessel::CpuFeatures cpu;
  cpu.l1d = 48 * 1024, cpu.l2 = 2 * 1024 * 1024;
  // The AMX configuration's limits (gemm/paths.hpp): 32×32 tiles, kc from all of L1 at 4
  // bytes per element (384 here), and up to two thirds of L1 at 2 bytes (512) when it pays.
  const BlockLimits amx{.l1_share = 1, .l1_long_percent = 67, .panel_bytes = 2};
  const auto blocks = [&](std::int64_t m, std::int64_t n, std::int64_t k) { return make_blocking(32, 32, amx, m, n, k, cpu); };
  CHECK(blocks(512, 512, 512).k_blocks == 1);  // k fits 512: one block
  CHECK(blocks(512, 512, 512).kc == 512);
  CHECK(blocks(2048, 1024, 384).kc == 384);
  const Blocking wide = blocks(2048, 1024, 1024);  // many tiles per A panel: the L1 sliver's kc
  CHECK(wide.k_blocks == 3);
  CHECK(wide.kc <= 384);
  const Blocking narrow = blocks(2048, 64, 1024);  // two tiles per A panel: the longer block
  CHECK(narrow.k_blocks == 2);
  CHECK(narrow.kc == 512);
  CHECK(blocks(2048, 96, 1024).k_blocks == 3);  // three tiles: the L1 sliver's kc again
  // Without the longer block (every other configuration), nothing changes.
  const BlockLimits plain{.l1_share = 1};
  CHECK(make_blocking(32, 32, plain, 512, 512, 512, cpu).k_blocks == 2);
  CHECK(make_blocking(32, 32, plain, 2048, 64, 1024, cpu).k_blocks == 3);
  // A smaller L1 gives a shorter longer block (32 KiB: up to 336), never one below kc_max.
  cpu.l1d = 32 * 1024;
  CHECK(blocks(512, 512, 336).k_blocks == 1);
  CHECK(blocks(512, 512, 512).k_blocks == 2);
}

// The L2 budget of a unit that packs its own B block and prefetches the next k block's lines
// (all of m in one row block, several k blocks: dW = Aᵀ·dO): the packed B block, those lines,
// the fp32 C block and the A block with its next lines, all at once.
std::int64_t unit_l2_bytes(const Blocking& b, std::int64_t m, std::int64_t mr, std::int64_t panel_bytes,
                           std::int64_t prefetched_bytes) {
  const std::int64_t mc_pad = round_up(m, mr);
  return b.nc * b.kc * (panel_bytes + prefetched_bytes) + mc_pad * (b.nc + 16) * 4 +
         mc_pad * b.kc * (panel_bytes + prefetched_bytes);
}

TEST_CASE("blocking: a unit that packs its own B block and prefetches the next one fits L2", "[gemm][partition]") {
  tessel::CpuFeatures cpu;
  cpu.l1d = 32 * 1024, cpu.l2 = 1024 * 1024;
  const BlockLimits fp32{}, pairs{.panel_bytes = 2};
  // dW of one head (m = 64, k = 2048, n = 1024) with fp32 panels from fp32 inputs: the plain
  // rule's nc (half of L2 for the packed block alone) would overfill L2; the budget splits n
  // into more blocks, each still a whole number of tiles.
  const Blocking plain = make_blocking(14, 32, fp32, 64, 1024, 2048, cpu);
  const Blocking dw = make_blocking(14, 32, fp32, 64, 1024, 2048, cpu, 4);
  CHECK(plain.k_blocks > 1);
  CHECK(unit_l2_bytes(plain, 64, 14, 4, 4) > cpu.l2);
  CHECK(dw.kc == plain.kc);
  CHECK(dw.nc < plain.nc);
  CHECK(dw.nc % 32 == 0);
  CHECK(unit_l2_bytes(dw, 64, 14, 4, 4) <= cpu.l2);
  // bfloat16 pair panels from bfloat16 inputs (2 + 2 bytes) and fp32 panels from float16
  // inputs (4 + 2) fit with the plain rule: unchanged.
  CHECK(make_blocking(14, 32, pairs, 64, 1024, 2048, cpu, 2).nc == make_blocking(14, 32, pairs, 64, 1024, 2048, cpu).nc);
  CHECK(unit_l2_bytes(make_blocking(14, 32, pairs, 64, 1024, 2048, cpu, 2), 64, 14, 2, 2) <= cpu.l2);
  CHECK(make_blocking(14, 32, fp32, 64, 1024, 2048, cpu, 2).nc == plain.nc);
  // m over several row blocks (units share B blocks), one k block, or no prefetch: unchanged.
  CHECK(make_blocking(14, 32, fp32, 4096, 1024, 2048, cpu, 4).nc == make_blocking(14, 32, fp32, 4096, 1024, 2048, cpu).nc);
  CHECK(make_blocking(14, 32, fp32, 64, 1024, 128, cpu, 4).nc == make_blocking(14, 32, fp32, 64, 1024, 128, cpu).nc);
}

TEST_CASE("partition: B is kept for all of k only where units share it", "[gemm][partition]") {
  // Kept (keep_b), a B column block is packed once per thread for all the row blocks of its
  // column; with all of m one row block (dW = Aᵀ·dO per head) no unit shares it, and each k
  // block goes to one of two L2-sized buffers instead. The rule follows from the blocking,
  // not the thread count, so no finer split for more threads needs more workspace.
  tessel::CpuFeatures cpu;
  cpu.l1d = 32 * 1024, cpu.l2 = 1024 * 1024;
  auto plan = [&](std::int64_t m, std::int64_t n, std::int64_t k, int threads) {
    const GemmShape s{16, m, n, k, 14, 32, 2, 2, false};
    return plan_gemm(s, make_blocking(14, 32, m, n, k, cpu), cpu, threads);
  };
  for (int threads : {1, 2, 16, 128}) {
    INFO(threads << " threads");
    const GemmPlan dw = plan(64, 1024, 2048, threads);  // mh16 dW: one row block, 8 k blocks
    REQUIRE(dw.bk.k_blocks > 1);
    CHECK_FALSE(dw.keep_b);
    const GemmPlan tall = plan(2048, 1024, 2048, threads);  // several row blocks share it
    REQUIRE(tall.bk.k_blocks > 1);
    CHECK(tall.keep_b);
    CHECK(plan(2048, 64, 64, threads).keep_b);  // one k block: always kept (and in L2)
    CHECK(gemm_workspace_bytes(dw) <= gemm_workspace_bytes(plan(64, 1024, 2048, 1)));
    // Not kept, the two block buffers of B fit L2 together.
    CHECK(round_up(dw.bk.nc, 32) * dw.bk.kc * 2 * std::int64_t(sizeof(float)) <= cpu.l2);
  }
}
