// costream/version.hpp: version macros, read by CMake.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_VERSION_HPP
#define COSTREAM_VERSION_HPP

#define COSTREAM_VERSION_MAJOR 0
#define COSTREAM_VERSION_MINOR 1
#define COSTREAM_VERSION_PATCH 0

/// The version as one number: major * 10000 + minor * 100 + patch.
#define COSTREAM_VERSION \
  (COSTREAM_VERSION_MAJOR * 10000 + COSTREAM_VERSION_MINOR * 100 + COSTREAM_VERSION_PATCH)

#endif
