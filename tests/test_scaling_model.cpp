// A model of the engine on machines with many cores, from the plan alone (gemm/partition.hpp
// is a pure function of shape, blocking, caches and thread count, so nothing runs here).
//
// For P = 2 … 128 threads, on the SPEC workloads W1–W4 (multi-head forward, importance
// forward, the backward products dA = dO·W2ᵀ and dW = A3ᵀ·dO), the square shapes, and
// bench_ops' linear and einsum shapes, in every dtype on every kernel configuration of every
// compiled path (their register tiles and block limits differ), and on modelled CPUs (cache
// sizes given explicitly) as well as this one:
//   * the units are handed out as core/parallel.hpp's parallel_for_dynamic does (in order,
//     each to whichever thread is free first), each taking the driver's own cost estimate
//     (WorkUnit::cost);
//   * the plan uses every thread it may (P, unless the call is too small to feed them:
//     kFlopsPerThread), the busiest of them is within 1.10 × the ideal total/P wherever C
//     cut at the finest grain (kMinUnitTiles tiles a side) gives 10 units a thread, and the
//     finer split adds no padding to speak of; the calls too narrow for P threads at that
//     grain are listed in the log;
//   * the packing workspace each thread keeps is bounded by its caches, never by the
//     problem: P × workspace ≤ P × kWorkspaceL2s × L2 (see gemm_workspace_bytes).
#include <catch2/catch.hpp>

#include <tessel/gemm/gemm.hpp>
#include <tessel/gemm/partition.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace tessel::detail;
using tessel::bfloat16;
using tessel::CpuFeatures;
using tessel::float16;

struct Product {
  std::string name;
  std::int64_t batch, m, n, k;
  bool bias = false;
};

// The GEMMs the ops of bench/bench_ops.cpp and bench_gemm hand the engine (SPEC workloads:
// W1 = (b 4, s 512, h 1024, nh 16, e 1024), W2 = (8, 256, 768, 12, 768), W3 = (2, 2048, 4096,
// 32, 128); importance on W1–W3 selects every row, W4a selects t = 512 rows of W1, W4b
// about half, t = 1024): per head, forward [t, hd]·[hd, e], dA [t, e]·[e, hd], dW [hd, t]·[t, e].
std::vector<Product> products() {
  struct W {
    const char* name;
    std::int64_t t, h, nh, e;
  };
  std::vector<Product> v;
  for (const W w : {W{"W1", 2048, 1024, 16, 1024}, W{"W2", 2048, 768, 12, 768}, W{"W3", 4096, 4096, 32, 128},
                    W{"W4a", 512, 1024, 16, 1024}, W{"W4b", 1024, 1024, 16, 1024}}) {
    const std::int64_t hd = w.h / w.nh;
    v.push_back({std::string(w.name) + " forward", w.nh, w.t, w.e, hd});
    v.push_back({std::string(w.name) + " dA", w.nh, w.t, hd, w.e});
    v.push_back({std::string(w.name) + " dW", w.nh, hd, w.e, w.t});
  }
  for (std::int64_t s : {512, 1024, 2048}) v.push_back({"square " + std::to_string(s), 1, s, s, s});
  // linear L1: x [4, 512, 1024], W [1024, 1024], with a bias; backward dX and dW.
  v.push_back({"linear L1 forward", 1, 2048, 1024, 1024, true});
  v.push_back({"linear L1 dX", 1, 2048, 1024, 1024});
  v.push_back({"linear L1 dW", 1, 1024, 1024, 2048});
  // einsum "bhqd,bhkd->bhqk", b 4, h 16, q = k = 512, d 64 (einsum_mh on W1 is W1 forward).
  v.push_back({"attention scores A1", 64, 512, 512, 64});
  return v;
}

struct Machine {
  const char* name;
  CpuFeatures cpu;
};

CpuFeatures caches(std::int64_t l1d, std::int64_t l2, std::int64_t l3) {
  CpuFeatures f;
  f.l1d = l1d, f.l2 = l2, f.l3 = l3;
  return f;
}

// The CPUs modelled: two many-core servers as their cpuid describes them (per-core L1d and
// L2; the L3 one core's complex shares), a small-L2 client core, and this machine.
std::vector<Machine> machines() {
  constexpr std::int64_t KiB = 1024, MiB = 1024 * KiB;
  return {{"64-core AMD Zen 4 server", caches(32 * KiB, 1 * MiB, 32 * MiB)},
          {"56-core Intel Sapphire Rapids server", caches(48 * KiB, 2 * MiB, 105 * MiB)},
          {"client core, 256 KiB L2", caches(32 * KiB, 256 * KiB, 8 * MiB)},
          {"this machine", tessel::cpu_features()}};
}

// What parallel_for_dynamic does with the units: the next unit in order goes to the thread
// that is free first (the lowest-numbered one on a tie). Returns each thread's total work.
std::vector<double> simulate_dynamic(const GemmPlan& plan) {
  using Slot = std::pair<double, int>;  // (time the thread is free, thread)
  std::priority_queue<Slot, std::vector<Slot>, std::greater<>> free_at;
  for (int t = 0; t < plan.threads; ++t) free_at.push({0.0, t});
  std::vector<double> work(static_cast<std::size_t>(plan.threads), 0.0);
  for (std::int64_t u = 0; u < plan.units; ++u) {
    auto [time, t] = free_at.top();
    free_at.pop();
    const double c = work_unit(plan, u).cost;
    work[static_cast<std::size_t>(t)] += c;
    free_at.push({time + c, t});
  }
  return work;
}

// Every kernel configuration of every compiled path for element type T, whether or not this
// CPU can run it (planning runs no kernel): f.template operator()<Config>(path name).
template <class T, std::size_t N = 0, class F>
void for_each_compiled_config(F&& f) {
  constexpr std::size_t kEntries = sizeof(kIsaTable) / sizeof(kIsaTable[0]);
  if constexpr (N < kEntries) {
    if constexpr (kIsaTable[N].compiled) {
      [&]<class... Configs>(ConfigList<Configs...>) {
        (f.template operator()<Configs>(kIsaTable[N].name), ...);
      }(typename Path<kIsaTable[N].isa>::template configs<T>{});
    }
    for_each_compiled_config<T, N + 1>(f);
  }
}

struct Worst {
  double ratio = 0;
  std::string where;
};

template <class T>
void check_dtype(const char* dtype, Worst& worst_balance, Worst& worst_padding, std::vector<std::string>& narrow) {
  for (const Machine& machine : machines()) {
    for_each_compiled_config<T>([&]<class Config>(std::string_view path) {
      using K = typename Config::Kernel;
      for (const Product& pr : products()) {
        GemmProblem<T> p;
        p.batch = pr.batch, p.m = pr.m, p.n = pr.n, p.k = pr.k;
        static const T bias_value{};
        if (pr.bias) p.epilogue.bias = &bias_value;
        const GemmPlan one = plan_for<Config>(p, machine.cpu, 1);
        double one_cost = 0;
        for (const WorkUnit& w : work_units(one)) one_cost += w.cost;
        for (int P : {2, 4, 8, 16, 32, 64, 128}) {
          // What the driver passes for P threads (core/threads.hpp: never more than m·n·batch).
          const int available = static_cast<int>(std::min<std::int64_t>(P, pr.batch * pr.m * pr.n));
          const GemmPlan plan = plan_for<Config>(p, machine.cpu, available);
          const std::string where = std::string(machine.name) + ", " + std::string(path) + " " +
                                    std::to_string(K::MR) + "x" +
                                    std::to_string(K::NR) + ", " + dtype + ", " + pr.name + ", P = " +
                                    std::to_string(P) + ": " + std::to_string(plan.units) + " units, " +
                                    std::to_string(plan.threads) + " threads";
          INFO(where);
          // The threads the call should keep busy: P, unless it is too small to feed them
          // (kFlopsPerThread each).
          const double flops = 2.0 * double(pr.batch * pr.m * pr.n) * double(std::max<std::int64_t>(pr.k, 1));
          const auto target = static_cast<int>(std::min<std::int64_t>(
              available, std::max<std::int64_t>(1, static_cast<std::int64_t>(flops / kFlopsPerThread))));
          // Load balance under the dynamic schedule, among the threads the plan uses and
          // against all `target` threads (idle ones count as imbalance).
          const std::vector<double> work = simulate_dynamic(plan);
          double total = 0, largest = 0;
          for (double w : work) total += w, largest = std::max(largest, w);
          const double ratio = largest / (total / double(plan.threads));
          const double against_target = largest / (total / double(target));
          CHECK(plan.threads == std::min<std::int64_t>(target, plan.units));
          // C cut into units of kMinUnitTiles × kMinUnitTiles register tiles (the finest the
          // plan goes): when that gives at least 10 units per thread, a split within 10 %
          // exists, and the plan must find one. Otherwise the call is too narrow for P
          // threads at that grain (it is reported below).
          const GemmShape& s = plan.shape;
          const std::int64_t finest = s.batch * ((s.m + kMinUnitTiles * s.mr - 1) / (kMinUnitTiles * s.mr)) *
                                      ((s.n + kMinUnitTiles * s.nr - 1) / (kMinUnitTiles * s.nr));
          if (finest >= 10 * std::int64_t{target}) {
            CHECK(against_target <= 1.10);
            CHECK(ratio <= 1.10);
          } else if (against_target > 1.10) {
            narrow.push_back(where + " (" + std::to_string(finest) + " finest units, busiest/ideal " +
                             std::to_string(against_target) + ")");
          }
          if (against_target > worst_balance.ratio) worst_balance = {against_target, where};
          // The finer split pads little more than the single-thread blocks do.
          const double padding = total / one_cost;
          CHECK(padding <= 1.05);
          if (padding > worst_padding.ratio) worst_padding = {padding, where};
          // Workspace: bounded per thread by the caches, so P × it by P × kWorkspaceL2s L2s.
          const std::int64_t l2 = machine.cpu.l2 > 0 ? machine.cpu.l2 : (1 << 20);
          const std::int64_t ws = gemm_workspace_bytes(plan);
          CHECK(ws <= kWorkspaceL2s * l2);
          CHECK(ws <= gemm_workspace_bytes(one));  // a finer split never needs more
          CHECK(std::int64_t{plan.threads} * ws <= std::int64_t{P} * kWorkspaceL2s * l2);
        }
      }
    });
  }
}

}  // namespace

TEST_CASE("scaling model: the units balance within 10 % on 2 to 128 threads, every dtype and path",
          "[gemm][partition][scaling]") {
  Worst balance, padding;
  std::vector<std::string> narrow;
  check_dtype<float>("float32", balance, padding, narrow);
  check_dtype<float16>("float16", balance, padding, narrow);
  check_dtype<bfloat16>("bfloat16", balance, padding, narrow);
  // For the log (the checks above are the test): the worst cases, and the calls too narrow
  // for P threads at the finest grain (fewer than 10 units of kMinUnitTiles² tiles a thread).
  WARN("busiest thread / ideal at most " << balance.ratio << " (" << balance.where
                                         << "); padded / 1-thread work at most " << padding.ratio << " ("
                                         << padding.where << ")");
  std::string list;
  for (const std::string& n : narrow) list += "\n  " + n;
  WARN(narrow.size() << " plans too narrow for P threads at the finest grain (busiest thread above 1.10 x ideal):"
                     << list);
}
