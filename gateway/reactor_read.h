// Reads performed as operations of Asio's reactor, whatever does the reading (recv, SSL_read,
// SSL_peek).
//
// TLS on the socket means OpenSSL reads, so the only way to wait for input through Asio's public
// API is async_wait, and the epoll reactor re-arms the descriptor with an epoll_ctl at every such
// wait. As a reactor read operation, the attempt is tried at once when the reactor has seen the
// socket active and otherwise runs when epoll reports it: no re-arming.
//
// Why a short read does not mark the socket drained (which would save the recv that finds
// nothing before a wait): data and the peer's FIN that arrive together make one edge-triggered
// report, and recv returns the data without the end of stream; a reader that then waited for the
// next report would wait for ever for a close-delimited body's end. nginx avoids this with
// EPOLLRDHUP, which Asio does not register. So, as Asio's own reads, only a read of 0 bytes
// (the end) counts as exhausted.
//
// This reaches into boost::asio::detail (the reactor and its operation type). Boost is pinned to
// Debian 12's 1.81, and the static_assert below stops a build against another version until the
// code has been checked against it.
#pragma once

#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/version.hpp>

#include <utility>

#include "gateway/asio.h"

static_assert(BOOST_VERSION == 108100, "gateway/reactor_read.h relies on Boost 1.81's reactor");

namespace kgate {

// What one attempt found.
enum class ReadAttempt { Again, Got, Failed };

// The attempt: called by the reactor on this worker's thread, at once (unless the last attempt
// found nothing and epoll has not reported the socket since) and again at each readiness report,
// until it returns anything but Again.
// It sets `got` and, for Failed, `ec`.
struct ReadAttemptFn {
  ReadAttempt (*fn)(void* ctx, size_t& got, error_code& ec);
  void* ctx;
};

namespace reactor_detail {

namespace ad = boost::asio::detail;

template <class Handler, class IoExecutor>
class ReadOp : public ad::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(ReadOp);

  ReadOp(ReadAttemptFn attempt, Handler& handler, const IoExecutor& ex)
      : ad::reactor_op(error_code(), &ReadOp::doPerform, &ReadOp::doComplete),
        attempt_(attempt),
        handler_(std::move(handler)),
        work_(handler_, ex) {}

  static status doPerform(ad::reactor_op* base) {
    auto* o = static_cast<ReadOp*>(base);
    switch (o->attempt_.fn(o->attempt_.ctx, o->bytes_transferred_, o->ec_)) {
      case ReadAttempt::Again: return not_done;
      case ReadAttempt::Failed:  // the end of the stream, or an error: nothing more will come
        return done_and_exhausted;
      default: return done;
    }
  }

  // As Asio's own socket operations complete: free the operation, then call the handler.
  static void doComplete(void* owner, ad::operation* base, const error_code&, std::size_t) {
    auto* o = static_cast<ReadOp*>(base);
    ptr p = {std::addressof(o->handler_), o, o};
    ad::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    ad::binder2<Handler, error_code, std::size_t> handler(o->handler_, o->ec_,
                                                          o->bytes_transferred_);
    p.h = std::addressof(handler.handler_);
    p.reset();
    if (owner) {
      ad::fenced_block b(ad::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  ReadAttemptFn attempt_;
  Handler handler_;
  ad::handler_work<Handler, IoExecutor> work_;
};

// The socket's reactor registration lives in a protected member of basic_socket.
struct SocketAccess : tcp::socket {
  static auto& impl(tcp::socket& s) { return s.*(&SocketAccess::impl_); }
};

}  // namespace reactor_detail

// Runs `attempt` as the socket's read operation (see the top of this file). Completes with the
// attempt's result, or operation_aborted when the socket is cancelled or closed first (the
// attempt is then not called again).
inline awaitable<std::tuple<error_code, size_t>> reactorRead(tcp::socket& socket,
                                                             ReadAttemptFn attempt) {
  return net::async_initiate<decltype(kUseTuple) const&, void(error_code, size_t)>(
      [&socket, attempt](auto handler) {
        using Handler = decltype(handler);
        using Op = reactor_detail::ReadOp<Handler, net::any_io_executor>;
        auto& io = reactor_detail::SocketAccess::impl(socket);
        auto& impl = io.get_implementation();
        auto& reactor = net::use_service<boost::asio::detail::reactor>(
            net::query(socket.get_executor(), net::execution::context));
        bool continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
        typename Op::ptr p = {std::addressof(handler), Op::ptr::allocate(handler), nullptr};
        p.p = new (p.v) Op(attempt, handler, socket.get_executor());
        if (!socket.is_open()) {
          p.p->ec_ = net::error::bad_descriptor;
          reactor.post_immediate_completion(p.p, continuation);
        } else {
          reactor.start_op(boost::asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_,
                           p.p, continuation, true);
        }
        p.v = p.p = nullptr;
      },
      kUseTuple);
}

}  // namespace kgate
