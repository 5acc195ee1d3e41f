// The route-token handshake (auth/handshake.cc) on both ends: the destination decodes a
// POST /handshake body and answers it (type, pubhash, RSA decryption of the source's secret,
// revision rules), the source decodes the reply and finishes. Keys are fixed (fixed_keys.h):
// alice is the source, bob the destination, so the seeds carry tokens that really decrypt.
// Also checks that a decoded request survives encode -> decode unchanged.
#include <cstdio>
#include <cstdlib>

#include "auth/handshake.h"
#include "test/fuzz/fuzz_keys.h"

using namespace kgate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  const int64_t now = fuzz::kSeedTime * 1'000'000'000;

  if (auto req = auth::decodeHandshakeRequest(body)) {
    auto again = auth::decodeHandshakeRequest(auth::encodeHandshakeRequest(*req));
    if (again && (again->domainId != req->domainId || again->type != req->type ||
                  again->token != req->token || again->revision != req->revision ||
                  again->pubhash != req->pubhash || again->requestTime != req->requestTime)) {
      std::fprintf(stderr, "handshake request changed through encode/decode\n");
      std::abort();
    }
    auth::DestinationRoute route{true, fuzz::alicePublicPem(), 86400, 3, size % 2 == 0};
    auto decision = auth::answerHandshake(*req, "bob", route, fuzz::bobKey(), now);
    if (decision.token && decision.token->revision < 1) std::abort();
  }

  if (auto reply = auth::decodeHandshakeReply(body)) {
    auto again = auth::decodeHandshakeReply(auth::encodeHandshakeReply(*reply));
    if (again && (again->code != reply->code || again->message != reply->message)) {
      std::fprintf(stderr, "handshake reply changed through encode/decode\n");
      std::abort();
    }
    // The source's half as the seeds' replies assume it: S = 16 bytes of 'S'.
    auth::SourceHandshake started;
    started.secret = std::string(16, 'S');
    started.request.domainId = "alice";
    started.request.revision = 3;
    (void)auth::finishHandshake(started, *reply, fuzz::aliceKey());
  }
  return 0;
}
