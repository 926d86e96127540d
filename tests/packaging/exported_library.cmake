# Included by the add_subdirectory and FetchContent consumers: a library of the consumer
# project that links Tessel::tessel PUBLIC and is installed with install(EXPORT), with a
# package config that finds Tessel again. The generate step fails unless tessel's own
# target is in an export set (TESSEL_INSTALL, ON for subprojects too); installing the
# project installs tessel's package next to it, and ../downstream consumes both.
add_library(tessel_user_lib STATIC "${CMAKE_CURRENT_LIST_DIR}/user_lib/user_lib.cpp")
target_include_directories(tessel_user_lib PUBLIC
  $<BUILD_INTERFACE:${CMAKE_CURRENT_LIST_DIR}/user_lib>
  $<INSTALL_INTERFACE:include>)
target_link_libraries(tessel_user_lib PUBLIC Tessel::tessel)

install(TARGETS tessel_user_lib EXPORT TesselUserTargets)
install(FILES "${CMAKE_CURRENT_LIST_DIR}/user_lib/tessel_user_lib.hpp" DESTINATION include)
install(EXPORT TesselUserTargets NAMESPACE TesselUser:: DESTINATION lib/cmake/TesselUser)
file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/TesselUserConfig.cmake" [[
include(CMakeFindDependencyMacro)
find_dependency(Tessel 0.1 CONFIG)
include("${CMAKE_CURRENT_LIST_DIR}/TesselUserTargets.cmake")
]])
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/TesselUserConfig.cmake" DESTINATION lib/cmake/TesselUser)
