# cmake/costream-dependencies.cmake: Threads and standalone Asio (the system's, else a pinned fetch).
# SPDX-License-Identifier: BSL-1.0
include(GNUInstallDirs)
find_package(Threads REQUIRED)

if(COSTREAM_USE_BOOST_ASIO)
  # Boost.Asio is header-only (Boost.System too, since 1.69): the header target is all it needs.
  find_package(Boost 1.81 REQUIRED)
  return()
endif()

if(NOT TARGET asio::asio)
  find_package(asio 1.22 QUIET)
endif()

if(NOT TARGET asio::asio)
  if(NOT COSTREAM_FETCH_ASIO)
    message(FATAL_ERROR "costream: standalone Asio 1.22+ not found. Install it (Debian: libasio-dev), "
                        "point asio_INCLUDE_DIR at its include directory, or set COSTREAM_FETCH_ASIO=ON.")
  endif()
  message(STATUS "costream: standalone Asio not found on the system; fetching ${COSTREAM_ASIO_TAG}")
  include(FetchContent)
  FetchContent_Declare(costream_asio
    GIT_REPOSITORY https://github.com/chriskohlhoff/asio.git
    GIT_TAG ${COSTREAM_ASIO_TAG}
    GIT_SHALLOW TRUE)
  FetchContent_GetProperties(costream_asio)
  if(NOT costream_asio_POPULATED)
    FetchContent_Populate(costream_asio)
  endif()
  # The repository keeps its headers in include/ (newer layout) or asio/include/ (older).
  if(EXISTS "${costream_asio_SOURCE_DIR}/include/asio.hpp")
    set(asio_INCLUDE_DIR "${costream_asio_SOURCE_DIR}/include" CACHE PATH "" FORCE)
  else()
    set(asio_INCLUDE_DIR "${costream_asio_SOURCE_DIR}/asio/include" CACHE PATH "" FORCE)
  endif()
  find_package(asio 1.22 REQUIRED)
endif()
