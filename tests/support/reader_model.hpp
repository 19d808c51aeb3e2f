// tests/support/reader_model.hpp: a synchronous reference model of stream_reader, and a checker that runs a real reader beside it step by step.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_READER_MODEL_HPP
#define COSTREAM_TESTS_SUPPORT_READER_MODEL_HPP

#include <costream/costream.hpp>

#include "support/chunks.hpp"

#include "support/net_all.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

// The model (reader_model) is the reader's rules written as plainly as
// possible: a std::string buffer, an end-of-stream flag and a stored error,
// and one function per read that either completes (and says with what) or
// waits. It never remembers how far a search got and never cares how the
// bytes were chunked; it rescans the whole buffer each time it is asked.
//
// The rules are asyncio's (CPython 3.13 streams.py) with
// costream's two documented departures (README, stream_reader.hpp):
//   1. buffered bytes come before a stored error: a read the buffer can
//      complete succeeds; one it cannot raises the error and leaves every
//      buffered byte in place;
//   2. readline drops an over-long line whole, through its newline, and
//      raises limit_overrun_error(errc::line_too_long, consumed = its length).
// Where a rule leaves a choice the model follows the implementation and says
// so.
//
// reader_check drives a real stream_reader (made from an io_context's
// executor, fed by hand, each read started with co_spawn and the context
// polled after every step) and the model in lockstep, and records the first
// difference in any outcome or in the state (buffered bytes, at_eof, the
// stored exception, whether a read waits). It only ever polls, so it cannot
// hang.

namespace costream::test {

enum class read_kind { read_some, read_all, readline, readuntil, readexactly };

/// Which overload a read uses: the throwing one, the one with a trailing
/// error_code&, or (readuntil) the one that also reports `consumed`.
enum class read_form { throwing, error_code, error_code_consumed };

struct read_request {
  read_kind kind = read_kind::read_some;
  std::size_t n = 0;                    // read_some, readexactly
  std::vector<std::string> separators;  // readuntil
  bool separator_list = false;          // readuntil: a list overload (else the single-separator one)
  bool initializer_list = false;        // readuntil list, throwing form: the initializer_list overload
  read_form form = read_form::throwing;
  // read(n), readline, readuntil with one separator, readexactly: the try_
  // read first, and the awaited read (in `form`) when it declines.
  bool try_first = false;
};

/// How a read ended. `consumed` is set only for limit_overrun and
/// line_too_long, `expected` only for incomplete_read.
struct read_outcome {
  std::string data;  // what it returned, or the partial bytes of an incomplete read
  costream::error_code ec;
  std::optional<std::size_t> consumed;
  std::optional<std::size_t> expected;
  bool operator==(const read_outcome&) const = default;
};

/// The stored exceptions the tests use: a costream::system_error with Asio's
/// code, one with costream's, and an exception that is no system_error.
enum class stored_error { connection_reset, connection_lost, other };

inline costream::error_code code_of(stored_error e) {
  switch (e) {
    case stored_error::connection_reset: return asio::error::connection_reset;
    case stored_error::connection_lost: return make_error_code(errc::connection_lost);
    case stored_error::other: break;
  }
  return make_error_code(errc::stored_exception);
}

inline constexpr const char* other_error_message = "costream test: a stored exception that is not a system_error";

inline std::exception_ptr make_stored_error(stored_error e) {
  if (e == stored_error::other) return std::make_exception_ptr(std::runtime_error(other_error_message));
  return std::make_exception_ptr(costream::system_error(code_of(e)));
}

// ---------------------------------------------------------------------------
// Descriptions, for failure messages.

inline std::string describe(const costream::error_code& ec) {
  if (!ec) return "ok";
  return std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" + ec.message() + ")";
}

inline std::string describe(const read_request& r) {
  std::string form = r.form == read_form::throwing     ? ""
                     : r.form == read_form::error_code ? ", ec"
                                                       : ", ec, consumed";
  if (r.try_first) form += ", try_ first";
  switch (r.kind) {
    case read_kind::read_some: return "read(" + std::to_string(r.n) + form + ")";
    case read_kind::read_all: return "read(" + (form.empty() ? std::string() : form.substr(2)) + ")";
    case read_kind::readline: return "readline(" + (form.empty() ? std::string() : form.substr(2)) + ")";
    case read_kind::readexactly: return "readexactly(" + std::to_string(r.n) + form + ")";
    case read_kind::readuntil: break;
  }
  std::string seps;
  for (const std::string& s : r.separators) seps += (seps.empty() ? "" : ", ") + quote(s);
  if (r.separator_list) seps = (r.initializer_list ? "{" : "span{") + seps + "}";
  return "readuntil(" + seps + form + ")";
}

inline std::string describe(const read_outcome& o) {
  std::string out = quote(o.data);
  if (o.ec) out += " " + describe(o.ec);
  if (o.consumed) out += " consumed=" + std::to_string(*o.consumed);
  if (o.expected) out += " expected=" + std::to_string(*o.expected);
  return out;
}

// ---------------------------------------------------------------------------
// The model.

class reader_model {
 public:
  explicit reader_model(std::size_t limit) : limit_(limit) {}

  std::size_t limit() const noexcept { return limit_; }
  const std::string& buffered() const noexcept { return buffer_; }
  bool eof() const noexcept { return eof_; }
  bool at_eof() const noexcept { return eof_ && buffer_.empty(); }
  bool has_exception() const noexcept { return static_cast<bool>(error_); }
  costream::error_code exception_code() const noexcept { return error_; }
  bool waiting() const noexcept { return pending_.has_value(); }
  const std::optional<read_request>& pending() const noexcept { return pending_; }

  /// Appends bytes; after feed_eof the real reader throws errc::feed_after_eof
  /// and nothing changes (returned here instead).
  costream::error_code feed_data(std::string_view bytes) {
    if (eof_) return make_error_code(errc::feed_after_eof);
    buffer_.append(bytes);
    return {};
  }

  void feed_eof() { eof_ = true; }

  /// `code` is what the no-throw forms report for the stored exception.
  void set_exception(costream::error_code code) { error_ = code; }

  /// Starts a read. Returns its outcome if it completes at once, else nullopt:
  /// it waits and becomes the pending read. A read started while another
  /// waits either completes at once from the state as it is, or fails with
  /// errc::concurrent_read having changed nothing (asyncio's RuntimeError).
  std::optional<read_outcome> start(const read_request& request) {
    read_outcome out;
    if (pending_) {
      const saved_state before = save();
      if (attempt(request, out)) return out;
      restore(before);
      return read_outcome{{}, make_error_code(errc::concurrent_read), {}, {}};
    }
    if (attempt(request, out)) return out;
    pending_ = request;
    return std::nullopt;
  }

  /// Cancels the pending read: settle() then completes it with
  /// operation_aborted, having consumed nothing; except that readline keeps
  /// what it has discarded of an over-long line, and the next readline goes
  /// on discarding it.
  void cancel() { cancelled_ = pending_.has_value(); }

  /// Looks again at the pending read (after any event): its outcome if it
  /// completes now. Asking again without a new event changes nothing.
  std::optional<read_outcome> settle() {
    if (!pending_) return std::nullopt;
    if (cancelled_) {
      cancelled_ = false;
      pending_.reset();
      return read_outcome{{}, asio::error::operation_aborted, {}, {}};
    }
    read_outcome out;
    if (!attempt(*pending_, out)) return std::nullopt;
    pending_.reset();
    return out;
  }



 private:
  struct saved_state {
    std::string buffer;
    bool discarding;
    std::size_t discarded;
  };

  saved_state save() const { return {buffer_, discarding_, discarded_}; }
  void restore(const saved_state& s) {
    buffer_ = s.buffer;
    discarding_ = s.discarding;
    discarded_ = s.discarded;
  }

  std::string take(std::size_t n) {
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  // One look at the state for `r`: true and `out` set if the read is over
  // (the state updated as it leaves it), false if it must wait.
  bool attempt(const read_request& r, read_outcome& out) {
    switch (r.kind) {
      case read_kind::read_some:
        if (r.n == 0) return true;
        if (!buffer_.empty()) {
          out.data = take(std::min(r.n, buffer_.size()));
          return true;
        }
        // The implementation raises a stored error before reporting end of
        // stream when nothing is buffered (as its doc says: "when nothing is
        // buffered"); asyncio raises it first in every case.
        if (error_) return fail_stored(out);
        return eof_;
      case read_kind::read_all:
        // At end of stream the buffer completes read(), so it succeeds even
        // with an exception stored (departure 1).
        if (eof_) {
          out.data = take(buffer_.size());
          return true;
        }
        if (error_) return fail_stored(out);
        return false;
      case read_kind::readexactly:
        if (r.n == 0) return true;
        if (buffer_.size() >= r.n) {
          out.data = take(r.n);
          return true;
        }
        if (error_) return fail_stored(out);
        if (eof_) {
          out.data = take(buffer_.size());
          out.ec = make_error_code(errc::incomplete_read);
          out.expected = r.n;
          return true;
        }
        return false;
      case read_kind::readuntil: return attempt_readuntil(r.separators, out);
      case read_kind::readline: return attempt_readline(out);
    }
    return false;
  }

  bool fail_stored(read_outcome& out) const {
    out.ec = error_;
    return true;
  }

  bool attempt_readuntil(const std::vector<std::string>& separators, read_outcome& out) {
    std::size_t longest = 0;
    bool any_empty = false;
    for (const std::string& s : separators) {
      any_empty = any_empty || s.empty();
      longest = std::max(longest, s.size());
    }
    if (separators.empty() || any_empty) {
      out.ec = make_error_code(errc::empty_separator);
      return true;
    }
    // The match that ends earliest; of matches ending at the same byte, the
    // shortest. Each separator's first occurrence is its earliest-ending one.
    std::size_t best_end = std::string::npos;
    std::size_t best_size = 0;
    for (const std::string& s : separators) {
      const std::size_t at = buffer_.find(s);
      if (at == std::string::npos) continue;
      const std::size_t end = at + s.size();
      if (end < best_end || (end == best_end && s.size() < best_size)) {
        best_end = end;
        best_size = s.size();
      }
    }
    if (best_end != std::string::npos) {
      const std::size_t start = best_end - best_size;
      if (start > limit_) return overrun(out, errc::limit_overrun, start);
      out.data = take(best_end);
      return true;
    }
    // No separator: every later match starts at or after size + 1 - longest.
    const std::size_t scanned = buffer_.size() + 1 > longest ? buffer_.size() + 1 - longest : 0;
    if (scanned > limit_) return overrun(out, errc::limit_overrun, scanned);
    if (error_) return fail_stored(out);
    if (eof_) {
      out.data = take(buffer_.size());
      out.ec = make_error_code(errc::incomplete_read);
      return true;
    }
    return false;
  }

  bool attempt_readline(read_outcome& out) {
    if (discarding_) {
      // The rest of a line known to be too long: dropped as it comes (the
      // implementation's choice; bytes of a line already being discarded
      // are dropped even when an error is stored).
      const std::size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        discarded_ += newline;
        buffer_.erase(0, newline + 1);
        discarding_ = false;
        return overrun(out, errc::line_too_long, discarded_);
      }
      discarded_ += buffer_.size();
      buffer_.clear();
      if (error_) return fail_stored(out);  // still discarding: the next readline goes on
      if (eof_) {
        discarding_ = false;
        return overrun(out, errc::line_too_long, discarded_);
      }
      return false;
    }
    const std::size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      if (newline > limit_) {
        buffer_.erase(0, newline + 1);
        return overrun(out, errc::line_too_long, newline);
      }
      out.data = take(newline + 1);
      return true;
    }
    // No newline: the buffer cannot complete the line, so a stored error is
    // raised and every byte stays (departure 1), over-long or not.
    if (error_) return fail_stored(out);
    if (buffer_.size() > limit_) {
      discarding_ = true;
      discarded_ = buffer_.size();
      buffer_.clear();
      if (eof_) {
        discarding_ = false;
        return overrun(out, errc::line_too_long, discarded_);
      }
      return false;
    }
    if (eof_) {
      out.data = take(buffer_.size());  // the partial line; empty at end of stream
      return true;
    }
    return false;
  }

  static bool overrun(read_outcome& out, errc code, std::size_t consumed) {
    out.ec = make_error_code(code);
    out.consumed = consumed;
    return true;
  }

  std::size_t limit_;
  std::string buffer_;
  bool eof_ = false;
  costream::error_code error_;       // the stored exception, as the no-throw forms report it
  bool discarding_ = false;     // readline is dropping the rest of an over-long line
  std::size_t discarded_ = 0;   // how much of it so far
  std::optional<read_request> pending_;
  bool cancelled_ = false;  // the pending read was cancelled
};

// ---------------------------------------------------------------------------
// The real reader, driven by hand.

/// Where a read started with co_spawn leaves its outcome.
struct read_slot {
  bool done = false;
  read_outcome outcome;
  std::string what;        // a stored exception that is no system_error: its what()
  std::string unexpected;  // an exception no read may throw
  bool declined = false;   // read_request::try_first: the try_ read returned nullopt
  asio::cancellation_signal cancel;  // bound to the read's coroutine
};

// The initializer_list overload, called outside any coroutine: g++ 12
// rejects a braced list inside a co_await expression ("array used as
// initializer"), e.g. `co_await reader.readuntil({a, b})`. The call copies
// the separators before it returns, so the list may end with this function.
inline asio::awaitable<std::string> readuntil_braced(stream_reader& reader, const std::vector<std::string_view>& v) {
  switch (v.size()) {
    case 1: return reader.readuntil({v[0]});
    case 2: return reader.readuntil({v[0], v[1]});
    case 3: return reader.readuntil({v[0], v[1], v[2]});
    default: return reader.readuntil({v[0], v[1], v[2], v[3]});
  }
}

inline asio::awaitable<std::string> perform_readuntil(stream_reader reader, const read_request& r,
                                                      read_outcome& out) {
  std::size_t consumed = 0;
  std::string data;
  if (!r.separator_list) {
    const std::string_view sep = r.separators.at(0);
    switch (r.form) {
      case read_form::throwing:
        if (sep == "\n") {
          data = co_await reader.readuntil();
        } else {
          data = co_await reader.readuntil(sep);
        }
        break;
      case read_form::error_code: data = co_await reader.readuntil(sep, out.ec); break;
      case read_form::error_code_consumed:
        data = co_await reader.readuntil(sep, out.ec, consumed);
        if (out.ec == errc::limit_overrun) out.consumed = consumed;
        break;
    }
    co_return data;
  }
  const std::vector<std::string_view> views(r.separators.begin(), r.separators.end());
  const std::span<const std::string_view> list(views);
  switch (r.form) {
    case read_form::throwing:
      if (r.initializer_list && !views.empty() && views.size() <= 4) {
        data = co_await readuntil_braced(reader, views);
      } else {
        data = co_await reader.readuntil(list);
      }
      break;
    case read_form::error_code: data = co_await reader.readuntil(list, out.ec); break;
    case read_form::error_code_consumed:
      data = co_await reader.readuntil(list, out.ec, consumed);
      if (out.ec == errc::limit_overrun) out.consumed = consumed;
      break;
  }
  co_return data;
}

/// read_request::try_first: the try_ read, if `r` has one; nullopt when it
/// declines or there is none (read()).
inline std::optional<std::string> try_read(stream_reader& reader, const read_request& r, read_slot& slot) {
  std::optional<std::string_view> view;
  switch (r.kind) {
    case read_kind::read_some: view = reader.try_read(r.n); break;
    case read_kind::readline: view = reader.try_readline(); break;
    case read_kind::readuntil: view = reader.try_readuntil(r.separators.at(0)); break;
    case read_kind::readexactly: view = reader.try_readexactly(r.n); break;
    case read_kind::read_all: return std::nullopt;
  }
  slot.declined = !view;
  if (!view) return std::nullopt;
  return std::string(*view);
}

/// Runs one read on `reader` and leaves how it ended in `slot`.
inline asio::awaitable<void> perform_read(stream_reader reader, read_request r, std::shared_ptr<read_slot> slot) {
  read_outcome out;
  if (r.try_first) {
    if (std::optional<std::string> data = try_read(reader, r, *slot)) {
      out.data = std::move(*data);
      slot->outcome = std::move(out);
      slot->done = true;
      co_return;
    }
    // Declined: the awaited read does the rest.
  }
  const bool throwing = r.form == read_form::throwing;
  try {
    switch (r.kind) {
      case read_kind::read_some:
        if (throwing) {
          out.data = co_await reader.read(r.n);
        } else {
          out.data = co_await reader.read(r.n, out.ec);
        }
        break;
      case read_kind::read_all:
        if (throwing) {
          out.data = co_await reader.read();
        } else {
          out.data = co_await reader.read(out.ec);
        }
        break;
      case read_kind::readline:
        if (throwing) {
          out.data = co_await reader.readline();
        } else {
          out.data = co_await reader.readline(out.ec);
        }
        break;
      case read_kind::readexactly:
        if (throwing) {
          out.data = co_await reader.readexactly(r.n);
        } else {
          out.data = co_await reader.readexactly(r.n, out.ec);
        }
        break;
      case read_kind::readuntil: out.data = co_await perform_readuntil(reader, r, out); break;
    }
    if (throwing && out.ec) slot->unexpected = "the throwing form set an error_code";
  } catch (const incomplete_read_error& e) {
    out.ec = e.code();
    out.data = e.partial();
    out.expected = e.expected();
  } catch (const limit_overrun_error& e) {
    out.ec = e.code();
    out.consumed = e.consumed();
  } catch (const costream::system_error& e) {
    out.ec = e.code();
  } catch (const std::exception& e) {
    out.ec = make_error_code(errc::stored_exception);
    slot->what = e.what();
  } catch (...) {
    slot->unexpected = "an exception of unknown type";
  }
  if (!throwing && r.form != read_form::error_code_consumed) out.consumed.reset();
  slot->outcome = std::move(out);
  slot->done = true;
}

/// A real reader and the model, driven in lockstep; the first difference is
/// kept in failure() with the steps that led to it.
class reader_check {
 public:
  /// `over_socket`: the reader is a TCP connection's, to a peer socket of
  /// the check's own on 127.0.0.1. feed_data() and feed_eof() send, and the
  /// transport delivers when it reads (continuously, pausing above 2 x
  /// limit); the model is fed exactly the bytes the reader has received,
  /// when it has received them, one delivery at a time. Otherwise the
  /// reader is fed by hand.
  explicit reader_check(std::size_t limit, bool over_socket = false)
      : reader_(over_socket ? connected_reader(limit) : stream_reader(io_.get_executor(), limit)), model_(limit) {
    note(std::string(over_socket ? "connection" : "stream_reader") + "(limit=" + std::to_string(limit) + ")");
  }

  reader_check(const reader_check&) = delete;
  reader_check& operator=(const reader_check&) = delete;

  bool failed() const noexcept { return !failure_.empty(); }
  /// The first difference and the steps before it; empty if none.
  const std::string& failure() const noexcept { return failure_; }
  const reader_model& model() const noexcept { return model_; }
  const stream_reader& reader() const noexcept { return reader_; }
  /// Each read's outcome, by the order reads were started; nullopt while it waits.
  const std::vector<std::optional<read_outcome>>& outcomes() const noexcept { return outcomes_; }
  bool waiting() const noexcept { return pending_ != nullptr; }
  /// Over a socket: how often the transport was found paused (over 2 x limit).
  std::size_t pauses() const noexcept { return pauses_; }
  /// The steps so far and their outcomes, one a line.
  const std::string& history() const noexcept { return history_; }

  void feed_data(std::string_view bytes) {
    if (failed()) return;
    if (peer_) {
      note("send(" + quote(bytes) + ")");
      asio::write(*peer_, asio::buffer(bytes.data(), bytes.size()));
      sent_ += bytes;
      return settle();
    }
    note("feed_data(" + quote(bytes) + ")");
    costream::error_code real;
    try {
      reader_.feed_data(bytes);
    } catch (const costream::system_error& e) {
      real = e.code();
    }
    const costream::error_code expected = model_.feed_data(bytes);
    if (real != expected) return fail("feed_data reported " + describe(real) + ", the model " + describe(expected));
    settle();
  }

  void feed_eof() {
    if (failed()) return;
    if (peer_) {
      note("shutdown(send)");
      peer_->shutdown(asio::socket_base::shutdown_send);
      eof_sent_ = true;
      return settle();
    }
    note("feed_eof()");
    reader_.feed_eof();
    model_.feed_eof();
    settle();
  }

  void set_exception(stored_error e) {
    if (failed()) return;
    note("set_exception(" + describe(code_of(e)) + ")");
    reader_.set_exception(make_stored_error(e));
    model_.set_exception(code_of(e));
    settle();
  }

  /// Cancels the waiting read, if any (a terminal cancellation through its
  /// coroutine's cancellation slot, as `||` or a timeout does).
  void cancel() {
    if (failed()) return;
    note(pending_ ? "cancel #" + std::to_string(pending_index_) : "cancel (no read waits)");
    if (pending_) pending_->cancel.emit(asio::cancellation_type::terminal);
    model_.cancel();
    settle();
  }

  /// Starts a read on both; returns its index in outcomes().
  std::size_t start(const read_request& request) {
    const std::size_t index = outcomes_.size();
    outcomes_.emplace_back();
    if (failed()) return index;
    note("#" + std::to_string(index) + " " + describe(request) + (pending_ ? " (while #" + std::to_string(pending_index_) + " waits)" : ""));
    auto slot = std::make_shared<read_slot>();
    asio::co_spawn(io_, perform_read(reader_, request, slot),
                   asio::bind_cancellation_slot(slot->cancel.slot(), asio::detached));
    if (peer_) {
      // Only the read's own start: every sent byte was delivered (or reading
      // is paused), so nothing else is ready to run.
      io_.restart();
      for (int i = 0; i < 8 && !slot->done && !core_->waiting(); ++i) io_.poll_one();
    } else {
      poll();
    }
    const std::optional<read_outcome> expected = model_.start(request);
    if (slot->done) {
      if (!expected) {
        fail("#" + std::to_string(index) + " completed with " + describe(slot->outcome) + "; the model waits");
        return index;
      }
      if (!compare(index, request, *slot, *expected)) return index;
      if (slot->declined && whole_record(request, *expected)) {
        fail("#" + std::to_string(index) + ": the try_ read declined what its awaitable form returned at once");
        return index;
      }
      outcomes_[index] = slot->outcome;
    } else {
      if (expected) {
        fail("#" + std::to_string(index) + " waits; the model completes with " + describe(*expected));
        return index;
      }
      if (pending_) {
        fail("#" + std::to_string(index) + " waits while #" + std::to_string(pending_index_) + " waits");
        return index;
      }
      pending_ = std::move(slot);
      pending_index_ = index;
      pending_request_ = request;
    }
    settle();
    return index;
  }

  /// Ends the stream (if not yet ended) so that a waiting read completes,
  /// and checks that none still waits.
  void finish() {
    if (failed()) return;
    if (!model_.eof() && !eof_sent_) feed_eof();
    if (!failed() && pending_) fail("#" + std::to_string(pending_index_) + " still waits after end of stream");
  }

 private:
  stream_reader connected_reader(std::size_t limit) {
    asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    peer_.emplace(io_);
    peer_->connect(acceptor.local_endpoint());
    peer_->set_option(asio::ip::tcp::no_delay(true));
    connection c = make_connection(acceptor.accept(), limit);
    core_ = c.reader.protocol()->reader_core();
    return c.reader;
  }

  // Over a socket: runs the connection one handler at a time, and after each
  // feeds the model what the reader received (and its end of stream), then
  // compares as feed_data does; until every sent byte is delivered or the
  // transport pauses with nothing left to run.
  void settle_deliveries() {
    for (int idle = 0; idle < 2000 && !failed();) {
      io_.restart();
      const std::size_t ran = io_.poll_one();
      const std::size_t received = core_->buffer().consumed_total() + core_->buffer().size();
      if (received > fed_) {
        const std::string_view arrived = std::string_view(sent_).substr(fed_, received - fed_);
        note("  (delivered " + quote(arrived) + ")");
        fed_ = received;
        const costream::error_code expected = model_.feed_data(arrived);
        if (expected) return fail("the model refused bytes the connection delivered: " + describe(expected));
        settle_once();
        continue;
      }
      if (core_->eof() && !model_.eof() && fed_ == sent_.size()) {
        note("  (delivered end of stream)");
        poll();  // end of stream wakes the waiting read through the executor, as feed_eof does
        model_.feed_eof();
        settle_once();
        continue;
      }
      if (ran != 0) continue;
      const bool caught_up = fed_ == sent_.size() && (!eof_sent_ || model_.eof());
      if (core_->reading_paused()) ++pauses_;
      if (caught_up || core_->reading_paused()) return;
      ++idle;
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (!failed()) fail("the connection did not deliver what was sent");
  }

  void poll() {
    io_.restart();
    io_.poll();
  }

  // A read that completed at once with what a try_ read must return: a
  // whole record, no error (not the end of the stream, not a partial line).
  static bool whole_record(const read_request& r, const read_outcome& o) {
    if (o.ec) return false;
    switch (r.kind) {
      case read_kind::read_some: return r.n == 0 || !o.data.empty();
      case read_kind::readline: return !o.data.empty() && o.data.back() == '\n';
      case read_kind::readuntil:
      case read_kind::readexactly: return true;
      case read_kind::read_all: return false;
    }
    return false;
  }

  void note(std::string step) {
    history_ += "  " + step + "\n";
  }

  void fail(std::string what) {
    if (failed()) return;
    failure_ = "MISMATCH: " + what + "\nsteps:\n" + history_ + "model state: buffered " + quote(model_.buffered()) +
               (model_.eof() ? ", eof" : "") + (model_.has_exception() ? ", exception " + describe(model_.exception_code()) : "") +
               "\nreal state:  buffered " + quote(reader_.buffered()) + (reader_.at_eof() ? ", at_eof" : "") +
               (reader_.exception() ? ", exception set" : "") + "\n";
  }

  bool compare(std::size_t index, const read_request& r, const read_slot& real, const read_outcome& model) {
    const std::string who = "#" + std::to_string(index) + " " + describe(r);
    if (!real.unexpected.empty()) {
      fail(who + ": " + real.unexpected);
      return false;
    }
    const read_outcome& got = real.outcome;
    bool same = got.data == model.data && got.ec == model.ec;
    // consumed and expected only where the form reports them.
    if (got.consumed && got.consumed != model.consumed) same = false;
    if (r.form == read_form::throwing && got.ec == errc::incomplete_read && got.expected != model.expected) same = false;
    if (r.form == read_form::throwing && got.ec == errc::stored_exception && real.what != other_error_message) {
      fail(who + ": the stored exception was not rethrown as it was stored: " + real.what);
      return false;
    }
    if (!same) {
      fail(who + " returned " + describe(got) + "; the model " + describe(model));
      return false;
    }
    note("    -> " + describe(got));
    return true;
  }

  void settle() {
    if (peer_) {
      settle_deliveries();
      return settle_once();
    }
    poll();
    settle_once();
  }

  void settle_once() {
    const std::optional<read_outcome> expected = model_.settle();
    if (pending_) {
      if (pending_->done != expected.has_value()) {
        return fail("#" + std::to_string(pending_index_) + " " + describe(pending_request_) +
                    (pending_->done ? " completed with " + describe(pending_->outcome) + "; the model waits"
                                    : " waits; the model completes with " + describe(*expected)));
      }
      if (pending_->done) {
        note("#" + std::to_string(pending_index_) + " completes");
        if (!compare(pending_index_, pending_request_, *pending_, *expected)) return;
        outcomes_[pending_index_] = pending_->outcome;
        pending_.reset();
      }
    } else if (expected) {
      return fail("the model completed a read that was not waiting");
    }
    if (reader_.buffered() != model_.buffered())
      return fail("buffered() is " + quote(reader_.buffered()) + "; the model's " + quote(model_.buffered()));
    if (reader_.at_eof() != model_.at_eof())
      return fail(std::string("at_eof() is ") + (reader_.at_eof() ? "true" : "false"));
    if ((reader_.exception() != nullptr) != model_.has_exception()) return fail("exception() differs");
  }

  asio::io_context io_;
  std::optional<asio::ip::tcp::socket> peer_;  // over a socket: the sending end
  std::shared_ptr<detail::reader_core> core_;   // over a socket: the reader's state
  std::string sent_;                            // over a socket: every byte sent
  std::size_t fed_ = 0;                         // ... of which the model has been fed
  bool eof_sent_ = false;
  std::size_t pauses_ = 0;
  stream_reader reader_;
  reader_model model_;
  std::shared_ptr<read_slot> pending_;  // the real read that waits, if any
  std::size_t pending_index_ = 0;
  read_request pending_request_;
  std::vector<std::optional<read_outcome>> outcomes_;
  std::string history_;
  std::string failure_;
};

}  // namespace costream::test

#endif
