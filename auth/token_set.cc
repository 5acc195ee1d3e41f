#include "auth/token_set.h"

#include <cstring>

#include "certs/keys.h"

namespace kgate::auth {

std::string_view causeOf(AuthResult r) {
  switch (r) {
    case AuthResult::Ok: return "ok";
    case AuthResult::NoSource: return "no_source";
    case AuthResult::UnknownSource: return "unknown_source";
    case AuthResult::NoToken: return "no_token";
    case AuthResult::TokenMismatch: return "token_mismatch";
    case AuthResult::CertificateMismatch: return "client_certificate_mismatch";
  }
  return "unknown";
}

TokenSet::Digest digestOf(std::string_view token) { return certs::sha256Digest(token); }

const TokenSet::Digest& TokenMemo::digestOf(std::string_view token) {
  if (token.size() > kWidth) {
    valid_ = false;
    digest_ = auth::digestOf(token);
    return digest_;
  }
  Padded padded{};
  std::memcpy(padded.data(), token.data(), token.size());
  padded[kWidth] = static_cast<unsigned char>(token.size());
  if (valid_ && equalInConstantTime(padded, padded_)) return digest_;
  padded_ = padded;
  digest_ = auth::digestOf(token);
  valid_ = true;
  return digest_;
}

std::shared_ptr<TokenSet> TokenSet::fromConfig(const conf::Config& config) {
  auto set = std::make_shared<TokenSet>();
  for (const auto& [source, tokens] : config.tokens) set->set(source, tokens);
  return set;
}

void TokenSet::set(const std::string& source, const std::vector<std::string>& tokens,
                   std::vector<int> revisions, std::vector<UseMark> marks) {
  Entry e;
  marks.resize(tokens.size());
  e.marks = std::move(marks);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == "noop") e.acceptAny = true;
    if (tokens[i] == "mtls") e.mutualTls = true;
    e.digests.push_back(digestOf(tokens[i]));
    e.revisions.push_back(i < revisions.size() ? revisions[i] : static_cast<int>(i + 1));
  }
  sources_[source] = std::move(e);
}

const TokenSet::Entry* TokenSet::find(std::string_view source) const {
  auto it = sources_.find(source);
  return it == sources_.end() ? nullptr : &it->second;
}

AuthResult TokenSet::check(std::string_view source, std::string_view token,
                           std::string_view verifiedClientName, TokenMemo* memo) const {
  if (source.empty()) return AuthResult::NoSource;
  const Entry* e = find(source);
  if (!e) return AuthResult::UnknownSource;
  if (e->mutualTls)
    return verifiedClientName == source ? AuthResult::Ok : AuthResult::CertificateMismatch;
  if (e->acceptAny) return AuthResult::Ok;
  if (token.empty()) return AuthResult::NoToken;
  const Digest presented = memo ? memo->digestOf(token) : digestOf(token);
  // Compare against every accepted token, without an early exit.
  size_t matched = e->digests.size();
  for (size_t i = 0; i < e->digests.size(); ++i)
    if (equalInConstantTime(e->digests[i], presented)) matched = i;
  if (matched == e->digests.size()) return AuthResult::TokenMismatch;
  // Loaded before stored: after the first request the cache line stays shared between workers.
  if (const UseMark& mark = e->marks[matched]; mark && !mark->load(std::memory_order_relaxed))
    mark->store(true, std::memory_order_relaxed);
  return AuthResult::Ok;
}

}  // namespace kgate::auth
