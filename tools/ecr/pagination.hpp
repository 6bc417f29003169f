// Paginated operations as the AWS CLI v1 runs them (botocore's PageIterator
// and build_full_result): every page is fetched and the result keys are
// concatenated, unless the user turned paging off (--no-paginate, or by
// giving the paginator's own nextToken/maxResults). --max-items cuts the
// result and adds a "NextToken" that --starting-token resumes from;
// --page-size sets the page size sent to the service.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/model_table.hpp"
#include "json_value.hpp"

namespace ecr::cli {

struct PagingOptions {
  bool paginate = true;  // false with --no-paginate
  std::optional<std::int64_t> max_items;
  std::optional<std::int64_t> page_size;
  std::optional<std::string> starting_token;
};

// Sends one request and returns the (modeled part of the) response.
using PageCall = std::function<JsonValue(const JsonValue& request)>;

// Runs `operation` with `request`: one call when the operation has no
// paginator or paging is off, else page after page. Throws InputError for
// --no-paginate together with --max-items/--page-size/--starting-token (as
// the AWS CLI, whose PaginationError exits 255) and when the service returns
// the same token twice; UsageError for a starting token this tool did not make.
JsonValue run_operation(const api::model::OperationInfo& operation, JsonValue request,
                        const PagingOptions& options, const PageCall& call);

// The token the AWS CLI prints as NextToken: base64 of Python's
// json.dumps({"nextToken": ..., "boto_truncate_amount": n}).
std::string encode_resume_token(const std::optional<std::string>& next_token,
                                std::optional<std::int64_t> truncate_amount);

}  // namespace ecr::cli
