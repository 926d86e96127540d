// examples/linear_layers.cpp — the lecture's question: can x = torch.randn(128, 4096, 30, 20)
// go into nn.Linear(20, 30)? It can: a linear layer acts on the last dimension and treats all
// the others as positions. Here two layers are stacked, Linear(20, 30) then Linear(30, 40),
// on a rank-4 input (shrunk to [8, 256, 30, 20] so that the fp64 check below runs in a
// moment; the call is the same for [128, 4096, 30, 20]), and one gradient-descent step on
// both layers through linear_backward makes a loss fall:
//
//   h = layer1.forward(x)        [8, 256, 30, 30]
//   y = layer2.forward(h)        [8, 256, 30, 40]
//   loss = mean((y − target)²) / 2,   dy = (y − target) / N
//   layer2.backward(dy, h) -> dh, dW2, db2;   layer1.backward(dh, x) -> dW1, db1
//   W −= lr · dW,  b −= lr · db
//
// Every tessel result (y, the four weight and bias gradients, and the loss after the step) is
// checked against the same computation in fp64 loops. Exits 1 if a check fails or the loss
// did not fall.
//
//   build/release/examples/linear_layers
#include <tessel/tessel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

using tessel::Tensor;

// ---- the fp64 check: plain loops over the positions p of [P, features] arrays

std::vector<double> to_doubles(const float* p, std::int64_t n) { return {p, p + n}; }

// y[p, o] = Σ_k x[p, k] · w[o, k] + b[o]
std::vector<double> ref_forward(const std::vector<double>& x, const std::vector<double>& w,
                                const std::vector<double>& b, std::int64_t P, std::int64_t in, std::int64_t out) {
  std::vector<double> y(static_cast<std::size_t>(P * out));
  for (std::int64_t p = 0; p < P; ++p)
    for (std::int64_t o = 0; o < out; ++o) {
      double s = b[std::size_t(o)];
      for (std::int64_t k = 0; k < in; ++k) s += x[std::size_t(p * in + k)] * w[std::size_t(o * in + k)];
      y[std::size_t(p * out + o)] = s;
    }
  return y;
}
struct RefGrads {
  std::vector<double> dx, dw, db;
};
RefGrads ref_backward(const std::vector<double>& dy, const std::vector<double>& x, const std::vector<double>& w,
                      std::int64_t P, std::int64_t in, std::int64_t out) {
  RefGrads g{std::vector<double>(std::size_t(P * in)), std::vector<double>(std::size_t(out * in)),
             std::vector<double>(std::size_t(out))};
  for (std::int64_t p = 0; p < P; ++p)
    for (std::int64_t o = 0; o < out; ++o) {
      const double d = dy[std::size_t(p * out + o)];
      g.db[std::size_t(o)] += d;
      for (std::int64_t k = 0; k < in; ++k) {
        g.dx[std::size_t(p * in + k)] += d * w[std::size_t(o * in + k)];
        g.dw[std::size_t(o * in + k)] += d * x[std::size_t(p * in + k)];
      }
    }
  return g;
}
double half_mse(const std::vector<double>& y, const std::vector<double>& t) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += (y[i] - t[i]) * (y[i] - t[i]);
  return 0.5 * s / static_cast<double>(y.size());
}

// The largest |ours − ref| relative to the largest |ref|: float32 with fp32 accumulation
// stays near 1e-7 here.
double rel_error(const float* ours, const std::vector<double>& ref) {
  double err = 0, scale = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::fabs(double(ours[i]) - ref[i]));
    scale = std::max(scale, std::fabs(ref[i]));
  }
  return scale > 0 ? err / scale : err;
}

bool check(const char* what, double err) {
  const bool ok = err < 1e-5;
  std::printf("  %-34s max relative error vs fp64 %.1e  %s\n", what, err, ok ? "ok" : "FAILED");
  return ok;
}

}  // namespace

int main() {
  constexpr std::int64_t B = 8, S = 256, C = 30, in = 20, mid = 30, out = 40;
  constexpr std::int64_t P = B * S * C;  // positions: every index of the leading dimensions
  // Data uniform in [-1, 1) from 24 random bits each (std::mt19937 is the same everywhere).
  std::mt19937 rng(42);
  auto uniform = [&] { return static_cast<float>(static_cast<double>(rng() >> 8) * 0x1p-23 - 1.0); };
  Tensor<float, 4> x({B, S, C, in}), target({B, S, C, out});
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data()[i] = uniform();
  for (std::int64_t i = 0; i < target.numel(); ++i) target.data()[i] = uniform();

  tessel::Linear<float> layer1(in, mid, true, /*seed=*/1), layer2(mid, out, true, /*seed=*/2);
  std::printf("tessel example: Linear(%lld, %lld) then Linear(%lld, %lld) on x [%lld, %lld, %lld, %lld] (isa %.*s)\n",
              (long long)in, (long long)mid, (long long)mid, (long long)out, (long long)B, (long long)S,
              (long long)C, (long long)in, int(tessel::active_isa().size()), tessel::active_isa().data());

  // Forward: every leading dimension is a position; no reshape needed.
  const Tensor<float, 4> h = layer1.forward(x);
  const Tensor<float, 4> y = layer2.forward(h);
  std::printf("  h = layer1(x): [%lld, %lld, %lld, %lld]   y = layer2(h): [%lld, %lld, %lld, %lld]\n",
              (long long)h.size(0), (long long)h.size(1), (long long)h.size(2), (long long)h.size(3),
              (long long)y.size(0), (long long)y.size(1), (long long)y.size(2), (long long)y.size(3));

  // Loss and dL/dy.
  const double N = static_cast<double>(y.numel());
  Tensor<float, 4> dy(y.shape(), tessel::uninitialized);
  double loss0 = 0;
  for (std::int64_t i = 0; i < y.numel(); ++i) {
    const double d = double(y.data()[i]) - double(target.data()[i]);
    loss0 += 0.5 * d * d / N;
    dy.data()[i] = static_cast<float>(d / N);
  }

  // Backward through both layers.
  const tessel::LinearGrads<float, 4> g2 = layer2.backward(dy, h);
  const tessel::LinearGrads<float, 4> g1 = layer1.backward(g2.grad_input, x);

  // The same step in fp64 from the same parameters and data.
  const auto xd = to_doubles(x.data(), x.numel()), td = to_doubles(target.data(), target.numel());
  const auto w1 = to_doubles(layer1.weight.data(), mid * in), b1 = to_doubles(layer1.bias->data(), mid);
  const auto w2 = to_doubles(layer2.weight.data(), out * mid), b2 = to_doubles(layer2.bias->data(), out);
  const auto hd = ref_forward(xd, w1, b1, P, in, mid);
  const auto yd = ref_forward(hd, w2, b2, P, mid, out);
  std::vector<double> dyd(yd.size());
  for (std::size_t i = 0; i < yd.size(); ++i) dyd[i] = (yd[i] - td[i]) / N;
  const RefGrads r2 = ref_backward(dyd, hd, w2, P, mid, out);
  const RefGrads r1 = ref_backward(r2.dx, xd, w1, P, in, mid);
  const double loss0_ref = half_mse(yd, td);

  bool ok = true;
  std::printf("checks against fp64:\n");
  ok = check("y = layer2(layer1(x))", rel_error(y.data(), yd)) && ok;
  ok = check("layer2: grad_weight", rel_error(g2.grad_weight.data(), r2.dw)) && ok;
  ok = check("layer2: grad_bias", rel_error(g2.grad_bias->data(), r2.db)) && ok;
  ok = check("layer1: grad_weight", rel_error(g1.grad_weight.data(), r1.dw)) && ok;
  ok = check("layer1: grad_bias", rel_error(g1.grad_bias->data(), r1.db)) && ok;

  // One SGD step on both layers, in place.
  const float lr = 2.0f;
  auto step = [&](tessel::Linear<float>& layer, const tessel::LinearGrads<float, 4>& g) {
    for (std::int64_t i = 0; i < layer.weight.numel(); ++i) layer.weight.data()[i] -= lr * g.grad_weight.data()[i];
    for (std::int64_t i = 0; i < layer.bias->numel(); ++i) layer.bias->data()[i] -= lr * g.grad_bias->data()[i];
  };
  step(layer1, g1);
  step(layer2, g2);
  const Tensor<float, 4> y1 = layer2.forward(layer1.forward(x));
  double loss1 = 0;
  for (std::int64_t i = 0; i < y1.numel(); ++i) {
    const double d = double(y1.data()[i]) - double(target.data()[i]);
    loss1 += 0.5 * d * d / N;
  }
  // fp64 loss after the fp64 step.
  std::vector<double> w1n = w1, b1n = b1, w2n = w2, b2n = b2;
  for (std::size_t i = 0; i < w1n.size(); ++i) w1n[i] -= lr * r1.dw[i];
  for (std::size_t i = 0; i < b1n.size(); ++i) b1n[i] -= lr * r1.db[i];
  for (std::size_t i = 0; i < w2n.size(); ++i) w2n[i] -= lr * r2.dw[i];
  for (std::size_t i = 0; i < b2n.size(); ++i) b2n[i] -= lr * r2.db[i];
  const double loss1_ref = half_mse(ref_forward(ref_forward(xd, w1n, b1n, P, in, mid), w2n, b2n, P, mid, out), td);

  std::printf("loss = mean((y - target)^2) / 2, one SGD step with lr = %.1f on both layers:\n", double(lr));
  std::printf("  tessel: %.7f -> %.7f\n  fp64:   %.7f -> %.7f\n", loss0, loss1, loss0_ref, loss1_ref);
  const bool fell = loss1 < loss0;
  const bool agrees = std::fabs(loss0 - loss0_ref) <= 1e-6 * loss0_ref && std::fabs(loss1 - loss1_ref) <= 1e-6 * loss1_ref;
  std::printf("  the loss fell: %s;  tessel's losses agree with fp64 to 1e-6: %s\n", fell ? "yes" : "NO",
              agrees ? "yes" : "NO");
  ok = ok && fell && agrees;
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
