# Finds PCRE2 with 8-bit code units (pkg-config module libpcre2-8); defines PCRE2::PCRE2.
include(${CMAKE_CURRENT_LIST_DIR}/BerthPkg.cmake)
berth_find_pkg(PCRE2 libpcre2-8 pcre2.h pcre2-8 PCRE2::PCRE2)
