# Finds jansson (pkg-config module jansson); defines Jansson::Jansson.
include(${CMAKE_CURRENT_LIST_DIR}/BerthPkg.cmake)
berth_find_pkg(Jansson jansson jansson.h jansson Jansson::Jansson)
