# tests/package/run_common.cmake: what the package tests' scripts share.
# SPDX-License-Identifier: BSL-1.0

# run(<command>...): runs the command, failing the test if it fails.
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGV " " cmd)
    message(FATAL_ERROR "failed (${rc}): ${cmd}")
  endif()
endfunction()
