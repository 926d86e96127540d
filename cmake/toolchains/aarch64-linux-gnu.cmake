# Cross-compiling tessel (and its tests) for 64-bit ARM Linux with Debian's cross toolchain:
#
#   apt-get install g++-aarch64-linux-gnu qemu-user        (scripts/ci/aarch64.sh does this)
#   cmake --preset ci-aarch64                              (or -DCMAKE_TOOLCHAIN_FILE=<this>)
#
# The target's C and C++ runtime (libc6-dev-arm64-cross, libstdc++-12-dev-arm64-cross,
# libgomp1-arm64-cross) comes with g++-aarch64-linux-gnu and lives under
# /usr/aarch64-linux-gnu. Programs built here run on the build machine through qemu's
# user-mode emulator: CMAKE_CROSSCOMPILING_EMULATOR makes ctest (and Catch2's test
# discovery, which runs each test program at build time) start them as
# `qemu-aarch64 -L /usr/aarch64-linux-gnu <program>`, -L naming where the target's dynamic
# loader and shared libraries are.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(TESSEL_CROSS_TRIPLE aarch64-linux-gnu)
# Where Debian's *-arm64-cross packages put the target's headers and libraries.
set(TESSEL_CROSS_ROOT "/usr/${TESSEL_CROSS_TRIPLE}")

find_program(CMAKE_C_COMPILER NAMES ${TESSEL_CROSS_TRIPLE}-gcc ${TESSEL_CROSS_TRIPLE}-gcc-12)
find_program(CMAKE_CXX_COMPILER NAMES ${TESSEL_CROSS_TRIPLE}-g++ ${TESSEL_CROSS_TRIPLE}-g++-12)
if(NOT CMAKE_CXX_COMPILER)
  message(FATAL_ERROR "${TESSEL_CROSS_TRIPLE}-g++ not found (Debian: apt-get install g++-${TESSEL_CROSS_TRIPLE})")
endif()

# Libraries, headers and packages of the target only; programs (cmake, pkg-config, qemu)
# from the build machine. Host-side packages a project wants on purpose (Catch2, which is
# header-only) are found with NO_CMAKE_FIND_ROOT_PATH by that project.
set(CMAKE_FIND_ROOT_PATH "${TESSEL_CROSS_ROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The emulator goes through a small wrapper (it adds -L <root>; see the script).
set(CMAKE_CROSSCOMPILING_EMULATOR "${CMAKE_CURRENT_LIST_DIR}/qemu-aarch64-run")
find_program(TESSEL_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
mark_as_advanced(TESSEL_QEMU_AARCH64)
if(NOT TESSEL_QEMU_AARCH64)
  message(WARNING "qemu-aarch64 not found (Debian: apt-get install qemu-user): the programs "
                  "build, but nothing can run them on this machine, so the tests will fail")
endif()
