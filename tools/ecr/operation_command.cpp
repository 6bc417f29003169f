#include "operation_command.hpp"

#include <charconv>

#include "usage_error.hpp"

namespace ecr::cli {
namespace {

std::string help_type(const api::model::ShapeInfo& shape) {
  using api::model::ShapeKind;
  if (shape.kind == ShapeKind::kList) {
    const auto& element = api::model::shape_at(shape.element);
    // CLI11 adds "..." for options that take several values.
    return element.kind == ShapeKind::kStructure ? "JSON|SHORTHAND" : type_label(element);
  }
  if (shape.kind == ShapeKind::kStructure || shape.kind == ShapeKind::kMap) return "JSON|SHORTHAND";
  return type_label(shape);
}

std::optional<std::int64_t> positive_integer(const std::vector<std::string>& values,
                                             const char* flag) {
  if (values.empty()) return std::nullopt;
  const std::string& text = values.back();
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n <= 0) {
    throw UsageError(std::string("argument ") + flag + ": invalid positive integer: '" + text + "'");
  }
  return n;
}

}  // namespace

OperationCommand::OperationCommand(CLI::App& parent, const api::model::OperationInfo& operation)
    : operation_(operation),
      app_(parent.add_subcommand(std::string(operation.cli_name),
                                 "ECR " + std::string(operation.name) + " operation")) {
  // Global options (--region, --debug, ...) may follow the operation name.
  app_->fallthrough();
  for (OptionSpec& spec : operation_options(operation)) {
    auto bound = std::make_unique<BoundOption>();
    bound->spec = std::move(spec);
    const OptionSpec& s = bound->spec;
    const std::string group = s.hidden ? "" : "Options";
    if (s.member->shape().kind == api::model::ShapeKind::kBoolean) {
      const std::string description = option_description(s);
      bound->enable = app_->add_flag(s.flag, description)->group(group);
      bound->disable = app_->add_flag("--no-" + s.flag.substr(2))->group("");
      bound->enable->excludes(bound->disable);
    } else {
      const bool list = s.member->shape().kind == api::model::ShapeKind::kList;
      bound->value = app_->add_option(s.flag, bound->values, option_description(s))
                         ->type_name(help_type(s.member->shape()))
                         ->group(group);
      if (list) {
        // Any number of words, but never CLI11's "[a,b]" splitting: a JSON
        // list ('[{"a":1,"b":2}]') is one value that request_builder parses.
        // CLI11 splits a bracketed word only for options that allow extra
        // arguments, and treats a maximum of 1/16 of expected_max_vector_size
        // or more as "one item" unless they do, hence the bound below it.
        bound->value->expected(1, CLI::detail::expected_max_vector_size / 16 - 1)
            ->allow_extra_args(false);
      } else {
        bound->value->expected(1);
      }
    }
    options_.push_back(std::move(bound));
  }
  app_->add_option("--cli-input-json", cli_input_json_,
                   "the request as JSON text or file://PATH; options given explicitly win")
      ->type_name("JSON")
      ->expected(1);
  if (operation.paginator) {
    app_->add_option("--starting-token", starting_token_,
                     "resume from the NextToken of a previous --max-items run")
        ->type_name("string")
        ->expected(1);
    app_->add_option("--page-size", page_size_, "items per service call")
        ->type_name("integer")
        ->expected(1);
    app_->add_option("--max-items", max_items_,
                     "stop after this many items and print a NextToken")
        ->type_name("integer")
        ->expected(1);
    app_->footer(std::string(operation.cli_name) +
                 " is paginated: every page is fetched and merged unless --no-paginate is given.");
  }
}

RequestArguments OperationCommand::arguments() const {
  RequestArguments arguments;
  for (const auto& bound : options_) {
    if (bound->enable != nullptr) {
      if (bound->enable->count() > 0) {
        arguments.members.push_back({bound->spec.member, bound->spec.flag, {"true"}});
      } else if (bound->disable->count() > 0) {
        arguments.members.push_back({bound->spec.member, bound->spec.flag, {"false"}});
      }
    } else if (bound->value->count() > 0) {
      arguments.members.push_back({bound->spec.member, bound->spec.flag, bound->values});
    }
  }
  if (!cli_input_json_.empty()) arguments.cli_input_json = cli_input_json_.back();
  return arguments;
}

PagingOptions OperationCommand::paging(bool no_paginate) const {
  PagingOptions paging;
  paging.paginate = !no_paginate;
  paging.max_items = positive_integer(max_items_, "--max-items");
  paging.page_size = positive_integer(page_size_, "--page-size");
  if (!starting_token_.empty()) paging.starting_token = starting_token_.back();
  return paging;
}

std::vector<std::unique_ptr<OperationCommand>> add_operation_commands(CLI::App& parent) {
  std::vector<std::unique_ptr<OperationCommand>> commands;
  for (const api::model::OperationInfo& operation : api::model::operations()) {
    commands.push_back(std::make_unique<OperationCommand>(parent, operation));
  }
  return commands;
}

}  // namespace ecr::cli
