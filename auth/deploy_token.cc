// Deploy tokens: how they are made. Kept apart from the Store implementations so that every
// store (SQLite, MySQL, test fakes) and the authority share one generator.
#include "auth/authority.h"
#include "certs/keys.h"

namespace kgate::auth {

std::string newDeployToken() {
  // 32 symbols of a 58-letter alphabet: ~187 bits from the CSPRNG, never guessable.
  return certs::randomString(32, kDeployTokenAlphabet);
}

}  // namespace kgate::auth
