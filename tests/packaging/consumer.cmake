# cmake -P consumer.cmake: build and run one consumer of tessel, as a user would.
#
#   -DMODE=cmake    -DSOURCE_DIR=<consumer project>  configure + build with CMake
#                   [-DPREFIX_PATH=<installed tessel>] [-DTESSEL_SOURCE_DIR=<tessel source>]
#                   [-DCMAKE_ARGS=<a|b|...>]      more -D arguments for the configure
#                   [-DEXPECT_CONFIGURE_ERROR=<regex>]  the configure must fail saying this
#                   [-DDOWNSTREAM_DIR=<project>]  then install the consumer into a prefix and
#                                                 build and run that project against it
#   -DMODE=compile  one compiler command: CXX <std> <cflags> main.cpp -o x <libs>
#                   -DFLAGS_FROM=pkg-config -DPKG_CONFIG=<exe> -DPREFIX_PATH=<installed tessel>
#                   -DFLAGS_FROM=include    -DTESSEL_SOURCE_DIR=<tessel source>  (plain -I)
#                   [-DOPENMP_FLAGS=<flag>]       added when compiling and when linking
#   common: -DBINARY_DIR=<scratch dir> -DCXX_COMPILER=<c++> -DMAIN=<main.cpp>
#           [-DGENERATOR=..] [-DMAKE_PROGRAM=..] [-DBUILD_TYPE=..]
#           [-DCXX_STANDARD=20|23] (cmake mode: CMAKE_CXX_STANDARD) [-DSTD_FLAG=-std=c++20] (compile mode)
#           [-DCXX_FLAGS="<flags>"]  the build's own flags that consumers share (-stdlib=libc++)
#           [-DTOOLCHAIN_FILE=..] [-DEMULATOR=..]  cross builds: the program runs in the emulator
#           [-DEXPECT_OPENMP=ON|OFF]  whether the program must report a build with OpenMP
#
# The consumer is built with the compiler's default flags for the build type: the
# environment's CXXFLAGS/LDFLAGS are dropped and no -march is added anywhere. The program
# runs with TESSEL_NUM_THREADS=3 and must print "tessel consumer OK".
cmake_policy(VERSION 3.21)  # run with -P: no project() to set the policies
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
tessel_require(consumer.cmake MODE BINARY_DIR CXX_COMPILER)

unset(ENV{CXXFLAGS})
unset(ENV{CPPFLAGS})
unset(ENV{LDFLAGS})
file(REMOVE_RECURSE "${BINARY_DIR}")
file(MAKE_DIRECTORY "${BINARY_DIR}")
if(NOT STD_FLAG)
  set(STD_FLAG -std=c++20)
endif()
separate_arguments(cxx_flags UNIX_COMMAND "${CXX_FLAGS}")

tessel_cmake_args(cmake_common)

# Configures and builds <source> in <binary> (PREFIX_PATH: where installed packages are)
# and sets <exe_var> to its tessel_consumer program.
function(build_project source binary prefix_path exe_var)
  set(args -S "${source}" -B "${binary}" ${cmake_common})
  if(prefix_path)
    list(APPEND args "-DCMAKE_PREFIX_PATH=${prefix_path}")
    if(TOOLCHAIN_FILE)
      # A cross toolchain searches packages only inside the target's root and below the
      # staging prefix (CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY), which is where cross-built
      # packages are installed.
      list(APPEND args "-DCMAKE_STAGING_PREFIX=${prefix_path}")
    endif()
  endif()
  if(TESSEL_SOURCE_DIR)
    list(APPEND args "-DTESSEL_SOURCE_DIR=${TESSEL_SOURCE_DIR}")
  endif()
  if(CMAKE_ARGS)
    string(REPLACE "|" ";" extra "${CMAKE_ARGS}")
    list(APPEND args ${extra})
  endif()
  if(DEFINED EXPECT_CONFIGURE_ERROR)
    tessel_expect_failure("configuring ${source}" "${EXPECT_CONFIGURE_ERROR}" "${CMAKE_COMMAND}" ${args})
    set(${exe_var} "" PARENT_SCOPE)
    return()
  endif()
  tessel_run("configuring ${source}" "${CMAKE_COMMAND}" ${args})
  set(build_args --build "${binary}")
  if(BUILD_TYPE)
    list(APPEND build_args --config "${BUILD_TYPE}")
  endif()
  tessel_run("building ${source}" "${CMAKE_COMMAND}" ${build_args})
  file(GLOB_RECURSE exe LIST_DIRECTORIES false "${binary}/tessel_consumer" "${binary}/tessel_consumer.exe")
  list(FILTER exe EXCLUDE REGEX "/CMakeFiles/")
  if(NOT exe)
    message(FATAL_ERROR "no tessel_consumer executable under ${binary}")
  endif()
  list(GET exe 0 exe)
  set(${exe_var} "${exe}" PARENT_SCOPE)
endfunction()

# Runs the consumer program and checks what it printed.
function(run_consumer exe)
  set(ENV{TESSEL_NUM_THREADS} 3)
  execute_process(COMMAND ${EMULATOR} "${exe}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
  message(STATUS "${exe}:\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the consumer exited with ${rc}")
  endif()
  if(NOT out MATCHES "tessel consumer OK")
    message(FATAL_ERROR "the consumer did not print 'tessel consumer OK'")
  endif()
  if(DEFINED EXPECT_OPENMP)
    if(EXPECT_OPENMP)
      set(want yes)
    else()
      set(want no)
    endif()
    if(NOT out MATCHES "openmp: ${want}")
      message(FATAL_ERROR "the consumer should have been built with openmp: ${want}")
    endif()
  endif()
endfunction()

if(MODE STREQUAL "cmake")
  build_project("${SOURCE_DIR}" "${BINARY_DIR}" "${PREFIX_PATH}" exe)
  if(NOT exe)
    return()  # an expected configure error
  endif()
  run_consumer("${exe}")
  if(DOWNSTREAM_DIR)
    # What the consumer's users get: its own package and tessel's, in one prefix.
    set(prefix "${BINARY_DIR}/prefix")
    tessel_run("installing ${SOURCE_DIR}" "${CMAKE_COMMAND}" --install "${BINARY_DIR}" --prefix "${prefix}")
    foreach(file include/tessel/tessel.hpp share/cmake/Tessel/TesselConfig.cmake share/doc/tessel/LICENSE
                 lib/cmake/TesselUser/TesselUserConfig.cmake lib/cmake/TesselUser/TesselUserTargets.cmake)
      if(NOT EXISTS "${prefix}/${file}")
        message(FATAL_ERROR "installing ${SOURCE_DIR} did not install ${file}")
      endif()
    endforeach()
    build_project("${DOWNSTREAM_DIR}" "${BINARY_DIR}/downstream" "${prefix}" downstream_exe)
    run_consumer("${downstream_exe}")
  endif()
elseif(MODE STREQUAL "compile")
  if(FLAGS_FROM STREQUAL "pkg-config")
    set(ENV{PKG_CONFIG_PATH} "${PREFIX_PATH}/share/pkgconfig")
    execute_process(COMMAND "${PKG_CONFIG}" --modversion tessel
      OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "pkg-config does not find tessel in $ENV{PKG_CONFIG_PATH}")
    endif()
    if(EXPECTED_VERSION AND NOT version STREQUAL EXPECTED_VERSION)
      message(FATAL_ERROR "pkg-config says tessel ${version}, expected ${EXPECTED_VERSION}")
    endif()
    execute_process(COMMAND "${PKG_CONFIG}" --cflags tessel
      OUTPUT_VARIABLE cflags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc1)
    execute_process(COMMAND "${PKG_CONFIG}" --libs tessel
      OUTPUT_VARIABLE libs OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc2)
    if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0)
      message(FATAL_ERROR "pkg-config --cflags/--libs tessel failed")
    endif()
    message(STATUS "pkg-config --cflags tessel: ${cflags}")
    message(STATUS "pkg-config --libs tessel: ${libs}")
    separate_arguments(flags UNIX_COMMAND "${cflags}")
    separate_arguments(libs UNIX_COMMAND "${libs}")
  elseif(FLAGS_FROM STREQUAL "include")
    set(flags "-I${TESSEL_SOURCE_DIR}/include")
    set(libs "")
  else()
    message(FATAL_ERROR "FLAGS_FROM must be pkg-config or include")
  endif()
  if("${flags};${libs}" MATCHES "(^|;)-m[a-z0-9]")
    message(FATAL_ERROR "tessel's flags carry a machine flag: ${flags} ${libs}")
  endif()
  set(exe "${BINARY_DIR}/tessel_consumer")
  tessel_run("compiling ${MAIN}" "${CXX_COMPILER}" ${STD_FLAG} ${cxx_flags} ${OPENMP_FLAGS} ${flags} "${MAIN}"
      -o "${exe}" ${libs} ${cxx_flags} ${OPENMP_FLAGS})
  run_consumer("${exe}")
else()
  message(FATAL_ERROR "MODE must be cmake or compile")
endif()
