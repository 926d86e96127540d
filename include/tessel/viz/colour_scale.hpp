// tessel/viz/colour_scale.hpp — value → colour, as bhosmer/mm colours a matmul.
//
// mm's rule: the sign picks the hue (positive blue, negative red), the magnitude the
// intensity through √(|x| / max|x|), and zero is left blank. The square root spreads the
// small values of a typical weight or activation matrix (most entries are small, a few are
// large) over more of the visible range than a linear ramp would. mm draws on black, so its
// intensity is lightness going up; these pictures are drawn on white, so intensity is
// lightness going down from nearly white (a tiny value) to a deep blue or red (max|x|).
//
// Values that are not finite are drawn on purpose, never skipped:
//   ±Inf  the strongest colour of its sign (and an outline, see face.hpp); it is not part of
//         max|x|, so one overflow does not wash every other cell out to white;
//   NaN   neutral grey, a colour no number gets.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

TESSEL_NAMESPACE_BEGIN
namespace viz {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb&, const Rgb&) = default;

  // "#rrggbb"
  std::string hex() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s = "#";
    for (std::uint8_t c : {r, g, b}) {
      s += digits[c >> 4];
      s += digits[c & 15];
    }
    return s;
  }
};

// HSL (hue in degrees, saturation and lightness in [0, 1]) to 8-bit RGB, as CSS defines it.
inline Rgb hsl_to_rgb(double hue, double saturation, double lightness) {
  hue = std::fmod(std::fmod(hue, 360.0) + 360.0, 360.0);
  const double chroma = (1 - std::fabs(2 * lightness - 1)) * saturation;
  const double h = hue / 60.0;
  const double x = chroma * (1 - std::fabs(std::fmod(h, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  if (h < 1) r = chroma, g = x;
  else if (h < 2) r = x, g = chroma;
  else if (h < 3) g = chroma, b = x;
  else if (h < 4) g = x, b = chroma;
  else if (h < 5) r = x, b = chroma;
  else r = chroma, b = x;
  const double m = lightness - chroma / 2;
  auto byte = [](double v) { return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0)); };
  return {byte(r + m), byte(g + m), byte(b + m)};
}

// What a cell holds, for drawing and for the legend.
enum class CellKind { zero, number, infinite, nan };

struct CellColour {
  CellKind kind = CellKind::zero;
  Rgb fill;                // meaningless for zero (drawn without fill)
  double intensity = 0;    // √(|x| / max|x|) in [0, 1]; 1 for ±Inf
};

class ColourScale {
 public:
  // The hues and the lightness ramp. Blue and red are mm's hue pair; both ramps end at the
  // same lightness so that equal magnitudes look equally strong.
  static constexpr double positive_hue = 213, negative_hue = 4;
  static constexpr double saturation = 0.78;
  static constexpr double faintest = 0.94, strongest = 0.43;
  static constexpr Rgb nan_colour{0x8c, 0x90, 0x99};

  ColourScale() = default;
  // max_abs: the largest finite |x| the scale covers (0 when there is none).
  explicit ColourScale(double max_abs) : max_abs_(std::isfinite(max_abs) && max_abs > 0 ? max_abs : 0) {}

  double max_abs() const { return max_abs_; }

  // The colour of `t` = √(|x| / max|x|) on the ramp of a sign.
  static Rgb ramp(bool negative, double t) {
    t = std::clamp(t, 0.0, 1.0);
    return hsl_to_rgb(negative ? negative_hue : positive_hue, saturation, faintest - (faintest - strongest) * t);
  }

  CellColour colour(double x) const {
    if (std::isnan(x)) return {CellKind::nan, nan_colour, 0};
    if (x == 0) return {CellKind::zero, Rgb{}, 0};
    if (std::isinf(x)) return {CellKind::infinite, ramp(x < 0, 1), 1};
    // |x| can exceed max_abs only when the scale was set from other data; clamp then.
    const double t = max_abs_ > 0 ? std::sqrt(std::min(std::fabs(x) / max_abs_, 1.0)) : 1.0;
    return {CellKind::number, ramp(x < 0, t), t};
  }

 private:
  double max_abs_ = 0;
};

}  // namespace viz
TESSEL_NAMESPACE_END
