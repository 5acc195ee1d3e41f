// The write side of a TLS connection: an OpenSSL BIO on the socket that, while a Transport writes
// a large buffer, collects the records OpenSSL makes (at most 16 KiB of payload each) and sends
// them with one send() instead of one each. On loopback that was ~80 write syscalls and as many
// TCP pushes per MiB; gathered, the kernel builds 64 KiB segments, and an HTTP/2 1 MiB GET cost
// ~15% less CPU for one extra copy of each record. Outside a gathered write it sends each record
// at once, as OpenSSL's socket BIO does (handshakes, alerts, small responses).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>

namespace kgate::tls_gather {

// Replaces the socket BIO SSL_set_fd made for writing with a gathering one on the same
// descriptor (reads keep the socket BIO). False if OpenSSL could not allocate it.
bool attach(SSL* ssl, int fd);

// Between begin() and end(), records are collected (sent early only when a batch is full).
void begin(SSL* ssl);
void end(SSL* ssl);

// Sends what was collected. 1: all sent; 0: the socket is full, wait until it is writable and
// call again; -1: the send failed (errno says why).
int flush(SSL* ssl);
size_t pending(SSL* ssl);

}  // namespace kgate::tls_gather
