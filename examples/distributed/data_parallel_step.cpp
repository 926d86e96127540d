// examples/distributed/data_parallel_step.cpp — one data-parallel importance training step
// on however many ranks mpirun starts:
//
//   mpirun -np 4 build/ci/examples/distributed/data_parallel_step
//
// Every rank makes the same global batch (fixed seeds; a real program would load only its
// own slice) and keeps its slice of the batch: A1 [b_r, s, h], P [b_r, s]. The step selects
// each rank's rows, computes its O3 rows, its dA1 and the summed dW1 (the same on every rank).
// Rank 0 then checks the result against tessel's single-process calls on the whole batch:
// O3 and dA1 gathered from the ranks must equal matmul_with_importance bit for bit, and dW1
// must equal the same distributed step run on one rank (MPI_COMM_SELF): the distributed dW1
// is the same for any number of ranks, though it may differ from the single-process dW1 in
// the last bits (another summation order), which is printed too.
#include <tessel/distributed.hpp>
#include <tessel/tessel.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>

namespace dist = tessel::distributed;
using T = tessel::bfloat16;

template <std::size_t R>
tessel::Tensor<T, R> random(tessel::Shape<R> shape, unsigned seed, float lo = -1, float hi = 1) {
  tessel::Tensor<T, R> t(shape);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = T(u(gen));
  return t;
}

template <class X>
std::uint64_t checksum(const X& t) {  // FNV-1a over the bytes
  std::uint64_t h = 0xcbf29ce484222325ull;
  const auto* p = reinterpret_cast<const unsigned char*>(t.data());
  for (std::size_t i = 0; i < sizeof(*t.data()) * static_cast<std::size_t>(t.numel()); ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

template <class X>
bool same_bits(const X& a, const X& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(*a.data()) * a.numel()) == 0;
}

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  dist::Communicator world;
  const std::int64_t b = 6, s = 16, h = 64, nh = 4, e = 32;
  const tessel::ImportanceOptions options{.top_p = 0.3, .top_k = 8};

  const auto A1 = random<3>({b, s, h}, 1);
  const auto P = random<2>({b, s}, 2, 0, 1);
  const auto W1 = random<2>({h, e}, 3);  // replicated: the same on every rank
  const auto selected = tessel::select_important(P, options);
  const auto dO3 = random<3>({static_cast<std::int64_t>(selected.size()), nh, e}, 4);

  // This rank's slice of the batch, and its rows of dO3 (in a real step dO3 comes from the
  // loss of this rank's O3; here it is cut from a global one to compare with one process).
  auto step = [&](const dist::Communicator& comm, dist::Slice mine) {
    auto a1 = A1.view().narrow(0, mine.offset, mine.count);
    auto p = P.view().narrow(0, mine.offset, mine.count);
    const auto own = tessel::select_important(p, options);
    std::int64_t first = 0;
    while (first < static_cast<std::int64_t>(selected.size()) && selected[first] < mine.offset * s) ++first;
    auto g = dO3.view().narrow(0, first, static_cast<std::int64_t>(own.size()));
    return dist::data_parallel_importance(comm, a1, W1, p, nh, options, g);
  };
  const auto r = step(world, dist::even_split(b, world));
  std::printf("rank %d of %d: batch [%lld, %lld), O3 rows [%lld, %lld) of %lld\n", world.rank(), world.size(),
              (long long)r.batch.offset, (long long)(r.batch.offset + r.batch.count), (long long)r.rows.offset,
              (long long)(r.rows.offset + r.rows.count), (long long)r.rows.total);

  // Gather O3 and dA1 on rank 0.
  const bool root = world.rank() == 0;
  tessel::Tensor<T, 3> O3(tessel::Shape<3>{root ? r.rows.total : 0, nh, e}), dA1(tessel::Shape<3>{root ? b : 0, s, h});
  if (root) {
    dist::gather_into(world, r.output, 0, O3);
    dist::gather_into(world, *r.grad_input, 0, dA1);
  } else {
    dist::gather_into(world, r.output, 0, std::nullopt);
    dist::gather_into(world, *r.grad_input, 0, std::nullopt);
  }
  if (!root) return 0;

  const auto single = tessel::matmul_with_importance(A1, W1, P, nh, options, dO3);
  dist::Communicator self(MPI_COMM_SELF);
  const auto one_rank = step(self, dist::Slice{0, b, b});
  const bool o3_ok = same_bits(O3, single.output), da1_ok = same_bits(dA1, *single.grad_input);
  const bool dw1_ok = same_bits(*r.grad_weight, *one_rank.grad_weight);
  double max_diff = 0;
  for (std::int64_t i = 0; i < h * e; ++i)
    max_diff = std::fmax(max_diff, std::fabs(static_cast<float>(r.grad_weight->data()[i]) -
                                             static_cast<float>(single.grad_weight->data()[i])));
  std::printf("O3  [%lld, %lld, %lld] checksum %016llx: %s matmul_with_importance\n", (long long)O3.size(0),
              (long long)nh, (long long)e, (unsigned long long)checksum(O3), o3_ok ? "bit-identical to" : "DIFFERS from");
  std::printf("dA1 [%lld, %lld, %lld] checksum %016llx: %s matmul_with_importance\n", (long long)b, (long long)s,
              (long long)h, (unsigned long long)checksum(dA1), da1_ok ? "bit-identical to" : "DIFFERS from");
  std::printf("dW1 [%lld, %lld] checksum %016llx: %s the one-rank run; largest difference from the single-process "
              "dW1: %g\n",
              (long long)h, (long long)e, (unsigned long long)checksum(*r.grad_weight),
              dw1_ok ? "bit-identical to" : "DIFFERS from", max_diff);
  return o3_ok && da1_ok && dw1_ok ? 0 : 1;
}
