#include "aws/url.hpp"

#include <algorithm>
#include <cctype>

#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

[[noreturn]] void bad_url(std::string_view url, std::string_view why) {
  throw InputError("invalid URL '" + std::string(url) + "': " + std::string(why));
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string UrlParts::host_header() const {
  const int default_port = scheme == "https" ? 443 : 80;
  if (port && *port != default_port) return host + ":" + std::to_string(*port);
  return host;
}

std::string UrlParts::origin() const {
  std::string out = scheme + "://" + host;
  if (port) out += ":" + std::to_string(*port);
  return out;
}

UrlParts split_url(std::string_view url) {
  UrlParts parts;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) bad_url(url, "expected scheme://host");
  parts.scheme = lower(url.substr(0, sep));
  if (parts.scheme != "http" && parts.scheme != "https") {
    bad_url(url, "scheme must be http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) bad_url(url, "fragments are not allowed");

  const auto authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) bad_url(url, "user info is not allowed");

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) bad_url(url, "unterminated IPv6 literal");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(url, "unexpected text after IPv6 literal");
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      has_port = true;
    }
    if (!std::all_of(host.begin(), host.end(), valid_host_char)) {
      bad_url(url, "host contains an invalid character");
    }
  }
  if (host.empty()) bad_url(url, "missing host");
  parts.host = lower(host);

  if (has_port) {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      bad_url(url, "port must be a number from 1 to 65535");
    }
    const int value = std::stoi(std::string(port));
    if (value < 1 || value > 65535) bad_url(url, "port must be a number from 1 to 65535");
    parts.port = value;
  }

  const auto q = tail.find('?');
  parts.path = std::string(tail.substr(0, q));
  if (q != std::string_view::npos) parts.query = std::string(tail.substr(q + 1));
  return parts;
}

}  // namespace ecr::aws
