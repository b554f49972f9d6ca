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
  std::vector<Ref<TaskCore>> snapshot();
  // snapshot(), but holding a shard's lock for at most `batch` tasks at a time, so a dump of
  // 100,000 tasks never holds up a worker that creates or ends one (the inspect server, §18).
  // A task made or ended meanwhile may be in it or not, as with all_tasks().
  std::vector<Ref<TaskCore>> snapshot_in_batches(std::size_t batch);
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
