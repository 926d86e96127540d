# cmake -P install.cmake: install the tessel build tree into a fresh prefix, then move
# the prefix elsewhere, so the consumers prove the installed package is relocatable.
#   -DTESSEL_BINARY_DIR=<tessel build tree>  -DSTAGE=<dir>  -DPREFIX=<dir>  [-DCONFIG=<cfg>]
cmake_policy(VERSION 3.21)  # run with -P: no project() to set the policies
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
tessel_require(install.cmake TESSEL_BINARY_DIR STAGE PREFIX)

file(REMOVE_RECURSE "${STAGE}" "${PREFIX}")
set(config_args "")
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" --install "${TESSEL_BINARY_DIR}" --prefix "${STAGE}" ${config_args}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()

# What a user gets. Nothing from tests/, examples/ or bench/ may be installed.
set(expected
  include/tessel/tessel.hpp
  share/cmake/Tessel/TesselConfig.cmake
  share/cmake/Tessel/TesselConfigVersion.cmake
  share/cmake/Tessel/TesselTargets.cmake
  share/pkgconfig/tessel.pc
  share/doc/tessel/LICENSE)
foreach(file IN LISTS expected)
  if(NOT EXISTS "${STAGE}/${file}")
    message(FATAL_ERROR "installed tree lacks ${file}")
  endif()
endforeach()
file(GLOB_RECURSE installed RELATIVE "${STAGE}" "${STAGE}/*")
foreach(file IN LISTS installed)
  if(NOT file MATCHES "^(include/tessel/.*\\.(hpp|h)|share/cmake/Tessel/[A-Za-z-]+\\.cmake|share/pkgconfig/tessel\\.pc|share/doc/tessel/LICENSE)$")
    message(FATAL_ERROR "unexpected installed file: ${file}")
  endif()
endforeach()

# Relocatable: no package file may name the prefix it was installed to.
foreach(file share/cmake/Tessel/TesselConfig.cmake share/cmake/Tessel/TesselTargets.cmake
             share/pkgconfig/tessel.pc)
  file(READ "${STAGE}/${file}" text)
  string(FIND "${text}" "${STAGE}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${file} hard-codes the install prefix ${STAGE}")
  endif()
endforeach()

# Whether OpenMP is used is the consumer's decision (TesselConfig.cmake), so the exported
# target and the .pc file must not name it.
foreach(file share/cmake/Tessel/TesselTargets.cmake share/pkgconfig/tessel.pc)
  file(STRINGS "${STAGE}/${file}" lines REGEX "OpenMP|openmp")
  list(FILTER lines EXCLUDE REGEX "^#|^openmp_flags=|^Description:")
  if(lines)
    message(FATAL_ERROR "${file} freezes the OpenMP decision into the package: ${lines}")
  endif()
endforeach()

file(RENAME "${STAGE}" "${PREFIX}")
list(LENGTH installed count)
message(STATUS "installed ${count} files, moved to ${PREFIX}")
