# Compiler warnings for every berth target. BERTH_WERROR turns them into
# errors (CI and .ci/setup always set it).
function(berth_warnings TARGET)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${TARGET} PRIVATE -Wall -Wextra -Wshadow
      -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral)
    if(BERTH_WERROR)
      target_compile_options(${TARGET} PRIVATE -Werror)
    endif()
  endif()
endfunction()
