# cmake -P packager.cmake: what a packager of the headers does on a machine without Catch2 --
# configure tessel as the top-level project and install it, with no -DTESSEL_BUILD_TESTS=OFF.
# The configure must succeed and say that the tests are off, and the install must work.
#   -DTESSEL_SOURCE_DIR=<tessel source> -DBINARY_DIR=<scratch dir> -DCXX_COMPILER=<c++>
#   [-DGENERATOR=..] [-DMAKE_PROGRAM=..] [-DTOOLCHAIN_FILE=..]
cmake_policy(VERSION 3.21)  # run with -P: no project() to set the policies
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
tessel_require(packager.cmake TESSEL_SOURCE_DIR BINARY_DIR CXX_COMPILER)
file(REMOVE_RECURSE "${BINARY_DIR}")

tessel_cmake_args(args)
# CMAKE_DISABLE_FIND_PACKAGE_Catch2 stands in for a machine without Catch2.
list(APPEND args -S "${TESSEL_SOURCE_DIR}" -B "${BINARY_DIR}/build" -DCMAKE_DISABLE_FIND_PACKAGE_Catch2=ON
     -DTESSEL_BUILD_EXAMPLES=OFF -DTESSEL_BUILD_BENCHMARKS=OFF)
execute_process(COMMAND "${CMAKE_COMMAND}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "configure output:\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring tessel without Catch2 failed (${rc})")
endif()
if(NOT "${out}${err}" MATCHES "Catch2 v2 was not found")
  message(FATAL_ERROR "the configure did not say that the tests are off for want of Catch2")
endif()
if(EXISTS "${BINARY_DIR}/build/tests")
  message(FATAL_ERROR "tests/ was configured although Catch2 is missing")
endif()

tessel_run("cmake --install" "${CMAKE_COMMAND}" --install "${BINARY_DIR}/build" --prefix "${BINARY_DIR}/prefix")
foreach(file include/tessel/tessel.hpp share/cmake/Tessel/TesselConfig.cmake share/pkgconfig/tessel.pc
             share/doc/tessel/LICENSE)
  if(NOT EXISTS "${BINARY_DIR}/prefix/${file}")
    message(FATAL_ERROR "the install lacks ${file}")
  endif()
endforeach()
