// Registry: storage set-up, repositories, their tags and policies.
#include <algorithm>
#include <set>

#include "core/base64.hpp"
#include "server/registry.hpp"
#include "server/registry_internal.hpp"
#include "server/wildcard.hpp"

namespace ecr::server {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS repositories(
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
  tag_mutability TEXT NOT NULL, scan_on_push INTEGER NOT NULL,
  encryption_type TEXT NOT NULL, kms_key TEXT, policy TEXT, lifecycle_policy TEXT,
  lifecycle_evaluated_at INTEGER, tag_mutability_exclusions TEXT);
CREATE TABLE IF NOT EXISTS repository_tags(
  repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(repo_id, key));
CREATE TABLE IF NOT EXISTS repository_blobs(
  repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  digest TEXT NOT NULL, size INTEGER NOT NULL, media_type TEXT,
  added_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(repo_id, digest));
CREATE TABLE IF NOT EXISTS images(
  repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  digest TEXT NOT NULL, manifest BLOB NOT NULL, media_type TEXT NOT NULL,
  artifact_media_type TEXT, pushed_at INTEGER NOT NULL, size INTEGER NOT NULL,
  PRIMARY KEY(repo_id, digest));
CREATE TABLE IF NOT EXISTS image_tags(
  repo_id INTEGER NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
  PRIMARY KEY(repo_id, tag),
  FOREIGN KEY(repo_id, digest) REFERENCES images(repo_id, digest) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS image_blobs(
  repo_id INTEGER NOT NULL, image_digest TEXT NOT NULL, blob_digest TEXT NOT NULL,
  PRIMARY KEY(repo_id, image_digest, blob_digest),
  FOREIGN KEY(repo_id, image_digest) REFERENCES images(repo_id, digest) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS image_children(
  repo_id INTEGER NOT NULL, image_digest TEXT NOT NULL, child_digest TEXT NOT NULL,
  PRIMARY KEY(repo_id, image_digest, child_digest),
  FOREIGN KEY(repo_id, image_digest) REFERENCES images(repo_id, digest) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS account_settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS image_subjects(
  repo_id INTEGER NOT NULL, image_digest TEXT NOT NULL, subject_digest TEXT NOT NULL,
  PRIMARY KEY(repo_id, image_digest),
  FOREIGN KEY(repo_id, image_digest) REFERENCES images(repo_id, digest) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS image_subjects_by_subject ON image_subjects(repo_id, subject_digest);
CREATE TABLE IF NOT EXISTS uploads(
  upload_id TEXT PRIMARY KEY,
  repo_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
  received INTEGER NOT NULL, last_part_size INTEGER NOT NULL,
  small_part INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lifecycle_previews(
  repo_id INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
  status TEXT NOT NULL, policy TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lifecycle_preview_results(
  repo_id INTEGER NOT NULL REFERENCES lifecycle_previews(repo_id) ON DELETE CASCADE,
  position INTEGER NOT NULL, digest TEXT NOT NULL, tags TEXT NOT NULL,
  pushed_at INTEGER NOT NULL, rule_priority INTEGER NOT NULL,
  PRIMARY KEY(repo_id, position));
CREATE TABLE IF NOT EXISTS creation_templates(
  prefix TEXT PRIMARY KEY, applied_for TEXT NOT NULL, description TEXT,
  tag_mutability TEXT NOT NULL, encryption_type TEXT NOT NULL, kms_key TEXT,
  lifecycle_policy TEXT, repository_policy TEXT, custom_role_arn TEXT,
  tag_mutability_exclusions TEXT,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS creation_template_tags(
  prefix TEXT NOT NULL REFERENCES creation_templates(prefix) ON DELETE CASCADE,
  position INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY(prefix, position));
CREATE TABLE IF NOT EXISTS registry_documents(name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pull_time_exclusions(
  principal_arn TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS image_scans(
  repo_id INTEGER NOT NULL, image_digest TEXT NOT NULL, status TEXT NOT NULL,
  description TEXT NOT NULL, started_at INTEGER NOT NULL,
  PRIMARY KEY(repo_id, image_digest),
  FOREIGN KEY(repo_id, image_digest) REFERENCES images(repo_id, digest) ON DELETE CASCADE);
)sql";

constexpr std::string_view kRepoColumns =
    "id, name, created_at, tag_mutability, scan_on_push, encryption_type, kms_key, policy, "
    "lifecycle_policy, lifecycle_evaluated_at, tag_mutability_exclusions";

std::string not_found_message(const std::string& name, const std::string& account) {
  return "The repository with name '" + name + "' does not exist in the registry with id '" +
         account + "'";
}

}  // namespace

bool has_column(sql::Database& db, std::string_view table, std::string_view column) {
  sql::Statement s(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
  s.bind(1, std::string(table)).bind(2, std::string(column));
  return s.step();
}

Timestamp system_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::string encode_page_token(std::size_t offset) {
  return base64::encode("ecr-local-page:" + std::to_string(offset));
}

std::size_t decode_page_token(const std::string& token) {
  constexpr std::string_view kPrefix = "ecr-local-page:";
  try {
    std::string text = base64::decode(token);
    if (text.starts_with(kPrefix) && text.size() > kPrefix.size() &&
        text.size() - kPrefix.size() <= 12 &&
        text.find_first_not_of("0123456789", kPrefix.size()) == std::string::npos) {
      return static_cast<std::size_t>(std::stoull(text.substr(kPrefix.size())));
    }
  } catch (const InputError&) {
  }
  throw api::InvalidParameterException(
      "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid pagination token'");
}

Registry::Registry(std::filesystem::path root, RegistrySettings settings, Clock clock)
    : root_(std::move(root)),
      settings_(std::move(settings)),
      clock_(std::move(clock)),
      blobs_(root_) {
  const std::string path = (root_ / "metadata.db").string();
  try {
    db_ = std::make_unique<sql::Database>(path);
    db_->exec(kSchema);
    add_blob_timestamps();
    add_archive_columns();
    add_tag_mutability_exclusions();
    part_db_ = std::make_unique<sql::Database>(path, sql::Sync::kNormal);
  } catch (const api::ServerException& e) {
    // At start the operator reads this, not a client: say which file (a
    // full disk gives SQLite's "database or disk is full" alone).
    if (e.message().find(path) != std::string::npos) throw;
    throw api::ServerException("cannot set up " + path + ": " + e.message());
  }
  std::set<std::string> live;
  sql::Statement s(*db_, "SELECT upload_id FROM uploads");
  while (s.step()) live.insert(s.text(0));
  blobs_.sweep_uploads(live);
}

Registry::~Registry() = default;

void Registry::add_blob_timestamps() {
  // Databases made before garbage collection have no added_at: their layers
  // count as added now, so none goes before a full retention period.
  if (has_column(*db_, "repository_blobs", "added_at")) return;
  sql::Transaction tx(*db_);
  db_->exec("ALTER TABLE repository_blobs ADD COLUMN added_at INTEGER NOT NULL DEFAULT 0");
  sql::Statement now(*db_, "UPDATE repository_blobs SET added_at = ?");
  now.bind(1, to_ms(clock_())).run();
  tx.commit();
}

void Registry::add_tag_mutability_exclusions() {
  // Databases made before exclusion filters: their repositories have none.
  if (has_column(*db_, "repositories", "tag_mutability_exclusions")) return;
  db_->exec("ALTER TABLE repositories ADD COLUMN tag_mutability_exclusions TEXT");
}

bool tag_is_immutable(const std::string& mutability, const std::vector<std::string>& exclusions,
                      std::string_view tag) {
  const bool excluded = std::any_of(exclusions.begin(), exclusions.end(),
                                    [&](const std::string& p) { return wildcard_match(p, tag); });
  if (mutability == "IMMUTABLE") return true;
  if (mutability == "IMMUTABLE_WITH_EXCLUSION") return !excluded;
  if (mutability == "MUTABLE_WITH_EXCLUSION") return excluded;
  return false;
}

Registry::RepoRow Registry::find_repository(const std::string& name) {
  sql::Statement s(*db_,
                   "SELECT " + std::string(kRepoColumns) + " FROM repositories WHERE name = ?");
  s.bind(1, name);
  if (!s.step())
    throw api::RepositoryNotFoundException(not_found_message(name, settings_.account_id));
  RepoRow row;
  row.id = s.integer(0);
  row.info.name = s.text(1);
  row.info.created_at = from_ms(s.integer(2));
  row.info.tag_mutability = s.text(3);
  row.info.scan_on_push = s.integer(4) != 0;
  row.info.encryption_type = s.text(5);
  row.info.kms_key = s.optional_text(6);
  row.policy = s.optional_text(7);
  row.lifecycle_policy = s.optional_text(8);
  if (!s.is_null(9)) row.lifecycle_evaluated_at = s.integer(9);
  row.info.tag_mutability_exclusions = split_list(s.optional_text(10).value_or(""));
  return row;
}

RepositoryInfo Registry::create_repository(const RepositoryInfo& wanted,
                                           const std::map<std::string, std::string>& tags) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  {
    sql::Statement exists(*db_, "SELECT 1 FROM repositories WHERE name = ?");
    exists.bind(1, wanted.name);
    if (exists.step()) {
      throw api::RepositoryAlreadyExistsException("The repository with name '" + wanted.name +
                                                  "' already exists in the registry with id '" +
                                                  settings_.account_id + "'");
    }
  }
  RepositoryInfo info = wanted;
  info.created_at = std::chrono::time_point_cast<std::chrono::seconds>(clock_());
  sql::Statement insert(*db_,
                        "INSERT INTO repositories(name, created_at, tag_mutability, scan_on_push, "
                        "encryption_type, kms_key, tag_mutability_exclusions) "
                        "VALUES(?,?,?,?,?,?,?)");
  insert.bind(1, info.name).bind(2, to_ms(info.created_at)).bind(3, info.tag_mutability);
  insert.bind(4, std::int64_t{info.scan_on_push})
      .bind(5, info.encryption_type)
      .bind(6, info.kms_key)
      .bind(7, join_list(info.tag_mutability_exclusions));
  insert.run();
  std::int64_t id = db_->last_insert_id();
  for (const auto& [key, value] : tags) {
    sql::Statement t(*db_, "INSERT INTO repository_tags(repo_id, key, value) VALUES(?,?,?)");
    t.bind(1, id).bind(2, key).bind(3, value).run();
  }
  tx.commit();
  return info;
}

RepositoryInfo Registry::repository(const std::string& name) {
  std::lock_guard lock(mu_);
  return find_repository(name).info;
}

std::vector<RepositoryInfo> Registry::describe_repositories(
    const std::vector<std::string>& names, const Page& page,
    std::optional<std::string>& next_token) {
  std::lock_guard lock(mu_);
  std::vector<RepositoryInfo> out;
  if (!names.empty()) {
    for (const auto& name : names) out.push_back(find_repository(name).info);
    next_token.reset();
    return out;
  }
  sql::Statement s(*db_, "SELECT name FROM repositories ORDER BY name");
  std::vector<std::string> all;
  while (s.step()) all.push_back(s.text(0));
  for (const auto& name : take_page(std::move(all), page, next_token)) {
    out.push_back(find_repository(name).info);
  }
  return out;
}

RepositoryInfo Registry::delete_repository(const std::string& name, bool force) {
  std::vector<std::string> uploads;
  RepositoryInfo info;
  {
    std::lock_guard lock(mu_);
    sql::Transaction tx(*db_);
    RepoRow row = find_repository(name);
    sql::Statement count(*db_, "SELECT COUNT(*) FROM images WHERE repo_id = ?");
    count.bind(1, row.id);
    count.step();
    if (count.integer(0) > 0 && !force) {
      throw api::RepositoryNotEmptyException(
          "The repository with name '" + name + "' in registry with id '" + settings_.account_id +
          "' cannot be deleted because it still contains images");
    }
    sql::Statement ups(*db_, "SELECT upload_id FROM uploads WHERE repo_id = ?");
    ups.bind(1, row.id);
    while (ups.step()) uploads.push_back(ups.text(0));
    // Children before parents: tags and references cascade from images.
    for (const char* sql_text :
         {"DELETE FROM image_tags WHERE repo_id = ?", "DELETE FROM image_blobs WHERE repo_id = ?",
          "DELETE FROM image_children WHERE repo_id = ?",
          "DELETE FROM image_subjects WHERE repo_id = ?", "DELETE FROM images WHERE repo_id = ?",
          "DELETE FROM repositories WHERE id = ?"}) {
      sql::Statement d(*db_, sql_text);
      d.bind(1, row.id).run();
    }
    tx.commit();
    info = row.info;
  }
  for (const auto& id : uploads) {
    blobs_.remove_upload(id);
    upload_hashes_.forget(id);
  }
  return info;
}

void Registry::set_tag_mutability(const std::string& name, const std::string& mutability,
                                  const std::vector<std::string>& exclusions) {
  std::lock_guard lock(mu_);
  RepoRow row = find_repository(name);
  sql::Statement s(*db_,
                   "UPDATE repositories SET tag_mutability = ?, tag_mutability_exclusions = ? "
                   "WHERE id = ?");
  s.bind(1, mutability).bind(2, join_list(exclusions)).bind(3, row.id).run();
}

void Registry::set_scan_on_push(const std::string& name, bool scan_on_push) {
  std::lock_guard lock(mu_);
  RepoRow row = find_repository(name);
  sql::Statement s(*db_, "UPDATE repositories SET scan_on_push = ? WHERE id = ?");
  s.bind(1, std::int64_t{scan_on_push}).bind(2, row.id).run();
}

void Registry::tag_repository(const std::string& name,
                              const std::map<std::string, std::string>& tags) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  RepoRow row = find_repository(name);
  for (const auto& [key, value] : tags) {
    sql::Statement t(*db_,
                     "INSERT OR REPLACE INTO repository_tags(repo_id, key, value) VALUES(?,?,?)");
    t.bind(1, row.id).bind(2, key).bind(3, value).run();
  }
  tx.commit();
}

void Registry::untag_repository(const std::string& name, const std::vector<std::string>& keys) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  RepoRow row = find_repository(name);
  for (const auto& key : keys) {
    sql::Statement t(*db_, "DELETE FROM repository_tags WHERE repo_id = ? AND key = ?");
    t.bind(1, row.id).bind(2, key).run();
  }
  tx.commit();
}

std::map<std::string, std::string> Registry::repository_tags(const std::string& name) {
  std::lock_guard lock(mu_);
  RepoRow row = find_repository(name);
  sql::Statement s(*db_, "SELECT key, value FROM repository_tags WHERE repo_id = ? ORDER BY key");
  s.bind(1, row.id);
  std::map<std::string, std::string> out;
  while (s.step()) out[s.text(0)] = s.text(1);
  return out;
}

void Registry::set_repository_policy(const std::string& name, const std::string& text) {
  std::lock_guard lock(mu_);
  RepoRow row = find_repository(name);
  sql::Statement s(*db_, "UPDATE repositories SET policy = ? WHERE id = ?");
  s.bind(1, text).bind(2, row.id).run();
}

std::string Registry::repository_policy(const std::string& name) {
  std::lock_guard lock(mu_);
  RepoRow row = find_repository(name);
  if (!row.policy) {
    throw api::RepositoryPolicyNotFoundException(
        "Repository policy does not exist for the repository with name '" + name +
        "' in the registry with id '" + settings_.account_id + "'");
  }
  return *row.policy;
}

std::string Registry::delete_repository_policy(const std::string& name) {
  std::string text = repository_policy(name);
  std::lock_guard lock(mu_);
  sql::Statement s(*db_, "UPDATE repositories SET policy = NULL WHERE name = ?");
  s.bind(1, name).run();
  return text;
}

void Registry::put_lifecycle_policy(const std::string& name, const std::string& text) {
  parse_lifecycle_policy(text);  // throws InputError; the caller maps it
  std::lock_guard lock(mu_);
  RepoRow row = find_repository(name);
  sql::Statement s(
      *db_,
      "UPDATE repositories SET lifecycle_policy = ?, lifecycle_evaluated_at = NULL WHERE id = ?");
  s.bind(1, text).bind(2, row.id).run();
}

std::pair<std::string, std::optional<Timestamp>> Registry::lifecycle_policy(
    const std::string& name) {
  std::lock_guard lock(mu_);
  RepoRow row = find_repository(name);
  if (!row.lifecycle_policy) {
    throw api::LifecyclePolicyNotFoundException(
        "Lifecycle policy does not exist for the repository with name '" + name +
        "' in the registry with id '" + settings_.account_id + "'");
  }
  std::optional<Timestamp> evaluated;
  if (row.lifecycle_evaluated_at) evaluated = from_ms(*row.lifecycle_evaluated_at);
  return {*row.lifecycle_policy, evaluated};
}

std::pair<std::string, std::optional<Timestamp>> Registry::delete_lifecycle_policy(
    const std::string& name) {
  auto result = lifecycle_policy(name);
  std::lock_guard lock(mu_);
  sql::Statement s(*db_,
                   "UPDATE repositories SET lifecycle_policy = NULL, lifecycle_evaluated_at = NULL "
                   "WHERE name = ?");
  s.bind(1, name).run();
  return result;
}

void Registry::set_account_setting(const std::string& name, const std::string& value) {
  std::lock_guard lock(mu_);
  sql::Statement s(*db_, "INSERT OR REPLACE INTO account_settings(name, value) VALUES(?,?)");
  s.bind(1, name).bind(2, value).run();
}

std::optional<std::string> Registry::account_setting(const std::string& name) {
  std::lock_guard lock(mu_);
  sql::Statement s(*db_, "SELECT value FROM account_settings WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

}  // namespace ecr::server
