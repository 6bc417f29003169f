// Registry: lifecycle policy previews and applying policies for real.
#include "server/registry.hpp"
#include "server/registry_internal.hpp"

namespace ecr::server {
namespace {

// Tags cannot contain a newline (Docker tag grammar), so it separates them.
std::string join_tags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) out += (out.empty() ? "" : "\n") + t;
  return out;
}

std::vector<std::string> split_tags(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::vector<PreviewResult> Registry::evaluate(std::int64_t repo_id,
                                              const std::string& policy_text) {
  LifecyclePolicy policy = parse_lifecycle_policy(policy_text);
  std::vector<ImageInfo> images = load_images(repo_id);
  std::vector<LifecycleImage> view;
  for (const auto& image : images) {
    ImageState state = image.status == "ARCHIVED"     ? ImageState::kArchived
                       : image.status == "ACTIVATING" ? ImageState::kActivating
                                                      : ImageState::kActive;
    view.push_back({image.digest, image.tags, image.pushed_at, state, image.pulled_at,
                    image.activated_at, image.archived_at});
  }
  std::vector<PreviewResult> out;
  for (const LifecycleOutcome& o : evaluate_lifecycle(policy, view, clock_())) {
    const ImageInfo& image = images[o.image];
    out.push_back({image.digest, image.tags, image.pushed_at, o.rule_priority, o.action,
                   image.status == "ARCHIVED"});
  }
  return out;
}

LifecyclePreview Registry::start_lifecycle_preview(const std::string& repository,
                                                   const std::optional<std::string>& policy_text) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  RepoRow repo = find_repository(repository);
  std::string text;
  if (policy_text) {
    text = *policy_text;
  } else if (repo.lifecycle_policy) {
    text = *repo.lifecycle_policy;
  } else {
    throw api::LifecyclePolicyNotFoundException(
        "Lifecycle policy does not exist for the repository with name '" + repository +
        "' in the registry with id '" + settings_.account_id + "'");
  }
  sql::Statement running(*db_, "SELECT status FROM lifecycle_previews WHERE repo_id = ?");
  running.bind(1, repo.id);
  if (running.step() && running.text(0) == "IN_PROGRESS") {
    throw api::LifecyclePolicyPreviewInProgressException(
        "Previous lifecycle policy preview request has not been completed");
  }
  std::vector<PreviewResult> results =
      evaluate(repo.id, text);  // throws InputError on a bad policy
  sql::Statement clear(*db_, "DELETE FROM lifecycle_previews WHERE repo_id = ?");
  clear.bind(1, repo.id).run();
  sql::Statement ins(
      *db_, "INSERT INTO lifecycle_previews(repo_id, status, policy) VALUES(?, 'IN_PROGRESS', ?)");
  ins.bind(1, repo.id).bind(2, text).run();
  for (std::size_t i = 0; i < results.size(); ++i) {
    sql::Statement r(
        *db_,
        "INSERT INTO lifecycle_preview_results(repo_id, position, digest, tags, pushed_at, "
        "rule_priority, action, storage_class) VALUES(?,?,?,?,?,?,?,?)");
    r.bind(1, repo.id).bind(2, static_cast<std::int64_t>(i)).bind(3, results[i].digest);
    r.bind(4, join_tags(results[i].tags)).bind(5, to_ms(results[i].pushed_at));
    r.bind(6, results[i].rule_priority);
    r.bind(7, std::string(results[i].action == RuleAction::kTransition ? "TRANSITION" : "EXPIRE"));
    r.bind(8, std::string(results[i].archived ? "ARCHIVE" : "STANDARD")).run();
  }
  tx.commit();
  return {"IN_PROGRESS", text, {}};
}

LifecyclePreview Registry::lifecycle_preview(const std::string& repository) {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  RepoRow repo = find_repository(repository);
  sql::Statement s(*db_, "SELECT status, policy FROM lifecycle_previews WHERE repo_id = ?");
  s.bind(1, repo.id);
  if (!s.step()) {
    throw api::LifecyclePolicyPreviewNotFoundException(
        "There is no dry run for the repository with name '" + repository +
        "' in the registry with id '" + settings_.account_id + "'");
  }
  LifecyclePreview preview{"COMPLETE", s.text(1), {}};
  // The evaluation finished when Start returned; the first read is where the
  // client learns it, so the preview reports IN_PROGRESS exactly until then.
  sql::Statement done(*db_, "UPDATE lifecycle_previews SET status = 'COMPLETE' WHERE repo_id = ?");
  done.bind(1, repo.id).run();
  sql::Statement r(*db_,
                   "SELECT digest, tags, pushed_at, rule_priority, action, storage_class "
                   "FROM lifecycle_preview_results WHERE repo_id = ? ORDER BY position");
  r.bind(1, repo.id);
  while (r.step()) {
    preview.results.push_back(
        {r.text(0), split_tags(r.text(1)), from_ms(r.integer(2)), r.integer(3),
         r.text(4) == "TRANSITION" ? RuleAction::kTransition : RuleAction::kExpire,
         r.text(5) == "ARCHIVE"});
  }
  tx.commit();
  return preview;
}

std::size_t Registry::apply_lifecycle_policies() {
  std::lock_guard lock(mu_);
  sql::Transaction tx(*db_);
  std::vector<std::pair<std::int64_t, std::string>> policies;
  {
    sql::Statement s(
        *db_, "SELECT id, lifecycle_policy FROM repositories WHERE lifecycle_policy IS NOT NULL");
    while (s.step()) policies.emplace_back(s.integer(0), s.text(1));
  }
  std::size_t acted = 0;
  for (const auto& [repo_id, text] : policies) {
    std::vector<PreviewResult> results;
    try {
      results = evaluate(repo_id, text);
    } catch (const InputError&) {
      continue;  // stored policies were validated; one that no longer parses is skipped
    }
    for (const auto& r : results) {
      // An image an index still references stays, as BatchDeleteImage (and
      // UpdateImageStorageClass, while the index is not archived) would
      // refuse it.
      sql::Statement parent(
          *db_, r.action == RuleAction::kExpire
                    ? "SELECT 1 FROM image_children WHERE repo_id = ? AND child_digest = ? LIMIT 1"
                    : "SELECT 1 FROM image_children c JOIN images i ON i.repo_id = c.repo_id AND "
                      "i.digest = c.image_digest WHERE c.repo_id = ? AND c.child_digest = ? AND "
                      "i.storage_class = 'STANDARD' LIMIT 1");
      parent.bind(1, repo_id).bind(2, r.digest);
      if (parent.step()) continue;
      if (r.action == RuleAction::kExpire) {
        delete_image_row(repo_id, r.digest);
      } else {
        set_storage_class(repo_id, r.digest, true, {});
      }
      ++acted;
    }
    sql::Statement mark(*db_, "UPDATE repositories SET lifecycle_evaluated_at = ? WHERE id = ?");
    mark.bind(1, to_ms(clock_())).bind(2, repo_id).run();
  }
  tx.commit();
  return acted;
}

}  // namespace ecr::server
