// The consumer projects' own library (../exported_library.cmake): its public header uses
// tessel's types, so whoever links it needs Tessel::tessel too (a PUBLIC dependency).
#pragma once

#include <tessel/tessel.hpp>

#include <cstdint>

// Every element of the multi-head product of an all-ones A1 [1, 1, h] and W1 [h, e] with
// nh heads is h / nh.
tessel::Tensor<float, 4> tessel_user_ones_product(std::int64_t h, std::int64_t e, std::int64_t nh);
