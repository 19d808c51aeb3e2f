// costream/version.hpp: version macros, read by CMake.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_VERSION_HPP
#define COSTREAM_VERSION_HPP

/// @defgroup macros Macros
/// costream's version, the configuration a program may set, and what the
/// platform and Asio provide.

/// @ingroup macros
/// The major version.
#define COSTREAM_VERSION_MAJOR 0
/// @ingroup macros
/// The minor version.
#define COSTREAM_VERSION_MINOR 1
/// @ingroup macros
/// The patch version.
#define COSTREAM_VERSION_PATCH 0

/// @ingroup macros
/// The version as one number: major * 10000 + minor * 100 + patch.
#define COSTREAM_VERSION \
  (COSTREAM_VERSION_MAJOR * 10000 + COSTREAM_VERSION_MINOR * 100 + COSTREAM_VERSION_PATCH)

#endif
