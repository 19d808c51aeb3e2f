# tests/package/run_pkgconfig.cmake: build and run a consumer through pkg-config, without CMake.
# SPDX-License-Identifier: BSL-1.0
#
# cmake -DMODULE=costream|costream-tls -DSOURCE=<consumer .cpp> -DBINARY_DIR=... -DWORK_DIR=...
#       -DCXX=... -DPKG_CONFIG=... -P run_pkgconfig.cmake
# Installs the costream build tree in BINARY_DIR into WORK_DIR/prefix, points PKG_CONFIG_PATH at
# it, then does what a Makefile user does:
#   $CXX -std=c++20 SOURCE $(pkg-config --cflags --libs MODULE) -o consumer && ./consumer
include("${CMAKE_CURRENT_LIST_DIR}/run_common.cmake")

# pkg_config(<out-var> args...): pkg-config's output, failing the test if pkg-config fails.
function(pkg_config out)
  execute_process(COMMAND "${PKG_CONFIG}" --print-errors ${ARGN} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE output OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " args)
    message(FATAL_ERROR "failed (${rc}): pkg-config ${args}")
  endif()
  set(${out} "${output}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
run("${CMAKE_COMMAND}" --install "${BINARY_DIR}" --prefix "${WORK_DIR}/prefix")
# Searched before the system's directories, so a costream installed there is not picked instead.
set(ENV{PKG_CONFIG_PATH} "${WORK_DIR}/prefix/share/pkgconfig")

# The module resolves to this prefix: its headers are where includedir says.
pkg_config(includedir --variable=includedir costream)
if(NOT EXISTS "${includedir}/costream/costream.hpp")
  message(FATAL_ERROR "costream.pc: includedir ${includedir} has no costream/costream.hpp")
endif()
file(REAL_PATH "${includedir}" includedir)
file(REAL_PATH "${WORK_DIR}/prefix" prefix)
string(FIND "${includedir}" "${prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "costream.pc: includedir ${includedir} is not in the install prefix ${prefix}")
endif()
pkg_config(version --modversion ${MODULE})
message(STATUS "${MODULE} ${version}")

pkg_config(flags --cflags --libs ${MODULE})
message(STATUS "pkg-config --cflags --libs ${MODULE}: ${flags}")
# The flags select the Asio costream was installed for.
if(USE_BOOST_ASIO AND NOT flags MATCHES "-DCOSTREAM_USE_BOOST_ASIO")
  message(FATAL_ERROR "costream is on Boost.Asio, but ${MODULE}.pc does not say so: ${flags}")
elseif(NOT USE_BOOST_ASIO AND flags MATCHES "-DCOSTREAM_USE_BOOST_ASIO")
  message(FATAL_ERROR "costream is on standalone Asio, but ${MODULE}.pc selects Boost: ${flags}")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run("${CXX}" -std=c++20 "${SOURCE}" ${flags} -o "${WORK_DIR}/consumer")
run("${WORK_DIR}/consumer")
