// Copied verbatim (below this note) from the project's shared conformance kit,
// ../shared/conformance/golden_reader.hpp (tessel's own file, written alongside the golden
// cases in tests/data/conformance), so that a fresh clone can run the conformance test without
// ../shared. Keep the two in sync.

// golden_reader.hpp -- dependency-free C++17 loader (and checking helpers) for the golden
// cases written by oracle/make_golden.py.  See oracle/README.md for the format and for the
// tolerance rule implemented by golden::check_output().
//
//   golden::Case c = golden::load_case("oracle/golden/medium_bf16.bin");
//   const golden::Array& A1 = c.at("A1");          // raw bytes + dtype + shape
//   std::vector<double> a = A1.to_double();         // any dtype -> double
//   const uint16_t* raw = A1.data<uint16_t>();      // bf16/f16 bits (f32: float, f64: double)
//   auto ref = golden::reference_fp64(c, my_mask);  // fp64 recomputation for ANY selection
//   auto r = golden::check_output(c, "O3", my_O3_as_double, ref);  // recommended rule
//
// Everything is header-only; the only requirement is C++17 (<filesystem> for list_cases).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace golden {

// ------------------------------------------------------------------ scalar conversions
inline double bf16_to_double(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline double f16_to_double(uint16_t h) {
  int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(double(man), -24);  // subnormal / zero
  else if (exp == 31)
    v = man ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(double(man | 0x400), exp - 25);
  return sign ? -v : v;
}
// round-to-nearest-even double -> bf16 / f16 bits (for simulating implementations in tests)
inline uint16_t double_to_bf16(double d) {
  float f = float(d);  // note: double rounding d->f32->bf16 can differ from direct rounding in rare ties
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  u += 0x7fff + ((u >> 16) & 1);
  return uint16_t(u >> 16);
}
inline uint16_t double_to_f16(double d) {
  uint16_t sign = std::signbit(d) ? 0x8000 : 0;
  double a = std::fabs(d);
  if (std::isnan(d)) return 0x7e00;
  if (a >= 65520.0) return sign | 0x7c00;  // overflow -> inf
  if (a < std::ldexp(1.0, -14)) {           // subnormal range: quantum 2^-24
    double q = std::nearbyint(a * 16777216.0);  // default rounding mode = nearest-even
    return sign | uint16_t(q);
  }
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5,1)
  double quantum = std::ldexp(1.0, e - 11);
  double q = std::nearbyint(a / quantum) * quantum;
  std::frexp(q, &e);
  int exp = e - 1 + 15;
  if (exp >= 31) return sign | 0x7c00;
  uint16_t man = uint16_t(std::ldexp(q, -(e - 1) + 10) - 1024.0 + 0.5);
  return sign | uint16_t(exp << 10) | man;
}

// precision (significand bits incl. implicit) and min normal exponent per case dtype
struct DtypeInfo {
  int p, emin;
};
inline DtypeInfo dtype_info(const std::string& dt) {
  if (dt == "float32") return {24, -126};
  if (dt == "bfloat16") return {8, -126};
  if (dt == "float16") return {11, -14};
  throw std::runtime_error("unknown dtype " + dt);
}
// spacing of the dtype grid at |x| (ulp), including the subnormal range
inline double ulp(double x, const std::string& dt) {
  DtypeInfo di = dtype_info(dt);
  double a = std::fabs(x);
  int e = di.emin;
  if (a > 0) {
    int ex;
    std::frexp(a, &ex);  // a in [2^(ex-1), 2^ex)
    e = std::max(ex - 1, di.emin);
  }
  return std::ldexp(1.0, e - (di.p - 1));
}
// value rounded to the case dtype (round-to-nearest-even), as double
inline double round_to(double x, const std::string& dt) {
  if (dt == "float32") return double(float(x));
  if (dt == "bfloat16") return bf16_to_double(double_to_bf16(x));
  return f16_to_double(double_to_f16(x));
}

// ------------------------------------------------------------------ arrays / cases
struct Array {
  std::string name, dtype;  // dtype: f32 f64 bf16 f16 u8 i64
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;
  size_t numel() const {
    size_t n = 1;
    for (auto d : shape) n *= size_t(d);
    return n;
  }
  size_t elem_size() const {
    if (dtype == "f64" || dtype == "i64") return 8;
    if (dtype == "f32") return 4;
    if (dtype == "bf16" || dtype == "f16") return 2;
    return 1;
  }
  template <class T>
  const T* data() const {
    if (sizeof(T) != elem_size()) throw std::runtime_error("golden: element size mismatch for " + name);
    return reinterpret_cast<const T*>(bytes.data());
  }
  double get(size_t i) const {
    const unsigned char* p = bytes.data() + i * elem_size();
    if (dtype == "f64") { double v; std::memcpy(&v, p, 8); return v; }
    if (dtype == "f32") { float v; std::memcpy(&v, p, 4); return v; }
    if (dtype == "bf16" || dtype == "f16") {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return dtype == "bf16" ? bf16_to_double(v) : f16_to_double(v);
    }
    if (dtype == "i64") { int64_t v; std::memcpy(&v, p, 8); return double(v); }
    return double(*p);  // u8
  }
  std::vector<double> to_double() const {
    std::vector<double> v(numel());
    for (size_t i = 0; i < v.size(); ++i) v[i] = get(i);
    return v;
  }
};

struct Case {
  std::string path;
  std::map<std::string, std::string> meta;  // every key=value header line
  std::map<std::string, Array> arrays;
  // parsed convenience fields
  std::string name, dtype;  // dtype: float32 | bfloat16 | float16
  int64_t b = 0, s = 0, h = 0, nh = 0, e = 0, hd = 0, t = 0, top_k = -1 /* -1 = None */, k_eff = 0;
  double top_p = 0, top_p_in_dtype = 0;
  bool has_grad = false, ties_at_boundary = false, fp16_emulated = false;

  bool has(const std::string& a) const { return arrays.count(a) != 0; }
  const Array& at(const std::string& a) const {
    auto it = arrays.find(a);
    if (it == arrays.end()) throw std::runtime_error("golden: case " + name + " has no array " + a);
    return it->second;
  }
};

inline Case load_case(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("golden: cannot open " + path);
  std::vector<unsigned char> buf((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string head(buf.begin(), buf.begin() + std::min<size_t>(buf.size(), 64));
  const std::string magic = "MHGOLDEN 1 header_bytes=";
  if (head.compare(0, magic.size(), magic) != 0) throw std::runtime_error("golden: bad magic in " + path);
  size_t hdr_bytes = std::stoul(head.substr(magic.size(), 8));
  if (hdr_bytes > buf.size()) throw std::runtime_error("golden: truncated header " + path);
  std::istringstream hs(std::string(buf.begin(), buf.begin() + hdr_bytes));
  Case c;
  c.path = path;
  std::string line;
  std::getline(hs, line);  // magic line
  bool ended = false;
  while (std::getline(hs, line)) {
    if (line == "END") { ended = true; break; }
    if (line.rfind("array ", 0) == 0) {
      std::istringstream ls(line.substr(6));
      Array a;
      int ndim;
      ls >> a.name >> a.dtype >> ndim;
      a.shape.resize(ndim);
      for (int i = 0; i < ndim; ++i) ls >> a.shape[i];
      size_t off, nbytes;
      ls >> off >> nbytes;
      if (!ls || hdr_bytes + off + nbytes > buf.size()) throw std::runtime_error("golden: bad array line: " + line);
      if (nbytes != a.numel() * a.elem_size()) throw std::runtime_error("golden: size mismatch: " + line);
      a.bytes.assign(buf.begin() + hdr_bytes + off, buf.begin() + hdr_bytes + off + nbytes);
      c.arrays[a.name] = std::move(a);
      continue;
    }
    auto eq = line.find('=');
    if (eq != std::string::npos) c.meta[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (!ended) throw std::runtime_error("golden: no END in header of " + path);
  auto I = [&](const char* k) { return int64_t(std::stoll(c.meta.at(k))); };
  c.name = c.meta.at("name");
  c.dtype = c.meta.at("dtype");
  if (c.meta.count("op") && c.meta.at("op") != "importance") return c;  // linear / einsum cases (ops_cases/)
  c.b = I("b"); c.s = I("s"); c.h = I("h"); c.nh = I("nh"); c.e = I("e"); c.hd = I("hd"); c.t = I("t");
  c.k_eff = I("k_eff");
  c.top_k = c.meta.at("top_k") == "none" ? -1 : I("top_k");
  c.top_p = std::strtod(c.meta.at("top_p").c_str(), nullptr);
  c.top_p_in_dtype = std::strtod(c.meta.at("top_p_in_dtype").c_str(), nullptr);
  c.has_grad = I("has_grad") != 0;
  c.ties_at_boundary = I("ties_at_boundary") != 0;
  c.fp16_emulated = I("fp16_emulated") != 0;
  return c;
}

inline std::vector<std::string> list_cases(const std::string& dir) {
  std::vector<std::string> v;
  for (auto& de : std::filesystem::directory_iterator(dir))
    if (de.path().extension() == ".bin") v.push_back(de.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

// ------------------------------------------------------------------ selection
// torch semantics: important iff P[i,j] >= dtype(top_p)  (torch rounds the Python scalar to
// P's dtype before comparing)  AND  j is among the top-k of row i.  Ties at the k-th value:
// torch's choice is unspecified; this helper breaks them by lowest index.
inline std::vector<uint8_t> select_lowest_index(const Case& c) {
  // The library's rule: rank by value descending with NaN above every number (as torch.topk),
  // equal values by ascending index; take the first k; then require P >= dtype(top_p).
  auto P = c.at("P").to_double();
  std::vector<uint8_t> m(c.b * c.s, 0);
  for (int64_t i = 0; i < c.b; ++i) {
    std::vector<int64_t> idx(c.s);
    for (int64_t j = 0; j < c.s; ++j) idx[j] = j;
    const double* row = &P[i * c.s];
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
      bool na = std::isnan(row[a]), nb = std::isnan(row[b]);
      if (na != nb) return na;
      if (na) return false;
      return row[a] > row[b];
    });
    for (int64_t r = 0; r < c.k_eff && r < c.s; ++r) {
      int64_t j = idx[r];
      m[i * c.s + j] = row[j] >= c.top_p_in_dtype;
    }
  }
  return m;
}

// True iff `mask` is a valid selection for this case: identical to the golden mask except
// for a different (equally valid) choice among values tied at the k-th largest of a row.
inline bool is_valid_selection(const Case& c, const std::vector<uint8_t>& mask, std::string* why = nullptr) {
  auto P = c.at("P").to_double();
  auto kth = c.at("kth").to_double();
  const Array& gm = c.at("mask");
  for (int64_t i = 0; i < c.b; ++i) {
    int64_t n_tie_sel = 0, g_tie_sel = 0;
    for (int64_t j = 0; j < c.s; ++j) {
      size_t q = size_t(i * c.s + j);
      bool ours = mask[q] != 0, gold = gm.get(q) != 0;
      bool tied = c.k_eff < c.s && P[q] == kth[i];
      if (tied) {
        n_tie_sel += ours;
        g_tie_sel += gold;
        if (ours && !(P[q] >= c.top_p_in_dtype)) {
          if (why) *why = "row " + std::to_string(i) + " selects a tied value below top_p";
          return false;
        }
      } else if (ours != gold) {
        if (why) *why = "position (" + std::to_string(i) + "," + std::to_string(j) + ") differs, not a tie";
        return false;
      }
    }
    if (n_tie_sel != g_tie_sel) {
      if (why) *why = "row " + std::to_string(i) + " selects a different number of tied values";
      return false;
    }
  }
  return true;
}

// ------------------------------------------------------------------ fp64 reference
struct Reference {
  std::vector<uint8_t> mask;
  std::vector<int64_t> rows;  // selected flat (i*s+j), ascending
  // values (fp64) and magnitudes sum_k |a_k w_k| for O2 [b,s,nh,e], O3 [t,nh,e], dA1 [b,s,h], dW1 [h,e]
  std::map<std::string, std::vector<double>> val, mag;
};

// Recompute all outputs in fp64 from the (low-precision) inputs for an arbitrary selection
// (e.g. your own mask after a tie-break difference).  dO3 rows are matched by rank in the
// selection, i.e. dO3[r] belongs to the r-th selected position -- only meaningful if the
// selection has the golden t.
inline Reference reference_fp64(const Case& c, const std::vector<uint8_t>& mask) {
  Reference R;
  R.mask = mask;
  for (int64_t q = 0; q < c.b * c.s; ++q)
    if (mask[q]) R.rows.push_back(q);
  const int64_t t = int64_t(R.rows.size()), h = c.h, e = c.e, nh = c.nh, hd = c.hd;
  auto A = c.at("A1").to_double(), W = c.at("W1").to_double();
  auto mh = [&](const std::vector<int64_t>& rowsel, std::vector<double>& o, std::vector<double>& m) {
    o.assign(rowsel.size() * nh * e, 0.0);
    m.assign(o.size(), 0.0);
    for (size_t r = 0; r < rowsel.size(); ++r)
      for (int64_t n = 0; n < nh; ++n)
        for (int64_t k = 0; k < hd; ++k) {
          double a = A[rowsel[r] * h + n * hd + k];
          const double* w = &W[(n * hd + k) * e];
          double* op = &o[(r * nh + n) * e];
          double* mp = &m[(r * nh + n) * e];
          for (int64_t col = 0; col < e; ++col) {
            op[col] += a * w[col];
            mp[col] += std::fabs(a * w[col]);
          }
        }
  };
  std::vector<int64_t> all(c.b * c.s);
  for (int64_t q = 0; q < c.b * c.s; ++q) all[q] = q;
  mh(all, R.val["O2"], R.mag["O2"]);
  mh(R.rows, R.val["O3"], R.mag["O3"]);
  if (c.has_grad && c.has("dO3") && c.at("dO3").shape[0] == t) {
    auto G = c.at("dO3").to_double();
    auto& dA = R.val["dA1"]; auto& dAm = R.mag["dA1"];
    auto& dW = R.val["dW1"]; auto& dWm = R.mag["dW1"];
    dA.assign(c.b * c.s * h, 0.0); dAm.assign(dA.size(), 0.0);
    dW.assign(h * e, 0.0); dWm.assign(dW.size(), 0.0);
    for (int64_t r = 0; r < t; ++r)
      for (int64_t n = 0; n < nh; ++n)
        for (int64_t k = 0; k < hd; ++k) {
          const double* g = &G[(r * nh + n) * e];
          const double* w = &W[(n * hd + k) * e];
          double acc = 0, macc = 0;
          for (int64_t col = 0; col < e; ++col) {
            acc += g[col] * w[col];
            macc += std::fabs(g[col] * w[col]);
          }
          dA[R.rows[r] * h + n * hd + k] = acc;
          dAm[R.rows[r] * h + n * hd + k] = macc;
          double a = A[R.rows[r] * h + n * hd + k];
          for (int64_t col = 0; col < e; ++col) {
            dW[(n * hd + k) * e + col] += a * g[col];
            dWm[(n * hd + k) * e + col] += std::fabs(a * g[col]);
          }
        }
  }
  return R;
}

// Reduction length K behind each output element.
inline int64_t reduction_length(const Case& c, const std::string& out) {
  if (auto it = c.meta.find("K_" + out); it != c.meta.end()) return std::stoll(it->second);  // ops_cases/
  if (out == "O2" || out == "O3") return c.hd;
  if (out == "dA1") return c.e;
  if (out == "dW1") return c.t;
  throw std::runtime_error("unknown output " + out);
}

// ------------------------------------------------------------------ tolerance rule
// Per element (see README):
//   |ours - ref| <= max(c_torch * |torch - ref|, c_ulp * ulp_dtype(ref)) + c_acc * sqrt(K) * 2^-24 * mag
// strict mode drops the torch term (dtype-only rule, independent of torch's own accuracy).
struct Tolerance {
  double c_torch = 2.0, c_ulp = 1.0, c_acc = 2.0;
  bool strict = false;
};
struct CheckResult {
  size_t n = 0, n_fail = 0;
  double worst_ratio = 0;  // max over elements of err / tol (pass iff <= 1)
  size_t worst_index = 0;
  double ours_rms_err = 0, torch_rms_err = 0;  // RMS of (x - ref), for a tensor-level view
  bool pass() const { return n_fail == 0; }
};

// ours: your output as doubles (same layout as the golden array).  If `ref` is given (from
// reference_fp64 with your own mask) it is used for ref/mag and the torch term is dropped
// for rows whose selection differs from torch's; otherwise the stored *_ref / *_mag are used.
inline CheckResult check_output(const Case& c, const std::string& out, const std::vector<double>& ours,
                                const Reference* ref = nullptr, Tolerance tol = {}) {
  CheckResult res;
  const Array& ta = c.at(out);
  std::vector<double> refv, magv;
  if (ref) {
    refv = ref->val.at(out);
    magv = ref->mag.at(out);
  } else {
    refv = c.at(out + "_ref").to_double();
    magv = c.at(out + "_mag").to_double();
  }
  if (ours.size() != refv.size()) throw std::runtime_error("check_output: size mismatch for " + out);
  // the torch term is only meaningful when our selection equals torch's
  bool same_sel = !ref || ref->rows.size() == size_t(c.t);
  if (ref && same_sel) {
    const Array& gr = c.at("rows");
    for (size_t r = 0; r < ref->rows.size(); ++r)
      if (int64_t(gr.get(r)) != ref->rows[r]) { same_sel = false; break; }
  }
  const double K = double(std::max<int64_t>(reduction_length(c, out), 1));
  double se_o = 0, se_t = 0;
  res.n = ours.size();
  for (size_t i = 0; i < ours.size(); ++i) {
    double r = refv[i];
    double err = std::fabs(ours[i] - r);
    double terr = (same_sel && ta.numel() == ours.size()) ? std::fabs(ta.get(i) - r) : 0.0;
    double tl = tol.c_ulp * ulp(r, c.dtype);
    if (!tol.strict) tl = std::max(tl, tol.c_torch * terr);
    tl += tol.c_acc * std::sqrt(K) * std::ldexp(magv[i], -24);
    double ratio = err / tl;
    if (std::isnan(ratio)) ratio = INFINITY;  // NaN output counts as failure
    if (!(err <= tl)) ++res.n_fail;
    if (ratio > res.worst_ratio) { res.worst_ratio = ratio; res.worst_index = i; }
    se_o += err * err;
    se_t += terr * terr;
  }
  if (res.n) {
    res.ours_rms_err = std::sqrt(se_o / res.n);
    res.torch_rms_err = std::sqrt(se_t / res.n);
  }
  return res;
}

}  // namespace golden
