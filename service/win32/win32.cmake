# The Windows service's message table (messages.mc) as a resource of
# berth.exe: the event log's source "berth" names berth.exe as its message
# file, so Event Viewer shows berth's events as their text. Included from
# the top-level CMakeLists.txt when building for Windows.
enable_language(RC)
find_program(BERTH_WINDMC NAMES ${CMAKE_SYSTEM_PROCESSOR}-w64-mingw32-windmc windmc REQUIRED)
set(_mc ${CMAKE_CURRENT_LIST_DIR}/messages.mc)
set(_mc_out ${CMAKE_CURRENT_BINARY_DIR}/generated/messages)
add_custom_command(
  OUTPUT ${_mc_out}/messages.rc ${_mc_out}/messages.h ${_mc_out}/MSG00409.bin
  COMMAND ${CMAKE_COMMAND} -E make_directory ${_mc_out}
  COMMAND ${BERTH_WINDMC} -h ${_mc_out} -r ${_mc_out} ${_mc}
  DEPENDS ${_mc}
  COMMENT "windmc: the event log messages of berth.exe")
# windres finds MSG00409.bin, which messages.rc names, on its include path
set_source_files_properties(${_mc_out}/messages.rc PROPERTIES
  INCLUDE_DIRECTORIES ${_mc_out}
  OBJECT_DEPENDS ${_mc_out}/MSG00409.bin)
target_sources(berth PRIVATE ${_mc_out}/messages.rc)
