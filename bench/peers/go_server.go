// bench/peers/go_server.go: the Go peer of the benchmark servers: a goroutine per connection, bufio.
// SPDX-License-Identifier: BSL-1.0
//
// usage: go_server ping|echo|sink|bulk-echo
//
// Standard library only (built by bench/run.sh with GO111MODULE=off: no modules, no network),
// stock runtime (GOMAXPROCS = the number of cores). Listens on 127.0.0.1, port 0, prints
// "listening on 127.0.0.1:PORT" as its first line; SIGTERM ends it (Go's default action).
// The modes are those of costream_server.cpp:
//   ping       every line ("\n"-terminated) gets "+PONG\r\n"
//   echo       every line is written back
//   sink       io.ReadFull of 65536-byte chunks until end of stream, then "<bytes>\n", close
//   bulk-echo  every 64 KiB chunk (and the last short one) is written back, then close
// Replies go through a bufio.Writer flushed when the reader has nothing more buffered: Go's
// idiomatic way to answer a pipelined batch with one write. Go sets TCP_NODELAY by default.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
)

const chunkSize = 65536

func ping(c net.Conn) {
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		if _, err := r.ReadSlice('\n'); err != nil {
			return
		}
		w.WriteString("+PONG\r\n")
		if r.Buffered() == 0 { // the pipelined input is consumed: one write for the batch
			if w.Flush() != nil {
				return
			}
		}
	}
}

func echo(c net.Conn) {
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		w.Write(line)
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

func sink(c net.Conn) {
	chunk := make([]byte, chunkSize)
	var total int64
	for {
		n, err := io.ReadFull(c, chunk)
		total += int64(n) // at end of stream: the last, short chunk
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return
		}
	}
	fmt.Fprintf(c, "%d\n", total)
}

func bulkEcho(c net.Conn) {
	chunk := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(c, chunk)
		if n > 0 {
			if _, werr := c.Write(chunk[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	handlers := map[string]func(net.Conn){"ping": ping, "echo": echo, "sink": sink, "bulk-echo": bulkEcho}
	var handle func(net.Conn)
	if len(os.Args) == 2 {
		handle = handlers[os.Args[1]]
	}
	if handle == nil {
		fmt.Fprintln(os.Stderr, "usage: go_server ping|echo|sink|bulk-echo")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_server:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on 127.0.0.1:%d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			continue // e.g. a connection reset before it was accepted
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}
