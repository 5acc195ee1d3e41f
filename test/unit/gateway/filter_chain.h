// Runs gress, token auth (external only) and router in the proxy's order on a StreamContext.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <utility>

#include "fake_stream.h"
#include "gateway/filters/gress_filter.h"
#include "gateway/filters/router_filter.h"
#include "gateway/filters/token_auth_filter.h"

namespace kgate::testing {

class FilterChain : public ::testing::Test {
 protected:
  using Target = StreamContext::Target;
  using HeaderList = std::initializer_list<std::pair<const char*, const char*>>;

  void SetUp() override { configure(vectorConfig()); }

  void configure(const conf::Config& c) {
    snap_ = snapshotOf(c);
    ASSERT_NE(snap_, nullptr);
  }

  // Builds a request and runs the chain; returns true when a filter stopped it (local reply).
  bool send(ListenerKind l, std::string authority, HeaderList headers = {},
            std::string path = "/x", std::string method = "GET") {
    stream_ = std::make_unique<FakeServerStream>(l);
    auto& req = stream_->request();
    req.method = std::move(method);
    req.path = std::move(path);
    req.authority = std::move(authority);
    for (const auto& [n, v] : headers) req.headers.add(n, v);
    ctx_ = std::make_unique<StreamContext>(*snap_, *stream_);
    std::vector<std::unique_ptr<Filter>> chain;
    chain.push_back(std::make_unique<filters::GressFilter>(l));
    if (l == ListenerKind::External) chain.push_back(std::make_unique<filters::TokenAuthFilter>());
    chain.push_back(std::make_unique<filters::RouterFilter>());
    for (auto& f : chain)
      if (f->onRequest(*ctx_) == FilterStatus::Stop) return true;
    return false;
  }
  bool external(std::string authority, HeaderList headers = {}, std::string path = "/x") {
    return send(ListenerKind::External, std::move(authority), headers, std::move(path));
  }
  bool internal(std::string authority, HeaderList headers = {}, std::string path = "/x") {
    return send(ListenerKind::Internal, std::move(authority), headers, std::move(path));
  }

  StreamContext& ctx() { return *ctx_; }
  http::Headers& reqHeaders() { return ctx_->req.headers; }
  size_t count(std::string_view name) {
    size_t n = 0;
    for (const auto& f : reqHeaders()) n += f.name == name;
    return n;
  }

  std::shared_ptr<const Snapshot> snap_;
  std::unique_ptr<FakeServerStream> stream_;
  std::unique_ptr<StreamContext> ctx_;
};

}  // namespace kgate::testing
