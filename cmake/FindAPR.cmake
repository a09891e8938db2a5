# Finds APR 1.x (pkg-config module apr-1); defines APR::APR.
include(${CMAKE_CURRENT_LIST_DIR}/BerthPkg.cmake)
berth_find_pkg(APR apr-1 apr.h "apr-1;apr-1.0" APR::APR)
