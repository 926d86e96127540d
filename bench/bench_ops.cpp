// bench/bench_ops.cpp — tessel's multi-head and importance matmul against its peers, and
// linear and einsum (rows described with their own functions, further down).
//
// Benchmarks are named  <op>/<workload>/<dtype>/<impl>/threads:<n>/real_time
//   op        multi_head          O2 = matmul_with_multi_head(A1, W1, nh)        FLOPs 2·b·s·h·e
//             importance_fwd      selection + O3                                 FLOPs 2·t·h·e
//             importance_fwdbwd   selection + O3 + dA1 + dW1                     FLOPs 3·2·t·h·e
//             select              select_important alone (counter pct_of_fwd: its share of the
//                                 tessel_into importance_fwd time, measured in the same setup)
//   workload  (b, s, h, nh, e)  W1 = (4,512,1024,16,1024)  W2 = (8,256,768,12,768)
//             W3 = (2,2048,4096,32,128); importance on W1–W3 selects every row (top_p = 0, t = b·s);
//             W4a = W1 with top_k = 128, top_p = 0 (t = 512); W4b = W1 with top_p = 0.5 (t ≈ b·s/2).
//             P is uniform in [0, 1); A1, W1, dO3 uniform in [−1, 1); fixed seeds.
//   dtype     float, float16, bfloat16
//   impl      tessel       the allocating call (outputs from tessel's caching allocator)
//             tessel_into  the _into call on preallocated outputs (selection into a reused vector)
//             tessel_portable  tessel_into on the portable path (TESSEL_ISA=scalar), whatever path
//                          the CPU would pick (float only, next to eigen)
//             eigen        what a user would write with Eigen: loop over heads, gather the selected
//                          rows, Eigen GEMMs on blocks (float only; built like this file, no -march)
//             onednn       oneDNN batched matmul over the heads with strided memory descriptors,
//                          rows gathered first (float, bfloat16; oneDNN 2.x has no f16 matmul on CPU)
//             torch        the PyTorch reference: view + matmul per head, topk + mask, autograd
//                          (libtorch; float16 matmul is not implemented on CPU in 1.13)
// Times are wall-clock. Counters: GFLOP/s, %peak = GFLOP/s ÷ (peak of one core × threads) × 100
// (peak_GFLOP/s is that denominator), where the peak is measured at start-up (bench/peak.hpp):
// the fp32 FMA peak for float/float16, the higher of the fp32 and vdpbf16ps peaks for bfloat16.
// t = selected rows. scaling_eff (rows with more than one thread) = (GFLOP/s ÷ threads) ÷ the
// same row's GFLOP/s on one thread, measured earlier in the same run: 1 is perfect scaling.
// (Absent when the one-thread run was filtered out.)
//
// Thread counts: every count from 1 up to the cores present (std::thread::hardware_concurrency,
// or OpenMP's maximum when that is larger), so a run on a many-core machine gives the whole
// scaling curve; --tessel_threads=1,8,64 runs only those counts (a full run on 128 cores takes
// hours).
//
// Each benchmark warms up with one untimed call, then runs for --benchmark_min_time (0.1 s by
// default here; each timed run is at least one iteration). The full run takes a few minutes.
// Subsets:
//   bench_ops --benchmark_filter='^multi_head/W1/float/'          one workload and dtype
//   bench_ops --benchmark_filter='threads:1/'                      single-threaded only
//   bench_ops --benchmark_filter='/(tessel_into|onednn)/'          tessel's _into against oneDNN
//   bench_ops --benchmark_filter='W4'                              the selective workloads
//   bench_ops --benchmark_format=json --benchmark_out=ops.json && python3 bench/plot_bench.py ops.json
#include <benchmark/benchmark.h>

#include <tessel/tessel.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "peak.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(TESSEL_HAVE_EIGEN)
#include <Eigen/Core>
#endif
#if defined(TESSEL_HAVE_ONEDNN)
#include <dnnl.hpp>
#endif
#if defined(TESSEL_HAVE_TORCH)
#include <torch/torch.h>
#include <dlfcn.h>
#endif

namespace {

using tessel::bfloat16;
using tessel::float16;
using i64 = std::int64_t;

// ---------------------------------------------------------------------------------------------
// Workloads and inputs

struct Workload {
  const char* name;
  i64 b, s, h, nh, e;
  tessel::ImportanceOptions options;
};
const Workload kW1{"W1", 4, 512, 1024, 16, 1024, {0.0, std::nullopt}};
const Workload kW2{"W2", 8, 256, 768, 12, 768, {0.0, std::nullopt}};
const Workload kW3{"W3", 2, 2048, 4096, 32, 128, {0.0, std::nullopt}};
const Workload kW4a{"W4a", 4, 512, 1024, 16, 1024, {0.0, 128}};
const Workload kW4b{"W4b", 4, 512, 1024, 16, 1024, {0.5, std::nullopt}};

enum class Op { multi_head, importance_fwd, importance_fwdbwd, select };
const char* op_name(Op op) {
  switch (op) {
    case Op::multi_head: return "multi_head";
    case Op::importance_fwd: return "importance_fwd";
    case Op::importance_fwdbwd: return "importance_fwdbwd";
    default: return "select";
  }
}

template <class T> const char* dtype_name();
template <> const char* dtype_name<float>() { return "float"; }
template <> const char* dtype_name<float16>() { return "float16"; }
template <> const char* dtype_name<bfloat16>() { return "bfloat16"; }

struct Random {  // splitmix64
  std::uint64_t state;
  double uniform() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
};

template <class T, std::size_t R>
tessel::Tensor<T, R> random_tensor(std::array<i64, R> shape, std::uint64_t seed, double lo, double hi) {
  tessel::Tensor<T, R> t(shape, tessel::uninitialized);
  Random rng{seed};
  for (i64 i = 0; i < t.numel(); ++i) t.data()[i] = T(static_cast<float>(lo + (hi - lo) * rng.uniform()));
  return t;
}

template <class T>
struct Inputs {
  const Workload& w;
  i64 hd, t;
  tessel::Tensor<T, 3> A1;
  tessel::Tensor<T, 2> W1, P;
  tessel::Tensor<T, 3> dO3;  // [t, nh, e]
  std::vector<i64> selected;
  explicit Inputs(const Workload& wl)
      : w(wl),
        hd(wl.h / wl.nh),
        A1(random_tensor<T, 3>({wl.b, wl.s, wl.h}, 1, -1, 1)),
        W1(random_tensor<T, 2>({wl.h, wl.e}, 2, -1, 1)),
        P(random_tensor<T, 2>({wl.b, wl.s}, 3, 0, 1)) {
    selected = tessel::select_important(P, w.options);
    t = static_cast<i64>(selected.size());
    dO3 = random_tensor<T, 3>({t, w.nh, w.e}, 4, -1, 1);
  }
  double flops(Op op) const {
    const double f = 2.0 * static_cast<double>(w.h) * static_cast<double>(w.e);
    if (op == Op::multi_head) return f * static_cast<double>(w.b * w.s);
    return f * static_cast<double>(t) * (op == Op::importance_fwdbwd ? 3 : 1);
  }
};

void set_threads(int n) {
  tessel::set_num_threads(n);
#if defined(_OPENMP)
  omp_set_num_threads(n);  // Eigen and oneDNN (OpenMP runtime) follow this
#endif
#if defined(TESSEL_HAVE_EIGEN)
  Eigen::setNbThreads(n);
#endif
#if defined(TESSEL_HAVE_TORCH)
  torch::set_num_threads(n);
  // Debian's libtorch runs float32 matmuls through the system BLAS (OpenBLAS), whose thread
  // pool follows neither torch nor OpenMP: left alone it used every core in the one-thread
  // rows. Found at run time, as the BLAS is libtorch's dependency, not ours.
  using SetBlasThreads = void (*)(int);
  static const auto set_blas_threads =
      reinterpret_cast<SetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (set_blas_threads) set_blas_threads(n);
#endif
}

// The selection as a user of a library without one writes it: partial sort per row by
// (value descending, index ascending), then the threshold in T. Used by the Eigen and oneDNN peers.
template <class T>
void user_selection(const tessel::Tensor<T, 2>& P, const tessel::ImportanceOptions& opt, std::vector<i64>& out) {
  const i64 b = P.size(0), s = P.size(1), k = opt.top_k.value_or(s);
  const float threshold = static_cast<float>(T(opt.top_p));
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(b * s), 0);
  std::vector<i64> idx(static_cast<std::size_t>(s));
  for (i64 i = 0; i < b; ++i) {
    const T* row = P.data() + i * s;
    std::iota(idx.begin(), idx.end(), i64{0});
    if (k < s)
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](i64 x, i64 y) {
        const float vx = static_cast<float>(row[x]), vy = static_cast<float>(row[y]);
        return vx > vy || (vx == vy && x < y);
      });
    for (i64 r = 0; r < k; ++r) mask[i * s + idx[r]] = static_cast<float>(row[idx[r]]) >= threshold;
  }
  out.clear();
  for (i64 q = 0; q < b * s; ++q)
    if (mask[q]) out.push_back(q);
}

// ---------------------------------------------------------------------------------------------
// Running one benchmark: `make(state)` builds the inputs and returns the call to time (or an
// empty function after SkipWithError). One warm-up call, then the timed loop.

using Call = std::function<void()>;

// The row being run (its name without "/threads:n"; set by the registration), and each row's
// one-thread GFLOP/s once it has run: the baseline of scaling_eff.
std::string current_row;
std::map<std::string, double>& one_thread_gflops() {
  static std::map<std::string, double> m;
  return m;
}

// GFLOP/s and the share of the peak of `threads` cores, as plain counters from our own
// wall-clock timing of the loop (Google Benchmark's rate counters would print as "x/s"), and
// scaling_eff against the row's one-thread run.
void rate_counters(benchmark::State& state, double flops, double seconds_per_call, int threads, bool bf16) {
  const double gflops = flops * 1e-9 / seconds_per_call;
  const double peak = (bf16 ? tessel_bench::bf16_peak_gflops() : tessel_bench::fp32_peak_gflops()) * threads;
  state.counters["GFLOP/s"] = gflops;
  state.counters["%peak"] = gflops / peak * 100;
  state.counters["peak_GFLOP/s"] = peak;
  auto& base = one_thread_gflops();
  if (threads == 1) {
    base[current_row] = gflops;
    state.counters["scaling_eff"] = 1.0;
  } else if (auto it = base.find(current_row); it != base.end() && it->second > 0) {
    state.counters["scaling_eff"] = gflops / threads / it->second;
  }
}

// The thread counts to register: --tessel_threads=a,b,c (removed from args), else 1 .. the
// cores present.
std::vector<int> thread_counts(std::vector<char*>& args) {
  std::vector<int> counts;
  for (auto it = args.begin() + 1; it != args.end(); ++it) {
    if (std::strncmp(*it, "--tessel_threads=", 17) != 0) continue;
    for (const char* p = *it + 17; *p;) {
      char* end = nullptr;
      const long v = std::strtol(p, &end, 10);
      if (end == p) break;
      if (v > 0) counts.push_back(static_cast<int>(v));
      p = *end == ',' ? end + 1 : end;
    }
    args.erase(it);
    break;
  }
  if (counts.empty()) {
    int cores = static_cast<int>(std::thread::hardware_concurrency());
#if defined(_OPENMP)
    cores = std::max(cores, omp_get_max_threads());
#endif
    for (int n = 1; n <= std::max(cores, 1); ++n) counts.push_back(n);
  }
  return counts;
}

template <class T>
void finish(benchmark::State& state, const Inputs<T>& in, Op op, int threads, double seconds_per_call) {
  rate_counters(state, in.flops(op), seconds_per_call, threads, std::is_same_v<T, bfloat16>);
  state.counters["t"] = static_cast<double>(op == Op::multi_head ? in.w.b * in.w.s : in.t);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One warm-up call (caches, the caching allocator, primitive caches), then the timed loop:
// the seconds per call, or nothing when the warm-up threw (e.g. no float16 matmul in this
// peer), which skips the benchmark with the exception's first line.
std::optional<double> time_call(benchmark::State& state, const Call& call) {
  try {
    call();
  } catch (const std::exception& ex) {
    const std::string what = ex.what();
    state.SkipWithError(what.substr(0, what.find('\n')).c_str());
    for (auto _ : state) {
    }
    return std::nullopt;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) call();
  return seconds_since(t0) / static_cast<double>(state.iterations());
}

template <class T>
void run(benchmark::State& state, const Inputs<T>& in, Op op, int threads, const Call& call) {
  if (const auto seconds = time_call(state, call)) finish(state, in, op, threads, *seconds);
}

// --- tessel ----------------------------------------------------------------------------------

template <class T>
void bench_tessel(benchmark::State& state, const Workload& w, Op op, int threads, bool into) {
  set_threads(threads);
  Inputs<T> in(w);
  const i64 nh = w.nh;
  if (op == Op::select) {
    // The selection alone, and its share of the forward (tessel_into importance_fwd) time.
    std::vector<i64> sel;
    tessel::Tensor<T, 3> O3({in.t, nh, w.e}, tessel::uninitialized);
    auto forward = [&] {
      tessel::select_important_into<T>(in.P.view(), w.options, sel);
      tessel::matmul_with_importance_into<T>(in.A1.view(), in.W1.view(), sel, nh, O3.view());
    };
    forward();
    double fwd = 1e300;
    for (int r = 0; r < 3; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      forward();
      fwd = std::min(fwd, seconds_since(t0));
    }
    tessel::select_important_into<T>(in.P.view(), w.options, sel);
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : state) {
      tessel::select_important_into<T>(in.P.view(), w.options, sel);
      benchmark::DoNotOptimize(sel.data());
    }
    const double select = seconds_since(t0) / static_cast<double>(state.iterations());
    state.counters["t"] = static_cast<double>(in.t);
    state.counters["fwd_ms"] = fwd * 1e3;
    state.counters["pct_of_fwd"] = select / fwd * 100;
    return;
  }
  Call call;
  if (op == Op::multi_head) {
    if (into) {
      auto O2 = std::make_shared<tessel::Tensor<T, 4>>(tessel::Shape<4>{w.b, w.s, nh, w.e}, tessel::uninitialized);
      call = [&in, nh, O2] { tessel::matmul_with_multi_head_into(in.A1, in.W1, nh, O2->view()); };
    } else {
      call = [&in, nh] {
        auto O2 = tessel::matmul_with_multi_head(in.A1, in.W1, nh);
        benchmark::DoNotOptimize(O2.data());
      };
    }
  } else {
    const bool grad = op == Op::importance_fwdbwd;
    if (into) {
      struct Out {
        std::vector<i64> sel;
        tessel::Tensor<T, 3> O3, dA1;
        tessel::Tensor<T, 2> dW1;
      };
      auto out = std::make_shared<Out>();
      out->sel.reserve(static_cast<std::size_t>(w.b * w.s));
      out->O3 = tessel::Tensor<T, 3>({in.t, nh, w.e}, tessel::uninitialized);
      if (grad) {
        out->dA1 = tessel::Tensor<T, 3>(in.A1.shape(), tessel::uninitialized);
        out->dW1 = tessel::Tensor<T, 2>(in.W1.shape(), tessel::uninitialized);
      }
      call = [&in, &w, nh, grad, out] {
        tessel::select_important_into<T>(in.P.view(), w.options, out->sel);
        if (grad)
          tessel::matmul_with_importance_into<T>(in.A1.view(), in.W1.view(), out->sel, nh, out->O3.view(),
                                                 in.dO3.view(), out->dA1.view(), out->dW1.view());
        else
          tessel::matmul_with_importance_into<T>(in.A1.view(), in.W1.view(), out->sel, nh, out->O3.view());
      };
    } else if (grad) {
      call = [&in, &w, nh] {
        auto r = tessel::matmul_with_importance(in.A1, in.W1, in.P, nh, w.options, in.dO3);
        benchmark::DoNotOptimize(r.grad_weight->data());
      };
    } else {
      call = [&in, &w, nh] {
        auto r = tessel::matmul_with_importance(in.A1, in.W1, in.P, nh, w.options);
        benchmark::DoNotOptimize(r.output.data());
      };
    }
  }
  run(state, in, op, threads, call);
}

// --- Eigen -----------------------------------------------------------------------------------
#if defined(TESSEL_HAVE_EIGEN)
void bench_eigen(benchmark::State& state, const Workload& w, Op op, int threads) {
  using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  set_threads(threads);
  Inputs<float> in(w);
  const i64 nh = w.nh, hd = in.hd, h = w.h, e = w.e, rows = w.b * w.s;
  Eigen::Map<const RowMat> A(in.A1.data(), rows, h), W(in.W1.data(), h, e);
  Call call;
  if (op == Op::multi_head) {
    call = [=] {
      RowMat O2(rows, nh * e);  // [b·s, nh·e] = [b, s, nh, e]
      for (i64 n = 0; n < nh; ++n) O2.middleCols(n * e, e).noalias() = A.middleCols(n * hd, hd) * W.middleRows(n * hd, hd);
      benchmark::DoNotOptimize(O2.data());
    };
  } else {
    const bool grad = op == Op::importance_fwdbwd;
    Eigen::Map<const RowMat> dO(in.dO3.data(), in.t, nh * e);
    call = [=, &in] {
      std::vector<i64> sel;
      user_selection(in.P, w.options, sel);
      const auto t = static_cast<i64>(sel.size());
      RowMat A3(t, h);
      for (i64 r = 0; r < t; ++r) A3.row(r) = A.row(sel[r]);
      RowMat O3(t, nh * e);
      for (i64 n = 0; n < nh; ++n) O3.middleCols(n * e, e).noalias() = A3.middleCols(n * hd, hd) * W.middleRows(n * hd, hd);
      benchmark::DoNotOptimize(O3.data());
      if (!grad) return;
      RowMat dA3(t, h), dW(h, e);
      for (i64 n = 0; n < nh; ++n) {
        dA3.middleCols(n * hd, hd).noalias() = dO.middleCols(n * e, e) * W.middleRows(n * hd, hd).transpose();
        dW.middleRows(n * hd, hd).noalias() = A3.middleCols(n * hd, hd).transpose() * dO.middleCols(n * e, e);
      }
      RowMat dA1 = RowMat::Zero(rows, h);
      for (i64 r = 0; r < t; ++r) dA1.row(sel[r]) = dA3.row(r);
      benchmark::DoNotOptimize(dA1.data());
      benchmark::DoNotOptimize(dW.data());
    };
  }
  run(state, in, op, threads, call);
}
#endif

// --- oneDNN ----------------------------------------------------------------------------------
#if defined(TESSEL_HAVE_ONEDNN)
template <class T>
constexpr dnnl::memory::data_type dnnl_type() {
  if constexpr (std::is_same_v<T, float>) return dnnl::memory::data_type::f32;
  else if constexpr (std::is_same_v<T, bfloat16>) return dnnl::memory::data_type::bf16;
  else return dnnl::memory::data_type::f16;
}

// One batched matmul dst[g] = src[g] · wei[g] with the given dims/strides; the primitive is
// built per call as a user would (oneDNN's primitive cache makes repeats cheap).
struct DnnlMatmul {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  template <class T>
  void operator()(const T* src, dnnl::memory::dims sd, dnnl::memory::dims ss, const T* wei, dnnl::memory::dims wd,
                  dnnl::memory::dims ws, T* dst, dnnl::memory::dims dd, dnnl::memory::dims ds) {
    using md = dnnl::memory::desc;
    const md s(sd, dnnl_type<T>(), ss), w(wd, dnnl_type<T>(), ws), d(dd, dnnl_type<T>(), ds);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(s, w, d), eng);
    dnnl::matmul(pd).execute(strm, {{DNNL_ARG_SRC, dnnl::memory(s, eng, const_cast<T*>(src))},
                                    {DNNL_ARG_WEIGHTS, dnnl::memory(w, eng, const_cast<T*>(wei))},
                                    {DNNL_ARG_DST, dnnl::memory(d, eng, dst)}});
    strm.wait();
  }
};

template <class T>
void bench_onednn(benchmark::State& state, const Workload& w, Op op, int threads) {
  set_threads(threads);
  Inputs<T> in(w);
  const i64 nh = w.nh, hd = in.hd, h = w.h, e = w.e, rows = w.b * w.s, t = in.t;
  auto mm = std::make_shared<DnnlMatmul>();
  // Outputs preallocated (the peer's best case); A3 / dA3 are the gathered temporaries.
  struct Buffers {
    std::vector<T> O, A3, dA3, dA1, dW;
    std::vector<i64> sel;
  };
  auto buf = std::make_shared<Buffers>();
  Call call;
  if (op == Op::multi_head) {
    buf->O.resize(static_cast<std::size_t>(rows * nh * e));
    call = [=, &in] {  // [nh, b·s, hd] (strides hd, h, 1) · [nh, hd, e] -> [nh, b·s, e] (strides e, nh·e, 1)
      (*mm)(in.A1.data(), {nh, rows, hd}, {hd, h, 1}, in.W1.data(), {nh, hd, e}, {hd * e, e, 1}, buf->O.data(),
            {nh, rows, e}, {e, nh * e, 1});
    };
  } else {
    const bool grad = op == Op::importance_fwdbwd;
    buf->O.resize(static_cast<std::size_t>(t * nh * e));
    buf->A3.resize(static_cast<std::size_t>(t * h));
    if (grad) {
      buf->dA3.resize(static_cast<std::size_t>(t * h));
      buf->dA1.resize(static_cast<std::size_t>(rows * h));
      buf->dW.resize(static_cast<std::size_t>(h * e));
    }
    call = [=, &in, &w] {
      user_selection(in.P, w.options, buf->sel);
      const auto tt = static_cast<i64>(buf->sel.size());
      for (i64 r = 0; r < tt; ++r)
        std::memcpy(buf->A3.data() + r * h, in.A1.data() + buf->sel[r] * h, sizeof(T) * static_cast<std::size_t>(h));
      (*mm)(buf->A3.data(), {nh, tt, hd}, {hd, h, 1}, in.W1.data(), {nh, hd, e}, {hd * e, e, 1}, buf->O.data(),
            {nh, tt, e}, {e, nh * e, 1});
      if (!grad) return;
      // dA3 [nh, t, hd] = dO3 [nh, t, e] · W2ᵀ [nh, e, hd]
      (*mm)(in.dO3.data(), {nh, tt, e}, {e, nh * e, 1}, in.W1.data(), {nh, e, hd}, {hd * e, 1, e}, buf->dA3.data(),
            {nh, tt, hd}, {hd, h, 1});
      std::memset(static_cast<void*>(buf->dA1.data()), 0, sizeof(T) * buf->dA1.size());
      for (i64 r = 0; r < tt; ++r)
        std::memcpy(buf->dA1.data() + buf->sel[r] * h, buf->dA3.data() + r * h, sizeof(T) * static_cast<std::size_t>(h));
      // dW2 [nh, hd, e] = A3ᵀ [nh, hd, t] · dO3 [nh, t, e]
      (*mm)(buf->A3.data(), {nh, hd, tt}, {hd, 1, h}, in.dO3.data(), {nh, tt, e}, {e, nh * e, 1}, buf->dW.data(),
            {nh, hd, e}, {hd * e, e, 1});
    };
  }
  run(state, in, op, threads, call);
}
#endif

// --- libtorch --------------------------------------------------------------------------------
#if defined(TESSEL_HAVE_TORCH)
template <class T>
torch::Tensor to_torch(const T* data, std::vector<i64> shape) {
  const auto type = std::is_same_v<T, float> ? torch::kFloat : std::is_same_v<T, bfloat16> ? torch::kBFloat16 : torch::kHalf;
  return torch::from_blob(const_cast<T*>(data), shape, torch::TensorOptions().dtype(type)).clone();
}

template <class T>
void bench_torch(benchmark::State& state, const Workload& w, Op op, int threads) {
  set_threads(threads);
  Inputs<T> in(w);
  const i64 nh = w.nh, hd = in.hd, e = w.e;
  auto A1 = to_torch(in.A1.data(), {w.b, w.s, w.h});
  auto W1 = to_torch(in.W1.data(), {w.h, w.e});
  auto P = to_torch(in.P.data(), {w.b, w.s});
  auto dO3 = to_torch(in.dO3.data(), {in.t, nh, e});
  Call call;
  if (op == Op::multi_head) {
    call = [=] {  // view + matmul per head
      torch::NoGradGuard no_grad;
      const auto A2 = A1.view({w.b, w.s, nh, hd});
      const auto W2 = W1.view({nh, hd, e});
      std::vector<torch::Tensor> heads;
      for (i64 n = 0; n < nh; ++n) heads.push_back(torch::matmul(A2.select(2, n), W2[n]));
      auto O2 = torch::stack(heads, 2);  // [b, s, nh, e]
      benchmark::DoNotOptimize(O2.data_ptr());
    };
  } else {
    const bool grad = op == Op::importance_fwdbwd;
    if (grad) {
      A1.set_requires_grad(true);
      W1.set_requires_grad(true);
    }
    call = [=]() mutable {
      std::optional<torch::NoGradGuard> no_grad;
      if (!grad) no_grad.emplace();
      torch::Tensor mask;
      {
        torch::NoGradGuard g;
        mask = P >= w.options.top_p;
        if (w.options.top_k) {
          const auto idx = std::get<1>(torch::topk(P, *w.options.top_k, 1));
          mask = mask & torch::zeros_like(P, torch::kBool).scatter_(1, idx, true);
        }
      }
      const auto A3 = A1.index({mask});  // [t, h]
      const i64 t = A3.size(0);
      const auto A3h = A3.view({t, nh, hd});
      const auto W2 = W1.view({nh, hd, e});
      std::vector<torch::Tensor> heads;
      for (i64 n = 0; n < nh; ++n) heads.push_back(torch::matmul(A3h.select(1, n), W2[n]));
      auto O3 = torch::stack(heads, 1);  // [t, nh, e]
      if (grad) {
        O3.backward(dO3);
        benchmark::DoNotOptimize(A1.grad().data_ptr());
        benchmark::DoNotOptimize(W1.grad().data_ptr());
        A1.mutable_grad() = torch::Tensor();
        W1.mutable_grad() = torch::Tensor();
      }
      benchmark::DoNotOptimize(O3.data_ptr());
    };
  }
  run(state, in, op, threads, call);
}
#endif

// ---------------------------------------------------------------------------------------------
// linear and einsum (SPEC §9–§10), in their own functions:
//   linear_fwd/L1       y = linear(x, W, b), x [4, 512, 1024], W [1024, 1024]    FLOPs 2·P·in·out
//                       impls tessel, tessel_into, tessel_matmul (matmul_into of x·Wᵀ without
//                       bias: what linear must match), onednn (matmul with a bias), torch
//                       (torch::nn::functional::linear)
//   linear_fwdbwd/L1    forward + linear_backward with bias (dX, dW, db)         FLOPs 3·2·P·in·out
//                       impls tessel, onednn (three matmuls + a column sum), torch (autograd)
//   einsum_mh/W1        einsum("bsnk,nke->bsne") on W1's A1 [b,s,nh,hd], W1 [nh,hd,e]; impls tessel,
//                       tessel_multi_head (matmul_with_multi_head, the target), torch (torch::einsum)
//   attn_scores/A1      einsum("bhqd,bhkd->bhqk"), b=4, h=16, q=k=512, d=64      FLOPs 2·b·h·q·k·d
//                       impls tessel, onednn (batched matmul, K read transposed), torch (torch::einsum)

struct LinearShape {
  const char* name;
  i64 b, s, in, out;
};
const LinearShape kL1{"L1", 4, 512, 1024, 1024};
struct AttnShape {
  const char* name;
  i64 b, h, q, k, d;
};
const AttnShape kA1{"A1", 4, 16, 512, 512, 64};

enum class Row { linear_fwd, linear_fwdbwd, einsum_mh, attn_scores };
const char* row_name(Row r) {
  switch (r) {
    case Row::linear_fwd: return "linear_fwd";
    case Row::linear_fwdbwd: return "linear_fwdbwd";
    case Row::einsum_mh: return "einsum_mh";
    default: return "attn_scores";
  }
}

template <class T>
struct RowInputs {
  Row row;
  // linear
  tessel::Tensor<T, 3> x, dy;
  tessel::Tensor<T, 2> w;
  tessel::Tensor<T, 1> bias;
  // einsum: A [b, s, nh, hd] and W [nh, hd, e] (multi-head), or Q [b, h, q, d] and K [b, h, k, d]
  tessel::Tensor<T, 4> a4, k4;
  tessel::Tensor<T, 3> w3;
  double flops = 0;
  explicit RowInputs(Row r) : row(r) {
    if (r == Row::linear_fwd || r == Row::linear_fwdbwd) {
      const LinearShape& l = kL1;
      x = random_tensor<T, 3>({l.b, l.s, l.in}, 11, -1, 1);
      w = random_tensor<T, 2>({l.out, l.in}, 12, -1, 1);
      bias = random_tensor<T, 1>({l.out}, 13, -1, 1);
      if (r == Row::linear_fwdbwd) dy = random_tensor<T, 3>({l.b, l.s, l.out}, 14, -1, 1);
      flops = 2.0 * double(l.b * l.s) * double(l.in) * double(l.out) * (r == Row::linear_fwdbwd ? 3 : 1);
    } else if (r == Row::einsum_mh) {
      const Workload& m = kW1;
      const i64 hd = m.h / m.nh;
      a4 = random_tensor<T, 4>({m.b, m.s, m.nh, hd}, 1, -1, 1);
      w3 = random_tensor<T, 3>({m.nh, hd, m.e}, 2, -1, 1);
      flops = 2.0 * double(m.b * m.s) * double(m.h) * double(m.e);
    } else {
      const AttnShape& s = kA1;
      a4 = random_tensor<T, 4>({s.b, s.h, s.q, s.d}, 21, -1, 1);
      k4 = random_tensor<T, 4>({s.b, s.h, s.k, s.d}, 22, -1, 1);
      flops = 2.0 * double(s.b * s.h) * double(s.q) * double(s.k) * double(s.d);
    }
  }
};

template <class T>
void run_row(benchmark::State& state, const RowInputs<T>& in, int threads, const Call& call) {
  if (const auto seconds = time_call(state, call))
    rate_counters(state, in.flops, *seconds, threads, std::is_same_v<T, bfloat16>);
}

template <class T>
void bench_row_tessel(benchmark::State& state, Row row, int threads, const std::string& impl) {
  set_threads(threads);
  auto in = std::make_shared<RowInputs<T>>(row);
  Call call;
  if (row == Row::linear_fwd) {
    auto y = std::make_shared<tessel::Tensor<T, 3>>(tessel::Shape<3>{kL1.b, kL1.s, kL1.out}, tessel::uninitialized);
    if (impl == "tessel")
      call = [in] { benchmark::DoNotOptimize(tessel::linear(in->x, in->w, in->bias).data()); };
    else if (impl == "tessel_into")
      call = [in, y] { tessel::linear_into(in->x, in->w, in->bias, *y); };
    else  // tessel_matmul: the same product without a bias, [g,m,k]·[k,n] with B = Wᵀ
      call = [in, y] { tessel::matmul_into(in->x, in->w.view().transpose(0, 1), *y); };
  } else if (row == Row::linear_fwdbwd) {
    call = [in] {
      auto y = tessel::linear(in->x, in->w, in->bias);
      auto g = tessel::linear_backward(in->dy, in->x, in->w, true);
      benchmark::DoNotOptimize(y.data());
      benchmark::DoNotOptimize(g.grad_weight.data());
    };
  } else if (row == Row::einsum_mh) {
    if (impl == "tessel") {
      call = [in] { benchmark::DoNotOptimize(tessel::einsum<"bsnk,nke->bsne">(in->a4, in->w3).data()); };
    } else {  // tessel_multi_head: the same product as matmul_with_multi_head
      call = [in] {
        const Workload& m = kW1;
        const auto A1 = in->a4.view().view(m.b, m.s, m.h);
        const auto W1 = in->w3.view().view(m.h, m.e);
        benchmark::DoNotOptimize(tessel::matmul_with_multi_head(A1, W1, m.nh).data());
      };
    }
  } else {
    call = [in] { benchmark::DoNotOptimize(tessel::einsum<"bhqd,bhkd->bhqk">(in->a4, in->k4).data()); };
  }
  run_row(state, *in, threads, call);
}

#if defined(TESSEL_HAVE_ONEDNN)
template <class T>
void bench_row_onednn(benchmark::State& state, Row row, int threads, const std::string&) {
  set_threads(threads);
  auto in = std::make_shared<RowInputs<T>>(row);
  auto mm = std::make_shared<DnnlMatmul>();
  Call call;
  if (row == Row::linear_fwd || row == Row::linear_fwdbwd) {
    const i64 P = kL1.b * kL1.s, ni = kL1.in, no = kL1.out;
    struct Buffers {
      std::vector<T> y, dx, dw, db;
    };
    auto buf = std::make_shared<Buffers>();
    buf->y.resize(static_cast<std::size_t>(P * no));
    const bool bwd = row == Row::linear_fwdbwd;
    if (bwd) {
      buf->dx.resize(static_cast<std::size_t>(P * ni));
      buf->dw.resize(static_cast<std::size_t>(no * ni));
      buf->db.resize(static_cast<std::size_t>(no));
    }
    call = [=] {
      // y [P, out] = x [P, in] · Wᵀ [in, out] (strides 1, in) + bias [1, out]
      using md = dnnl::memory::desc;
      const md s({P, ni}, dnnl_type<T>(), {ni, 1}), w({ni, no}, dnnl_type<T>(), {1, ni});
      const md b({1, no}, dnnl_type<T>(), {no, 1}), d({P, no}, dnnl_type<T>(), {no, 1});
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(s, w, b, d), mm->eng);
      dnnl::matmul(pd).execute(mm->strm, {{DNNL_ARG_SRC, dnnl::memory(s, mm->eng, in->x.data())},
                                          {DNNL_ARG_WEIGHTS, dnnl::memory(w, mm->eng, in->w.data())},
                                          {DNNL_ARG_BIAS, dnnl::memory(b, mm->eng, in->bias.data())},
                                          {DNNL_ARG_DST, dnnl::memory(d, mm->eng, buf->y.data())}});
      mm->strm.wait();
      if (!bwd) return;
      // dX [P, in] = dY [P, out] · W [out, in];  dW [out, in] = dYᵀ [out, P] · X [P, in]
      (*mm)(in->dy.data(), {1, P, no}, {P * no, no, 1}, in->w.data(), {1, no, ni}, {no * ni, ni, 1}, buf->dx.data(),
            {1, P, ni}, {P * ni, ni, 1});
      (*mm)(in->dy.data(), {1, no, P}, {P * no, 1, no}, in->x.data(), {1, P, ni}, {P * ni, ni, 1}, buf->dw.data(),
            {1, no, ni}, {no * ni, ni, 1});
      std::vector<float> acc(static_cast<std::size_t>(no), 0.0f);  // db: a column sum in fp32
      for (i64 p = 0; p < P; ++p)
        for (i64 o = 0; o < no; ++o) acc[std::size_t(o)] += static_cast<float>(in->dy.data()[p * no + o]);
      for (i64 o = 0; o < no; ++o) buf->db[std::size_t(o)] = T(acc[std::size_t(o)]);
    };
  } else {  // attention scores: [b·h, q, d] · [b·h, d, k] (K read transposed) -> [b·h, q, k]
    const AttnShape& a = kA1;
    const i64 g = a.b * a.h;
    auto out = std::make_shared<std::vector<T>>(static_cast<std::size_t>(g * a.q * a.k));
    call = [=] {
      (*mm)(in->a4.data(), {g, a.q, a.d}, {a.q * a.d, a.d, 1}, in->k4.data(), {g, a.d, a.k}, {a.k * a.d, 1, a.d},
            out->data(), {g, a.q, a.k}, {a.q * a.k, a.k, 1});
    };
  }
  run_row(state, *in, threads, call);
}
#endif

#if defined(TESSEL_HAVE_TORCH)
template <class T>
void bench_row_torch(benchmark::State& state, Row row, int threads, const std::string&) {
  set_threads(threads);
  auto in = std::make_shared<RowInputs<T>>(row);
  Call call;
  if (row == Row::linear_fwd || row == Row::linear_fwdbwd) {
    auto x = to_torch(in->x.data(), {kL1.b, kL1.s, kL1.in});
    auto w = to_torch(in->w.data(), {kL1.out, kL1.in});
    auto b = to_torch(in->bias.data(), {kL1.out});
    if (row == Row::linear_fwd) {
      call = [=] {
        torch::NoGradGuard no_grad;
        benchmark::DoNotOptimize(torch::nn::functional::linear(x, w, b).data_ptr());
      };
    } else {
      auto dy = to_torch(in->dy.data(), {kL1.b, kL1.s, kL1.out});
      x.set_requires_grad(true);
      w.set_requires_grad(true);
      b.set_requires_grad(true);
      call = [=]() mutable {
        auto y = torch::nn::functional::linear(x, w, b);
        y.backward(dy);
        benchmark::DoNotOptimize(w.grad().data_ptr());
        for (auto* t : {&x, &w, &b}) t->mutable_grad() = torch::Tensor();
      };
    }
  } else if (row == Row::einsum_mh) {
    const Workload& m = kW1;
    auto a = to_torch(in->a4.data(), {m.b, m.s, m.nh, m.h / m.nh});
    auto w = to_torch(in->w3.data(), {m.nh, m.h / m.nh, m.e});
    call = [=] {
      torch::NoGradGuard no_grad;
      benchmark::DoNotOptimize(torch::einsum("bsnk,nke->bsne", {a, w}).data_ptr());
    };
  } else {
    const AttnShape& s = kA1;
    auto q = to_torch(in->a4.data(), {s.b, s.h, s.q, s.d});
    auto k = to_torch(in->k4.data(), {s.b, s.h, s.k, s.d});
    call = [=] {
      torch::NoGradGuard no_grad;
      benchmark::DoNotOptimize(torch::einsum("bhqd,bhkd->bhqk", {q, k}).data_ptr());
    };
  }
  run_row(state, *in, threads, call);
}
#endif

template <class T>
void register_linear_einsum(int threads) {
  const std::string dt = dtype_name<T>();
  auto reg = [&](Row row, const char* shape, const std::string& impl, auto fn) {
    const std::string row_key = std::string(row_name(row)) + "/" + shape + "/" + dt + "/" + impl;
    const std::string name = row_key + "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
      current_row = row_key;
      fn(st, row, threads, impl);
    })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  };
  const std::pair<Row, const char*> rows[] = {{Row::linear_fwd, kL1.name},
                                              {Row::linear_fwdbwd, kL1.name},
                                              {Row::einsum_mh, kW1.name},
                                              {Row::attn_scores, kA1.name}};
  for (auto [row, shape] : rows) {
    reg(row, shape, "tessel", bench_row_tessel<T>);
    if (row == Row::linear_fwd) {
      reg(row, shape, "tessel_into", bench_row_tessel<T>);
      reg(row, shape, "tessel_matmul", bench_row_tessel<T>);
    }
    if (row == Row::einsum_mh) reg(row, shape, "tessel_multi_head", bench_row_tessel<T>);
#if defined(TESSEL_HAVE_ONEDNN)
    if (row != Row::einsum_mh) reg(row, shape, "onednn", bench_row_onednn<T>);  // (multi_head/W1 has oneDNN)
#endif
#if defined(TESSEL_HAVE_TORCH)
    reg(row, shape, "torch", bench_row_torch<T>);
#endif
  }
}

// ---------------------------------------------------------------------------------------------
// Registration: for each thread count, dtype, workload and op, tessel next to its peers (so
// that neighbours in the output ran at nearly the same time on a shared machine).

template <class T>
void register_dtype(int threads) {
  const std::string dt = dtype_name<T>();
  auto reg = [&](const Workload& w, Op op, const std::string& impl, auto fn) {
    const std::string row_key = std::string(op_name(op)) + "/" + w.name + "/" + dt + "/" + impl;
    const std::string name = row_key + "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(name.c_str(), [=, &w](benchmark::State& st) {
      current_row = row_key;
      fn(st, w, op, threads);
    })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  };
  const Workload* dense[] = {&kW1, &kW2, &kW3};
  const Workload* sparse[] = {&kW4a, &kW4b};
  std::vector<std::pair<const Workload*, Op>> cases;
  for (const Workload* w : dense)
    for (Op op : {Op::multi_head, Op::importance_fwd, Op::importance_fwdbwd}) cases.emplace_back(w, op);
  for (const Workload* w : sparse)
    for (Op op : {Op::importance_fwd, Op::importance_fwdbwd, Op::select}) cases.emplace_back(w, op);
  for (auto [w, op] : cases) {
    reg(*w, op, "tessel", [](benchmark::State& s, const Workload& wl, Op o, int n) { bench_tessel<T>(s, wl, o, n, false); });
    if (op == Op::select) continue;
    reg(*w, op, "tessel_into", [](benchmark::State& s, const Workload& wl, Op o, int n) { bench_tessel<T>(s, wl, o, n, true); });
    if constexpr (std::is_same_v<T, float>)
      reg(*w, op, "tessel_portable", [](benchmark::State& s, const Workload& wl, Op o, int n) {
        const tessel::Isa before = tessel::current_isa();
        tessel::set_isa(tessel::Isa::scalar);
        bench_tessel<T>(s, wl, o, n, true);
        tessel::set_isa(before);
      });
#if defined(TESSEL_HAVE_EIGEN)
    if constexpr (std::is_same_v<T, float>) reg(*w, op, "eigen", bench_eigen);
#endif
#if defined(TESSEL_HAVE_ONEDNN)
    reg(*w, op, "onednn", bench_onednn<T>);
#endif
#if defined(TESSEL_HAVE_TORCH)
    reg(*w, op, "torch", bench_torch<T>);
#endif
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A short default --benchmark_min_time (the workloads take 20–500 ms per call); an explicit
  // flag on the command line wins.
  std::vector<char*> args(argv, argv + argc);
  const std::vector<int> threads_list = thread_counts(args);
  std::string min_time = "--benchmark_min_time=0.1";
  if (std::none_of(args.begin() + 1, args.end(),
                   [](const char* a) { return std::strncmp(a, "--benchmark_min_time", 20) == 0; }))
    args.insert(args.begin() + 1, min_time.data());
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

  const double fp32 = tessel_bench::fp32_peak_gflops();
  const double bf16 = tessel_bench::peak_gflops(tessel_bench::PeakKind::dpbf16_avx512);
  const double amx = tessel_bench::peak_gflops(tessel_bench::PeakKind::amx_bf16);
  benchmark::AddCustomContext("tessel_isa", std::string(tessel::active_isa()));
  benchmark::AddCustomContext("peak_fp32_fma_gflops_per_core", std::to_string(fp32));
  benchmark::AddCustomContext("peak_vdpbf16ps_gflops_per_core", std::to_string(bf16));
  benchmark::AddCustomContext("peak_amx_bf16_gflops_per_core", std::to_string(amx));
  std::string peers = "tessel";
#if defined(TESSEL_HAVE_EIGEN)
  peers += ", eigen";
#endif
#if defined(TESSEL_HAVE_ONEDNN)
  peers += ", onednn";
#endif
#if defined(TESSEL_HAVE_TORCH)
  peers += ", torch";
#endif
  benchmark::AddCustomContext("impls", peers);
  std::fprintf(stderr, "bench_ops: isa %s; peak per core: fp32 FMA %.1f GFLOP/s, vdpbf16ps %.1f GFLOP/s, AMX %.1f GFLOP/s; impls: %s\n",
               std::string(tessel::active_isa()).c_str(), fp32, bf16, amx, peers.c_str());

  std::string counts;
  for (int n : threads_list) {
    if (!counts.empty()) counts += ',';
    counts += std::to_string(n);
  }
  benchmark::AddCustomContext("thread_counts", counts);
  for (int threads : threads_list) {
    register_dtype<float>(threads);
    register_dtype<float16>(threads);
    register_dtype<bfloat16>(threads);
    register_linear_einsum<float>(threads);
    register_linear_einsum<float16>(threads);
    register_linear_einsum<bfloat16>(threads);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
