// Namespace aliases and the completion token every coroutine on the data path uses: results
// come back as tuples (error_code first), so an I/O failure is a value and never an exception.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace kgate {

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using boost::asio::awaitable;
using error_code = boost::system::error_code;

inline constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

}  // namespace kgate
