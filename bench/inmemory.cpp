// bench/inmemory.cpp: the in-memory workload, a stream_reader fed by hand (no socket).
// SPDX-License-Identifier: BSL-1.0
//
// usage: inmemory [seconds per measurement, default 0.3] [repetitions, default 5] [op] [size]
// (op and size pick one measurement, for profiling:
// readline|readuntil|readexactly|try_readline|floor, 16|64|1024)
//
// A reader made from an executor (costream::stream_reader(executor, limit)) is fed blocks of
// about 64 KiB of records with feed_data, and the records are read back one operation each:
//   readline              records of N bytes ending in "\n"
//   readuntil("\r\n")     records of N bytes ending in "\r\n"
//   readexactly(N)        records of N bytes
//   try_readline()        the readline records, each taken as a view of the buffer (no string)
// for N = 16, 64 and 1024. Figures: ns per operation (the feed_data copy of the block included,
// amortized over its records) and allocations per operation (a replaced global operator new
// counts them; the reader's own buffer uses malloc and is reused, so it does not show). The
// median of the repetitions is reported. For scale, the same records cut out of a std::string
// with memchr into a fresh std::string ("floor") are timed too: one allocation per record is the
// least any API returning std::string pays.
//
// Output: one line per measurement, key=value pairs.
#include <costream/costream.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/this_coro.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace {
std::uint64_t allocations = 0;  // single-threaded program: a plain counter
}  // namespace

void* operator new(std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  ++allocations;
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(n != 0 ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(n != 0 ? n : 1);
}
// Not inlined: g++ 12 would otherwise see free() applied to operator new's result at the call
// sites and warn (-Wmismatched-new-delete), though both sides are ours and use malloc/free.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

enum class op_kind { readline, readuntil, readexactly, try_readline, floor };

const char* name(op_kind k) {
  switch (k) {
    case op_kind::readline: return "readline";
    case op_kind::readuntil: return "readuntil";
    case op_kind::readexactly: return "readexactly";
    case op_kind::try_readline: return "try_readline";
    case op_kind::floor: return "floor";
  }
  return "?";
}

struct sample {
  double ns_per_op;
  double allocs_per_op;
};

// About 64 KiB of records of `size` bytes: printable bytes and the kind's terminator.
std::string make_block(op_kind kind, std::size_t size, std::size_t& records) {
  records = std::max<std::size_t>(1, 65536 / size);
  std::string record(size, 'x');
  for (std::size_t i = 0; i < size; ++i) record[i] = static_cast<char>('a' + i % 26);
  if (kind == op_kind::readuntil) {
    record[size - 2] = '\r';
    record[size - 1] = '\n';
  } else if (kind != op_kind::readexactly) {
    record[size - 1] = '\n';
  }
  std::string block;
  block.reserve(records * size);
  for (std::size_t i = 0; i < records; ++i) block += record;
  return block;
}

std::size_t checksum = 0;  // keeps the results observable

// One timed pass of `blocks` blocks through the reader.
asio::awaitable<void> pass(costream::stream_reader& reader, op_kind kind, const std::string& block, std::size_t records,
                           std::size_t size, std::size_t blocks) {
  for (std::size_t b = 0; b < blocks; ++b) {
    reader.feed_data(block);
    for (std::size_t i = 0; i < records; ++i) {
      std::string record;
      switch (kind) {
        case op_kind::readline: record = co_await reader.readline(); break;
        case op_kind::readuntil: record = co_await reader.readuntil("\r\n"); break;
        case op_kind::readexactly: record = co_await reader.readexactly(size); break;
        case op_kind::try_readline:
          // The view of the buffered line: no copy, so nothing for `record`.
          checksum += reader.try_readline().value_or(std::string_view()).size();
          break;
        case op_kind::floor: break;
      }
      checksum += record.size();
    }
  }
}

// The floor: the same records cut out of a std::string buffer into fresh std::strings.
void floor_pass(const std::string& block, std::size_t records, std::size_t blocks) {
  std::string buffer;
  for (std::size_t b = 0; b < blocks; ++b) {
    buffer.append(block);
    std::size_t pos = 0;
    for (std::size_t i = 0; i < records; ++i) {
      const char* nl = static_cast<const char*>(std::memchr(buffer.data() + pos, '\n', buffer.size() - pos));
      const std::size_t end = static_cast<std::size_t>(nl - buffer.data()) + 1;
      std::string record(buffer.data() + pos, end - pos);
      checksum += record.size();
      pos = end;
    }
    buffer.erase(0, pos);
  }
}

// The thread's CPU time, not wall time: the machines this runs on are shared, and a descheduled
// thread must not count as a slow operation.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

asio::awaitable<void> measure(op_kind kind, std::size_t size, double seconds, int repetitions) {
  costream::stream_reader reader(co_await asio::this_coro::executor);
  std::size_t records = 0;
  const std::string block = make_block(kind == op_kind::floor ? op_kind::readline : kind, size, records);

  // Calibrate: how many blocks take about `seconds` (and warm up every cache and free list).
  std::size_t blocks = 1;
  for (;;) {
    const double t0 = cpu_seconds();
    if (kind == op_kind::floor) {
      floor_pass(block, records, blocks);
    } else {
      co_await pass(reader, kind, block, records, size, blocks);
    }
    const double elapsed = cpu_seconds() - t0;
    if (elapsed >= seconds / 4 || blocks >= (std::size_t{1} << 30)) {
      blocks = std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(blocks) * seconds / elapsed));
      break;
    }
    blocks *= 2;
  }

  std::vector<sample> samples;
  for (int r = 0; r < repetitions; ++r) {
    const std::uint64_t a0 = allocations;
    const double t0 = cpu_seconds();
    if (kind == op_kind::floor) {
      floor_pass(block, records, blocks);
    } else {
      co_await pass(reader, kind, block, records, size, blocks);
    }
    const double elapsed = cpu_seconds() - t0;
    const double ops = static_cast<double>(blocks * records);
    samples.push_back({elapsed * 1e9 / ops, static_cast<double>(allocations - a0) / ops});
  }
  std::sort(samples.begin(), samples.end(), [](const sample& a, const sample& b) { return a.ns_per_op < b.ns_per_op; });
  const sample& median = samples[samples.size() / 2];
  std::printf("op=%s size=%zu ns_per_op=%.1f allocs_per_op=%.2f ops=%zu\n", name(kind), size, median.ns_per_op,
              median.allocs_per_op, blocks * records);
  std::fflush(stdout);
}

asio::awaitable<void> run_all(double seconds, int repetitions, std::string only_op, std::size_t only_size) {
  for (op_kind kind : {op_kind::readline, op_kind::readuntil, op_kind::readexactly, op_kind::try_readline, op_kind::floor})
    for (std::size_t size : {std::size_t{16}, std::size_t{64}, std::size_t{1024}})
      if ((only_op.empty() || only_op == name(kind)) && (only_size == 0 || only_size == size))
        co_await measure(kind, size, seconds, repetitions);
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 0.3;
  const int repetitions = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  asio::io_context io(1);
  int status = 0;
  const std::string only_op = argc > 3 ? argv[3] : "";
  const std::size_t only_size = argc > 4 ? static_cast<std::size_t>(std::atoll(argv[4])) : 0;
  asio::co_spawn(io, run_all(seconds > 0 ? seconds : 0.3, repetitions, only_op, only_size), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "inmemory: %s\n", ex.what());
    }
    status = 1;
  });
  io.run();
  std::fprintf(stderr, "inmemory: checksum %zu\n", checksum);
  return status;
}
