#include "task/task_registry.hpp"

#include <mutex>
#include <thread>
#include <unordered_set>

namespace weft::detail {

void TaskRegistry::Shard::lock() noexcept {
  locked.lock();
}
void TaskRegistry::Shard::unlock() noexcept {
  locked.unlock();
}

void TaskRegistry::add(TaskCore& task, unsigned shard_hint) {
  task.registry_shard = static_cast<std::uint16_t>(shard_hint % shard_count);
  Shard& shard = shards_[task.registry_shard];
  std::lock_guard lock(shard);
  task.registry_prev = nullptr;
  task.registry_next = shard.first;
  if (shard.first) shard.first->registry_prev = &task;
  shard.first = &task;
  ++shard.count;
}

void TaskRegistry::remove(TaskCore& task) {
  Shard& shard = shards_[task.registry_shard];
  std::lock_guard lock(shard);
  if (task.registry_prev) {
    task.registry_prev->registry_next = task.registry_next;
  } else if (shard.first == &task) {
    shard.first = task.registry_next;
  } else {
    return;  // not registered
  }
  if (task.registry_next) task.registry_next->registry_prev = task.registry_prev;
  task.registry_prev = task.registry_next = nullptr;
  --shard.count;
}

std::vector<Ref<TaskCore>> TaskRegistry::snapshot() {
  std::vector<Ref<TaskCore>> tasks;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard);
    for (TaskCore* t = shard.first; t; t = t->registry_next) {
      // A task is removed before its last reference goes, so this cannot resurrect a dead one.
      if (!t->done()) tasks.push_back(Ref<TaskCore>(t));
    }
  }
  return tasks;
}

std::vector<Ref<TaskCore>> TaskRegistry::snapshot_in_batches(std::size_t batch) {
  std::vector<Ref<TaskCore>> tasks;
  for (Shard& shard : shards_) {
    const std::size_t shard_start = tasks.size();
    // The last task taken, kept alive by `tasks`: while it is still linked, the next batch goes
    // on from its successor. Once it is unlinked (it ended while the lock was free) the walk
    // starts over from the head, skipping what it took already (`taken`, filled only then;
    // a skip is a pointer chase and a hash lookup, so only takes count towards `batch`).
    TaskCore* cursor = nullptr;
    std::unordered_set<const TaskCore*> taken;
    for (bool more = true; more;) {
      std::lock_guard lock(shard);
      TaskCore* t = shard.first;
      if (cursor && (cursor->registry_prev || shard.first == cursor)) {
        t = cursor->registry_next;
      } else if (cursor && taken.empty()) {
        for (std::size_t i = shard_start; i < tasks.size(); ++i) taken.insert(tasks[i].get());
      }
      std::size_t took = 0;
      for (; t && took < batch; t = t->registry_next) {
        if (t->done() || (!taken.empty() && taken.count(t))) continue;
        // Removed before its last reference goes (see snapshot): alive while linked.
        tasks.push_back(Ref<TaskCore>(t));
        if (!taken.empty()) taken.insert(t);
        cursor = t;
        ++took;
      }
      more = t != nullptr;
    }
  }
  return tasks;
}

std::uint64_t TaskRegistry::size() {
  std::uint64_t n = 0;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard);
    n += shard.count;
  }
  return n;
}

bool TaskRegistry::empty() {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard);
    if (shard.count) return false;
  }
  return true;
}

}  // namespace weft::detail
