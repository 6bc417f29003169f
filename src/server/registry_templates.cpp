// Repository creation templates and create-on-push: the templates' storage,
// ECR's prefix matching, and the one place a push makes its repository.
#include <algorithm>

#include "server/registry_internal.hpp"

namespace ecr::server {
namespace {

constexpr std::string_view kRootPrefix = "ROOT";
constexpr std::string_view kCreateOnPush = "CREATE_ON_PUSH";

constexpr std::string_view kTemplateColumns =
    "prefix, applied_for, description, tag_mutability, encryption_type, kms_key, "
    "lifecycle_policy, repository_policy, custom_role_arn, created_at, updated_at, "
    "tag_mutability_exclusions";

// ECR assumes a '/' after every prefix: "prod/" is the template "prod".
std::string normalized(std::string_view prefix) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  return std::string(prefix);
}

std::string not_found(const std::string& prefix, const std::string& account) {
  return "The repository creation template with prefix '" + prefix +
         "' does not exist in the registry with id '" + account + "'";
}

std::optional<CreationTemplate> load_template(sql::Database& db, const std::string& prefix) {
  sql::Statement s(
      db, "SELECT " + std::string(kTemplateColumns) + " FROM creation_templates WHERE prefix = ?");
  s.bind(1, prefix);
  if (!s.step()) return std::nullopt;
  CreationTemplate t;
  t.prefix = s.text(0);
  t.applied_for = split_list(s.text(1));
  t.description = s.optional_text(2);
  t.tag_mutability = s.text(3);
  t.encryption_type = s.text(4);
  t.kms_key = s.optional_text(5);
  t.lifecycle_policy = s.optional_text(6);
  t.repository_policy = s.optional_text(7);
  t.custom_role_arn = s.optional_text(8);
  t.created_at = from_ms(s.integer(9));
  t.updated_at = from_ms(s.integer(10));
  t.tag_mutability_exclusions = split_list(s.optional_text(11).value_or(""));
  sql::Statement tags(db,
                      "SELECT key, value FROM creation_template_tags WHERE prefix = ? "
                      "ORDER BY position");
  tags.bind(1, prefix);
  while (tags.step()) t.resource_tags.emplace_back(tags.text(0), tags.text(1));
  return t;
}

// Writes `t` over its row (or as a new one) with its tags; the caller holds
// a transaction.
void store_template(sql::Database& db, const CreationTemplate& t) {
  sql::Statement s(db, "INSERT OR REPLACE INTO creation_templates(" +
                           std::string(kTemplateColumns) + ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, t.prefix).bind(2, join_list(t.applied_for).value_or("")).bind(3, t.description);
  s.bind(4, t.tag_mutability).bind(5, t.encryption_type).bind(6, t.kms_key);
  s.bind(7, t.lifecycle_policy).bind(8, t.repository_policy).bind(9, t.custom_role_arn);
  s.bind(10, to_ms(t.created_at)).bind(11, to_ms(t.updated_at));
  s.bind(12, join_list(t.tag_mutability_exclusions));
  s.run();
  sql::Statement clear(db, "DELETE FROM creation_template_tags WHERE prefix = ?");
  clear.bind(1, t.prefix).run();
  std::int64_t position = 0;
  for (const auto& [key, value] : t.resource_tags) {
    sql::Statement tag(
        db, "INSERT INTO creation_template_tags(prefix, position, key, value) VALUES(?,?,?,?)");
    tag.bind(1, t.prefix).bind(2, position++).bind(3, key).bind(4, value).run();
  }
}

// The CREATE_ON_PUSH template for a new repository `name`: the longest
// prefix P with `name` starting with "P/", else ROOT; templates for other
// scenarios only are not considered.
std::optional<CreationTemplate> push_template(sql::Database& db, const std::string& name) {
  sql::Statement s(db, "SELECT prefix, applied_for FROM creation_templates");
  std::optional<std::string> best;
  bool root = false;
  while (s.step()) {
    const std::vector<std::string> applied = split_list(s.text(1));
    if (std::find(applied.begin(), applied.end(), kCreateOnPush) == applied.end()) continue;
    const std::string prefix = s.text(0);
    if (prefix == kRootPrefix) {
      root = true;
    } else if (name.size() > prefix.size() && name.starts_with(prefix) &&
               name[prefix.size()] == '/' && (!best || prefix.size() > best->size())) {
      best = prefix;
    }
  }
  if (!best && root) best = std::string(kRootPrefix);
  if (!best) return std::nullopt;
  return load_template(db, *best);
}

bool repository_exists(sql::Database& db, const std::string& name) {
  sql::Statement s(db, "SELECT 1 FROM repositories WHERE name = ?");
  s.bind(1, name);
  return s.step();
}

}  // namespace

CreationTemplate Registry::create_creation_template(const CreationTemplate& wanted) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  CreationTemplate t = wanted;
  t.prefix = normalized(wanted.prefix);
  if (load_template(*db_, t.prefix)) {
    throw api::TemplateAlreadyExistsException(
        "The repository creation template with prefix '" + t.prefix +
        "' already exists in the registry with id '" + settings_.account_id + "'");
  }
  sql::Statement count(*db_, "SELECT COUNT(*) FROM creation_templates");
  count.step();
  if (static_cast<std::size_t>(count.integer(0)) >= kMaxCreationTemplates) {
    throw api::LimitExceededException(
        "The registry with id '" + settings_.account_id + "' already has " +
        std::to_string(kMaxCreationTemplates) +
        " repository creation templates, the most a registry can have");
  }
  t.created_at = t.updated_at = clock_();
  store_template(*db_, t);
  tx.commit();
  return t;
}

std::vector<CreationTemplate> Registry::describe_creation_templates(
    const std::vector<std::string>& prefixes, const Page& page,
    std::optional<std::string>& next_token) {
  std::lock_guard lock(mu_);
  std::vector<std::string> wanted;
  if (prefixes.empty()) {
    sql::Statement s(*db_, "SELECT prefix FROM creation_templates ORDER BY prefix");
    while (s.step()) wanted.push_back(s.text(0));
  } else {
    for (const auto& p : prefixes) wanted.push_back(normalized(p));
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  }
  std::vector<CreationTemplate> found;
  for (const auto& prefix : wanted) {
    if (auto t = load_template(*db_, prefix)) found.push_back(std::move(*t));
  }
  return take_page(std::move(found), page, next_token);
}

CreationTemplate Registry::update_creation_template(
    const std::string& prefix, const std::function<void(CreationTemplate&)>& change) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  const std::string key = normalized(prefix);
  std::optional<CreationTemplate> t = load_template(*db_, key);
  if (!t) throw api::TemplateNotFoundException(not_found(key, settings_.account_id));
  change(*t);
  t->prefix = key;
  t->updated_at = clock_();
  store_template(*db_, *t);
  tx.commit();
  return *t;
}

CreationTemplate Registry::delete_creation_template(const std::string& prefix) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  const std::string key = normalized(prefix);
  std::optional<CreationTemplate> t = load_template(*db_, key);
  if (!t) throw api::TemplateNotFoundException(not_found(key, settings_.account_id));
  for (const char* sql_text : {"DELETE FROM creation_template_tags WHERE prefix = ?",
                               "DELETE FROM creation_templates WHERE prefix = ?"}) {
    sql::Statement d(*db_, sql_text);
    d.bind(1, key).run();
  }
  tx.commit();
  return *t;
}

RepositoryInfo Registry::repository_for_push(const std::string& name) {
  // mu_ serialises every use of db_, so nothing creates the repository
  // between the check and the insert.
  std::lock_guard lock(mu_);
  if (repository_exists(*db_, name)) return find_repository(name).info;
  const std::optional<CreationTemplate> t = push_template(*db_, name);
  if (!t) return find_repository(name).info;  // RepositoryNotFoundException
  sql::Transaction tx(*db_);
  RepositoryInfo info;
  info.name = name;
  info.created_at = std::chrono::time_point_cast<std::chrono::seconds>(clock_());
  info.tag_mutability = t->tag_mutability;
  info.tag_mutability_exclusions = t->tag_mutability_exclusions;
  info.encryption_type = t->encryption_type;
  if (t->kms_key && !t->kms_key->empty()) info.kms_key = t->kms_key;
  sql::Statement insert(*db_,
                        "INSERT INTO repositories(name, created_at, tag_mutability, scan_on_push, "
                        "encryption_type, kms_key, policy, lifecycle_policy, "
                        "tag_mutability_exclusions) VALUES(?,?,?,0,?,?,?,?,?)");
  insert.bind(1, info.name).bind(2, to_ms(info.created_at)).bind(3, info.tag_mutability);
  insert.bind(4, info.encryption_type).bind(5, info.kms_key);
  insert.bind(6, t->repository_policy).bind(7, t->lifecycle_policy);
  insert.bind(8, join_list(info.tag_mutability_exclusions));
  insert.run();
  const std::int64_t id = db_->last_insert_id();
  for (const auto& [key, value] : t->resource_tags) {
    sql::Statement tag(*db_,
                       "INSERT OR REPLACE INTO repository_tags(repo_id, key, value) VALUES(?,?,?)");
    tag.bind(1, id).bind(2, key).bind(3, value).run();
  }
  tx.commit();
  return info;
}

bool Registry::creates_on_push(const std::string& name) {
  std::lock_guard lock(mu_);
  return !repository_exists(*db_, name) && push_template(*db_, name).has_value();
}

}  // namespace ecr::server
