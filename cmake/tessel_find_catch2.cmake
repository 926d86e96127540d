# Finds Catch2 v2 for tessel's tests (Debian 12: package catch2, v2.13: <catch2/catch.hpp>,
# Catch2::Catch2, include(Catch)) and sets TESSEL_CATCH2_FOUND. Without it, says so: the
# caller then leaves the tests out.
set(TESSEL_CATCH2_FOUND OFF)
find_package(Catch2 2 CONFIG QUIET)
if(NOT Catch2_FOUND AND CMAKE_CROSSCOMPILING)
  # Catch2 v2 is header-only, so the build machine's copy serves any target. Its include
  # directory, though, is the build machine's /usr/include, which would put that machine's
  # C library headers ahead of the target's: the tests get a directory that holds only
  # catch2/ instead.
  find_package(Catch2 2 CONFIG QUIET NO_CMAKE_FIND_ROOT_PATH)
  if(Catch2_FOUND)
    get_target_property(tessel_catch2_includes Catch2::Catch2 INTERFACE_INCLUDE_DIRECTORIES)
    find_path(TESSEL_HOST_CATCH2_INCLUDE_DIR catch2/catch.hpp PATHS ${tessel_catch2_includes}
      NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
    mark_as_advanced(TESSEL_HOST_CATCH2_INCLUDE_DIR)
    if(NOT TESSEL_HOST_CATCH2_INCLUDE_DIR)
      message(FATAL_ERROR "tessel: catch2/catch.hpp not found in ${tessel_catch2_includes}")
    endif()
    set(tessel_catch2_only "${CMAKE_CURRENT_BINARY_DIR}/host-catch2")
    file(MAKE_DIRECTORY "${tessel_catch2_only}")
    file(CREATE_LINK "${TESSEL_HOST_CATCH2_INCLUDE_DIR}/catch2" "${tessel_catch2_only}/catch2" SYMBOLIC)
    set_target_properties(Catch2::Catch2 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${tessel_catch2_only}")
  endif()
endif()
if(Catch2_FOUND)
  set(TESSEL_CATCH2_FOUND ON)
else()
  message(WARNING "tessel: Catch2 v2 was not found (Debian: apt-get install catch2), so "
                  "tessel's tests are not built. Install it to build them, or configure with "
                  "-DTESSEL_BUILD_TESTS=OFF to drop this warning.")
endif()
