// Copied verbatim (below this note) from the project's shared conformance kit,
// ../shared/conformance/ops_conformance.cpp, with its cases in tests/data/ops_conformance, so
// that a fresh clone runs them without ../shared. It includes tests/conformance/golden_reader.hpp.
// Keep them in sync.

// Conformance driver for linear / linear_backward and einsum (SPEC §9–§10) on golden cases
// computed by PyTorch (ops_cases/, written by the oracle's make_golden_ops.py). Every output
// element is judged with the strict rule  |ours - fp64| <= ulp(ref) + 2*sqrt(K)*2^-24*sum|terms|.
//
//   g++ -std=c++20 -O2 -fopenmp -I<tessel>/include -I<this folder> ops_conformance.cpp -o ops_conformance
//   ./ops_conformance <folder with *.bin>
//
// Each case runs twice: on contiguous inputs, and on the same values behind other strides
// (every input is a view that skips every other element). Inputs must be unchanged by a call.
#include <tessel/tessel.hpp>

#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "golden_reader.hpp"

namespace {

struct Verdict {
  bool ok = true;
  std::string why;
  void fail(const std::string& w) {
    if (ok) why = w;
    ok = false;
  }
};

template <class T>
double to_double(T x) {
  return double(static_cast<float>(x));
}

// Storage for one input: contiguous, or each element followed by a gap (stride 2 in the last
// dimension and every stride doubled), filled from the golden array.
template <class T, std::size_t R>
struct Input {
  std::vector<T> store;
  std::array<std::int64_t, R> shape{}, strides{};
  Input(const golden::Array& a, bool gapped) {
    if (a.shape.size() != R) throw std::runtime_error("rank mismatch for " + a.name);
    std::int64_t n = 1;
    for (std::size_t d = R; d-- > 0;) {
      shape[d] = a.shape[d];
      strides[d] = n * (gapped ? 2 : 1);
      n *= std::max<std::int64_t>(a.shape[d], 1);
    }
    store.assign(static_cast<std::size_t>(n * (gapped ? 2 : 1)), T{});
    std::vector<T> flat(a.numel());
    if (!flat.empty()) std::memcpy(flat.data(), a.bytes.data(), a.bytes.size());
    for (std::size_t i = 0; i < flat.size(); ++i) {
      std::int64_t off = 0, rem = static_cast<std::int64_t>(i);
      for (std::size_t d = R; d-- > 0;) {
        off += (rem % shape[d]) * strides[d];
        rem /= shape[d];
      }
      store[static_cast<std::size_t>(off)] = flat[i];
    }
  }
  tessel::TensorView<const T, R> view() const { return tessel::TensorView<const T, R>(store.data(), shape, strides); }
  std::vector<unsigned char> snapshot() const {
    std::vector<unsigned char> b(store.size() * sizeof(T));
    if (!b.empty()) std::memcpy(b.data(), store.data(), b.size());
    return b;
  }
};

template <class T, std::size_t R>
std::vector<double> as_doubles(const tessel::Tensor<T, R>& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = to_double(t.data()[i]);
  return v;
}

template <class T, std::size_t R>
void judge(const golden::Case& c, const char* name, const tessel::Tensor<T, R>& ours, Verdict& v, const char* layout) {
  const golden::Array& want = c.at(name);
  bool shape_ok = want.shape.size() == R;
  for (std::size_t d = 0; shape_ok && d < R; ++d) shape_ok = ours.shape()[d] == want.shape[d];
  if (!shape_ok) {
    v.fail(std::string(name) + " (" + layout + "): wrong shape");
    return;
  }
  golden::Tolerance strict;
  strict.strict = true;
  auto r = golden::check_output(c, name, as_doubles(ours), nullptr, strict);
  if (!r.pass()) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s (%s): %zu of %zu elements out of tolerance, worst err/tol = %.3g at %zu", name,
                  layout, r.n_fail, r.n, r.worst_ratio, r.worst_index);
    v.fail(buf);
  }
}

// ---------------------------------------------------------------- linear
template <class T, std::size_t R>
void run_linear(const golden::Case& c, Verdict& v) {
  const bool bias = c.meta.at("bias") == "1", grad = c.meta.at("grad") == "1";
  for (bool gapped : {false, true}) {
    const char* layout = gapped ? "strided" : "contiguous";
    Input<T, R> x(c.at("X"), gapped);
    Input<T, 2> w(c.at("W"), gapped);
    std::optional<Input<T, 1>> b;
    if (bias) b.emplace(c.at("B"), gapped);
    std::optional<tessel::TensorView<const T, 1>> bv;
    if (b) bv = b->view();
    const auto x0 = x.snapshot(), w0 = w.snapshot();
    tessel::Tensor<T, R> y = tessel::linear<T, R>(x.view(), w.view(), bv);
    judge(c, "Y", y, v, layout);
    if (grad) {
      Input<T, R> dy(c.at("dY"), gapped);
      tessel::LinearGrads<T, R> g = tessel::linear_backward<T, R>(dy.view(), x.view(), w.view(), bias);
      judge(c, "dX", g.grad_input, v, layout);
      judge(c, "dW", g.grad_weight, v, layout);
      if (bias) {
        if (!g.grad_bias) v.fail(std::string("grad_bias missing (") + layout + ")");
        else judge(c, "dB", *g.grad_bias, v, layout);
      } else if (g.grad_bias) {
        v.fail(std::string("grad_bias given without bias (") + layout + ")");
      }
    }
    if (x.snapshot() != x0 || w.snapshot() != w0) v.fail(std::string("an input changed (") + layout + ")");
  }
}

// ---------------------------------------------------------------- einsum
template <class T, std::size_t RA, std::size_t RY>
void run_einsum1(const golden::Case& c, Verdict& v) {
  const std::string eq = c.meta.at("equation");
  for (bool gapped : {false, true}) {
    Input<T, RA> a(c.at("X0"), gapped);
    const auto a0 = a.snapshot();
    tessel::Tensor<T, RY> y = tessel::einsum<RY>(eq, a.view());
    judge(c, "Y", y, v, gapped ? "strided" : "contiguous");
    if (a.snapshot() != a0) v.fail("an input changed");
  }
}
template <class T, std::size_t RA, std::size_t RB, std::size_t RY>
void run_einsum2(const golden::Case& c, Verdict& v) {
  const std::string eq = c.meta.at("equation");
  for (bool gapped : {false, true}) {
    Input<T, RA> a(c.at("X0"), gapped);
    Input<T, RB> b(c.at("X1"), gapped);
    const auto a0 = a.snapshot(), b0 = b.snapshot();
    tessel::Tensor<T, RY> y = tessel::einsum<RY>(eq, a.view(), b.view());
    judge(c, "Y", y, v, gapped ? "strided" : "contiguous");
    if (a.snapshot() != a0 || b.snapshot() != b0) v.fail("an input changed");
  }
}

// The (operand ranks -> output rank) combinations of the case sets; a case outside them is
// reported, not skipped silently.
template <class T>
bool dispatch(const golden::Case& c, Verdict& v) {
  auto I = [&](const char* k) { return std::stoi(c.meta.at(k)); };
  if (c.meta.at("op") == "linear") {
    switch (I("rank_X")) {
      case 1: run_linear<T, 1>(c, v); return true;
      case 2: run_linear<T, 2>(c, v); return true;
      case 3: run_linear<T, 3>(c, v); return true;
      case 4: run_linear<T, 4>(c, v); return true;
    }
    return false;
  }
  const int n = I("noperands"), ry = I("rank_Y"), ra = I("rank_X0");
  if (n == 1) {
    const int key = ra * 10 + ry;
    switch (key) {
      case 22: run_einsum1<T, 2, 2>(c, v); return true;
      case 21: run_einsum1<T, 2, 1>(c, v); return true;
      case 20: run_einsum1<T, 2, 0>(c, v); return true;
      case 32: run_einsum1<T, 3, 2>(c, v); return true;
      case 31: run_einsum1<T, 3, 1>(c, v); return true;
    }
    return false;
  }
  const int key = ra * 100 + I("rank_X1") * 10 + ry;
  switch (key) {
    case 222: run_einsum2<T, 2, 2, 2>(c, v); return true;
    case 221: run_einsum2<T, 2, 2, 1>(c, v); return true;
    case 220: run_einsum2<T, 2, 2, 0>(c, v); return true;
    case 223: run_einsum2<T, 2, 2, 3>(c, v); return true;
    case 333: run_einsum2<T, 3, 3, 3>(c, v); return true;
    case 332: run_einsum2<T, 3, 3, 2>(c, v); return true;
    case 323: run_einsum2<T, 3, 2, 3>(c, v); return true;
    case 434: run_einsum2<T, 4, 3, 4>(c, v); return true;
    case 444: run_einsum2<T, 4, 4, 4>(c, v); return true;
    case 424: run_einsum2<T, 4, 2, 4>(c, v); return true;
    case 112: run_einsum2<T, 1, 1, 2>(c, v); return true;
    case 111: run_einsum2<T, 1, 1, 1>(c, v); return true;
    case 110: run_einsum2<T, 1, 1, 0>(c, v); return true;
  }
  return false;
}

// The compile-time form and the deducing forms must compile (SPEC §9–§10); run once.
bool deduced_forms_work() {
  tessel::Tensor<float, 2> a({3, 4}), b({4, 5});
  tessel::Tensor<float, 1> bias({5});
  for (std::int64_t i = 0; i < 5; ++i) bias.data()[i] = 0.25f * float(i) - 0.5f;
  for (std::int64_t i = 0; i < 12; ++i) a.data()[i] = float(i % 5) - 2.0f;
  for (std::int64_t i = 0; i < 20; ++i) b.data()[i] = float(i % 3) - 1.0f;
  auto c = tessel::einsum<"ij,jk->ik">(a, b);
  auto d = tessel::einsum<2>("ij,jk->ik", a, b);
  tessel::Tensor<float, 2> wt({5, 4});
  for (std::int64_t i = 0; i < 20; ++i) wt.data()[i] = float(i % 4) - 1.5f;
  auto y = tessel::linear(a, wt, bias);
  auto y0 = tessel::linear(a, wt);
  bool ok = c.shape()[0] == 3 && c.shape()[1] == 5 && d.shape() == c.shape() && y.shape()[1] == 5;
  for (std::int64_t i = 0; ok && i < 15; ++i) ok = c.data()[i] == d.data()[i];
  for (std::int64_t i = 0; ok && i < 15; ++i) ok = y.data()[i] == y0.data()[i] + bias.data()[i % 5];
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <folder with *.bin>\n", argv[0]);
    return 2;
  }
  int passed = 0, failed = 0;
  if (deduced_forms_work()) {
    ++passed;
    std::printf("PASS deduced forms (einsum<\"ij,jk->ik\">, einsum<2>(...), linear(x, w[, b]) with Tensors)\n");
  } else {
    ++failed;
    std::printf("FAIL deduced forms: results differ\n");
  }
  for (const std::string& path : golden::list_cases(argv[1])) {
    golden::Case c = golden::load_case(path);
    Verdict v;
    bool known = false;
    try {
      if (c.dtype == "float32") known = dispatch<float>(c, v);
      else if (c.dtype == "bfloat16") known = dispatch<tessel::bfloat16>(c, v);
      else known = dispatch<tessel::float16>(c, v);
      if (!known) v.fail("no driver instantiation for these ranks");
    } catch (const std::exception& e) {
      v.fail(std::string("threw: ") + e.what());
    }
    if (v.ok) {
      ++passed;
      std::printf("PASS %s\n", c.name.c_str());
    } else {
      ++failed;
      std::printf("FAIL %s: %s\n", c.name.c_str(), v.why.c_str());
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
