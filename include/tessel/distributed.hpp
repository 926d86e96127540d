// tessel/distributed.hpp — tessel across the ranks of an MPI communicator (optional; needs
// <mpi.h> and an MPI library to link, e.g. CMake's MPI::MPI_CXX; not part of tessel.hpp).
//
//   distributed::Environment, Communicator      MPI's lifetime, tessel's private communicator
//   distributed::data_parallel_importance(…)    the importance step with the batch split
//   distributed::head_parallel_multi_head(…)    the multi-head matmul with the heads split
//   distributed::gather_into(…)                 a distributed result into one caller's tensor
//
// docs/distributed.md maps these onto torch.distributed DDP and Megatron-style tensor
// parallelism and gives their communication per step.
#pragma once

#include "core/config.hpp"

#include "distributed/communicator.hpp"
#include "distributed/data_parallel.hpp"
#include "distributed/gather.hpp"
#include "distributed/head_parallel.hpp"
#include "distributed/partition.hpp"
