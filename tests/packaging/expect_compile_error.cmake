# cmake -P expect_compile_error.cmake: compiling the consumer program with plain -I must FAIL,
# and the first error must be tessel's own #error (core/config.hpp), not one from deep inside.
#   -DCXX_COMPILER=<c++> -DTESSEL_SOURCE_DIR=<tessel source> -DMAIN=<main.cpp>
#   -DBINARY_DIR=<scratch dir>
#   -DFLAGS=<a|b|...>   the flags of that compile ("|"-separated; may be empty)
#   -DEXPECT=<regex>    what the compiler's output must contain
#   [-DSKIP_IF=default-cxx20]  skip when the compiler's default standard is already C++20
#   [-DSKIP_IF=not-32bit]      skip when FLAGS do not give a 32-bit target with this compiler
# A skip prints "tessel packaging test skipped: <why>", which the test's
# SKIP_REGULAR_EXPRESSION turns into a visible CTest skip.
cmake_policy(VERSION 3.21)  # run with -P: no project() to set the policies
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
tessel_require(expect_compile_error.cmake CXX_COMPILER TESSEL_SOURCE_DIR MAIN BINARY_DIR EXPECT)
unset(ENV{CXXFLAGS})
unset(ENV{CPPFLAGS})
string(REPLACE "|" ";" flags "${FLAGS}")
list(REMOVE_ITEM flags "")

# The predefined macros of this compiler with these flags.
function(predefined out_var)
  file(MAKE_DIRECTORY "${BINARY_DIR}")
  set(empty "${BINARY_DIR}/empty.cpp")
  file(WRITE "${empty}" "")
  execute_process(COMMAND "${CXX_COMPILER}" ${ARGN} -x c++ -E -dM "${empty}"
    OUTPUT_VARIABLE macros ERROR_VARIABLE err RESULT_VARIABLE rc)
  file(REMOVE "${empty}")
  if(NOT rc EQUAL 0)
    set(macros "")
  endif()
  set(${out_var} "${macros}" PARENT_SCOPE)
endfunction()

if(SKIP_IF STREQUAL "default-cxx20")
  predefined(macros)
  if(macros MATCHES "#define __cplusplus ([0-9]+)L" AND CMAKE_MATCH_1 GREATER_EQUAL 202002)
    message("tessel packaging test skipped: ${CXX_COMPILER} defaults to C++20 or newer (__cplusplus ${CMAKE_MATCH_1})")
    return()
  endif()
elseif(SKIP_IF STREQUAL "not-32bit")
  predefined(macros ${flags})
  if(NOT macros MATCHES "#define __SIZEOF_POINTER__ 4")
    message("tessel packaging test skipped: ${CXX_COMPILER} ${FLAGS} does not target a 32-bit machine here")
    return()
  endif()
elseif(SKIP_IF)
  message(FATAL_ERROR "unknown SKIP_IF=${SKIP_IF}")
endif()

# -Wfatal-errors: tessel's message must be the first error, which is what the user sees
# first (without it, an older standard goes on to hundreds of errors from the headers).
# -fsyntax-only: the #error stops the compile whether or not the target's libraries (32-bit
# ones, say) are installed.
tessel_expect_failure("the compile" "${EXPECT}"
  "${CXX_COMPILER}" ${flags} "-I${TESSEL_SOURCE_DIR}/include" -Wfatal-errors -fsyntax-only "${MAIN}")
