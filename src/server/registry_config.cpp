// Registry: registry-wide configuration documents, pull-time update
// exclusions and the record of manual image scans.
#include "server/registry.hpp"
#include "server/registry_internal.hpp"

namespace ecr::server {

void Registry::put_registry_document(std::string_view name, const std::string& body) {
  std::lock_guard lock(mu_);
  sql::Statement s(*db_, "INSERT OR REPLACE INTO registry_documents(name, body) VALUES(?,?)");
  s.bind(1, name).bind(2, body).run();
}

std::optional<std::string> Registry::registry_document(std::string_view name) {
  std::lock_guard lock(mu_);
  sql::Statement s(*db_, "SELECT body FROM registry_documents WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::optional<std::string> Registry::delete_registry_document(std::string_view name) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  sql::Statement s(*db_, "SELECT body FROM registry_documents WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  std::string body = s.text(0);
  sql::Statement del(*db_, "DELETE FROM registry_documents WHERE name = ?");
  del.bind(1, name).run();
  tx.commit();
  return body;
}

Timestamp Registry::add_pull_time_exclusion(const std::string& principal_arn, std::size_t limit) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  sql::Statement exists(*db_, "SELECT 1 FROM pull_time_exclusions WHERE principal_arn = ?");
  exists.bind(1, principal_arn);
  if (exists.step()) {
    throw api::ExclusionAlreadyExistsException("The principal '" + principal_arn +
                                               "' is already excluded from pull time updates "
                                               "in the registry with id '" +
                                               settings_.account_id + "'");
  }
  sql::Statement count(*db_, "SELECT COUNT(*) FROM pull_time_exclusions");
  count.step();
  if (static_cast<std::size_t>(count.integer(0)) >= limit) {
    throw api::LimitExceededException("The registry with id '" + settings_.account_id +
                                      "' already has the maximum of " + std::to_string(limit) +
                                      " pull time update exclusions");
  }
  const Timestamp now = clock_();
  sql::Statement insert(*db_,
                        "INSERT INTO pull_time_exclusions(principal_arn, created_at) VALUES(?,?)");
  insert.bind(1, principal_arn).bind(2, to_ms(now)).run();
  tx.commit();
  return now;
}

void Registry::remove_pull_time_exclusion(const std::string& principal_arn) {
  std::lock_guard lock(mu_);
  sql::Statement s(*db_, "DELETE FROM pull_time_exclusions WHERE principal_arn = ?");
  s.bind(1, principal_arn).run();
  if (db_->changes() == 0) {
    throw api::ExclusionNotFoundException("The principal '" + principal_arn +
                                          "' is not excluded from pull time updates in the "
                                          "registry with id '" +
                                          settings_.account_id + "'");
  }
}

std::vector<std::string> Registry::pull_time_exclusions(const Page& page,
                                                        std::optional<std::string>& next_token) {
  std::vector<std::string> all;
  {
    std::lock_guard lock(mu_);
    sql::Statement s(*db_, "SELECT principal_arn FROM pull_time_exclusions ORDER BY principal_arn");
    while (s.step()) all.push_back(s.text(0));
  }
  return take_page(std::move(all), page, next_token);
}

std::string Registry::record_image_scan(const std::string& repository, const ImageRef& ref,
                                        const std::string& status, const std::string& description) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  RepoRow repo = find_repository(repository);
  std::string digest = resolve_image(repo.id, repository, ref);
  // StartImageScan's model error for an image in the archive storage class.
  if (load_image(repo.id, digest).status != "ACTIVE") {
    throw api::ImageArchivedException("The image with digest '" + digest +
                                      "' in the repository with name '" + repository +
                                      "' is archived and cannot be scanned; restore it first");
  }
  sql::Statement s(*db_,
                   "INSERT OR REPLACE INTO image_scans(repo_id, image_digest, status, description, "
                   "started_at) VALUES(?,?,?,?,?)");
  s.bind(1, repo.id).bind(2, digest).bind(3, status).bind(4, description).bind(5, to_ms(clock_()));
  s.run();
  tx.commit();
  return digest;
}

std::pair<std::string, std::optional<Registry::ImageScan>> Registry::image_scan(
    const std::string& repository, const ImageRef& ref) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  std::string digest = resolve_image(repo.id, repository, ref);
  sql::Statement s(*db_,
                   "SELECT status, description, started_at FROM image_scans "
                   "WHERE repo_id = ? AND image_digest = ?");
  s.bind(1, repo.id).bind(2, digest);
  if (!s.step()) return {digest, std::nullopt};
  return {digest, ImageScan{s.text(0), s.text(1), from_ms(s.integer(2))}};
}

std::map<std::string, Registry::ImageScan> Registry::image_scans(const std::string& repository) {
  std::lock_guard lock(mu_);
  RepoRow repo = find_repository(repository);
  sql::Statement s(*db_,
                   "SELECT image_digest, status, description, started_at FROM image_scans "
                   "WHERE repo_id = ?");
  s.bind(1, repo.id);
  std::map<std::string, ImageScan> out;
  while (s.step()) out[s.text(0)] = ImageScan{s.text(1), s.text(2), from_ms(s.integer(3))};
  return out;
}

}  // namespace ecr::server
