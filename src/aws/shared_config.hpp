// ~/.aws/credentials and ~/.aws/config seen as one set of named profiles,
// with the paths and environment overrides the AWS CLI uses.
#pragma once

#include <optional>
#include <string>

#include "aws/ini_file.hpp"
#include "ecr/config.hpp"

namespace ecr::aws {

struct SharedConfig {
  // Paths as resolved; a path is empty only when HOME is unset and no
  // override variable names the file.
  std::string credentials_path;
  std::string config_path;
  bool credentials_file_found = false;
  bool config_file_found = false;
  // Profile name -> keys. Config file sections are `[default]` and
  // `[profile name]` (the prefix is removed here); other config sections
  // (`[sso-session x]`, `[services x]`, ...) are not profiles and are dropped.
  IniSections credentials_profiles;
  IniSections config_profiles;

  bool has_profile(const std::string& name) const;
  // `key` of profile `name`, from the credentials file first, then the
  // config file (botocore merges them the same way). Empty values count as
  // unset.
  std::optional<std::string> value(const std::string& name, const std::string& key) const;
  // "<credentials path>, <config path>" for error messages.
  std::string files_searched() const;
};

// Reads both files. Paths: AWS_SHARED_CREDENTIALS_FILE (default
// $HOME/.aws/credentials) and AWS_CONFIG_FILE (default $HOME/.aws/config),
// with a leading "~/" expanded from HOME. Missing files are empty. Throws
// InputError when a file exists but is unreadable or malformed.
SharedConfig load_shared_config(const Environment& env);

// The value of `name` in `env`, treating an empty value as unset.
std::optional<std::string> env_value(const Environment& env, const std::string& name);

}  // namespace ecr::aws
