// Image references as users type them:
//   <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@digest]
//   <repository>[:tag][@digest]
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ecr/digest.hpp"

namespace ecr {

struct ImageReference {
  std::optional<std::string> registry_id;  // the 12-digit account, from an ECR host
  std::optional<std::string> region;       // from an ECR host
  std::string repository;
  std::optional<std::string> tag;
  std::optional<Digest> digest;

  // Parses `text`. Repository names follow the model's RepositoryName pattern
  // and length (2-256); tags follow ImageTag (1-300 chars, no ':' '@' '/').
  // Throws InputError naming the bad part ("repository name", "tag",
  // "digest", "registry host") and quoting it.
  static ImageReference parse(std::string_view text);

  // The registry host "<account>.dkr.ecr.<region>.amazonaws.com", when known.
  std::optional<std::string> registry_host() const;
  // Canonical text form: [host/]repository[:tag][@digest].
  std::string str() const;
};

}  // namespace ecr
