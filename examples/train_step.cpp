// examples/train_step.cpp — gradient descent on W1 through matmul_with_importance.
//
// A synthetic regression: the important rows A3 of A1 (chosen by P) times a hidden weight
// W_true, head by head, are the target. Starting from W1 = 0, each step computes
//   O3   = matmul_with_importance(A1, W1, P, nh, options).output        [t, nh, e]
//   loss = mean((O3 − target)²)  over the N = t·nh·e elements
//   dO3  = 2·(O3 − target) / N
//   dW1  = matmul_with_importance(A1, W1, P, nh, options, dO3).grad_weight
//   W1  −= lr · dW1
// and the loss falls. It runs in float32 with the allocating call, then in bfloat16 with
// fp32 master weights and the allocation-free path a training loop would use: the selection
// once (select_important), then matmul_with_importance_into on preallocated outputs, asking
// only for dW1 (A1 is data, so dA1 is not needed). Exits 1 if a loss did not fall 20-fold.
//
//   build/release/examples/train_step
#include <tessel/tessel.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

namespace {

using tessel::bfloat16;

constexpr std::int64_t b = 4, s = 64, h = 128, nh = 4, e = 64;
constexpr int steps = 20;
const tessel::ImportanceOptions options{.top_p = 0.3, .top_k = 32};

struct Random {  // splitmix64: the same data on every platform
  std::uint64_t state;
  double uniform() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
};

template <class T, std::size_t R>
tessel::Tensor<T, R> random_tensor(std::array<std::int64_t, R> shape, Random& rng, double lo, double hi) {
  tessel::Tensor<T, R> t(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = T(lo + (hi - lo) * rng.uniform());
  return t;
}

// Converts every element of `from` to U.
template <class U, class T, std::size_t R>
tessel::Tensor<U, R> convert(const tessel::Tensor<T, R>& from) {
  tessel::Tensor<U, R> to(from.shape());
  for (std::int64_t i = 0; i < from.numel(); ++i) to.data()[i] = U(static_cast<float>(from.data()[i]));
  return to;
}

// loss = mean((O3 − target)²); writes dO3 = 2·(O3 − target)/N.
template <class T>
double loss_and_grad(const tessel::Tensor<T, 3>& O3, const tessel::Tensor<float, 3>& target, tessel::Tensor<T, 3>& dO3) {
  const double N = static_cast<double>(O3.numel());
  double sum = 0;
  for (std::int64_t i = 0; i < O3.numel(); ++i) {
    const double diff = static_cast<float>(O3.data()[i]) - static_cast<double>(target.data()[i]);
    sum += diff * diff;
    dO3.data()[i] = T(static_cast<float>(2.0 * diff / N));
  }
  return sum / N;
}

bool report(const char* what, const std::vector<double>& loss) {
  std::printf("%s\n  loss, steps 0..%d:\n      ", what, steps);
  for (std::size_t i = 0; i < loss.size(); ++i)
    std::printf(" %.3g%s", loss[i], i % 7 == 6 && i + 1 < loss.size() ? "\n      " : "");
  const double factor = loss.front() / loss.back();
  const bool ok = factor >= 20.0;
  std::printf("\n  loss fell %.0fx in %d steps  %s\n", factor, steps, ok ? "ok" : "FAILED (expected >= 20x)");
  return ok;
}

}  // namespace

int main() {
  Random rng{7};
  const auto A1 = random_tensor<float, 3>({b, s, h}, rng, -1, 1);
  const auto P = random_tensor<float, 2>({b, s}, rng, 0, 1);
  const auto W_true = random_tensor<float, 2>({h, e}, rng, -1, 1);
  // The target: the importance matmul with the hidden weight (float32).
  const tessel::Tensor<float, 3> target = tessel::matmul_with_importance(A1, W_true, P, nh, options).output;
  const std::int64_t t = target.size(0), N = target.numel();
  // Per head the loss is (1/N)·‖A3ₙ·W1ₙ − targetₙ‖², with Hessian (2/N)·A3ₙᵀA3ₙ ≈ (2/N)·(t/3)·I for
  // entries uniform in [−1, 1]; lr = 0.5·N/t keeps every step well inside the stable range.
  const double lr = 0.5 * static_cast<double>(N) / static_cast<double>(t);
  std::printf("tessel example: %d steps of gradient descent on W1 through matmul_with_importance\n", steps);
  std::printf("A1 [%d, %d, %d], W1 [%d, %d], nh = %d, top_p = %.1f, top_k = %d -> t = %lld rows, O3 [%lld, %d, %d]\n",
              int(b), int(s), int(h), int(h), int(e), int(nh), options.top_p, int(*options.top_k),
              static_cast<long long>(t), static_cast<long long>(t), int(nh), int(e));
  std::printf("loss = mean((O3 - target)^2), target = importance matmul with a hidden W_true; lr = %.0f; isa %.*s\n",
              lr, int(tessel::active_isa().size()), tessel::active_isa().data());

  // --- float32: the allocating calls, as a first program would write them.
  bool ok = true;
  {
    tessel::Tensor<float, 2> W1({h, e});  // zeros
    tessel::Tensor<float, 3> dO3({t, nh, e});
    std::vector<double> loss;
    for (int step = 0; step <= steps; ++step) {
      const auto fwd = tessel::matmul_with_importance(A1, W1, P, nh, options);
      loss.push_back(loss_and_grad(fwd.output, target, dO3));
      if (step == steps) break;
      const auto grad = tessel::matmul_with_importance(A1, W1, P, nh, options, dO3);
      for (std::int64_t i = 0; i < W1.numel(); ++i) W1.data()[i] -= static_cast<float>(lr) * grad.grad_weight->data()[i];
    }
    ok = report("float32 (matmul_with_importance):", loss) && ok;
  }

  // --- bfloat16 with fp32 master weights, no allocation inside the loop.
  {
    const auto A1_bf = convert<bfloat16>(A1);
    const auto P_bf = convert<bfloat16>(P);
    const std::vector<std::int64_t> selected = tessel::select_important(P_bf, options);  // P is fixed: select once
    const auto tb = static_cast<std::int64_t>(selected.size());
    if (tb != t) std::printf("  (bfloat16 rounding of P changes the selection: t = %lld)\n", static_cast<long long>(tb));
    const tessel::Tensor<float, 3> target_bf =
        convert<float>(tessel::matmul_with_importance(A1_bf, convert<bfloat16>(W_true), P_bf, nh, options).output);
    tessel::Tensor<float, 2> master({h, e});  // zeros
    tessel::Tensor<bfloat16, 2> W1({h, e}), dW1({h, e});
    tessel::Tensor<bfloat16, 3> O3({tb, nh, e}), dO3({tb, nh, e});
    std::vector<double> loss;
    for (int step = 0; step <= steps; ++step) {
      for (std::int64_t i = 0; i < W1.numel(); ++i) W1.data()[i] = bfloat16(master.data()[i]);
      tessel::matmul_with_importance_into<bfloat16>(A1_bf.view(), W1.view(), selected, nh, O3.view());
      loss.push_back(loss_and_grad(O3, target_bf, dO3));
      if (step == steps) break;
      tessel::matmul_with_importance_into<bfloat16>(A1_bf.view(), W1.view(), selected, nh, O3.view(), dO3.view(),
                                          std::nullopt, dW1.view());
      for (std::int64_t i = 0; i < W1.numel(); ++i)
        master.data()[i] -= static_cast<float>(lr) * static_cast<float>(dW1.data()[i]);
    }
    ok = report("bfloat16, fp32 master weights (select_important once, then matmul_with_importance_into):", loss) && ok;
  }
  return ok ? 0 : 1;
}
