#include "pagination.hpp"

#include <array>
#include <span>
#include <vector>

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "ecr/error.hpp"
#include "usage_error.hpp"

namespace ecr::cli {
namespace {

using api::model::OperationInfo;
using api::model::PaginatorInfo;

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

// jmespath's search for a dotted path: nullptr when any step is missing.
JsonValue* search(JsonValue& document, std::string_view path) {
  JsonValue* at = &document;
  for (const std::string& part : split_path(path)) {
    if (!at->is_object()) return nullptr;
    at = at->find(part);
    if (at == nullptr) return nullptr;
  }
  return at->is_null() ? nullptr : at;
}

// botocore's set_value_from_jmespath: creates the objects along the way.
void set_path(JsonValue& document, std::string_view path, JsonValue value) {
  const std::vector<std::string> parts = split_path(path);
  JsonValue* at = &document;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    JsonValue* next = at->find(parts[i]);
    if (next == nullptr || !next->is_object()) {
      at->set(parts[i], JsonValue::object());
      next = at->find(parts[i]);
    }
    at = next;
  }
  at->set(parts.back(), std::move(value));
}

bool is_result_path(const PaginatorInfo& paginator, std::string_view path) {
  for (std::string_view key : paginator.result_keys) {
    if (key == path) return true;
  }
  return false;
}

// botocore's merge_dicts(complete, non_aggregate). Where botocore overwrites
// a result list with the first page's list it is the same (already extended)
// Python object, so the merged list stays: skipping result paths does that.
void merge_non_aggregate(JsonValue& into, const JsonValue& from, const PaginatorInfo& paginator,
                         const std::string& prefix) {
  for (const auto& [name, value] : from.as_object()) {
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    JsonValue* existing = into.find(name);
    if (value.is_object() && existing != nullptr && existing->is_object()) {
      merge_non_aggregate(*existing, value, paginator, path);
    } else if (!(existing != nullptr && is_result_path(paginator, path))) {
      into.set(name, value);
    }
  }
}

void add_page(JsonValue& complete, JsonValue& page, const PaginatorInfo& paginator) {
  for (std::string_view key : paginator.result_keys) {
    JsonValue* value = search(page, key);
    if (value == nullptr) continue;
    JsonValue* existing = search(complete, key);
    if (existing == nullptr) {
      set_path(complete, key, *value);
    } else if (value->is_array() && existing->is_array()) {
      for (JsonValue& item : value->as_array()) existing->as_array().push_back(item);
    } else if (value->is_string() && existing->is_string()) {
      *existing = JsonValue::string(existing->as_string() + value->as_string());
    } else if (value->is_integer() && existing->is_integer()) {
      *existing = JsonValue::integer(existing->as_integer() + value->as_integer());
    }
  }
}

std::optional<std::string> token_of(const JsonValue& page, std::string_view output_token) {
  const JsonValue* token = page.is_object() ? page.find(output_token) : nullptr;
  if (token == nullptr || !token->is_string() || token->as_string().empty()) return std::nullopt;
  return token->as_string();
}

struct StartingToken {
  std::optional<std::string> next_token;
  std::int64_t truncate_amount = 0;
};

StartingToken decode_starting_token(const std::string& text, std::string_view input_token) {
  const auto bad = [&] { return UsageError("Bad starting token: " + text); };
  std::string decoded;
  try {
    decoded = base64::decode(text);
  } catch (const Error&) {
    throw bad();
  }
  JsonValue token;
  try {
    token = parse_json(decoded, "--starting-token");
  } catch (const UsageError&) {
    throw bad();
  }
  if (!token.is_object()) throw bad();
  StartingToken result;
  for (const auto& [name, value] : token.as_object()) {
    if (name == input_token && value.is_string()) {
      result.next_token = value.as_string();
    } else if (name == "boto_truncate_amount" && value.is_integer()) {
      result.truncate_amount = value.as_integer();
    } else if (!(name == input_token && value.is_null())) {
      throw bad();
    }
  }
  return result;
}

void put_token(JsonValue& request, std::string_view input_token,
               const std::optional<std::string>& token) {
  if (token && *token != "None") {
    request.set(input_token, JsonValue::string(*token));
  } else {
    request.erase(input_token);
  }
}

void check_paging_off(const PagingOptions& options) {
  std::string used;
  if (options.starting_token) used += "--starting-token";
  if (options.page_size) used += std::string(used.empty() ? "" : ", ") + "--page-size";
  if (options.max_items) used += std::string(used.empty() ? "" : ", ") + "--max-items";
  if (!used.empty()) {
    // The AWS CLI raises this as a botocore PaginationError, exit 255.
    throw InputError("Error during pagination: Cannot specify --no-paginate along with "
                     "pagination arguments: " + used);
  }
}

}  // namespace

std::string encode_resume_token(const std::optional<std::string>& next_token,
                                std::optional<std::int64_t> truncate_amount) {
  // Python's json.dumps separators: ", " and ": ".
  std::string text = "{\"nextToken\": ";
  if (next_token) {
    text += '"';
    json::escape_to(text, *next_token);
    text += '"';
  } else {
    text += "null";
  }
  if (truncate_amount) text += ", \"boto_truncate_amount\": " + std::to_string(*truncate_amount);
  text += '}';
  return base64::encode(text);
}

JsonValue run_operation(const OperationInfo& operation, JsonValue request,
                        const PagingOptions& options, const PageCall& call) {
  if (!operation.paginator) return call(request);
  const PaginatorInfo& paginator = *operation.paginator;
  // Giving the service's own paging members means "I page myself".
  const bool manual = request.find(paginator.input_token) != nullptr ||
                      (!paginator.limit_key.empty() && request.find(paginator.limit_key) != nullptr);
  if (!options.paginate || manual) {
    check_paging_off(options);
    return call(request);
  }

  std::optional<std::string> next_token;
  std::int64_t starting_truncation = 0;
  if (options.starting_token) {
    StartingToken start = decode_starting_token(*options.starting_token, paginator.input_token);
    next_token = start.next_token;
    starting_truncation = start.truncate_amount;
    put_token(request, paginator.input_token, next_token);
  }
  if (options.page_size && !paginator.limit_key.empty()) {
    request.set(paginator.limit_key, JsonValue::integer(*options.page_size));
  }

  const std::string_view primary = paginator.result_keys.empty() ? std::string_view()
                                                                 : paginator.result_keys[0];
  JsonValue complete = JsonValue::object();
  JsonValue non_aggregate = JsonValue::object();
  std::optional<std::string> resume;
  std::optional<std::string> previous_token;
  std::int64_t total = 0;
  bool first = true;
  while (true) {
    JsonValue page = call(request);
    if (!page.is_object()) page = JsonValue::object();
    if (first) {
      if (options.starting_token) {
        // Resume inside a page cut by --max-items last time.
        if (JsonValue* items = search(page, primary); items && items->is_array()) {
          auto& list = items->as_array();
          const auto skip = std::min<std::size_t>(static_cast<std::size_t>(starting_truncation),
                                                  list.size());
          list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(skip));
        }
      }
      for (std::string_view key : paginator.non_aggregate_keys) {
        const JsonValue* value = page.find(key);
        non_aggregate.set(key, value ? *value : JsonValue());
      }
      first = false;
    } else {
      starting_truncation = 0;
    }
    JsonValue* items = search(page, primary);
    const std::int64_t count =
        items && items->is_array() ? static_cast<std::int64_t>(items->as_array().size()) : 0;
    const std::int64_t excess = options.max_items ? total + count - *options.max_items : 0;
    if (excess > 0) {
      const std::int64_t keep = count - excess;
      items->as_array().resize(static_cast<std::size_t>(keep));
      resume = encode_resume_token(next_token, keep + starting_truncation);
      add_page(complete, page, paginator);
      break;
    }
    add_page(complete, page, paginator);
    total += count;
    std::optional<std::string> token = token_of(page, paginator.output_token);
    if (!token) break;
    if (options.max_items && total == *options.max_items) {
      resume = encode_resume_token(token, std::nullopt);
      break;
    }
    if (previous_token && *previous_token == *token) {
      throw InputError("The same next token was received twice: {'" +
                       std::string(paginator.input_token) + "': '" + *token + "'}");
    }
    next_token = token;
    put_token(request, paginator.input_token, next_token);
    previous_token = token;
  }
  merge_non_aggregate(complete, non_aggregate, paginator, "");
  if (resume) complete.set("NextToken", JsonValue::string(*resume));
  return complete;
}

}  // namespace ecr::cli
