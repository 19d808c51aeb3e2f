// bench/peers/tokio_server/src/main.rs: the tokio peer of the benchmark servers: a task per
// connection on the multi-thread runtime.
// SPDX-License-Identifier: BSL-1.0
//
// usage: tokio_server ping|echo|sink|bulk-echo
//
// Listens on 127.0.0.1, port 0, prints "listening on 127.0.0.1:PORT" as its first line; SIGTERM
// ends it (the default action). The runtime is tokio's default multi-thread one (a worker per
// core). The modes are those of costream_server.cpp:
//   ping       every line ("\n"-terminated) gets "+PONG\r\n"
//   echo       every line is written back
//   sink       64 KiB chunks read until end of stream, then "<bytes>\n", close
//   bulk-echo  every 64 KiB chunk (and the last short one) is written back, then close
// Lines come from a BufReader (read_until, bytes: no UTF-8 check), replies go into a BufWriter
// flushed when the reader has nothing more buffered, so a pipelined batch is answered with one
// write, as the Go peer and costream do. TCP_NODELAY is set on accepted sockets.
use std::io;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

const CHUNK_SIZE: usize = 65536;

// reply is None for the echo: the line itself goes back.
async fn lines(mut stream: TcpStream, reply: Option<&'static [u8]>) -> io::Result<()> {
    let (r, w) = stream.split();
    let mut r = BufReader::new(r);
    let mut w = BufWriter::new(w);
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).await? == 0 {
            return w.flush().await;
        }
        w.write_all(reply.unwrap_or(&line)).await?;
        if r.buffer().is_empty() {
            w.flush().await?;
        }
    }
}

// Reads until `chunk` is full or the stream ends; returns how much it read (read_exact does not
// tell how much of a last, short chunk arrived).
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, chunk: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < chunk.len() {
        let got = r.read(&mut chunk[n..]).await?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(n)
}

async fn sink(mut stream: TcpStream) -> io::Result<()> {
    let mut chunk = vec![0u8; CHUNK_SIZE];
    let mut total: u64 = 0;
    loop {
        let n = read_full(&mut stream, &mut chunk).await?;
        total += n as u64;
        if n < CHUNK_SIZE {
            break;
        }
    }
    stream.write_all(format!("{}\n", total).as_bytes()).await
}

async fn bulk_echo(mut stream: TcpStream) -> io::Result<()> {
    let mut chunk = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(&mut stream, &mut chunk).await?;
        stream.write_all(&chunk[..n]).await?;
        if n < CHUNK_SIZE {
            return Ok(());
        }
    }
}

async fn serve(mode: &'static str) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    println!("listening on 127.0.0.1:{}", listener.local_addr()?.port());
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => continue, // e.g. a connection reset before it was accepted
        };
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = match mode {
                "ping" => lines(stream, Some(b"+PONG\r\n")).await,
                "echo" => lines(stream, None).await,
                "sink" => sink(stream).await,
                _ => bulk_echo(stream).await,
            };
        });
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = match args.get(1).map(String::as_str) {
        Some("ping") if args.len() == 2 => "ping",
        Some("echo") if args.len() == 2 => "echo",
        Some("sink") if args.len() == 2 => "sink",
        Some("bulk-echo") if args.len() == 2 => "bulk-echo",
        _ => {
            eprintln!("usage: tokio_server ping|echo|sink|bulk-echo");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(serve(mode))
}
