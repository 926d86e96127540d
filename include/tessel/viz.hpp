// tessel/viz.hpp — pictures of matmuls as self-contained SVG documents (SPEC §11), drawn the
// way PyTorch's mm visualiser (bhosmer/mm) draws them. Not part of the umbrella tessel.hpp:
// include it where pictures are wanted.
//
//   viz::matmul_svg(L, R)                        L [i,k] @ R [k,j]: an isometric box, L on the
//                                                left face, R on top, L @ R in front
//   viz::chain_svg(A, B, C)                      (A @ B) @ C: two boxes sharing the face A @ B
//   viz::multi_head_svg(A1, W1, nh)              the head split and one box per head (SPEC §1)
//   viz::importance_svg(A1, W1, P, nh, options)  selection, gather and the head products (SPEC §2)
//   viz::qkv_views_svg(b, s, nh, hd, layout)     the fused-QKV trap: split-then-view against
//                                                view-then-split, every element by its origin
//
// Each returns one std::string holding an SVG file: no scripts, no external fonts or images;
// every cell carries a <title> tooltip with its index and value. Colours follow mm: positive
// blue, negative red, intensity √(|x| / max|x|), exact zeros blank; NaN grey, ±Inf the
// strongest colour of its sign, outlined (colour_scale.hpp). Axes longer than
// Options::max_cells are drawn in blocks showing their value of largest magnitude
// (blocks.hpp). The products are computed by tessel itself (fp32 accumulation). Invalid
// arguments throw tessel::shape_error before anything is drawn; operands with an empty axis
// give a picture that says so.
#pragma once

#include "core/config.hpp"

#include "viz/chain_svg.hpp"
#include "viz/importance_svg.hpp"
#include "viz/matmul_svg.hpp"
#include "viz/multi_head_svg.hpp"
#include "viz/options.hpp"
#include "viz/qkv_views_svg.hpp"
