#!/usr/bin/env python3
# fuzz/make_corpus.py: writes the hand-made seed scripts of fuzz/corpus/reader/ (format: fuzz/reader_fuzz.cpp).
# SPDX-License-Identifier: BSL-1.0
#
# Run from anywhere: python3 fuzz/make_corpus.py. Files found by fuzzing
# (crashes, minimised) live beside these under other names and are kept.
import os

FEED, FEED_ALPHA, FEED_RUN, EOF, ERROR = 0, 1, 2, 3, 4
READ, READ_ALL, READLINE, READUNTIL, READUNTIL_LIST, READEXACTLY, FEED_BYTE, CANCEL = 5, 6, 7, 8, 9, 10, 11, 12
TRY = 13
TRY_READ, TRY_READLINE, TRY_READUNTIL, TRY_READEXACTLY = 0, 1, 2, 3
THROWING, EC, EC_CONSUMED = 0, 1, 2
RESET, LOST, OTHER = 0, 1, 2


def limit(n):
    return bytes([n - 1])


def feed(data):
    return bytes([FEED, len(data)]) + data


def run(count, c):
    return bytes([FEED_RUN, count, c])


def eof():
    return bytes([EOF])


def error(kind=RESET):
    return bytes([ERROR, kind])


def read(n, form=THROWING):
    return bytes([READ, n * 2 + form])


def read_all(form=THROWING):
    return bytes([READ_ALL, form])


def readline(form=THROWING):
    return bytes([READLINE, form])


def readuntil(sep, form=THROWING):
    return bytes([READUNTIL, form, len(sep)]) + sep


def readuntil_list(seps, form=THROWING, init_list=False):
    out = bytes([READUNTIL_LIST, form + (6 if init_list else 0), len(seps)])
    for s in seps:
        out += bytes([len(s)]) + s
    return out


def cancel():
    return bytes([CANCEL])


def readexactly(n, form=THROWING):
    return bytes([READEXACTLY, n * 2 + form])


def try_read(kind, n=0, sep=b""):
    out = bytes([TRY, n * 4 + kind])
    if kind == TRY_READUNTIL:
        out += bytes([len(sep)]) + sep
    return out


SEEDS = {
    "read_n": limit(8) + read(3) + feed(b"hello") + read(2, EC) + read(10) + read(0) + eof() + read(4),
    "read_all": limit(4) + read_all() + feed(b"abc") + feed(b"defgh") + eof() + read_all(EC),
    "readline": limit(8) + readline() + feed(b"one\ntw") + feed(b"o\n\nthree") + readline(EC) + readline()
    + readline() + eof() + readline() + readline(),
    "readline_overlong": limit(4) + readline() + feed(b"abcdefgh") + feed(b"ij\nok\n") + readline()
    + feed(b"xxxxxxxxxx") + eof() + readline(EC),
    "readuntil": limit(10) + readuntil(b"\r\n") + feed(b"GET /\r") + feed(b"\nHost") + readuntil(b"\r\n", EC)
    + eof() + readuntil(b"\r\n"),
    "readuntil_overrun": limit(3) + feed(b"abcdefg|") + readuntil(b"|", EC_CONSUMED) + readuntil(b"#")
    + read(20) + readuntil(b"ab") + feed(b"xyzzy") + eof(),
    "readuntil_list": limit(16) + readuntil_list([b"\r\n", b"\n", b";"]) + feed(b"a;b\r\nc\n")
    + readuntil_list([b"\r\n", b"\n"], EC) + readuntil_list([b"c\n", b"\n"], THROWING, True) + eof()
    + readuntil_list([b"x", b"yz"], EC_CONSUMED),
    "readuntil_empty": limit(5) + feed(b"abc") + readuntil(b"") + readuntil_list([]) + readuntil_list([b"a", b""], EC),
    "readexactly": limit(2) + readexactly(5) + feed(b"ab") + feed(b"cdefg") + readexactly(0) + readexactly(3, EC)
    + eof() + readexactly(4),
    "stored_error": limit(8) + feed(b"line\npart") + error(RESET) + readline() + readline(EC) + read(3)
    + readexactly(9) + read(10) + read(1, EC),
    "error_wakes": limit(8) + readexactly(6) + feed(b"abc") + error(OTHER) + read_all() + read(2) + readuntil(b"c")
    + feed(b"\nmore") + readline(),
    "eof_then_error": limit(8) + feed(b"abc") + eof() + error(LOST) + read_all() + read(1) + readline(),
    "concurrent": limit(8) + readexactly(10) + feed(b"ab\ncd") + readline() + read(1) + readline() + read_all()
    + readuntil(b"z") + feed(b"zzzzzzzz") + eof(),
    "feed_after_eof": limit(1) + feed(b"x") + eof() + feed(b"y") + run(0, 0) + read(5) + read(5) + readline(),
    "cancel": limit(4) + feed(b"ab") + readexactly(5) + cancel() + readline() + cancel() + feed(b"cdefg")
    + readline(EC) + cancel() + feed(b"hh\nok\n") + readline() + readuntil(b"z") + cancel() + cancel() + read(9),
    "try_reads": limit(4) + feed(b"ab\ncd") + try_read(TRY_READLINE) + try_read(TRY_READLINE)
    + feed(b"e\r\nabcdefg\n") + try_read(TRY_READUNTIL, 0, b"\r\n") + try_read(TRY_READLINE)
    + readline(EC) + try_read(TRY_READEXACTLY, 3) + feed(b"xyz") + try_read(TRY_READEXACTLY, 2)
    + readexactly(5) + try_read(TRY_READ, 1) + feed(b"1234") + eof() + try_read(TRY_READ, 9) + try_read(TRY_READ, 9),
    "big_run": limit(64) + run(200, ord("a")) + readuntil(b"\n") + readline() + run(100, ord("b"))
    + feed(b"\n") + readexactly(120) + readline(),
}

# Reproducers of departures from the rules found (and fixed) in the reader.
SEEDS.update({
    # readuntil waits, a concurrent read consumes, the separator then arrives: missed.
    "bug_stale_offset": limit(10) + feed(b"ab") + readline() + read(1) + feed(b"\n") + feed(b"c\n"),
    # readline over an over-long line with an error stored: the line is lost.
    "bug_readline_error_drops_line": limit(2) + feed(b"aaaaa") + error(RESET) + readline(EC) + read(10, EC),
    # a concurrent readline on an over-long line empties the buffer.
    "bug_concurrent_readline_drops": limit(2) + feed(b"aaaaa") + readexactly(10) + readline(EC) + feed(b"bbbbb"),
})


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "corpus", "reader")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, "seed_" + name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {out}")


if __name__ == "__main__":
    main()
