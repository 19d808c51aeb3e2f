// examples/tls_echo.cpp: the echo pair over TLS, with the server's certificate verified.
// SPDX-License-Identifier: BSL-1.0
//
//   tls_echo server CERT KEY [port]       port 0 (the default) lets the system pick one
//   tls_echo client CA HOST PORT word...  exits 0 when every echo matched, 1 otherwise
//
// The server prints "listening on <address>:<port>", echoes lines over TLS, and on
// SIGINT/SIGTERM shuts down gracefully ("closed"). The client trusts only the CA in
// the file CA, checks that the server's certificate names HOST (a DNS name or an IP
// address), prints what was negotiated, sends each word as a line and checks the echoes.
// A refused certificate is reported as such ("certificate verify failed: ...").
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support
#include <costream/tls.hpp>       // not in costream.hpp: link costream::tls (OpenSSL)

#include <cstdint>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

// The same coroutine as echo_server's, with the TLS reader and writer types. By the
// time it runs, the handshake is done: the bytes it reads and writes are plain text.
// readline() returns "" when the client sent close_notify (TLS's end of stream).
net::awaitable<void> echo(costream::tls_stream_reader reader, costream::tls_stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();                 // flushes, then sends close_notify
  co_await writer.wait_closed();  // the client's close_notify (at most shutdown_timeout)
}

net::awaitable<void> serve(std::string cert_file, std::string key_file, std::uint16_t port) {
  // A server context holds the certificate chain (the server's own first, then any
  // intermediates) and its private key. It must outlive the server.
  net::ssl::context ctx(net::ssl::context::tls_server);
  ctx.use_certificate_chain_file(cert_file);
  ctx.use_private_key_file(key_file, net::ssl::context::pem);

  // Named before co_await, not built inside it (a g++ 12 bug, see README: Compilers).
  costream::server_options options;
  options.start_serving = false;  // listen now, accept once the error handler is set
  costream::tls_options tls(ctx);
  auto server = co_await costream::start_server(echo, "127.0.0.1", port, options, tls);
  std::cout << "listening on " << server.sockets()[0] << std::endl;

  // Each connection's handshake runs before echo() is called. A client that refuses our
  // certificate, or speaks plain TCP, fails there; that failure (or an exception escaping
  // echo()) goes to the error handler (stderr by default) and the server serves on. We
  // log it on stdout, as a server would log it.
  server.set_error_handler([](std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cout << "a client failed: " << ex.what() << std::endl;
    }
  });

  net::signal_set signals(co_await net::this_coro::executor, SIGINT, SIGTERM);
  signals.async_wait([&server](costream::error_code, int) { server.close(); });

  co_await server.serve_forever();  // starts accepting; returns after server.close()
  server.close_clients();
  co_await server.wait_closed();
  std::cout << "closed" << std::endl;
}

net::awaitable<int> talk(std::string ca_file, std::string host, std::uint16_t port, std::vector<std::string> words) {
  // A client context says whom to trust: here one CA, nothing else (for the system's
  // CAs instead: ctx.set_default_verify_paths()).
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.load_verify_file(ca_file);

  // tls_options: verify_peer is on by default, and the name checked against the
  // certificate (and sent as SNI, unless it is an IP address) is the host we connect
  // to. Set tls.server_hostname to check another name; verify_peer = false is the
  // explicit way to accept any certificate.
  costream::connection_options options;
  costream::tls_options tls(ctx);
  auto [reader, writer] = co_await costream::open_connection(host, port, options, tls);
  std::cout << "connected: " << costream::tls_version(writer) << ", " << costream::cipher(writer) << '\n';

  // From here on, the same code as over plain TCP: pipeline the lines, then read the echoes.
  for (const auto& word : words) writer.write(word + "\n");
  co_await writer.drain();
  int failures = 0;
  for (const auto& word : words) {
    std::string echo = co_await reader.readline();
    std::cout << "sent " << word << ", got " << echo;
    if (echo != word + "\n") {
      std::cout << "  <-- mismatch\n";
      ++failures;
    }
  }

  // TLS has no half-close (can_write_eof() is false): close() sends close_notify, the
  // server's readline() sees end of stream and closes too; wait_closed() waits for that.
  writer.close();
  co_await writer.wait_closed();
  co_return failures == 0 ? 0 : 1;
}

int usage() {
  std::cerr << "usage: tls_echo server CERT KEY [port]\n"
               "       tls_echo client CA HOST PORT word...\n";
  return 2;
}

int main(int argc, char* argv[]) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  net::io_context io;
  int status = 1;
  // The coroutine's exceptions come out here, when io.run() gets to its end.
  auto report = [&status](std::exception_ptr e, int result = 0) {
    if (!e) {
      status = result;
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const costream::certificate_verify_error& ex) {
      // Typed: ex.code() == costream::tls_verify_errc::hostname_mismatch,
      // certificate_has_expired, unable_to_get_issuer_certificate_locally, ...
      std::cerr << "tls_echo: certificate verify failed: " << ex.verify_message() << '\n';
    } catch (const std::exception& ex) {
      std::cerr << "tls_echo: " << ex.what() << '\n';
    }
  };

  if (args.size() >= 3 && args.size() <= 4 && args[0] == "server") {
    const auto port = static_cast<std::uint16_t>(args.size() == 4 ? std::stoul(args[3]) : 0);
    net::co_spawn(io, serve(args[1], args[2], port), [&report](std::exception_ptr e) { report(e); });
  } else if (args.size() >= 5 && args[0] == "client") {
    const auto port = static_cast<std::uint16_t>(std::stoul(args[3]));
    std::vector<std::string> words(args.begin() + 4, args.end());
    net::co_spawn(io, talk(args[1], args[2], port, std::move(words)), report);
  } else {
    return usage();
  }
  io.run();
  return status;
}
