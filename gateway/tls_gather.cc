#include "gateway/tls_gather.h"

#include <openssl/bio.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace kgate::tls_gather {
namespace {

// A batch is sent when the next record would not fit: four full records and their overhead.
constexpr size_t kBatch = 64 * 1024 + 4 * 256;

struct State {
  int fd;
  bool gathering = false;
  std::string buf;  // records in order; the first `sent` bytes are already on the wire
  size_t sent = 0;
};

// A worker's connections take turns with one batch buffer: only a connection whose peer is slow
// to read keeps one of its own, and an idle connection never holds one.
thread_local std::string spareBuffer;

State* state(BIO* b) { return static_cast<State*>(BIO_get_data(b)); }

void releaseBuffer(State& s) {
  s.buf.clear();
  s.sent = 0;
  if (spareBuffer.capacity() < s.buf.capacity()) s.buf.swap(spareBuffer);
  std::string().swap(s.buf);
}

// 1: everything collected is sent; 0: the socket is full; -1: an error (errno).
int sendCollected(State& s) {
  while (s.sent < s.buf.size()) {
    ssize_t n = ::send(s.fd, s.buf.data() + s.sent, s.buf.size() - s.sent, MSG_NOSIGNAL);
    if (n >= 0) {
      s.sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return 0;
    } else if (errno != EINTR) {
      return -1;
    }
  }
  s.buf.clear();
  s.sent = 0;
  return 1;
}

int writeEx(BIO* b, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(b);
  State& s = *state(b);
  // What was collected goes first: records must reach the peer in the order they were made.
  if (s.sent < s.buf.size() && (!s.gathering || s.buf.size() + len > kBatch)) {
    if (int r = sendCollected(s); r <= 0) {
      if (r == 0) BIO_set_retry_write(b);
      return 0;
    }
  }
  if (s.gathering) {
    if (s.buf.capacity() == 0) {
      s.buf.swap(spareBuffer);
      s.buf.reserve(kBatch);
    }
    s.buf.append(data, len);
    *written = len;
    return 1;
  }
  if (s.buf.capacity() != 0) releaseBuffer(s);
  for (;;) {
    ssize_t n = ::send(s.fd, data, len, MSG_NOSIGNAL);
    if (n >= 0) {
      *written = static_cast<size_t>(n);  // a partial write: OpenSSL sends the rest next
      return 1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
    if (errno != EINTR) return 0;  // OpenSSL reports SSL_ERROR_SYSCALL with errno as set
  }
}

long ctrl(BIO* b, int cmd, long num, void* ptr) {
  (void)num;
  State& s = *state(b);
  switch (cmd) {
    case BIO_CTRL_FLUSH: {  // the handshake flushes each flight, alerts flush too
      BIO_clear_retry_flags(b);
      int r = sendCollected(s);
      if (r == 0) BIO_set_retry_write(b);
      return r == 1 ? 1 : 0;
    }
    case BIO_CTRL_WPENDING: return static_cast<long>(s.buf.size() - s.sent);
    case BIO_C_GET_FD:
      if (ptr) *static_cast<int*>(ptr) = s.fd;
      return s.fd;
    case BIO_CTRL_GET_CLOSE: return BIO_NOCLOSE;  // the Transport's socket owns the descriptor
    case BIO_CTRL_SET_CLOSE:
    case BIO_CTRL_DUP: return 1;
    default: return 0;
  }
}

int destroy(BIO* b) {
  delete state(b);
  BIO_set_data(b, nullptr);
  BIO_set_init(b, 0);
  return 1;
}

BIO_METHOD* method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                 "kgate gathering socket");
    if (m) {
      BIO_meth_set_write_ex(m, writeEx);
      BIO_meth_set_ctrl(m, ctrl);
      BIO_meth_set_destroy(m, destroy);
    }
    return m;
  }();
  return m;
}

State* stateOf(SSL* ssl) { return state(SSL_get_wbio(ssl)); }

}  // namespace

bool attach(SSL* ssl, int fd) {
  BIO_METHOD* m = method();
  BIO* b = m ? BIO_new(m) : nullptr;
  if (!b) return false;
  auto* s = new State;
  s->fd = fd;
  BIO_set_data(b, s);
  BIO_set_init(b, 1);
  SSL_set0_wbio(ssl, b);  // drops the write reference to the socket BIO; reads keep it
  return true;
}

void begin(SSL* ssl) { stateOf(ssl)->gathering = true; }

void end(SSL* ssl) { stateOf(ssl)->gathering = false; }

int flush(SSL* ssl) {
  State& s = *stateOf(ssl);
  int r = sendCollected(s);
  if (r == 1 && !s.gathering) releaseBuffer(s);
  return r;
}

size_t pending(SSL* ssl) {
  State& s = *stateOf(ssl);
  return s.buf.size() - s.sent;
}

}  // namespace kgate::tls_gather
