#include "aws/shared_config.hpp"

namespace ecr::aws {
namespace {

std::string resolve_path(const Environment& env, const std::string& override_var,
                         const std::string& default_leaf) {
  const auto home = env_value(env, "HOME");
  if (auto path = env_value(env, override_var)) {
    if (path->starts_with("~/") && home) return *home + path->substr(1);
    return *path;
  }
  if (!home) return {};
  return *home + "/.aws/" + default_leaf;
}

// "[profile name]" -> "name" and "[default]" -> "default"; nullopt for
// sections that are not profiles.
std::optional<std::string> config_profile_name(const std::string& section) {
  if (section == "default") return section;
  constexpr std::string_view kPrefix = "profile";
  if (!section.starts_with(kPrefix) || section.size() == kPrefix.size()) return std::nullopt;
  const char sep = section[kPrefix.size()];
  if (sep != ' ' && sep != '\t') return std::nullopt;
  const auto start = section.find_first_not_of(" \t", kPrefix.size());
  if (start == std::string::npos) return std::nullopt;
  return section.substr(start);
}

}  // namespace

std::optional<std::string> env_value(const Environment& env, const std::string& name) {
  auto value = env(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

bool SharedConfig::has_profile(const std::string& name) const {
  return credentials_profiles.count(name) > 0 || config_profiles.count(name) > 0;
}

std::optional<std::string> SharedConfig::value(const std::string& name,
                                               const std::string& key) const {
  for (const IniSections* file : {&credentials_profiles, &config_profiles}) {
    const auto profile = file->find(name);
    if (profile == file->end()) continue;
    const auto entry = profile->second.find(key);
    if (entry != profile->second.end() && !entry->second.empty()) return entry->second;
  }
  return std::nullopt;
}

std::string SharedConfig::files_searched() const {
  auto describe = [](const std::string& path, const char* fallback) {
    return path.empty() ? std::string(fallback) + " (HOME not set)" : path;
  };
  return describe(credentials_path, "~/.aws/credentials") + ", " +
         describe(config_path, "~/.aws/config");
}

SharedConfig load_shared_config(const Environment& env) {
  SharedConfig shared;
  shared.credentials_path = resolve_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  shared.config_path = resolve_path(env, "AWS_CONFIG_FILE", "config");
  if (!shared.credentials_path.empty()) {
    if (auto sections = load_ini_file(shared.credentials_path)) {
      shared.credentials_file_found = true;
      shared.credentials_profiles = std::move(*sections);
    }
  }
  if (!shared.config_path.empty()) {
    if (auto sections = load_ini_file(shared.config_path)) {
      shared.config_file_found = true;
      // "[profile default]" is accepted too and wins over "[default]", as
      // the later-merged section does in botocore.
      for (auto& [section, keys] : *sections) {
        const auto name = config_profile_name(section);
        if (!name) continue;
        auto& target = shared.config_profiles[*name];
        for (auto& [k, v] : keys) {
          if (section != "default" || target.count(k) == 0) target[k] = v;
        }
      }
    }
  }
  return shared;
}

}  // namespace ecr::aws
