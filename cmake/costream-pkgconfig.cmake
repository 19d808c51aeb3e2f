# cmake/costream-pkgconfig.cmake: install costream.pc (and costream-tls.pc) for builds that use pkg-config.
# SPDX-License-Identifier: BSL-1.0
#
#   c++ -std=c++20 app.cpp $(pkg-config --cflags --libs costream)
#   c++ -std=c++20 app.cpp $(pkg-config --cflags --libs costream-tls)   # with costream/tls.hpp
#
# Header-only and the same on every architecture: the files go to <datadir>/pkgconfig, beside the
# CMake package in <datadir>/cmake. prefix is relative to the .pc file (pkg-config's ${pcfiledir}),
# so an install moved elsewhere, or made with `cmake --install --prefix <dir>`, stays right.
set(COSTREAM_PKGCONFIG_DIR "${CMAKE_INSTALL_DATADIR}/pkgconfig")
if(IS_ABSOLUTE "${COSTREAM_PKGCONFIG_DIR}")
  set(COSTREAM_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH _costream_pc_up "/prefix/${COSTREAM_PKGCONFIG_DIR}" "/prefix")
  string(REGEX REPLACE "/$" "" _costream_pc_up "${_costream_pc_up}")
  set(COSTREAM_PC_PREFIX "\${pcfiledir}/${_costream_pc_up}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(COSTREAM_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(COSTREAM_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()

# What Asio needs, as asio::asio gives it to CMake users: its definitions (ASIO_STANDALONE, ...)
# and its include directory, unless the compiler searches that one anyway (Debian's /usr/include);
# or, on Boost.Asio, what selects Boost.
set(COSTREAM_PC_ASIO_CFLAGS "")
if(COSTREAM_USE_BOOST_ASIO)
  # On Boost.Asio: the macro that selects it, and Boost's include directory unless searched anyway.
  string(APPEND COSTREAM_PC_ASIO_CFLAGS " -DCOSTREAM_USE_BOOST_ASIO")
  foreach(_dir IN LISTS Boost_INCLUDE_DIRS)
    if(_dir AND NOT _dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
      string(APPEND COSTREAM_PC_ASIO_CFLAGS " -I${_dir}")
    endif()
  endforeach()
elseif(TARGET asio::asio)
  get_target_property(_costream_asio_defs asio::asio INTERFACE_COMPILE_DEFINITIONS)
  get_target_property(_costream_asio_dirs asio::asio INTERFACE_INCLUDE_DIRECTORIES)
  foreach(_dir IN LISTS _costream_asio_dirs)
    if(_dir AND NOT _dir IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
      string(APPEND COSTREAM_PC_ASIO_CFLAGS " -I${_dir}")
    endif()
  endforeach()
  foreach(_def IN LISTS _costream_asio_defs)
    if(_def)
      string(APPEND COSTREAM_PC_ASIO_CFLAGS " -D${_def}")
    endif()
  endforeach()
endif()
# On io_uring (COSTREAM_USE_IO_URING): Asio's macros that select it, and liburing.
set(COSTREAM_PC_LIBS "-pthread")
if(COSTREAM_USE_IO_URING)
  foreach(_def IN LISTS COSTREAM_IO_URING_DEFINITIONS)
    string(APPEND COSTREAM_PC_ASIO_CFLAGS " -D${_def}")
  endforeach()
  string(APPEND COSTREAM_PC_LIBS " -luring")
endif()

configure_file("${PROJECT_SOURCE_DIR}/cmake/costream.pc.in" "${PROJECT_BINARY_DIR}/costream.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/costream.pc" DESTINATION "${COSTREAM_PKGCONFIG_DIR}")
if(TARGET costream_tls)
  configure_file("${PROJECT_SOURCE_DIR}/cmake/costream-tls.pc.in" "${PROJECT_BINARY_DIR}/costream-tls.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/costream-tls.pc" DESTINATION "${COSTREAM_PKGCONFIG_DIR}")
endif()
