// ImageReference::parse and friends. Limits come from the ECR service model
// (RepositoryName, ImageTag, RegistryId shapes).
#include "ecr/reference.hpp"

#include <algorithm>
#include <vector>

#include "aws/image_tag.hpp"
#include "aws/partition.hpp"
#include "core/text.hpp"
#include "ecr/error.hpp"

namespace ecr {
namespace {

// RepositoryName: min 2, max 256.
constexpr std::size_t kMinRepositoryLength = 2;
constexpr std::size_t kMaxRepositoryLength = 256;
// RegistryId pattern [0-9]{12}.
constexpr std::size_t kAccountDigits = 12;

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool digit(char c) { return c >= '0' && c <= '9'; }

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

using text::split;

// One path part of RepositoryName: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_path_component(std::string_view part) {
  std::size_t i = 0;
  auto run_of_alnum = [&] {
    const std::size_t start = i;
    while (i < part.size() && lower_alnum(part[i])) ++i;
    return i > start;
  };
  if (!run_of_alnum()) return false;
  while (i < part.size()) {
    const char sep = part[i];
    if (sep == '.') {
      ++i;
    } else if (sep == '_') {
      ++i;
      if (i < part.size() && part[i] == '_') ++i;
    } else if (sep == '-') {
      while (i < part.size() && part[i] == '-') ++i;
    } else {
      return false;
    }
    if (!run_of_alnum()) return false;
  }
  return true;
}

void check_repository(std::string_view repo, std::string_view text) {
  const std::string where = " in image reference " + quote(text);
  if (repo.size() < kMinRepositoryLength || repo.size() > kMaxRepositoryLength) {
    throw InputError("invalid repository name " + quote(repo) + where +
                     ": must be 2 to 256 "
                     "characters, is " +
                     std::to_string(repo.size()));
  }
  for (const auto part : split(repo, '/')) {
    if (!valid_path_component(part)) {
      throw InputError("invalid repository name " + quote(repo) + where +
                       ": each '/'-separated part must be lowercase letters and digits, joined "
                       "by '.', '_', '__' or '-' (bad part " +
                       quote(part) + ")");
    }
  }
}

void check_tag(std::string_view tag, std::string_view text) {
  if (!aws::is_valid_image_tag(tag)) {
    throw InputError("invalid tag " + quote(tag) + " in image reference " + quote(text) +
                     ": must be 1 to 300 characters from A-Z a-z 0-9 _ . -, not starting with "
                     "'.' or '-'");
  }
}

bool valid_region(std::string_view region) {
  return !region.empty() && lower_alnum(region.front()) && lower_alnum(region.back()) &&
         std::all_of(region.begin(), region.end(),
                     [](char c) { return lower_alnum(c) || c == '-'; });
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Takes `prefix` off the front of `text` when it is there.
bool consume(std::string_view& text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return false;
  text.remove_prefix(prefix.size());
  return true;
}

}  // namespace

std::optional<EcrRegistryHost> parse_ecr_registry_host(std::string_view host) {
  const std::string lowered = lowercase(host);
  std::string_view rest = lowered;
  const std::string_view account = rest.substr(0, rest.find('.'));
  if (account.size() != kAccountDigits || !std::all_of(account.begin(), account.end(), digit)) {
    return std::nullopt;
  }
  rest.remove_prefix(std::min(rest.size(), account.size() + 1));
  EcrRegistryHost out;
  out.registry_id = std::string(account);
  if (consume(rest, "dkr.ecr-fips.")) {
    out.fips = true;
  } else if (consume(rest, "dkr-ecr-fips.")) {
    out.dual_stack = out.fips = true;
  } else if (consume(rest, "dkr-ecr.")) {
    out.dual_stack = true;
  } else if (!consume(rest, "dkr.ecr.")) {
    return std::nullopt;
  }
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view region = rest.substr(0, dot);
  const std::string_view suffix = rest.substr(dot + 1);
  if (!valid_region(region)) return std::nullopt;
  // A suffix from another partition names no registry (and would send the
  // token request to an endpoint that does not exist).
  const aws::Partition& partition = aws::partition_of(region);
  const std::string_view expected =
      out.dual_stack ? partition.dual_stack_dns_suffix : partition.dns_suffix;
  if (expected.empty() || suffix != expected) return std::nullopt;
  out.region = std::string(region);
  return out;
}

ImageReference ImageReference::parse(std::string_view text) {
  if (text.empty()) throw InputError("empty image reference");
  ImageReference ref;
  std::string_view rest = text;

  // Docker's rule: the first part names a registry when it looks like a host.
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    const std::string_view first = rest.substr(0, slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost") {
      const std::string host = lowercase(first);
      const auto ecr_host = parse_ecr_registry_host(host);
      if (!ecr_host) {
        throw InputError("registry host " + quote(first) +
                         " is not an Amazon ECR registry "
                         "(expected <12-digit account>.dkr.ecr.<region>.amazonaws.com) in image "
                         "reference " +
                         quote(text));
      }
      ref.registry_id = ecr_host->registry_id;
      ref.region = ecr_host->region;
      ref.host = host;
      rest = rest.substr(slash + 1);
    }
  }

  const auto at = rest.find('@');
  if (at != std::string_view::npos) {
    try {
      ref.digest = Digest::parse(rest.substr(at + 1));
    } catch (const InputError& e) {
      throw InputError(std::string(e.what()) + " in image reference " + quote(text));
    }
    rest = rest.substr(0, at);
  }
  // The tag starts at the first ':' of the last path part, so "app:a:b" is
  // reported as a bad tag 'a:b' rather than a bad repository 'app:a'.
  const auto last_slash = rest.rfind('/');
  const auto colon = rest.find(':', last_slash == std::string_view::npos ? 0 : last_slash);
  if (colon != std::string_view::npos) {
    const std::string_view tag = rest.substr(colon + 1);
    check_tag(tag, text);
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  check_repository(rest, text);
  ref.repository = std::string(rest);
  return ref;
}

std::optional<std::string> ImageReference::registry_host() const {
  if (host) return host;
  if (!registry_id || !region) return std::nullopt;
  return *registry_id + ".dkr.ecr." + *region + "." +
         std::string(aws::partition_of(*region).dns_suffix);
}

std::string ImageReference::str() const {
  std::string out;
  if (auto h = registry_host()) out = *h + "/";
  out += repository;
  if (tag) out += ":" + *tag;
  if (digest) out += "@" + digest->str();
  return out;
}

}  // namespace ecr
