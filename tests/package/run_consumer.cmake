# tests/package/run_consumer.cmake: build and run the consumer project against costream.
# SPDX-License-Identifier: BSL-1.0
#
# cmake -DMODE=find_package|fetchcontent -DSOURCE_DIR=... -DBINARY_DIR=... -DWORK_DIR=...
#       -DCXX=... -DGENERATOR=... -P run_consumer.cmake
# find_package mode first installs the costream build tree in BINARY_DIR into WORK_DIR/prefix.
include("${CMAKE_CURRENT_LIST_DIR}/run_common.cmake")

file(REMOVE_RECURSE "${WORK_DIR}")
set(consumer_args -DCOSTREAM_CONSUMER_MODE=${MODE} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Debug)
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install "${BINARY_DIR}" --prefix "${WORK_DIR}/prefix")
  if(NOT EXISTS "${WORK_DIR}/prefix/share/cmake/costream/costream-config.cmake")
    message(FATAL_ERROR "the install has no costream-config.cmake")
  endif()
  list(APPEND consumer_args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
else()
  # FetchContent takes the consumer's choice of Asio as a cache option of costream's.
  list(APPEND consumer_args "-DCOSTREAM_SOURCE_DIR=${SOURCE_DIR}" "-DCOSTREAM_USE_BOOST_ASIO=${USE_BOOST_ASIO}")
endif()
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/package/consumer" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    ${consumer_args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
# The consumer must be on the Asio costream was built with (find_package) or asked for (FetchContent).
if(USE_BOOST_ASIO)
  file(STRINGS "${WORK_DIR}/build/CMakeCache.txt" _boost REGEX "^Boost_DIR:")
  if(NOT _boost)
    message(FATAL_ERROR "costream is on Boost.Asio, but the consumer did not find Boost")
  endif()
endif()
