# Shared helper for the Find modules: pkg-config first, then a plain header
# and library search, producing an IMPORTED target either way.
include(FindPackageHandleStandardArgs)
find_package(PkgConfig QUIET)

function(berth_find_pkg NAME PCNAME HEADER LIBNAMES TARGET)
  set(_incs "")
  set(_libs "")
  set(_cflags "")
  set(_extra "")
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(_BP_${NAME} QUIET ${PCNAME})
    set(_pfx _BP_${NAME})
    if(_BP_${NAME}_FOUND)
      set(_incs ${${_pfx}_INCLUDE_DIRS})
      set(_cflags ${${_pfx}_CFLAGS_OTHER})
      # a static library's own dependencies (APR on Windows: ws2_32 ...)
      set(_extra ${${_pfx}_LIBRARIES})
      list(REMOVE_ITEM _extra ${LIBNAMES})
      set(${NAME}_VERSION ${_BP_${NAME}_VERSION} PARENT_SCOPE)
    endif()
  endif()
  find_path(${NAME}_INCLUDE_DIR ${HEADER} HINTS ${_incs} ${_BP_${NAME}_INCLUDE_DIRS}
            PATH_SUFFIXES apr-1 apr-1.0)
  find_library(${NAME}_LIBRARY NAMES ${LIBNAMES} HINTS ${_BP_${NAME}_LIBRARY_DIRS})
  find_package_handle_standard_args(${NAME}
    REQUIRED_VARS ${NAME}_LIBRARY ${NAME}_INCLUDE_DIR
    VERSION_VAR ${NAME}_VERSION)
  if(${NAME}_FOUND AND NOT TARGET ${TARGET})
    add_library(${TARGET} UNKNOWN IMPORTED GLOBAL)
    set_target_properties(${TARGET} PROPERTIES
      IMPORTED_LOCATION "${${NAME}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${${NAME}_INCLUDE_DIR}"
      INTERFACE_COMPILE_OPTIONS "${_cflags}"
      INTERFACE_LINK_LIBRARIES "${_extra}")
  endif()
  set(${NAME}_FOUND ${${NAME}_FOUND} PARENT_SCOPE)
endfunction()
