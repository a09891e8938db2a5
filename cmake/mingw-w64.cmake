# CMake toolchain file: cross-build for 64-bit Windows with Debian's
# mingw-w64 (gcc-mingw-w64-x86-64), and run the results under Wine.
#
#   cmake -S . -B build-win -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake \
#         -DBERTH_WIN_PREFIX=$(.ci/win-deps | tail -1)
#
# BERTH_WIN_PREFIX (cache variable, or the environment variable of the same
# name) is the prefix holding the static Windows builds of APR, jansson,
# PCRE2, libmicrohttpd and cmocka, as made by .ci/win-deps. Libraries, headers, packages
# and pkg-config files are searched only there and in the mingw-w64 sysroot;
# programs only on the build host.
#
# BERTH_WINE (cache or environment) overrides the Wine loader used as
# CMAKE_CROSSCOMPILING_EMULATOR (tests, and generators run at build time).

set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_berth_triple x86_64-w64-mingw32)
set(CMAKE_C_COMPILER   ${_berth_triple}-gcc)
set(CMAKE_CXX_COMPILER ${_berth_triple}-g++)
set(CMAKE_RC_COMPILER  ${_berth_triple}-windres)
find_program(CMAKE_AR     ${_berth_triple}-ar)
find_program(CMAKE_RANLIB ${_berth_triple}-ranlib)

# The toolchain file is read again for every try_compile project; keep the
# settings reaching those too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES BERTH_WIN_PREFIX BERTH_WINE)

if(NOT DEFINED BERTH_WIN_PREFIX AND DEFINED ENV{BERTH_WIN_PREFIX})
  set(BERTH_WIN_PREFIX "$ENV{BERTH_WIN_PREFIX}")
endif()
set(BERTH_WIN_PREFIX "${BERTH_WIN_PREFIX}" CACHE PATH
    "Prefix with the static Windows builds of berth's dependencies")

set(CMAKE_FIND_ROOT_PATH /usr/${_berth_triple})
if(BERTH_WIN_PREFIX)
  list(PREPEND CMAKE_FIND_ROOT_PATH "${BERTH_WIN_PREFIX}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config: read only the prefix's .pc files, never the build host's.
# Their paths are already absolute (no sysroot to prepend).
if(BERTH_WIN_PREFIX)
  set(ENV{PKG_CONFIG_LIBDIR} "${BERTH_WIN_PREFIX}/lib/pkgconfig")
else()
  # No prefix: make sure the host's Linux libraries are not picked up.
  set(ENV{PKG_CONFIG_LIBDIR} "/usr/${_berth_triple}/lib/pkgconfig")
endif()
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Wine runs what was built: /usr/lib/wine/wine64 on Debian 12 (there is no
# /usr/bin/wine64), else whatever 'wine' is on PATH.
if(NOT DEFINED BERTH_WINE AND DEFINED ENV{BERTH_WINE})
  set(BERTH_WINE "$ENV{BERTH_WINE}")
endif()
if(NOT BERTH_WINE)
  if(EXISTS /usr/lib/wine/wine64)
    set(BERTH_WINE /usr/lib/wine/wine64)
  else()
    find_program(BERTH_WINE_PROGRAM NAMES wine64 wine)
    if(BERTH_WINE_PROGRAM)
      set(BERTH_WINE "${BERTH_WINE_PROGRAM}")
    else()
      set(BERTH_WINE wine)
    endif()
  endif()
endif()
set(BERTH_WINE "${BERTH_WINE}" CACHE FILEPATH "Wine loader that runs the Windows programs")
set(CMAKE_CROSSCOMPILING_EMULATOR "${BERTH_WINE}")
