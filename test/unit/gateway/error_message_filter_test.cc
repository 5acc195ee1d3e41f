#include "gateway/filters/error_message_filter.h"

#include <gtest/gtest.h>

#include "fake_stream.h"
#include "gateway/causes.h"

namespace kgate::filters {
namespace {

using conf::ErrorMessageFormat;
using kgate::testing::FakeServerStream;

conf::Config configWith(ErrorMessageFormat f) {
  conf::Config c = kgate::testing::vectorConfig();
  c.errorMessageFormat = f;
  return c;
}

// errorMessage(config, listener, local, status, cause, message, originalHost, upstreamMessage,
//              upstreamInternal)

TEST(SeedErrorMessage, LocalReplyNamesTheOriginalHost) {
  auto c = configWith(ErrorMessageFormat::Seed);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, true, 401, cause::kNoSource, "Unauthorized",
                         "127.0.0.1", "", ""),
            "Domain alice.gw-0<--127.0.0.1 return http code 401.");
  EXPECT_EQ(errorMessage(c, ListenerKind::External, true, 401, cause::kTokenMismatch,
                         "Unauthorized", "gw.example.com", "", ""),
            "Domain alice.gw-0<--gw.example.com return http code 401.");
  EXPECT_EQ(errorMessage(c, ListenerKind::Internal, true, 404, cause::kRouteNotFound,
                         "Service \"svc.zed.svc\" not found.", "svc.zed.svc", "", ""),
            "Domain alice.gw-0<--svc.zed.svc return http code 404.");
}

TEST(SeedErrorMessage, TheSeedsExactLine) {
  conf::Config c;
  c.domainID = "kuscia-system";
  c.instance = "root-kuscia-master";
  c.errorMessageFormat = ErrorMessageFormat::Seed;
  EXPECT_EQ(errorMessage(c, ListenerKind::External, true, 401, cause::kNoSource, "", "127.0.0.1",
                         "", ""),
            "Domain kuscia-system.root-kuscia-master<--127.0.0.1 return http code 401.");
}

TEST(SeedErrorMessage, UpstreamWithExistingMessageIsPrefixed) {
  auto c = configWith(ErrorMessageFormat::Seed);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 502, cause::kViaUpstream, "", "h",
                         "Domain bob.gw-1<--h return http code 502.", ""),
            "Domain alice.gw-0<--Domain bob.gw-1<--h return http code 502.");
  // An existing message wins over an internal one.
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 502, cause::kViaUpstream, "", "h", "X",
                         "db down"),
            "Domain alice.gw-0<--X");
}

TEST(SeedErrorMessage, UpstreamWithInternalMessage) {
  auto c = configWith(ErrorMessageFormat::Seed);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 503, cause::kViaUpstream, "", "h", "",
                         "db down"),
            "Domain alice.gw-0: db down");
}

TEST(SeedErrorMessage, UpstreamWithoutMessage) {
  auto c = configWith(ErrorMessageFormat::Seed);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 500, cause::kViaUpstream, "",
                         "127.0.0.1", "", ""),
            "Domain alice.gw-0<--127.0.0.1 return http code 500.");
}

TEST(SeedErrorMessage, LocalReplyIgnoresUpstreamArguments) {
  auto c = configWith(ErrorMessageFormat::Seed);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, true, 503, cause::kConnectFailure, "", "h",
                         "X", "db down"),
            "Domain alice.gw-0<--h return http code 503.");
}

TEST(ChainedErrorMessage, LocalReplyCarriesTheCause) {
  auto c = configWith(ErrorMessageFormat::Chained);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, true, 401, cause::kTokenMismatch,
                         "Unauthorized", "127.0.0.1", "", ""),
            "<alice/gw-0/external $token_mismatch$ Unauthorized>");
  EXPECT_EQ(errorMessage(c, ListenerKind::External, true, 401, cause::kNoSource, "Unauthorized",
                         "127.0.0.1", "", ""),
            "<alice/gw-0/external $no_source$ Unauthorized>");
  EXPECT_EQ(errorMessage(c, ListenerKind::Internal, true, 404, cause::kRouteNotFound,
                         "Service \"svc.zed.svc\" not found.", "svc.zed.svc", "", ""),
            "<alice/gw-0/internal $route_not_found$ Service \"svc.zed.svc\" not found.>");
}

TEST(ChainedErrorMessage, LocalReplyWithoutTextUsesTheReasonPhrase) {
  auto c = configWith(ErrorMessageFormat::Chained);
  EXPECT_EQ(errorMessage(c, ListenerKind::Internal, true, 503, cause::kConnectFailure, "", "h",
                         "", ""),
            "<alice/gw-0/internal $upstream_connect_failure$ Service Unavailable>");
  EXPECT_EQ(errorMessage(c, ListenerKind::External, true, 504, cause::kStreamIdleTimeout, "", "h",
                         "", ""),
            "<alice/gw-0/external $stream_idle_timeout$ Gateway Timeout>");
}

TEST(ChainedErrorMessage, UpstreamWithoutMessage) {
  auto c = configWith(ErrorMessageFormat::Chained);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 500, cause::kViaUpstream, "", "h", "",
                         ""),
            "<alice/gw-0/external> => <upstream Internal Server Error>");
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 404, cause::kViaUpstream, "", "h", "",
                         ""),
            "<alice/gw-0/external> => <upstream Not Found>");
}

TEST(ChainedErrorMessage, UpstreamInternalMessageIsFolded) {
  auto c = configWith(ErrorMessageFormat::Chained);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 503, cause::kViaUpstream, "", "h", "",
                         "db down"),
            "<alice/gw-0/external> => <upstream db down>");
}

TEST(ChainedErrorMessage, UpstreamMessageIsChained) {
  auto c = configWith(ErrorMessageFormat::Chained);
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 502, cause::kViaUpstream, "", "h", "X",
                         ""),
            "<alice/gw-0/external> => X");
  EXPECT_EQ(errorMessage(c, ListenerKind::External, false, 502, cause::kViaUpstream, "", "h", "X",
                         "db down"),
            "<alice/gw-0/external> => X");
  // Vector 27: a peer's 401 travels back through the internal listener.
  EXPECT_EQ(errorMessage(c, ListenerKind::Internal, false, 401, cause::kViaUpstream, "", "h",
                         "<bob/gw-1/external $token_mismatch$ Unauthorized>", ""),
            "<alice/gw-0/internal> => <bob/gw-1/external $token_mismatch$ Unauthorized>");
}

// ErrorMessageFilter::onResponse through a StreamContext.
class OnResponse : public ::testing::Test {
 protected:
  void use(ErrorMessageFormat f, ListenerKind l) {
    snap_ = kgate::testing::snapshotOf(configWith(f));
    ASSERT_NE(snap_, nullptr);
    stream_ = std::make_unique<FakeServerStream>(l);
    ctx_ = std::make_unique<StreamContext>(*snap_, *stream_);
    ctx_->originalHost = "127.0.0.1";
  }
  http::ResponseHead upstream(int status) {
    http::ResponseHead h;
    h.status = status;
    h.headers.add("content-type", "text/plain");
    return h;
  }
  void run(http::ResponseHead& h) { ErrorMessageFilter().onResponse(*ctx_, h); }

  std::shared_ptr<const Snapshot> snap_;
  std::unique_ptr<FakeServerStream> stream_;
  std::unique_ptr<StreamContext> ctx_;
};

TEST_F(OnResponse, SuccessAndRedirectsGetNoErrorHeader) {
  use(ErrorMessageFormat::Seed, ListenerKind::External);
  for (int status : {200, 201, 204, 301, 302, 304}) {
    http::ResponseHead h = upstream(status);
    run(h);
    EXPECT_FALSE(h.headers.has("kuscia-error-message")) << status;
    EXPECT_EQ(h.headers.get("server"), "kuscia-gateway") << status;
    EXPECT_EQ(h.headers.get("x-accel-buffering"), "no") << status;
  }
}

TEST_F(OnResponse, InternalHeaderIsAlwaysRemoved) {
  use(ErrorMessageFormat::Chained, ListenerKind::External);
  http::ResponseHead ok = upstream(200);
  ok.headers.add("kuscia-error-message-internal", "secret detail");
  ok.headers.add("kuscia-error-message-internal", "more");
  run(ok);
  EXPECT_FALSE(ok.headers.has("kuscia-error-message-internal"));
  EXPECT_FALSE(ok.headers.has("kuscia-error-message"));

  http::ResponseHead err = upstream(503);
  err.headers.add("kuscia-error-message-internal", "db down");
  run(err);
  EXPECT_FALSE(err.headers.has("kuscia-error-message-internal"));
  EXPECT_EQ(err.headers.get("kuscia-error-message"), "<alice/gw-0/external> => <upstream db down>");
}

TEST_F(OnResponse, UpstreamErrorsChained) {
  use(ErrorMessageFormat::Chained, ListenerKind::External);
  http::ResponseHead plain = upstream(500);
  run(plain);
  EXPECT_EQ(plain.headers.get("kuscia-error-message"),
            "<alice/gw-0/external> => <upstream Internal Server Error>");
  http::ResponseHead withMessage = upstream(502);
  withMessage.headers.add("kuscia-error-message", "X");
  withMessage.headers.add("kuscia-error-message", "Y");
  run(withMessage);
  EXPECT_EQ(withMessage.headers.get("kuscia-error-message"), "<alice/gw-0/external> => X");
  EXPECT_EQ(withMessage.headers.remove("kuscia-error-message"), 1u);  // one value left
}

TEST_F(OnResponse, UpstreamErrorsSeed) {
  use(ErrorMessageFormat::Seed, ListenerKind::External);
  http::ResponseHead plain = upstream(500);
  run(plain);
  EXPECT_EQ(plain.headers.get("kuscia-error-message"),
            "Domain alice.gw-0<--127.0.0.1 return http code 500.");
  http::ResponseHead internal = upstream(503);
  internal.headers.add("kuscia-error-message-internal", "db down");
  run(internal);
  EXPECT_EQ(internal.headers.get("kuscia-error-message"), "Domain alice.gw-0: db down");
  http::ResponseHead existing = upstream(502);
  existing.headers.add("kuscia-error-message", "X");
  run(existing);
  EXPECT_EQ(existing.headers.get("kuscia-error-message"), "Domain alice.gw-0<--X");
}

TEST_F(OnResponse, LocalReplyUsesTheContextsCauseAndMessage) {
  use(ErrorMessageFormat::Chained, ListenerKind::External);
  ctx_->reply(401, cause::kTokenMismatch, "Unauthorized");
  http::ResponseHead h = upstream(401);
  h.headers.add("kuscia-error-message", "stale");  // a local reply never chains
  run(h);
  EXPECT_EQ(h.headers.get("kuscia-error-message"),
            "<alice/gw-0/external $token_mismatch$ Unauthorized>");
}

TEST_F(OnResponse, LocalProbeReplySeed) {
  use(ErrorMessageFormat::Seed, ListenerKind::External);
  ctx_->reply(401, cause::kNoSource, "Unauthorized");
  http::ResponseHead h = upstream(401);
  run(h);
  EXPECT_EQ(h.headers.get("kuscia-error-message"),
            "Domain alice.gw-0<--127.0.0.1 return http code 401.");
  EXPECT_EQ(h.headers.get("server"), "kuscia-gateway");
  EXPECT_EQ(h.headers.get("x-accel-buffering"), "no");
  EXPECT_EQ(h.headers.get("content-type"), "text/plain");
}

TEST_F(OnResponse, ServerHeaderOnlyOnTheExternalListener) {
  use(ErrorMessageFormat::Chained, ListenerKind::External);
  http::ResponseHead ext = upstream(200);
  ext.headers.add("server", "nginx");
  ext.headers.add("server", "other");
  run(ext);
  EXPECT_EQ(ext.headers.get("server"), "kuscia-gateway");
  EXPECT_EQ(ext.headers.remove("server"), 1u);

  use(ErrorMessageFormat::Chained, ListenerKind::Internal);
  http::ResponseHead inner = upstream(200);
  run(inner);
  EXPECT_FALSE(inner.headers.has("server"));
  http::ResponseHead passed = upstream(200);
  passed.headers.add("server", "kuscia-gateway");  // bob's gateway's, passed back unchanged
  run(passed);
  EXPECT_EQ(passed.headers.get("server"), "kuscia-gateway");
}

TEST_F(OnResponse, AccelBufferingNoOnBothListenersReplacingUpstreamValues) {
  for (ListenerKind l : {ListenerKind::External, ListenerKind::Internal}) {
    use(ErrorMessageFormat::Seed, l);
    http::ResponseHead h = upstream(200);
    h.headers.add("x-accel-buffering", "yes");
    h.headers.add("x-accel-buffering", "yes");
    run(h);
    size_t n = 0;
    for (const auto& f : h.headers) if (f.name == "x-accel-buffering") { ++n; EXPECT_EQ(f.value, "no"); }
    EXPECT_EQ(n, 1u) << toString(l);
  }
}

TEST_F(OnResponse, InternalListenerChainedLabel) {
  use(ErrorMessageFormat::Chained, ListenerKind::Internal);
  ctx_->reply(404, cause::kRouteNotFound, "Service \"svc.zed.svc\" not found.");
  http::ResponseHead h = upstream(404);
  run(h);
  EXPECT_EQ(h.headers.get("kuscia-error-message"),
            "<alice/gw-0/internal $route_not_found$ Service \"svc.zed.svc\" not found.>");
}

}  // namespace
}  // namespace kgate::filters
