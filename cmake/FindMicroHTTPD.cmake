# Finds GNU libmicrohttpd (pkg-config module libmicrohttpd); defines
# MicroHTTPD::MicroHTTPD.
include(${CMAKE_CURRENT_LIST_DIR}/BerthPkg.cmake)
berth_find_pkg(MicroHTTPD libmicrohttpd microhttpd.h microhttpd MicroHTTPD::MicroHTTPD)
