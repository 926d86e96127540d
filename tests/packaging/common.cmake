# Helpers of the packaging scripts (cmake -P consumer.cmake, packager.cmake,
# expect_compile_error.cmake).

# Stops unless each named variable was given (-D<var>=...) and is not empty.
function(tessel_require script)
  foreach(var IN LISTS ARGN)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
      message(FATAL_ERROR "${script}: -D${var}=... is required")
    endif()
  endforeach()
endfunction()

# Runs a command that must succeed.
function(tessel_run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "${what} failed (${rc}):\n  ${command}")
  endif()
endfunction()

# Runs a command that must FAIL, saying something that matches <regex>; shows the start of
# what it said.
function(tessel_expect_failure what regex)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REPLACE ";" " " command "${ARGN}")
  string(SUBSTRING "${out}${err}" 0 3000 head)
  message(STATUS "${command}\nexited with ${rc}; its output begins:\n${head}")
  if(rc EQUAL 0)
    message(FATAL_ERROR "${what} succeeded; it must fail, saying '${regex}'")
  endif()
  if(NOT "${out}${err}" MATCHES "${regex}")
    message(FATAL_ERROR "${what} failed, but without saying '${regex}'")
  endif()
endfunction()

# The -D arguments that make a CMake project use the compiler, generator, build type,
# standard, flags and target given to the script (each only when given).
function(tessel_cmake_args out_var)
  set(args "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
  if(GENERATOR)
    list(APPEND args -G "${GENERATOR}")
  endif()
  foreach(pair MAKE_PROGRAM:CMAKE_MAKE_PROGRAM BUILD_TYPE:CMAKE_BUILD_TYPE
               CXX_STANDARD:CMAKE_CXX_STANDARD CXX_FLAGS:CMAKE_CXX_FLAGS
               TOOLCHAIN_FILE:CMAKE_TOOLCHAIN_FILE)
    string(REPLACE ":" ";" pair "${pair}")
    list(GET pair 0 from)
    list(GET pair 1 to)
    if(${from})
      list(APPEND args "-D${to}=${${from}}")
    endif()
  endforeach()
  set(${out_var} "${args}" PARENT_SCOPE)
endfunction()
