// all_tasks(): the tasks not yet done. Sharded by creating thread, so creating tasks on
// different workers takes different (uncontended) locks.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <vector>

#include "weft/detail/task_core.hpp"

namespace weft::detail {

class TaskRegistry {
 public:
  void add(TaskCore& task, unsigned shard_hint);
  void remove(TaskCore& task);
  std::vector<std::shared_ptr<TaskCore>> snapshot();
  bool empty();

 private:
  struct alignas(64) Shard {
    std::mutex mutex;
    TaskCore* first = nullptr;  // guarded by mutex
    std::size_t count = 0;      // guarded by mutex
  };
  static constexpr unsigned shard_count = 16;
  std::array<Shard, shard_count> shards_;
};

}  // namespace weft::detail
