// costream/error.hpp: costream's error codes and the exceptions of asyncio streams.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_ERROR_HPP
#define COSTREAM_ERROR_HPP

#include <costream/net.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>

namespace costream {

/// Error codes of costream's own category. Every costream exception is a
/// costream::system_error carrying one of these, so the no-throw forms (a
/// trailing error_code&) report exactly what the throwing forms throw.
enum class errc {
  /// End of stream came before a read could complete (asyncio's IncompleteReadError).
  incomplete_read = 1,
  /// readuntil: no separator within the limit; the data stays buffered
  /// (asyncio's LimitOverrunError).
  limit_overrun,
  /// readline: the line was longer than the limit and was discarded
  /// (asyncio raises ValueError here).
  line_too_long,
  /// A read was started while another one is waiting for data on the same reader.
  concurrent_read,
  /// An empty separator, or an empty list of separators.
  empty_separator,
  /// write() or writelines() after write_eof().
  write_after_eof,
  /// write() or writelines() after close().
  writer_closed,
  /// The connection is gone and no error says why (asyncio's
  /// ConnectionResetError("Connection lost")).
  connection_lost,
  /// feed_data() after feed_eof().
  feed_after_eof,
  /// The reader holds an exception (set_exception) that carries no error code
  /// (neither a std::system_error nor a costream::system_error).
  stored_exception,
  /// A deadline passed before the operation completed.
  timed_out,
};

namespace detail {

class error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "costream"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::incomplete_read: return "end of stream before the read could complete";
      case errc::limit_overrun: return "separator not found within the limit";
      case errc::line_too_long: return "line longer than the limit";
      case errc::concurrent_read: return "read called while another read is already waiting for incoming data";
      case errc::empty_separator: return "separator must be at least one byte";
      case errc::write_after_eof: return "cannot call write() after write_eof()";
      case errc::writer_closed: return "cannot call write() after close()";
      case errc::connection_lost: return "connection lost";
      case errc::feed_after_eof: return "feed_data() after feed_eof()";
      case errc::stored_exception: return "the reader holds an exception";
      case errc::timed_out: return "operation timed out";
    }
    return "unknown costream error";
  }

  std::error_condition default_error_condition(int value) const noexcept override {
    switch (static_cast<errc>(value)) {
      case errc::connection_lost: return std::errc::connection_reset;
      case errc::timed_out: return std::errc::timed_out;
      case errc::empty_separator: return std::errc::invalid_argument;
      default: return {value, *this};
    }
  }
};

}  // namespace detail

/// The category of costream::errc.
///
/// @return the one category object, named "costream". It maps
/// errc::connection_lost to std::errc::connection_reset, errc::timed_out to
/// std::errc::timed_out and errc::empty_separator to
/// std::errc::invalid_argument.
inline const std::error_category& error_category() noexcept {
  static const detail::error_category category;
  return category;
}

/// A std::error_code of costream's category (found by argument-dependent
/// lookup: `ec == costream::errc::limit_overrun` works). A std::error_code
/// under either Asio: std::is_error_code_enum<errc> makes errc convertible
/// to std::error_code and to Boost's error_code alike.
///
/// @param e the error.
/// @return the code of `e` in error_category().
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// End of stream before a read completed. Carries every byte the read had
/// collected (they are no longer in the reader) and how many it expected
/// (none for readuntil, which expects a separator rather than a count).
class incomplete_read_error : public system_error {
 public:
  /// An error with code errc::incomplete_read and asyncio's message ("N
  /// bytes read on a total of M expected bytes").
  ///
  /// @param partial the bytes read before end of stream.
  /// @param expected the byte count the read asked for; std::nullopt for
  /// readuntil.
  incomplete_read_error(std::string partial, std::optional<std::size_t> expected)
      : system_error(make_error_code(errc::incomplete_read), describe(partial.size(), expected)),
        partial_(std::move(partial)),
        expected_(expected) {}

  /// The bytes read before end of stream.
  ///
  /// @return the partial bytes.
  const std::string& partial() const noexcept { return partial_; }
  /// The byte count the read asked for; empty for readuntil.
  ///
  /// @return the count, or std::nullopt.
  std::optional<std::size_t> expected() const noexcept { return expected_; }

 private:
  static std::string describe(std::size_t got, std::optional<std::size_t> expected) {
    // asyncio's wording: "N bytes read on a total of M expected bytes".
    return std::to_string(got) + " bytes read on a total of " +
           (expected ? std::to_string(*expected) : std::string("undefined")) + " expected bytes";
  }

  std::string partial_;
  std::optional<std::size_t> expected_;
};

/// A separator was not found within the limit (readuntil: code
/// errc::limit_overrun, the data stays in the reader), or a line was longer
/// than the limit (readline: code errc::line_too_long, the line was discarded).
class limit_overrun_error : public system_error {
 public:
  /// An error with the given code.
  ///
  /// @param code errc::limit_overrun (readuntil) or errc::line_too_long
  /// (readline).
  /// @param consumed see consumed().
  limit_overrun_error(errc code, std::size_t consumed)
      : system_error(make_error_code(code)), consumed_(consumed) {}

  /// readuntil: how many bytes to consume to get past the overrun (asyncio's
  /// LimitOverrunError.consumed). readline: how many bytes of the over-long
  /// line were discarded, not counting its newline.
  ///
  /// @return the byte count.
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

/// The errno value of an operating-system error, 0 for any other error.
///
/// Asio reports what the system calls fail with in its own category
/// (standalone Asio 1.22's is named "asio.system"), and that category does
/// not map its values to std::errc: `ec == std::errc::connection_reset` is
/// false for a real ECONNRESET. Compare with Asio's enumerators
/// (`ec == costream::net::error::connection_reset`), with system_errno(ec) == ECONNRESET,
/// or with is_errc(ec, std::errc::connection_reset).
///
/// @param ec any error code.
/// @return its value when its category is Asio's system category,
/// std::system_category() or std::generic_category(); 0 otherwise.
inline int system_errno(const error_code& ec) noexcept {
  if (!ec) return 0;
#if defined(COSTREAM_USE_BOOST_ASIO)
  // Boost's own categories, or a std::error_code that Boost's carries.
  if (ec.category() == boost::system::system_category() || ec.category() == boost::system::generic_category())
    return ec.value();
  const std::error_code code = ec;
#else
  const std::error_code& code = ec;
  if (code.category() == net::error::get_system_category()) return code.value();
#endif
  if (code.category() == std::system_category() || code.category() == std::generic_category()) return code.value();
  return 0;
}

namespace detail {

/// Inside a catch block: the code of the exception in flight if it is a
/// std::system_error or, under Boost.Asio, Boost's system_error (what
/// costream and Asio throw there); empty otherwise.
inline std::optional<error_code> current_system_error() noexcept {
  try {
    throw;
  } catch (const std::system_error& e) {
    return error_code(e.code());
#if defined(COSTREAM_USE_BOOST_ASIO)
  } catch (const system_error& e) {
    return e.code();
#endif
  } catch (...) {
    return std::nullopt;
  }
}

/// Inside a catch block: current_system_error()'s code, or the exception in
/// flight rethrown when it carries none.
inline error_code current_system_error_or_rethrow() {
  if (auto code = current_system_error()) return *code;
  throw;
}

}  // namespace detail

/// Whether `ec` means `condition`: either it compares equal (costream's own
/// codes map errc::connection_lost to connection_reset, errc::timed_out to
/// timed_out, errc::empty_separator to invalid_argument), or it is an
/// operating-system error with that errno, whichever category Asio put it in.
///
/// @param ec any error code.
/// @param condition the portable condition to test for.
/// @return true if `ec` means `condition`.
inline bool is_errc(const error_code& ec, std::errc condition) noexcept {
  return ec == condition || (ec && system_errno(ec) == static_cast<int>(condition));
}

}  // namespace costream

/// costream::errc values are error codes: they convert to error_code.
template <>
struct std::is_error_code_enum<costream::errc> : std::true_type {};

#endif
