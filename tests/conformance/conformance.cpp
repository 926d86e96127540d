// tessel_conformance: runs matmul_with_multi_head and matmul_with_importance on every golden
// case PyTorch computed (tests/data/conformance/*.bin, listed in INDEX.txt; see
// tests/data/conformance/README.md) and judges every output element with the strict rule
//     |ours − fp64| ≤ ulp_T(ref) + 2·sqrt(K)·2^-24·Σ|products|
// plus: elements with no products at all (unselected rows of dA1, dW1 when t = 0) must be
// exactly zero.
//
// Adapted from the shared driver (../shared/conformance/conformance.cpp). Each case runs
//   * on every registered path the CPU has (tests/support/paths.hpp: scalar always, then
//     avx2 / avx512, and for bfloat16 both AVX-512 routes); TESSEL_ISA=<path> runs that one,
//   * on contiguous inputs and on the same values behind other strides (A1 permuted from
//     [s,b,h], W1 transposed from [e,h], P transposed from [s,b], dO3 permuted from
//     [nh,t,e]), which must give bit-identical outputs,
//   * through the _into forms as well (matmul_with_multi_head_into into a permuted
//     [b,nh,s,e] buffer, matmul_with_importance_into with the selection), bit-identical too;
// and the inputs must be unchanged afterwards.
//
//   tessel_conformance <folder with *.bin and INDEX.txt>     (CTest passes tests/data/conformance)
// prints one line per case and "N passed, M failed"; exits non-zero on any failure.
#include <tessel/tessel.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "golden_reader.hpp"
#include "support/paths.hpp"

namespace {

template <class T>
std::vector<T> load_as(const golden::Array& a) {
  std::vector<T> v(a.numel());
  if (a.bytes.size() != v.size() * sizeof(T)) throw std::runtime_error("element size mismatch for " + a.name);
  if (!v.empty()) std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

template <class T, std::size_t R>
std::vector<double> as_doubles(const tessel::Tensor<T, R>& t) {
  std::vector<double> v(static_cast<std::size_t>(t.numel()));
  const T* p = t.data();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(static_cast<float>(p[i]));
  return v;
}

template <class T, std::size_t R>
bool same_bits(const tessel::Tensor<T, R>& a, const tessel::Tensor<T, R>& b) {
  return a.shape() == b.shape() &&
         (a.numel() == 0 || std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.numel())) == 0);
}

struct Verdict {
  bool ok = true;
  std::string why;
  void fail(const std::string& w) {
    if (ok) why = w;
    ok = false;
  }
};

// One output against the stored (or, for a differently broken tie, recomputed) fp64 reference.
void judge(const golden::Case& c, const char* name, const std::vector<double>& ours, const golden::Reference* ref,
           Verdict& v, const std::string& where) {
  golden::Tolerance strict;
  strict.strict = true;
  const auto r = golden::check_output(c, name, ours, ref, strict);
  if (!r.pass()) {
    char buf[320];
    std::snprintf(buf, sizeof buf, "%s (%s): %zu of %zu elements out of tolerance, worst err/tol = %.3g at %zu", name,
                  where.c_str(), r.n_fail, r.n, r.worst_ratio, r.worst_index);
    v.fail(buf);
  }
  // No products at all: exactly zero (check_output alone would accept one ulp of 0).
  const std::vector<double> refv = ref ? ref->val.at(name) : c.at(std::string(name) + "_ref").to_double();
  const std::vector<double> magv = ref ? ref->mag.at(name) : c.at(std::string(name) + "_mag").to_double();
  for (std::size_t i = 0; i < ours.size() && i < refv.size(); ++i)
    if (refv[i] == 0.0 && magv[i] == 0.0 && ours[i] != 0.0) {
      v.fail(std::string(name) + " (" + where + "): element " + std::to_string(i) + " must be exactly zero");
      break;
    }
}

// Everything one layout produced, to compare layouts and ISA paths bit for bit.
template <class T>
struct Outputs {
  tessel::Tensor<T, 4> O2;
  tessel::ImportanceResult<T> imp;
};

template <class T>
Outputs<T> run_layout(const golden::Case& c, tessel::TensorView<const T, 3> A1, tessel::TensorView<const T, 2> W1,
                      tessel::TensorView<const T, 2> P, std::optional<tessel::TensorView<const T, 3>> dO3,
                      const std::string& where, Verdict& v) {
  const std::int64_t b = c.b, s = c.s, h = c.h, nh = c.nh, e = c.e;
  Outputs<T> out;
  // multi-head, allocating and _into a permuted [b, nh, s, e] buffer
  out.O2 = tessel::matmul_with_multi_head(A1, W1, nh);
  if (out.O2.shape() != tessel::Shape<4>{b, s, nh, e}) {
    v.fail("O2 has the wrong shape (" + where + ")");
    return out;
  }
  judge(c, "O2", as_doubles(out.O2), nullptr, v, where);
  tessel::Tensor<T, 4> buf({b, nh, s, e});
  tessel::matmul_with_multi_head_into(A1, W1, nh, buf.view().permute(0, 2, 1, 3));
  if (!same_bits(buf.view().permute(0, 2, 1, 3).clone(), out.O2))
    v.fail("matmul_with_multi_head_into differs from matmul_with_multi_head (" + where + ")");

  // importance
  tessel::ImportanceOptions opt;
  opt.top_p = c.top_p;
  if (c.top_k >= 0) opt.top_k = c.top_k;
  out.imp = tessel::matmul_with_importance(A1, W1, P, nh, opt, c.has_grad ? dO3 : std::nullopt);
  const auto& res = out.imp;
  std::vector<std::uint8_t> mask(static_cast<std::size_t>(b * s), 0);
  std::int64_t prev = -1;
  for (auto q : res.selected) {
    if (q < 0 || q >= b * s || q <= prev) {
      v.fail("selected is not ascending flat positions (" + where + ")");
      return out;
    }
    mask[static_cast<std::size_t>(q)] = 1;
    prev = q;
  }
  std::string why;
  if (!golden::is_valid_selection(c, mask, &why)) {
    v.fail("selection differs from PyTorch: " + why + " (" + where + ")");
    return out;
  }
  // tessel's own rule, exactly (ties by lower index)
  if (mask != golden::select_lowest_index(c)) v.fail("selection breaks ties other than by lower index (" + where + ")");
  if (res.selected != tessel::select_important(P, opt)) v.fail("select_important differs (" + where + ")");
  const auto t = static_cast<std::int64_t>(res.selected.size());
  if (t != c.t) {
    v.fail("selected " + std::to_string(t) + " rows, PyTorch selected " + std::to_string(c.t));
    return out;
  }
  if (res.output.shape() != tessel::Shape<3>{t, nh, e}) {
    v.fail("O3 has the wrong shape (" + where + ")");
    return out;
  }
  const auto& gm = c.at("mask").bytes;
  const bool same = std::equal(mask.begin(), mask.end(), gm.begin());
  std::optional<golden::Reference> R;
  if (!same) R = golden::reference_fp64(c, mask);  // a tie broken differently: judge against our own rows
  const golden::Reference* ref = R ? &*R : nullptr;
  if (t > 0) judge(c, "O3", as_doubles(res.output), ref, v, where);
  if (c.has_grad) {
    if (!res.grad_input || !res.grad_weight) {
      v.fail("gradients missing although grad_output was given (" + where + ")");
      return out;
    }
    if (res.grad_input->shape() != tessel::Shape<3>{b, s, h} || res.grad_weight->shape() != tessel::Shape<2>{h, e}) {
      v.fail("gradients have the wrong shape (" + where + ")");
      return out;
    }
    judge(c, "dA1", as_doubles(*res.grad_input), ref, v, where);
    judge(c, "dW1", as_doubles(*res.grad_weight), ref, v, where);
  } else if (res.grad_input || res.grad_weight) {
    v.fail("gradients returned although grad_output was not given (" + where + ")");
  }

  // The _into form with the selection: the same bits.
  tessel::Tensor<T, 3> O3({t, nh, e});
  if (c.has_grad) {
    tessel::Tensor<T, 3> dA1({b, s, h});
    tessel::Tensor<T, 2> dW1({h, e});
    for (std::int64_t i = 0; i < dA1.numel(); ++i) dA1.data()[i] = T(-7.0f);  // must all be overwritten
    tessel::matmul_with_importance_into<T>(A1, W1, res.selected, nh, O3.view(), dO3, dA1.view(), dW1.view());
    if (!same_bits(dA1, *res.grad_input) || !same_bits(dW1, *res.grad_weight))
      v.fail("matmul_with_importance_into gradients differ (" + where + ")");
  } else {
    tessel::matmul_with_importance_into<T>(A1, W1, res.selected, nh, O3.view());
  }
  if (!same_bits(O3, res.output)) v.fail("matmul_with_importance_into O3 differs (" + where + ")");
  return out;
}

template <class T>
bool same_outputs(const Outputs<T>& x, const Outputs<T>& y) {
  if (!same_bits(x.O2, y.O2) || x.imp.selected != y.imp.selected || !same_bits(x.imp.output, y.imp.output))
    return false;
  if (x.imp.grad_input.has_value() != y.imp.grad_input.has_value()) return false;
  if (x.imp.grad_input && (!same_bits(*x.imp.grad_input, *y.imp.grad_input) ||
                           !same_bits(*x.imp.grad_weight, *y.imp.grad_weight)))
    return false;
  return true;
}

template <class T>
Verdict run_case(const golden::Case& c) {
  Verdict v;
  const std::int64_t b = c.b, s = c.s, h = c.h, nh = c.nh, e = c.e, t = c.t;
  struct Inputs {
    std::vector<T> A1, W1, P, dO3;
  } in{load_as<T>(c.at("A1")), load_as<T>(c.at("W1")), load_as<T>(c.at("P")), {}};
  if (c.has_grad) in.dO3 = load_as<T>(c.at("dO3"));
  const Inputs before = in;

  // The same values behind other strides.
  std::vector<T> A_sbh(in.A1.size()), W_eh(in.W1.size()), P_sb(in.P.size()), G_nte(in.dO3.size());
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < s; ++j) {
      P_sb[j * b + i] = in.P[i * s + j];
      for (std::int64_t k = 0; k < h; ++k) A_sbh[(j * b + i) * h + k] = in.A1[(i * s + j) * h + k];
    }
  for (std::int64_t k = 0; k < h; ++k)
    for (std::int64_t col = 0; col < e; ++col) W_eh[col * h + k] = in.W1[k * e + col];
  for (std::int64_t r = 0; r < t && c.has_grad; ++r)
    for (std::int64_t n = 0; n < nh; ++n)
      for (std::int64_t col = 0; col < e; ++col) G_nte[(n * t + r) * e + col] = in.dO3[(r * nh + n) * e + col];

  using tessel::TensorView;
  std::optional<TensorView<const T, 3>> dO3, dO3s;
  if (c.has_grad) {
    dO3 = TensorView<const T, 3>(in.dO3.data(), {t, nh, e});
    dO3s = TensorView<const T, 3>(G_nte.data(), {t, nh, e}, {e, t * e, 1});
  }
  std::optional<Outputs<T>> first;
  for (const tessel_test::TestPath& path : tessel_test::test_paths<T>()) {
    tessel_test::PathScope use(path);
    const std::string& name = path.name;
    auto contiguous = run_layout<T>(c, TensorView<const T, 3>(in.A1.data(), {b, s, h}),
                                    TensorView<const T, 2>(in.W1.data(), {h, e}),
                                    TensorView<const T, 2>(in.P.data(), {b, s}), dO3, name + ", contiguous", v);
    auto strided = run_layout<T>(c, TensorView<const T, 3>(A_sbh.data(), {b, s, h}, {h, b * h, 1}),
                                 TensorView<const T, 2>(W_eh.data(), {h, e}, {1, h}),
                                 TensorView<const T, 2>(P_sb.data(), {b, s}, {1, b}), dO3s, name + ", strided", v);
    if (v.ok && !same_outputs(contiguous, strided))
      v.fail("strided inputs give other bits than contiguous ones (" + name + ")");
    if (!first) first = std::move(contiguous);
  }

  auto unchanged = [](const std::vector<T>& x, const std::vector<T>& y) {
    return x.size() == y.size() && (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0);
  };
  if (!unchanged(in.A1, before.A1) || !unchanged(in.W1, before.W1) || !unchanged(in.P, before.P) ||
      !unchanged(in.dO3, before.dO3))
    v.fail("an input was modified");
  return v;
}

// The case names INDEX.txt lists (first word of each non-comment line).
std::vector<std::string> index_names(const std::string& dir) {
  std::ifstream f(dir + "/INDEX.txt");
  std::vector<std::string> names;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string name;
    if (ls >> name) names.push_back(name);
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <folder with the golden *.bin and INDEX.txt>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const tessel::Isa initial = tessel::current_isa();
  std::printf("paths (bfloat16):");
  for (const auto& path : tessel_test::test_paths<tessel::bfloat16>()) std::printf(" [%s]", path.name.c_str());
  std::printf("\n");

  int passed = 0, failed = 0;
  std::set<std::string> seen;
  std::vector<std::string> paths;
  try {
    paths = golden::list_cases(dir);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "cannot list %s: %s\n", dir.c_str(), ex.what());
    return 2;
  }
  for (const auto& path : paths) {
    Verdict v;
    std::string name = path;
    try {
      const golden::Case c = golden::load_case(path);
      name = c.name;
      seen.insert(c.name);
      if (c.dtype == "float32") v = run_case<float>(c);
      else if (c.dtype == "bfloat16") v = run_case<tessel::bfloat16>(c);
      else if (c.dtype == "float16") v = run_case<tessel::float16>(c);
      else v.fail("unknown dtype " + c.dtype);
    } catch (const std::exception& ex) {
      v.fail(std::string("threw: ") + ex.what());
    }
    std::printf("%s %-24s %s\n", v.ok ? "PASS" : "FAIL", name.c_str(), v.why.c_str());
    (v.ok ? passed : failed)++;
  }
  tessel::set_isa(initial);
  // Every case INDEX.txt lists must have been found (a partial copy must not pass quietly).
  for (const auto& n : index_names(dir))
    if (!seen.count(n)) {
      std::printf("FAIL %-24s listed in INDEX.txt but no .bin found\n", n.c_str());
      ++failed;
    }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
