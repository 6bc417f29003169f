// The ECR service model as constant tables: every shape with its members and
// constraints, every operation with its shapes, errors and paging rules.
// Validation walks these; the `ecr` CLI maps options to members with them.
// The data is generated (model_table.cpp) from third_party/aws/ecr-service-model.json
// and ecr-paginators.json; all views point into static storage.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace ecr::api::model {

enum class ShapeKind {
  kStructure,
  kString,  // also enums: see ShapeInfo::enum_values
  kInteger,
  kLong,
  kBoolean,
  kDouble,  // double and float
  kTimestamp,
  kBlob,
  kList,
  kMap,
};

inline constexpr std::uint16_t kNoShape = 0xffff;

struct ShapeInfo;

struct MemberInfo {
  std::string_view name;  // the wire name
  std::uint16_t target;   // index of the member's shape, see shape_at()
  bool required;
  bool deprecated;

  const ShapeInfo& shape() const noexcept;
};

struct ShapeInfo {
  std::string_view name;
  ShapeKind kind;
  std::span<const MemberInfo> members;  // structures, in model order
  std::uint16_t element;                // lists: member shape; maps: value shape
  std::uint16_t key;                    // maps: key shape
  // Lengths for strings and blobs (blob: decoded bytes), item counts for lists
  // and maps, values for numbers.
  std::optional<std::int64_t> min;
  std::optional<std::int64_t> max;
  std::string_view pattern;                  // ECMAScript regex, empty when none
  std::span<const std::string_view> enum_values;  // empty when not an enum
  bool exception;                            // an error shape

  const MemberInfo* find_member(std::string_view member_name) const noexcept {
    for (const MemberInfo& m : members) {
      if (m.name == member_name) return &m;
    }
    return nullptr;
  }
};

struct PaginatorInfo {
  std::string_view input_token;   // "nextToken"
  std::string_view output_token;  // "nextToken"
  std::string_view limit_key;     // "maxResults"
  // Dotted paths into the output ("imageIds", "imageScanFindings.findings").
  std::span<const std::string_view> result_keys;
  // Output members that are not paged ("registryId", "imageScanStatus"):
  // botocore copies them from the first page into a merged result.
  std::span<const std::string_view> non_aggregate_keys;
};

struct OperationInfo {
  std::string_view name;      // "CreateRepository"
  std::string_view cli_name;  // "create-repository", as the AWS CLI spells it
  std::string_view input;     // input shape name
  std::string_view output;    // output shape name
  std::span<const std::string_view> errors;  // error shape names
  std::optional<PaginatorInfo> paginator;
};

// "AmazonEC2ContainerRegistry_V20150921" and "ecr", from the model's metadata.
std::string_view service_target_prefix() noexcept;
std::string_view service_signing_name() noexcept;

// Sorted by name.
std::span<const ShapeInfo> shapes() noexcept;
std::span<const OperationInfo> operations() noexcept;

const ShapeInfo& shape_at(std::uint16_t index) noexcept;
// nullptr when the model has no such shape/operation.
const ShapeInfo* find_shape(std::string_view name) noexcept;
const OperationInfo* find_operation(std::string_view name) noexcept;

inline const ShapeInfo& MemberInfo::shape() const noexcept { return shape_at(target); }

}  // namespace ecr::api::model
