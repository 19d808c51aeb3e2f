# cmake/costream-warnings.cmake: warnings for costream's own targets (never global flags).
# SPDX-License-Identifier: BSL-1.0
option(COSTREAM_WERROR "Treat warnings in costream's own targets as errors" OFF)

function(costream_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(COSTREAM_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
