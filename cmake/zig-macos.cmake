# CMake toolchain file: cross-build for macOS (arm64 or x86_64) with Zig's
# C compiler, which carries macOS's libc headers and libSystem stubs. The
# results link, but nothing on a Linux machine can run them.
#
#   cmake -S . -B build-mac-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/zig-macos.cmake \
#         -DBERTH_MAC_PREFIX=$(.ci/mac-deps arm64 | tail -1) -DBERTH_TESTS=OFF
#
# BERTH_MAC_PREFIX (cache variable, or the environment variable of the same
# name) is a prefix made by .ci/mac-deps: the static macOS builds of APR,
# jansson, PCRE2 and libmicrohttpd, and in bin/ the compiler for its one
# architecture, <triple>-cc (a script running 'zig cc -target <arch>-macos':
# CMake wants a single program as the compiler), <triple>-ar and
# <triple>-ranlib. The architecture is the prefix's: CMake's APPLE is true,
# so the project takes platform/unix and platform/darwin.

set(CMAKE_SYSTEM_NAME Darwin)

# The toolchain file is read again for every try_compile project; keep the
# prefix reaching those too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES BERTH_MAC_PREFIX)

if(NOT DEFINED BERTH_MAC_PREFIX AND DEFINED ENV{BERTH_MAC_PREFIX})
  set(BERTH_MAC_PREFIX "$ENV{BERTH_MAC_PREFIX}")
endif()
if(NOT BERTH_MAC_PREFIX)
  message(FATAL_ERROR "zig-macos.cmake: set BERTH_MAC_PREFIX to a prefix made by .ci/mac-deps ARCH")
endif()
set(BERTH_MAC_PREFIX "${BERTH_MAC_PREFIX}" CACHE PATH
    "Prefix with the zig cc wrappers and static macOS builds of berth's dependencies")

file(GLOB _berth_mac_cc "${BERTH_MAC_PREFIX}/bin/*-apple-darwin-cc")
list(LENGTH _berth_mac_cc _berth_mac_n)
if(NOT _berth_mac_n EQUAL 1)
  message(FATAL_ERROR "zig-macos.cmake: no single bin/<triple>-cc in ${BERTH_MAC_PREFIX}")
endif()
string(REGEX REPLACE "-cc$" "" _berth_mac_tool "${_berth_mac_cc}")
get_filename_component(_berth_mac_triple "${_berth_mac_tool}" NAME)
string(REGEX REPLACE "-.*" "" _berth_mac_cpu "${_berth_mac_triple}")
if(_berth_mac_cpu STREQUAL "aarch64")
  set(CMAKE_SYSTEM_PROCESSOR arm64)  # what uname -m says on such a Mac
else()
  set(CMAKE_SYSTEM_PROCESSOR ${_berth_mac_cpu})
endif()

set(CMAKE_C_COMPILER "${_berth_mac_tool}-cc")
set(CMAKE_AR "${_berth_mac_tool}-ar" CACHE FILEPATH "Archiver")
set(CMAKE_RANLIB "${_berth_mac_tool}-ranlib" CACHE FILEPATH "Ranlib")

# No Xcode SDK here: zig cc finds macOS's headers itself. Left unset, CMake
# would look for an SDK (xcrun) and add -isysroot; the target is in the
# compiler script, so no -arch either.
set(CMAKE_OSX_SYSROOT "" CACHE PATH "" FORCE)
set(CMAKE_OSX_ARCHITECTURES "" CACHE STRING "" FORCE)

set(CMAKE_FIND_ROOT_PATH "${BERTH_MAC_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# CMake's Darwin platform also searches frameworks and app bundles first;
# there are none on this host to find.
set(CMAKE_FIND_FRAMEWORK NEVER)
set(CMAKE_FIND_APPBUNDLE NEVER)

# pkg-config: read only the prefix's .pc files, never the build host's.
set(ENV{PKG_CONFIG_LIBDIR} "${BERTH_MAC_PREFIX}/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
