// examples/distributed/head_parallel_forward.cpp — the multi-head matmul with its heads
// split across however many ranks mpirun starts (tensor parallelism):
//
//   mpirun -np 4 build/ci/examples/distributed/head_parallel_forward
//
// Every rank holds the whole input A1 [b, s, h] and only its block of W1's rows (its heads:
// head_block, uneven when P does not divide nh), computes its heads' O2 [b, s, count, e]
// without communicating, and rank 0 gathers O2 [b, s, nh, e] and checks it bit for bit
// against the single-process matmul_with_multi_head.
#include <tessel/distributed.hpp>
#include <tessel/tessel.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>

namespace dist = tessel::distributed;
using T = tessel::bfloat16;

template <std::size_t R>
tessel::Tensor<T, R> random(tessel::Shape<R> shape, unsigned seed) {
  tessel::Tensor<T, R> t(shape);
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = T(u(gen));
  return t;
}

int main(int argc, char** argv) {
  dist::Environment env(argc, argv);
  dist::Communicator world;
  const std::int64_t b = 2, s = 32, nh = 6, hd = 16, h = nh * hd, e = 48;
  const auto A1 = random<3>({b, s, h}, 1);  // replicated input
  const auto W1 = random<2>({h, e}, 2);     // a real program would hold only its block

  const dist::Slice heads = dist::head_block(nh, world);
  const auto O2_mine = dist::head_parallel_multi_head(world, A1, dist::weight_block(W1, nh, world), nh);
  std::printf("rank %d of %d: heads [%lld, %lld) of %lld\n", world.rank(), world.size(), (long long)heads.offset,
              (long long)(heads.offset + heads.count), (long long)nh);

  if (world.rank() != 0) {
    dist::gather_into(world, O2_mine, 2, std::nullopt);
    return 0;
  }
  tessel::Tensor<T, 4> O2(tessel::Shape<4>{b, s, nh, e});
  dist::gather_into(world, O2_mine, 2, O2);
  const auto single = tessel::matmul_with_multi_head(A1, W1, nh);
  const bool ok = std::memcmp(O2.data(), single.data(), sizeof(T) * O2.numel()) == 0;
  std::uint64_t hash = 0xcbf29ce484222325ull;
  const auto* p = reinterpret_cast<const unsigned char*>(O2.data());
  for (std::size_t i = 0; i < sizeof(T) * static_cast<std::size_t>(O2.numel()); ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  std::printf("O2 [%lld, %lld, %lld, %lld] checksum %016llx: %s matmul_with_multi_head\n", (long long)b, (long long)s,
              (long long)nh, (long long)e, (unsigned long long)hash, ok ? "bit-identical to" : "DIFFERS from");
  return ok ? 0 : 1;
}
