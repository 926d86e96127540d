# cmake -P strict_warnings.cmake: compile strict_warnings/strict_warnings.cpp (every public
# function, all three element types) with the flags a careful user builds with, warnings as
# errors. Optimized, because GCC's -Wmaybe-uninitialized and friends only look at inlined
# code; compiled to an object only (nothing here runs).
#   -DCXX_COMPILER=<c++> -DTESSEL_SOURCE_DIR=<tessel source> -DSOURCE=<strict_warnings.cpp>
#   -DOBJECT=<output> [-DSTD_FLAG=-std=c++20] [-DCXX_FLAGS="<flags>"] [-DVARIANT=openmp|serial]
#     openmp: with -fopenmp (OPENMP_FLAGS) and tessel's debug bounds checks (no NDEBUG)
#     serial: without OpenMP, with -DNDEBUG
#   With VARIANT=openmp, a compiler that cannot build OpenMP programs (clang without
#   libomp-dev) makes the test print "tessel packaging test skipped: ...".
cmake_policy(VERSION 3.21)  # run with -P: no project() to set the policies
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
tessel_require(strict_warnings.cmake CXX_COMPILER TESSEL_SOURCE_DIR SOURCE OBJECT)
unset(ENV{CXXFLAGS})
unset(ENV{CPPFLAGS})
if(NOT STD_FLAG)
  set(STD_FLAG -std=c++20)
endif()
separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")
get_filename_component(dir "${OBJECT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")

if(VARIANT STREQUAL "openmp")
  if(NOT OPENMP_FLAGS)
    set(OPENMP_FLAGS -fopenmp)
  endif()
  set(probe "${OBJECT}.omp_probe.cpp")
  file(WRITE "${probe}" "#include <omp.h>\nint main() { return omp_get_max_threads() > 0 ? 0 : 1; }\n")
  execute_process(COMMAND "${CXX_COMPILER}" ${cxx_flags} ${OPENMP_FLAGS} "${probe}" -o "${probe}.out"
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(NOT rc EQUAL 0)
    message("tessel packaging test skipped: ${CXX_COMPILER} ${OPENMP_FLAGS} cannot build an OpenMP program here")
    return()
  endif()
  set(variant_flags ${OPENMP_FLAGS})
elseif(VARIANT STREQUAL "serial")
  set(variant_flags -DNDEBUG)
else()
  message(FATAL_ERROR "VARIANT must be openmp or serial")
endif()

set(command "${CXX_COMPILER}" ${STD_FLAG} ${cxx_flags} -O2
    -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror ${variant_flags}
    "-I${TESSEL_SOURCE_DIR}/include" -c "${SOURCE}" -o "${OBJECT}")
string(REPLACE ";" " " shown "${command}")
message(STATUS "${shown}")
execute_process(COMMAND ${command} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tessel's headers are not warning-free with these flags (exit ${rc})")
endif()
