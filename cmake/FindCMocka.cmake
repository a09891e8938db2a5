# Finds cmocka (pkg-config module cmocka); defines CMocka::CMocka.
include(${CMAKE_CURRENT_LIST_DIR}/BerthPkg.cmake)
berth_find_pkg(CMocka cmocka cmocka.h cmocka CMocka::CMocka)
