// all_tasks(): the tasks not yet done. Sharded by creating thread, so creating tasks on
// different workers takes different (uncontended) locks. The locks are spinlocks: every task is
// added and removed once, each a few pointer writes, and a mutex's call costs more than that.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "weft/detail/spin_lock.hpp"
#include "weft/detail/task_core.hpp"

namespace weft::detail {

class TaskRegistry {
 public:
  void add(TaskCore& task, unsigned shard_hint);
  void remove(TaskCore& task);
  std::vector<std::shared_ptr<TaskCore>> snapshot();
  bool empty();
  std::uint64_t size();  // tasks registered and not removed yet (a shard's lock at a time)

 private:
  struct alignas(64) Shard {
    SpinLock locked;
    TaskCore* first = nullptr;  // guarded by locked
    std::size_t count = 0;      // guarded by locked
    void lock() noexcept;
    void unlock() noexcept;
  };
  static constexpr unsigned shard_count = 16;
  std::array<Shard, shard_count> shards_;
};

}  // namespace weft::detail
