# cmake/costream-install.cmake: install the headers and an exported package for find_package(costream).
# SPDX-License-Identifier: BSL-1.0
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/costream" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS costream EXPORT costream-targets)

set(COSTREAM_CMAKE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/costream")
install(EXPORT costream-targets NAMESPACE costream:: DESTINATION "${COSTREAM_CMAKE_DIR}")
# costream::tls in an export set of its own: the package config loads it only
# where OpenSSL is found, so users without TLS never need OpenSSL.
if(TARGET costream_tls)
  install(TARGETS costream_tls EXPORT costream-tls-targets)
  install(EXPORT costream-tls-targets NAMESPACE costream:: DESTINATION "${COSTREAM_CMAKE_DIR}")
endif()

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/costream-config.cmake.in"
  "${PROJECT_BINARY_DIR}/costream-config.cmake"
  INSTALL_DESTINATION "${COSTREAM_CMAKE_DIR}")
# Header-only: any architecture can use the same package.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/costream-config-version.cmake"
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/costream-config.cmake"
  "${PROJECT_BINARY_DIR}/costream-config-version.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/Findasio.cmake"
  DESTINATION "${COSTREAM_CMAKE_DIR}")
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/costream")

# pkg-config files (costream.pc, costream-tls.pc) for builds without CMake.
include(costream-pkgconfig)
