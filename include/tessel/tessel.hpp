// tessel/tessel.hpp — the whole public API (SPEC §6), and nothing else.
//
//   Element types   float, tessel::float16, tessel::bfloat16            core/dtype.hpp
//   Views/tensors   TensorView<T, R>, Tensor<T, R>, MaybeOwnedView        core/tensor_view.hpp, core/tensor.hpp,
//                   (view operations: core/view_ops.hpp)                 core/maybe_owned_view.hpp
//   Factories       zeros, ones, full, arange, randn, *_like              core/factories.hpp
//   Comparisons     allclose, equal                                       core/compare.hpp
//   Printing        operator<<, to_string (print(torch_tensor)'s text)    core/print.hpp
//   Errors          tessel::shape_error                                   core/error.hpp
//   Memory          memory_stats(), release_cached_memory(), ...          core/allocator.hpp
//   Threads         set_num_threads(), get_num_threads()                  core/threads.hpp
//   ISA             active_isa(), set_isa(), available_isas(), cpu_features()   simd/isa_registry.hpp
//   Matmul          matmul(), matmul_into()                               ops/matmul.hpp
//   Linear          linear(), linear_into(), linear_backward(), Linear    ops/linear.hpp
//   einsum          einsum<"ij,jk->ik">(...), einsum<N>("ij,jk->ik", ...) ops/einsum.hpp
//   Multi-head      matmul_with_multi_head(), ..._into()                  ops/multi_head.hpp
//   Importance      matmul_with_importance(), ..._into(),
//                   select_important(), select_important_into()           ops/importance.hpp, ops/selection.hpp
#pragma once

#include "core/config.hpp"

#include "core/allocator.hpp"
#include "core/compare.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/factories.hpp"
#include "core/maybe_owned_view.hpp"
#include "core/print.hpp"
#include "core/shape.hpp"
#include "core/tensor.hpp"
#include "core/tensor_view.hpp"
#include "core/threads.hpp"
#include "ops/einsum.hpp"
#include "ops/importance.hpp"
#include "ops/linear.hpp"
#include "ops/matmul.hpp"
#include "ops/multi_head.hpp"
#include "ops/selection.hpp"
#include "simd/isa_registry.hpp"
