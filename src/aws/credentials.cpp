#include "aws/credentials.hpp"

#include "aws/credential_process.hpp"
#include "ecr/error.hpp"

namespace ecr::aws {
namespace {

std::optional<std::string> profile_key(const IniSections& profiles, const std::string& profile,
                                       const std::string& key) {
  const auto section = profiles.find(profile);
  if (section == profiles.end()) return std::nullopt;
  const auto entry = section->second.find(key);
  if (entry == section->second.end() || entry->second.empty()) return std::nullopt;
  return entry->second;
}

// Static keys of `profile` in one file; nullopt when the file has none.
std::optional<Credentials> profile_credentials(const IniSections& profiles,
                                               const std::string& profile,
                                               const std::string& path) {
  const auto key_id = profile_key(profiles, profile, "aws_access_key_id");
  const auto secret = profile_key(profiles, profile, "aws_secret_access_key");
  if (!key_id && !secret) return std::nullopt;
  if (!key_id || !secret) {
    throw InputError("profile '" + profile + "' in " + path + " sets " +
                     (key_id ? "aws_access_key_id but not aws_secret_access_key"
                             : "aws_secret_access_key but not aws_access_key_id"));
  }
  Credentials creds{*key_id, *secret, {}};
  // aws_security_token is the pre-2014 name some tools still write.
  if (auto token = profile_key(profiles, profile, "aws_session_token")) {
    creds.session_token = *token;
  } else if (auto legacy = profile_key(profiles, profile, "aws_security_token")) {
    creds.session_token = *legacy;
  }
  return creds;
}

std::string file_label(const std::string& path, bool found) {
  if (path.empty()) return "(HOME not set)";
  return found ? path : path + " (not found)";
}

}  // namespace

Credentials resolve_credentials(const std::optional<Credentials>& given, const std::string& profile,
                                const SharedConfig& shared, const Environment& env) {
  if (given) return *given;

  const auto env_key = env_value(env, "AWS_ACCESS_KEY_ID");
  const auto env_secret = env_value(env, "AWS_SECRET_ACCESS_KEY");
  if (env_key && env_secret) {
    return Credentials{*env_key, *env_secret, env_value(env, "AWS_SESSION_TOKEN").value_or("")};
  }
  if (env_key || env_secret) {
    throw InputError(env_key ? "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
                             : "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
  }

  if (auto creds =
          profile_credentials(shared.credentials_profiles, profile, shared.credentials_path)) {
    return *creds;
  }
  if (auto creds = profile_credentials(shared.config_profiles, profile, shared.config_path)) {
    return *creds;
  }
  if (auto command = shared.value(profile, "credential_process")) {
    return run_credential_process(*command, profile);
  }

  throw InputError(
      "no AWS credentials found; searched: explicit credentials, environment variables "
      "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profile '" +
      profile + "' in the shared credentials file " +
      file_label(shared.credentials_path, shared.credentials_file_found) + ", profile '" + profile +
      "' in the config file " + file_label(shared.config_path, shared.config_file_found) +
      ", credential_process of profile '" + profile + "'");
}

}  // namespace ecr::aws
