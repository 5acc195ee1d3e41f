#include "conf/config.h"

namespace kgate::conf {

std::string toString(Mode m) {
  switch (m) {
    case Mode::Master: return "master";
    case Mode::Lite: return "lite";
    case Mode::Autonomy: return "autonomy";
  }
  return "unknown";
}

std::string toString(Protocol p) {
  switch (p) {
    case Protocol::Default: return "DEFAULT";
    case Protocol::NoTls: return "NOTLS";
    case Protocol::Tls: return "TLS";
    case Protocol::Mtls: return "MTLS";
  }
  return "unknown";
}

std::string toString(UpstreamProtocol p) {
  switch (p) {
    case UpstreamProtocol::Http1: return "http1";
    case UpstreamProtocol::Http2: return "http2";
    case UpstreamProtocol::Auto: return "auto";
  }
  return "unknown";
}

std::string toString(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "DEBUG";
    case LogLevel::Info: return "INFO";
    case LogLevel::Warn: return "WARN";
    case LogLevel::Error: return "ERROR";
  }
  return "unknown";
}

std::string toString(ErrorMessageFormat f) {
  switch (f) {
    case ErrorMessageFormat::Seed: return "seed";
    case ErrorMessageFormat::Chained: return "chained";
  }
  return "unknown";
}

// Always spells the port out: logs and listings should show where traffic really goes.
std::string Endpoint::url() const {
  std::string out = scheme + "://";
  if (host.find(':') != std::string::npos) {
    out += "[" + host + "]";
  } else {
    out += host;
  }
  out += ":" + std::to_string(port);
  out += pathPrefix;
  return out;
}

std::string Config::roleName() const { return toString(mode); }

}  // namespace kgate::conf
