#include "task/task_registry.hpp"

#include <mutex>
#include <thread>

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

std::vector<std::shared_ptr<TaskCore>> TaskRegistry::snapshot() {
  std::vector<std::shared_ptr<TaskCore>> tasks;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard);
    for (TaskCore* t = shard.first; t; t = t->registry_next) {
      // A task is removed before its last reference goes, so this cannot resurrect a dead one.
      if (!t->done()) tasks.push_back(std::static_pointer_cast<TaskCore>(t->shared_from_this()));
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
