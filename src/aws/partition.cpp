#include "aws/partition.hpp"

namespace ecr::aws {
namespace {

struct RegionPrefix {
  std::string_view prefix;
  Partition partition;
};

// Dual-stack registry hosts are documented for the commercial, GovCloud and
// China partitions only; elsewhere an empty suffix makes every such host
// unknown rather than guessed.
constexpr RegionPrefix kPartitions[] = {
    {"cn-", {"amazonaws.com.cn", "on.amazonwebservices.com.cn"}},
    {"us-iso-", {"c2s.ic.gov", ""}},
    {"us-isob-", {"sc2s.sgov.gov", ""}},
    {"eu-isoe-", {"cloud.adc-e.uk", ""}},
    {"us-isof-", {"csp.hci.ic.gov", ""}},
    {"eusc-", {"amazonaws.eu", ""}},
};
constexpr Partition kCommercial{"amazonaws.com", "on.aws"};

}  // namespace

const Partition& partition_of(std::string_view region) noexcept {
  for (const auto& entry : kPartitions) {
    if (region.starts_with(entry.prefix)) return entry.partition;
  }
  return kCommercial;
}

}  // namespace ecr::aws
