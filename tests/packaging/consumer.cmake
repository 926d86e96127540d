# cmake -P consumer.cmake: build and run one consumer of tessel, as a user would.
#
#   -DMODE=cmake    -DSOURCE_DIR=<consumer project>  configure + build with CMake
#                   [-DPREFIX_PATH=<installed tessel>] [-DTESSEL_SOURCE_DIR=<tessel source>]
#   -DMODE=compile  one compiler command: CXX -std=c++20 <cflags> main.cpp -o x <libs>
#                   -DFLAGS_FROM=pkg-config -DPKG_CONFIG=<exe> -DPREFIX_PATH=<installed tessel>
#                   -DFLAGS_FROM=include    -DTESSEL_SOURCE_DIR=<tessel source>  (plain -I, no OpenMP)
#                     [-DSTRICT=ON -DOPENMP_FLAGS=<flag>]  (-O2 -Wall -Wextra -Werror + OpenMP)
#   common: -DBINARY_DIR=<scratch dir> -DCXX_COMPILER=<c++> [-DGENERATOR=..]
#           [-DMAKE_PROGRAM=..] [-DBUILD_TYPE=..] -DMAIN=<main.cpp>
#
# The consumer is built with the compiler's default flags for the build type: the
# environment's CXXFLAGS/LDFLAGS are dropped and no -march is added anywhere.
foreach(var MODE BINARY_DIR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "consumer.cmake: -D${var}=... is required")
  endif()
endforeach()

unset(ENV{CXXFLAGS})
unset(ENV{CPPFLAGS})
unset(ENV{LDFLAGS})
file(REMOVE_RECURSE "${BINARY_DIR}")
file(MAKE_DIRECTORY "${BINARY_DIR}")

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "${what} failed (${rc}):\n  ${command}")
  endif()
endfunction()

if(MODE STREQUAL "cmake")
  set(args -S "${SOURCE_DIR}" -B "${BINARY_DIR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
  if(GENERATOR)
    list(APPEND args -G "${GENERATOR}")
  endif()
  if(MAKE_PROGRAM)
    list(APPEND args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
  endif()
  if(BUILD_TYPE)
    list(APPEND args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
  endif()
  if(PREFIX_PATH)
    list(APPEND args "-DCMAKE_PREFIX_PATH=${PREFIX_PATH}")
  endif()
  if(TESSEL_SOURCE_DIR)
    list(APPEND args "-DTESSEL_SOURCE_DIR=${TESSEL_SOURCE_DIR}")
  endif()
  run("configuring ${SOURCE_DIR}" "${CMAKE_COMMAND}" ${args})
  set(build_args --build "${BINARY_DIR}")
  if(BUILD_TYPE)
    list(APPEND build_args --config "${BUILD_TYPE}")
  endif()
  run("building ${SOURCE_DIR}" "${CMAKE_COMMAND}" ${build_args})
  file(GLOB_RECURSE exe LIST_DIRECTORIES false
    "${BINARY_DIR}/tessel_consumer" "${BINARY_DIR}/tessel_consumer.exe")
  list(FILTER exe EXCLUDE REGEX "/CMakeFiles/")
  if(NOT exe)
    message(FATAL_ERROR "no tessel_consumer executable under ${BINARY_DIR}")
  endif()
  list(GET exe 0 exe)
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
    if(STRICT)
      # What a careful user builds with: optimized (GCC's -Wuninitialized and friends
      # only look at inlined code), all the usual warnings, as errors, with OpenMP.
      list(APPEND flags -O2 -Wall -Wextra -Werror ${OPENMP_FLAGS})
      if(GCC_BELOW_13)
        # GCC 12's own AVX-512 headers build vectors from _mm512_undefined_*() and warn
        # "'__Y' may be used uninitialized" wherever they are inlined at -O2 (GCC bug
        # 105593, fixed in GCC 13). That is not tessel's bug, so it is not judged here;
        # tessel's headers should still silence it for their users (#pragma GCC diagnostic).
        list(APPEND flags -Wno-maybe-uninitialized -Wno-uninitialized)
      endif()
      set(libs ${OPENMP_FLAGS})
    endif()
  else()
    message(FATAL_ERROR "FLAGS_FROM must be pkg-config or include")
  endif()
  if("${flags};${libs}" MATCHES "(^|;)-m[a-z0-9]")
    message(FATAL_ERROR "tessel's flags carry a machine flag: ${flags} ${libs}")
  endif()
  set(exe "${BINARY_DIR}/tessel_consumer")
  run("compiling ${MAIN}" "${CXX_COMPILER}" -std=c++20 ${flags} "${MAIN}" -o "${exe}" ${libs})
else()
  message(FATAL_ERROR "MODE must be cmake or compile")
endif()

execute_process(COMMAND "${exe}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message(STATUS "${exe}:\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the consumer exited with ${rc}")
endif()
if(NOT out MATCHES "tessel consumer OK")
  message(FATAL_ERROR "the consumer did not print 'tessel consumer OK'")
endif()
