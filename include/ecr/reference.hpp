// Image references as users type them:
//   <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@digest]
//   <repository>[:tag][@digest]
// Accepted ECR hosts: <account>.dkr.ecr.<region>.<partition's DNS suffix>
// (amazonaws.com for commercial and GovCloud regions, amazonaws.com.cn for
// China, c2s.ic.gov, sc2s.sgov.gov, cloud.adc-e.uk and csp.hci.ic.gov for the
// ISO partitions, amazonaws.eu for the European Sovereign Cloud), the FIPS
// form dkr.ecr-fips, and the dual-stack forms <account>.dkr-ecr[-fips].
// <region>.on.aws (China: .on.amazonwebservices.com.cn). The suffix must be
// the one of the region's partition.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ecr/digest.hpp"

namespace ecr {

// What an ECR registry host names.
struct EcrRegistryHost {
  std::string registry_id;  // the 12-digit account
  std::string region;
  bool fips = false;        // dkr.ecr-fips / dkr-ecr-fips
  bool dual_stack = false;  // dkr-ecr.<region>.on.aws and the like
};

// Parses a registry host name (no scheme, port or path; any letter case) in
// one of the forms above; nullopt when `host` is not an ECR registry host.
std::optional<EcrRegistryHost> parse_ecr_registry_host(std::string_view host);

struct ImageReference {
  std::optional<std::string> registry_id;  // the 12-digit account, from an ECR host
  std::optional<std::string> region;       // from an ECR host
  std::string repository;
  std::optional<std::string> tag;
  std::optional<Digest> digest;
  // The registry host exactly as the reference wrote it (lowercased), when
  // it named one; registry_host() falls back to the standard form.
  std::optional<std::string> host;

  // Parses `text`. The first '/'-separated part is a registry host when it
  // contains '.' or ':' or is "localhost" (Docker's rule); it must then be an
  // ECR host. Repository names follow the model's RepositoryName pattern
  // ([a-z0-9]+ components joined by '.', '_', '__' or runs of '-', path parts
  // joined by '/') and length (2-256). Tags: the model only limits ImageTag
  // to 1-300 characters; we also require Docker's character rule
  // [A-Za-z0-9_][A-Za-z0-9_.-]* so a tag can never be confused with the
  // ':' '@' '/' separators. Digests go through Digest::parse.
  // Throws InputError naming the bad part ("repository name", "tag",
  // "digest", "registry host") and quoting it, e.g.
  // "registry host 'docker.io' is not an Amazon ECR registry".
  static ImageReference parse(std::string_view text);

  // The registry host: `host` when set, else
  // "<account>.dkr.ecr.<region>.<DNS suffix of the region's partition>" when
  // registry_id and region are known; nullopt otherwise.
  std::optional<std::string> registry_host() const;
  // Canonical text form: [host/]repository[:tag][@digest].
  std::string str() const;
};

}  // namespace ecr
