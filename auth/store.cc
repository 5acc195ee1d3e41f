#include "auth/store.h"

namespace kgate::auth {

std::string_view toString(TokenState s) {
  switch (s) {
    case TokenState::Unused: return "unused";
    case TokenState::Used: return "used";
    case TokenState::Expired: return "expired";
  }
  return "unknown";
}

}  // namespace kgate::auth
