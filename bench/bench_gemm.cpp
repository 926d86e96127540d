// bench/bench_gemm.cpp — the engine (detail::gemm into a preallocated C) and its peers on the
// shapes of issue 4, in every dtype, on 1 and 2 threads.
//
// Shapes (batch × m×k·k×n):
//   sq512/1024/2048      square
//   mh16 / mh12 / mh32   multi-head forward: A1 [M, G·K] (lda = G·K), W1 [G·K, N] (one K×N
//                        block per head), O2 [M, G, N] (ldc = G·N): M=2048 K=64 N=1024 G=16,
//                        M=2048 K=64 N=768 G=12, M=4096 K=128 N=128 G=32
//   *_dA                 backward, dA3 = dO·W2ᵀ per head (k = N)
//   *_dW                 backward, dW2 = A3ᵀ·dO per head (k = M)
// Counters: GFLOP/s and %peak (against the per-core peak measured in this run by
// bench/peak.hpp × threads; for tessel::bfloat16 the higher of the fp32 and vdpbf16ps peaks).
// Time is process CPU time ÷ threads (manual time): the machines we share run other jobs, and
// wall time would charge their time slices to us. GFLOP/s_wall is the wall-clock rate.
//
// tessel_portable rows run the portable path (TESSEL_ISA=scalar) on float, next to Eigen.
// Peers, same shapes and layouts, same run: Eigen (float; a Map per head), OpenBLAS
// cblas_sgemm (float; one call per head), oneDNN matmul (float and tessel::bfloat16; one strided
// batched primitive), each when the build found it.
//
//   bench_gemm --benchmark_min_time=0.05 --benchmark_filter=mh16
#include "peak.hpp"

#include <tessel/gemm/gemm.hpp>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(TESSEL_HAVE_EIGEN)
#include <Eigen/Dense>
#endif
#if defined(TESSEL_HAVE_OPENBLAS)
#include <cblas.h>  // declares a global `bfloat16`: spell tessel's types in full below
extern "C" void openblas_set_num_threads(int);
#endif
#if defined(TESSEL_HAVE_ONEDNN)
#include <dnnl.hpp>
#endif

namespace {

using tessel::detail::Axis;
using tessel::detail::GemmProblem;
using tessel::detail::Operand;

// One GEMM batch described by strides: C_g = A_g · B_g.
struct Layout {
  const char* name;
  std::int64_t g, m, n, k;
  std::int64_t a_bs, a_rs, a_cs;  // A_g[i, p] at g·a_bs + i·a_rs + p·a_cs
  std::int64_t b_bs, b_rs, b_cs;
  std::int64_t c_bs, c_rs, c_cs;
  std::int64_t a_size, b_size, c_size;
};

Layout square(const char* name, std::int64_t n) {
  // Batch strides of a whole matrix (not 0): oneDNN falls back to its reference kernel for a
  // zero batch stride.
  return {name, 1, n, n, n, n * n, n, 1, n * n, n, 1, n * n, n, 1, n * n, n * n, n * n};
}
// The three multi-head workloads: forward, and the two backward products.
Layout mh_forward(const char* name, std::int64_t M, std::int64_t K, std::int64_t N, std::int64_t G) {
  return {name, G, M, N, K, K, G * K, 1, K * N, N, 1, N, G * N, 1, M * G * K, G * K * N, M * G * N};
}
Layout mh_grad_a(const char* name, std::int64_t M, std::int64_t K, std::int64_t N, std::int64_t G) {
  // dA3[:, g] (M×K, ldc = G·K) = dO[:, g, :] (M×N, lda = G·N) · W_gᵀ (N×K: element (q, c) = W[g·K + c, q])
  return {name, G, M, K, N, N, G * N, 1, K * N, 1, N, K, G * K, 1, M * G * N, G * K * N, M * G * K};
}
Layout mh_grad_w(const char* name, std::int64_t M, std::int64_t K, std::int64_t N, std::int64_t G) {
  // dW_g (K×N) = A_gᵀ (K×M: element (c, r) = A[r, g·K + c]) · dO[:, g, :] (M×N, ld G·N)
  return {name, G, K, N, M, K, 1, G * K, N, G * N, 1, K * N, N, 1, M * G * K, M * G * N, G * K * N};
}

std::vector<Layout> layouts() {
  return {square("sq512", 512),
          square("sq1024", 1024),
          square("sq2048", 2048),
          mh_forward("mh16", 2048, 64, 1024, 16),
          mh_forward("mh12", 2048, 64, 768, 12),
          mh_forward("mh32", 4096, 128, 128, 32),
          mh_grad_a("mh16_dA", 2048, 64, 1024, 16),
          mh_grad_a("mh12_dA", 2048, 64, 768, 12),
          mh_grad_a("mh32_dA", 4096, 128, 128, 32),
          mh_grad_w("mh16_dW", 2048, 64, 1024, 16),
          mh_grad_w("mh12_dW", 2048, 64, 768, 12),
          mh_grad_w("mh32_dW", 4096, 128, 128, 32)};
}

double process_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}
double wall_seconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// A buffer from tessel's allocator: 2 MiB-aligned with a huge-page hint when large, as
// tessel::Tensor allocates (and as PyTorch's allocator and most arenas do). The multi-head
// operands put every row on its own 4 KiB page (rows are 16 KiB apart), which on 4 KiB pages
// overflows the TLB. Every library in this run reads and writes the same buffers.
template <class T>
struct HostArray {
  T* p = nullptr;
  std::size_t n = 0;
  explicit HostArray(std::size_t count)
      : p(static_cast<T*>(tessel::detail::allocate_bytes(count * sizeof(T)))), n(count) {
    std::fill(p, p + n, T{});
  }
  HostArray(const HostArray&) = delete;
  HostArray& operator=(const HostArray&) = delete;
  ~HostArray() { tessel::detail::deallocate_bytes(p); }
  T* data() { return p; }
  const T* data() const { return p; }
  std::size_t size() const { return n; }
  T& operator[](std::size_t i) { return p[i]; }
};

template <class T>
struct Buffers {
  HostArray<T> a, b, c;
  explicit Buffers(const Layout& l) : a(l.a_size), b(l.b_size), c(l.c_size) {
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = tessel::from_float<T>(float(int(i * 7 % 13) - 6) * 0.125f);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = tessel::from_float<T>(float(int(i * 5 % 11) - 5) * 0.125f);
  }
};

// Runs `call` under the benchmark loop with manual CPU time and sets the counters.
template <class T>
void timed(benchmark::State& state, const Layout& l, int threads, const std::function<void()>& call) {
  call();  // warm-up: first touch of C, workspace, library initialisation
  double wall = 0;
  for (auto _ : state) {
    const double c0 = process_seconds(), w0 = wall_seconds();
    call();
    const double c1 = process_seconds(), w1 = wall_seconds();
    state.SetIterationTime((c1 - c0) / threads);
    wall += w1 - w0;
  }
  const double flops = 2.0 * double(l.g) * double(l.m) * double(l.n) * double(l.k);
  const double peak = std::is_same_v<T, tessel::bfloat16> ? tessel_bench::bf16_peak_gflops() : tessel_bench::fp32_peak_gflops();
  tessel_bench::report(state, flops, threads, peak);
  state.counters["GFLOP/s_wall"] = flops * double(state.iterations()) / wall * 1e-9;
}

template <class T>
void BM_tessel(benchmark::State& state, Layout l, int threads) {
  Buffers<T> buf(l);
  GemmProblem<T> p;
  p.batch = l.g, p.m = l.m, p.n = l.n, p.k = l.k, p.threads = threads;
  p.a = Operand<const T>{buf.a.data(), Axis::strided(l.a_bs), Axis::strided(l.a_rs), Axis::strided(l.a_cs)};
  p.b = Operand<const T>{buf.b.data(), Axis::strided(l.b_bs), Axis::strided(l.b_rs), Axis::strided(l.b_cs)};
  p.c = Operand<T>{buf.c.data(), Axis::strided(l.c_bs), Axis::strided(l.c_rs), Axis::strided(l.c_cs)};
  timed<T>(state, l, threads, [&] { tessel::detail::gemm(p); });
  state.SetLabel(std::string(tessel::active_isa()));
}

// The same on the portable path (TESSEL_ISA=scalar, gemm/kernel_portable.hpp), whatever path
// the CPU would pick: what a CPU without a dedicated path gets, next to Eigen built with the
// same flags.
template <class T>
void BM_tessel_portable(benchmark::State& state, Layout l, int threads) {
  const tessel::Isa before = tessel::current_isa();
  tessel::set_isa(tessel::Isa::scalar);
  BM_tessel<T>(state, l, threads);
  tessel::set_isa(before);
}

#if defined(TESSEL_HAVE_EIGEN)
void BM_eigen(benchmark::State& state, Layout l, int threads) {
  using Stride = Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>;
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Buffers<float> buf(l);
  Eigen::setNbThreads(threads);
  timed<float>(state, l, threads, [&] {
    for (std::int64_t g = 0; g < l.g; ++g) {
      Eigen::Map<const Mat, 0, Stride> A(buf.a.data() + g * l.a_bs, l.m, l.k, Stride(l.a_rs, l.a_cs));
      Eigen::Map<const Mat, 0, Stride> B(buf.b.data() + g * l.b_bs, l.k, l.n, Stride(l.b_rs, l.b_cs));
      Eigen::Map<Mat, 0, Stride> C(buf.c.data() + g * l.c_bs, l.m, l.n, Stride(l.c_rs, l.c_cs));
      C.noalias() = A * B;
    }
  });
}
#endif

#if defined(TESSEL_HAVE_OPENBLAS)
void BM_openblas(benchmark::State& state, Layout l, int threads) {
  Buffers<float> buf(l);
  openblas_set_num_threads(threads);
  // Row-major; a transposed operand has unit row stride.
  const bool ta = l.a_cs != 1, tb = l.b_cs != 1;
  const std::int64_t lda = ta ? l.a_cs : l.a_rs, ldb = tb ? l.b_cs : l.b_rs;
  timed<float>(state, l, threads, [&] {
    for (std::int64_t g = 0; g < l.g; ++g)
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(l.m), int(l.n),
                  int(l.k), 1.0f, buf.a.data() + g * l.a_bs, int(lda), buf.b.data() + g * l.b_bs, int(ldb), 0.0f,
                  buf.c.data() + g * l.c_bs, int(l.c_rs));
  });
}
#endif

#if defined(TESSEL_HAVE_ONEDNN)
template <class T>
void BM_onednn(benchmark::State& state, Layout l, int threads) {
  using dt = dnnl::memory::data_type;
  const dt type = std::is_same_v<T, float> ? dt::f32 : std::is_same_v<T, tessel::bfloat16> ? dt::bf16 : dt::f16;
  Buffers<T> buf(l);
#if defined(_OPENMP)
  omp_set_num_threads(threads);  // oneDNN's OpenMP runtime; a benchmark, not the library
#endif
  try {
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream strm(eng);
    const dnnl::memory::desc a_md({l.g, l.m, l.k}, type, {l.a_bs, l.a_rs, l.a_cs});
    const dnnl::memory::desc b_md({l.g, l.k, l.n}, type, {l.b_bs, l.b_rs, l.b_cs});
    const dnnl::memory::desc c_md({l.g, l.m, l.n}, type, {l.c_bs, l.c_rs, l.c_cs});
#if DNNL_VERSION_MAJOR >= 3
    dnnl::matmul::primitive_desc pd(eng, a_md, b_md, c_md);
#else
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), eng);
#endif
    dnnl::matmul prim(pd);
    dnnl::memory a_m(a_md, eng, buf.a.data()), b_m(b_md, eng, buf.b.data()), c_m(c_md, eng, buf.c.data());
    timed<T>(state, l, threads, [&] {
      prim.execute(strm, {{DNNL_ARG_SRC, a_m}, {DNNL_ARG_WEIGHTS, b_m}, {DNNL_ARG_DST, c_m}});
      strm.wait();
    });
    state.SetLabel(pd.impl_info_str());
  } catch (const dnnl::error& e) {
    state.SkipWithError(e.what());
  }
#if defined(_OPENMP)
  omp_set_num_threads(omp_get_num_procs());
#endif
}
#endif

template <class T>
void register_dtype(const Layout& l, int threads) {
  const std::string suffix = std::string("/") + l.name + "/" + tessel::dtype_name<T>() + "/threads:" + std::to_string(threads);
  benchmark::RegisterBenchmark(("tessel" + suffix).c_str(), BM_tessel<T>, l, threads)->UseManualTime();
#if defined(TESSEL_HAVE_ONEDNN)
  benchmark::RegisterBenchmark(("onednn" + suffix).c_str(), BM_onednn<T>, l, threads)->UseManualTime();
#endif
  if constexpr (std::is_same_v<T, float>) {
    benchmark::RegisterBenchmark(("tessel_portable" + suffix).c_str(), BM_tessel_portable<T>, l, threads)->UseManualTime();
#if defined(TESSEL_HAVE_EIGEN)
    benchmark::RegisterBenchmark(("eigen" + suffix).c_str(), BM_eigen, l, threads)->UseManualTime();
#endif
#if defined(TESSEL_HAVE_OPENBLAS)
    benchmark::RegisterBenchmark(("openblas" + suffix).c_str(), BM_openblas, l, threads)->UseManualTime();
#endif
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (const Layout& l : layouts())
    for (int threads : {1, 2}) {
      register_dtype<float>(l, threads);
      register_dtype<tessel::bfloat16>(l, threads);
      register_dtype<tessel::float16>(l, threads);
    }
  benchmark::Initialize(&argc, argv);
  const double fp32 = tessel_bench::fp32_peak_gflops();
  const double bf16 = tessel_bench::peak_gflops(tessel_bench::PeakKind::dpbf16_avx512);
  const double amx = tessel_bench::peak_gflops(tessel_bench::PeakKind::amx_bf16);
  benchmark::AddCustomContext("tessel_isa", std::string(tessel::active_isa()));
  benchmark::AddCustomContext("peak_fp32_fma_gflops_per_core", std::to_string(fp32));
  benchmark::AddCustomContext("peak_vdpbf16ps_gflops_per_core", std::to_string(bf16));
  benchmark::AddCustomContext("peak_amx_bf16_gflops_per_core", std::to_string(amx));
  std::fprintf(stderr, "bench_gemm: isa %s; peak per core: fp32 FMA %.1f GFLOP/s, vdpbf16ps %.1f GFLOP/s, AMX %.1f GFLOP/s\n",
               std::string(tessel::active_isa()).c_str(), fp32, bf16, amx);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
