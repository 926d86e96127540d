// tessel/viz/svg_document.hpp — a small SVG writer that cannot produce malformed XML.
//
// Elements are opened and closed through one object that keeps the stack of open tags, so
// every start tag gets its end tag; attribute values and text are escaped on the way in.
// The document's size is known only once everything is drawn, so the writer also tracks the
// bounding box of what was drawn (text by an estimate of its width) and finish() sets the
// viewBox around it. One user unit of the viewBox is one CSS pixel (width and height equal
// the viewBox size), which is what the browser test relies on to find the faces.
#pragma once

#include "../core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

TESSEL_NAMESPACE_BEGIN
namespace viz::detail {

// Appends `text` with the five XML special characters escaped (valid in text and in
// double-quoted attribute values). Control characters other than tab and newline are not
// allowed in XML 1.0 at all, so they become spaces.
inline void append_escaped(std::string& out, std::string_view text) {
  for (char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n') out += ' ';
        else out += ch;
    }
  }
}

// A coordinate or length with at most `decimals` decimals and no trailing zeros: "12",
// "3.5", "-0.25". Non-finite numbers never reach an SVG attribute; they are written as 0.
inline void append_number(std::string& out, double value, int decimals = 2) {
  if (!std::isfinite(value)) value = 0;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  std::string_view s(buf);
  if (s.find('.') != std::string_view::npos) {
    while (!s.empty() && s.back() == '0') s.remove_suffix(1);
    if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  }
  if (s == "-0") s = "0";
  out += s;
}

inline std::string number_text(double value, int decimals = 2) {
  std::string s;
  append_number(s, value, decimals);
  return s;
}

struct Point {
  double x = 0, y = 0;
};
inline Point operator+(Point a, Point b) { return {a.x + b.x, a.y + b.y}; }
inline Point operator-(Point a, Point b) { return {a.x - b.x, a.y - b.y}; }
inline Point operator*(double k, Point a) { return {k * a.x, k * a.y}; }

// The smallest axis-aligned rectangle holding everything added to it.
struct Bounds {
  double min_x = std::numeric_limits<double>::infinity(), min_y = min_x;
  double max_x = -std::numeric_limits<double>::infinity(), max_y = max_x;
  bool empty() const { return min_x > max_x; }
  void add(Point p) {
    min_x = std::min(min_x, p.x);
    max_x = std::max(max_x, p.x);
    min_y = std::min(min_y, p.y);
    max_y = std::max(max_y, p.y);
  }
  void add(const Bounds& b) {
    if (b.empty()) return;
    add(Point{b.min_x, b.min_y});
    add(Point{b.max_x, b.max_y});
  }
};

// Horizontal anchor of a text line, as SVG's text-anchor.
enum class Anchor { start, middle, end };

class SvgDocument {
 public:
  // Starts an element; attributes may follow until its first child, text or end().
  SvgDocument& begin(std::string_view tag) {
    close_start_tag();
    body_ += '<';
    body_ += tag;
    open_.emplace_back(tag);
    start_tag_open_ = true;
    return *this;
  }
  SvgDocument& attr(std::string_view name, std::string_view value) {
    body_ += ' ';
    body_ += name;
    body_ += "=\"";
    append_escaped(body_, value);
    body_ += '"';
    return *this;
  }
  SvgDocument& attr(std::string_view name, const char* value) { return attr(name, std::string_view(value)); }
  SvgDocument& attr(std::string_view name, const std::string& value) { return attr(name, std::string_view(value)); }
  SvgDocument& attr(std::string_view name, double value, int decimals = 2) {
    body_ += ' ';
    body_ += name;
    body_ += "=\"";
    append_number(body_, value, decimals);
    body_ += '"';
    return *this;
  }
  SvgDocument& text(std::string_view content) {
    close_start_tag();
    append_escaped(body_, content);
    return *this;
  }
  // Closes the innermost open element (as <tag/> when nothing was put inside it).
  SvgDocument& end() {
    if (open_.empty()) return *this;
    if (start_tag_open_) {
      body_ += "/>";
      start_tag_open_ = false;
    } else {
      body_ += "</";
      body_ += open_.back();
      body_ += '>';
    }
    open_.pop_back();
    return *this;
  }
  // A complete <title> child (a tooltip in browsers).
  SvgDocument& title(std::string_view content) { return begin("title").text(content).end(); }

  Bounds& bounds() { return bounds_; }
  const Bounds& bounds() const { return bounds_; }

  // A line of text at (x, y) (the baseline), counted into the bounds by an estimate of its
  // width: sans-serif glyphs average a little under 0.6 em.
  SvgDocument& label(Point at, std::string_view content, double font_px, Anchor anchor = Anchor::start,
                     std::string_view css_class = "", double rotate_degrees = 0) {
    begin("text").attr("x", at.x).attr("y", at.y);
    if (anchor == Anchor::middle) attr("text-anchor", "middle");
    if (anchor == Anchor::end) attr("text-anchor", "end");
    if (!css_class.empty()) attr("class", css_class);
    attr("font-size", font_px, 1);
    if (rotate_degrees != 0) {
      std::string t = "rotate(";
      append_number(t, rotate_degrees);
      t += ' ';
      append_number(t, at.x);
      t += ' ';
      append_number(t, at.y);
      t += ')';
      attr("transform", t);
    }
    text(content).end();
    const double width = text_width(content, font_px);
    const double left = anchor == Anchor::start ? 0 : anchor == Anchor::middle ? -width / 2 : -width;
    // The box of the unrotated line, turned about the anchor point like the text is.
    const double angle = rotate_degrees * 3.14159265358979323846 / 180.0;
    const double c = std::cos(angle), s = std::sin(angle);
    for (double dx : {left, left + width})
      for (double dy : {-0.8 * font_px, 0.25 * font_px}) bounds_.add(Point{at.x + c * dx - s * dy, at.y + s * dx + c * dy});
    return *this;
  }

  // A straight line a → b as a <path> of the given CSS class.
  SvgDocument& line(Point a, Point b, std::string_view css_class) {
    std::string d = "M";
    append_number(d, a.x);
    d += ' ';
    append_number(d, a.y);
    d += " L";
    append_number(d, b.x);
    d += ' ';
    append_number(d, b.y);
    begin("path").attr("class", css_class).attr("d", d).end();
    bounds_.add(a);
    bounds_.add(b);
    return *this;
  }

  static double text_width(std::string_view content, double font_px) {
    // Count code points, not bytes (labels use a few non-ASCII symbols such as "×" and "·").
    std::size_t chars = 0;
    for (char ch : content)
      if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++chars;
    return 0.58 * font_px * static_cast<double>(chars);
  }

  // The whole document: <svg> with a viewBox around the bounds plus `margin` on every side,
  // `style` (CSS) in a <style> element, then the body. Unclosed elements are closed.
  std::string finish(double margin, std::string_view style, std::string_view document_title) {
    while (!open_.empty()) end();
    Bounds b = bounds_;
    if (b.empty()) b.add(Point{0, 0});
    const double x0 = std::floor(b.min_x - margin), y0 = std::floor(b.min_y - margin);
    const double w = std::ceil(b.max_x + margin - x0), h = std::ceil(b.max_y + margin - y0);
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    auto numbers = [&out](std::initializer_list<std::pair<const char*, double>> items) {
      for (const auto& [prefix, value] : items) {
        out += prefix;
        append_number(out, value, 0);
      }
    };
    numbers({{"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"", w}, {"\" height=\"", h},
             {"\" viewBox=\"", x0}, {" ", y0}, {" ", w}, {" ", h}});
    out += "\">\n<title>";
    append_escaped(out, document_title);
    out += "</title>\n<style>";
    append_escaped(out, style);  // CSS here never needs '<' or '&'; escaping keeps the XML valid regardless
    out += "</style>\n";
    // A white page behind everything, so the picture reads the same on a dark viewer.
    numbers({{"<rect x=\"", x0}, {"\" y=\"", y0}, {"\" width=\"", w}, {"\" height=\"", h}});
    out += "\" fill=\"#ffffff\"/>\n";
    out += body_;
    out += "\n</svg>\n";
    return out;
  }

 private:
  void close_start_tag() {
    if (start_tag_open_) {
      body_ += '>';
      start_tag_open_ = false;
    }
  }

  std::string body_;
  std::vector<std::string> open_;
  bool start_tag_open_ = false;
  Bounds bounds_;
};

}  // namespace viz::detail
TESSEL_NAMESPACE_END
