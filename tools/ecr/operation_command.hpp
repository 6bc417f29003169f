// One CLI11 subcommand per model operation ("ecr create-repository ..."),
// with the options of operation_options.hpp plus --cli-input-json and, for
// paginated operations, --max-items, --page-size and --starting-token. After
// parsing, the command hands back what was typed as RequestArguments and
// PagingOptions; turning those into a request is request_builder's job.
#pragma once

#include <CLI/App.hpp>

#include <memory>
#include <string>
#include <vector>

#include "operation_options.hpp"
#include "pagination.hpp"
#include "request_builder.hpp"

namespace ecr::cli {

class OperationCommand {
 public:
  // Adds the subcommand to `parent`. The command must outlive parsing: CLI11
  // writes the values into it.
  OperationCommand(CLI::App& parent, const api::model::OperationInfo& operation);
  OperationCommand(const OperationCommand&) = delete;
  OperationCommand& operator=(const OperationCommand&) = delete;

  const api::model::OperationInfo& operation() const { return operation_; }
  // True when this subcommand was on the command line.
  bool chosen() const { return app_->parsed(); }

  RequestArguments arguments() const;
  // `no_paginate` is the global --no-paginate. Throws UsageError for a
  // --max-items/--page-size that is not a positive integer.
  PagingOptions paging(bool no_paginate) const;

 private:
  struct BoundOption {
    OptionSpec spec;
    CLI::Option* value = nullptr;    // non-boolean members
    CLI::Option* enable = nullptr;   // booleans: --force
    CLI::Option* disable = nullptr;  // booleans: --no-force
    std::vector<std::string> values;
  };

  const api::model::OperationInfo& operation_;
  CLI::App* app_;
  std::vector<std::unique_ptr<BoundOption>> options_;
  std::vector<std::string> cli_input_json_;
  std::vector<std::string> max_items_;
  std::vector<std::string> page_size_;
  std::vector<std::string> starting_token_;
};

// Every operation of the model, in the model table's order.
std::vector<std::unique_ptr<OperationCommand>> add_operation_commands(CLI::App& parent);

}  // namespace ecr::cli
