// Starts a coroutine that nobody awaits. A coroutine on the data path reports errors as values;
// if one throws anyway (a bug, or std::bad_alloc), the exception is logged here instead of
// escaping io_context::run() and taking the worker down.
#pragma once

#include <exception>
#include <string>

#include "gateway/asio.h"
#include "gateway/log.h"

namespace kgate {

template <class Executor, class T>
void spawn(const Executor& ex, awaitable<T> task, std::string what) {
  net::co_spawn(ex, std::move(task), [what = std::move(what)](std::exception_ptr e, auto&&...) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      KGATE_LOG(Error, what << ": unexpected exception: " << ex.what());
    } catch (...) {
      KGATE_LOG(Error, what << ": unexpected exception");
    }
  });
}

}  // namespace kgate
