// A lite's registration as the master reads it (auth/register_wire.cc, auth/jwt.cc): the JSON
// body, the base64 PEM CSR inside it (self-signature, CN, deploy-token extension, key), and the
// jwt-token header (RS256 JWT over the request hash), in the order Authority::registerLite
// checks them; plus the master's reply as the lite parses it.
// Input: the body, then a newline, then the JWT (the last line is the header's value).
#include "auth/jwt.h"
#include "auth/register_wire.h"
#include "certs/csr.h"
#include "test/fuzz/fuzz_keys.h"

using namespace kgate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nl = input.rfind('\n');
  std::string_view body = nl == std::string_view::npos ? input : input.substr(0, nl);
  std::string_view jwt = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);

  // The JWT parser on its own, with the key the seeds were signed with: it is reached even when
  // the body around it is broken.
  (void)auth::verifyJwtRs256(jwt, fuzz::aliceKey(), fuzz::kSeedTime);

  if (auto parsed = auth::parseRegisterBody(body)) {
    if (auto csr = auth::decodeRegisterCsr(parsed->csr)) {
      (void)certs::csrCommonName(**csr);
      (void)certs::csrExtensionValue(**csr, "1.2.3.4");
      if (auto key = certs::csrPublicKey(**csr))
        (void)auth::verifyRegisterJwt(jwt, **key, *parsed, fuzz::kSeedTime);
    }
  }
  (void)auth::parseRegisterReply(input);
  return 0;
}
