// Fiber stacks at their limits: an absurd stack size is refused, a task that cannot get a stack
// fails with MemoryError while the runtime goes on, and a frame larger than the guard region is
// caught at the guard instead of writing into a neighbouring stack.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "faults_test_support.hpp"

namespace {

using weft_faults_test::kSanitized;

// Restores the default stack size when a test changes it.
class StackSizeGuard {
 public:
  StackSizeGuard() : saved_(weft::default_stack_size()) {}
  StackSizeGuard(const StackSizeGuard&) = delete;
  StackSizeGuard& operator=(const StackSizeGuard&) = delete;
  ~StackSizeGuard() { weft::set_default_stack_size(saved_); }

 private:
  std::size_t saved_;
};

// The child processes of these tests are started afresh (fork + exec, gtest's "threadsafe"
// style) rather than forked from the test runner: a runner's other threads (a runtime's
// workers, the stack trimmer) may hold locks at the moment of a bare fork.
class StackFaultsDeathTest : public testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

// ---- 9: the stack size is validated when it is set -------------------------------------------

std::string refusal_of(std::size_t bytes) {
  try {
    weft::set_default_stack_size(bytes);
  } catch (const weft::ValueError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(StackSize, SizesOutsideTheBoundsAreRefusedWithAValueErrorNamingThemAndTheBoundsRun) {
  StackSizeGuard restore;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  // SIZE_MAX and its neighbours overflow when rounded up to pages; 1 TiB is absurd; 8 KiB
  // cannot even unwind an exception.
  for (std::size_t bytes :
       {SIZE_MAX, SIZE_MAX - page + 2, std::size_t{1} << 40, weft::max_stack_size + 1,
        weft::min_stack_size - 1, std::size_t{8192}, std::size_t{0}}) {
    std::string message = refusal_of(bytes);
    EXPECT_EQ(message.rfind("size not valid: " + std::to_string(bytes) + " bytes", 0), 0u)
        << bytes << ": " << message;
    EXPECT_NE(message.find(std::to_string(weft::min_stack_size)), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(weft::max_stack_size)), std::string::npos) << message;
    EXPECT_EQ(weft::default_stack_size(), 64u * 1024u) << "a refused size was kept: " << bytes;
  }
  // The refusals left a working default behind.
  auto c = weft::coro([] { return 7; });
  EXPECT_EQ(c.send().value(), 7);
  // And the bounds themselves are sizes a coroutine runs on.
  ASSERT_EQ(refusal_of(weft::min_stack_size), "accepted");
  // The smallest stack still has room to throw and catch.
  auto small = weft::coro([] {
    try {
      throw weft::ValueError("caught on a small stack");
    } catch (const weft::ValueError& e) {
      return std::string(e.what());
    }
  });
  EXPECT_EQ(small.send().value(), "caught on a small stack");
  ASSERT_EQ(refusal_of(weft::max_stack_size), "accepted");
  // Address space only (MAP_NORESERVE): a 1 GiB stack costs the pages it touches.
  auto large = weft::coro([] { return 1; });
  EXPECT_EQ(large.send().value(), 1);
}

// ---- 10: no stack for a task is a MemoryError, and the runtime goes on -----------------------

std::size_t mapped_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

void set_address_space_limit(rlim_t bytes) {
  rlimit limit{};
  getrlimit(RLIMIT_AS, &limit);
  limit.rlim_cur = bytes;  // the soft limit only: the hard one lets us raise it again
  if (setrlimit(RLIMIT_AS, &limit) != 0) std::_Exit(90);
}

// Child-side checks: say what went wrong, and exit with a code the parent asserts on.
void require(bool ok, int code, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "child check failed: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(code);
}

// Under RLIMIT_AS, tasks with 8 MiB stacks are created until the limit stops their stacks: the
// ones that got a stack finish, the rest fail with MemoryError, and once the limit is lifted a
// new task runs. Exits 0 when all of that holds.
void tasks_under_an_address_space_limit() {
  weft::set_default_stack_size(8u << 20);
  weft::run(
      [] {
        const int count = 40;  // 320 MiB of stacks against a 96 MiB allowance
        set_address_space_limit(mapped_bytes() + (96u << 20));
        std::vector<weft::Task<int>> tasks;
        for (int i = 0; i < count; ++i) {
          tasks.push_back(weft::create_task([i] {
            weft::sleep(0.2);
            return i;
          }));
        }
        int finished = 0;
        int out_of_memory = 0;
        for (int i = 0; i < count; ++i) {
          try {
            require(weft::await(tasks[i]) == i, 11, "a task returned the wrong value");
            ++finished;
          } catch (const weft::MemoryError& e) {
            ++out_of_memory;
            require(std::string(e.what()).find("Cannot allocate memory") != std::string::npos, 12,
                    std::string("MemoryError without the reason: ") + e.what());
            require(std::string(e.what()).find("RLIMIT_AS") != std::string::npos, 13,
                    std::string("MemoryError without the limit: ") + e.what());
          } catch (...) {
            require(false, 14,
                    "task " + std::to_string(i) + " failed with something else than MemoryError: " +
                        weft::describe_exception(std::current_exception()));
          }
        }
        require(finished > 0, 15, "no task got a stack at all");
        require(out_of_memory > 0, 16, "the limit never stopped a stack");
        set_address_space_limit(RLIM_INFINITY);
        // Memory is back: a new task gets a stack and runs.
        require(weft::await(weft::create_task([] { return 42; })) == 42, 17,
                "a task after the limit was lifted did not run");
      },
      weft::RunOptions{.workers = 2});
  std::fflush(stderr);
  std::_Exit(0);
}

TEST_F(StackFaultsDeathTest, ATaskThatCannotGetAStackFailsWithMemoryErrorAndTheRuntimeGoesOn) {
  if (kSanitized) {
    GTEST_SKIP() << "ASan and TSan reserve terabytes of shadow address space: RLIMIT_AS cannot "
                    "be set low enough to stop a stack without stopping them first";
  }
  EXPECT_EXIT(tasks_under_an_address_space_limit(), testing::ExitedWithCode(0), "");
}

// A coroutine that cannot get a stack is closed by the failure, as if its first line had raised:
// sending again is a reuse, not "already executing".
void coroutine_under_an_address_space_limit() {
  weft::set_default_stack_size(8u << 20);
  auto first = weft::coro([] { return 1; });
  set_address_space_limit(mapped_bytes() + (4u << 20));  // less than one stack
  try {
    first.send();
    require(false, 20, "the coroutine got an 8 MiB stack under a 4 MiB allowance");
  } catch (const weft::MemoryError& e) {
    require(std::string(e.what()).find("Cannot allocate memory") != std::string::npos, 21,
            e.what());
  } catch (...) {
    require(false, 22, "not a MemoryError: " + weft::describe_exception(std::current_exception()));
  }
  require(weft::getcoroutinestate(first) == weft::CORO_CLOSED, 23,
          "the coroutine is not closed after its stack was refused");
  try {
    first.send();
    require(false, 24, "a refused coroutine ran when sent again");
  } catch (const weft::RuntimeError& e) {
    require(std::string(e.what()) == "cannot reuse already awaited coroutine", 25, e.what());
  } catch (...) {
    require(false, 26, "second send: " + weft::describe_exception(std::current_exception()));
  }
  set_address_space_limit(RLIM_INFINITY);
  auto second = weft::coro([] { return 2; });
  require(second.send().value() == 2, 27, "a coroutine after the limit was lifted did not run");
  std::fflush(stderr);
  std::_Exit(0);
}

TEST_F(StackFaultsDeathTest, ACoroutineThatCannotGetAStackRaisesMemoryErrorAndIsClosed) {
  if (kSanitized) {
    GTEST_SKIP() << "ASan and TSan reserve terabytes of shadow address space: RLIMIT_AS cannot "
                    "be set low enough to stop a stack without stopping them first";
  }
  EXPECT_EXIT(coroutine_under_an_address_space_limit(), testing::ExitedWithCode(0), "");
}

// The kernel's limit of mappings (vm.max_map_count) refuses a new slab with ENOMEM as well. The
// child uses up its mappings with single pages of alternating protection (neighbours that differ
// cannot merge), so the next slab finds none left.
void coroutine_past_the_mapping_limit() {
  weft::set_default_stack_size(112 * 1024);  // a size no pool has carved for yet
  // Made before the mappings run out: the frame's own memory is not what is tested.
  auto refused = weft::coro([] { return 1; });
  auto later = weft::coro([] { return 2; });
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<void*> pages;
  pages.reserve(1 << 20);
  for (;;) {
    const int protection = pages.size() % 2 ? PROT_READ : PROT_NONE;
    void* p = mmap(nullptr, page, protection, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      require(errno == ENOMEM, 30, "mmap failed without ENOMEM");
      break;
    }
    pages.push_back(p);
    require(pages.size() < (1u << 20), 31, "a million mappings and no limit reached");
  }
  try {
    refused.send();
    require(false, 32, "a slab was mapped past vm.max_map_count");
  } catch (const weft::MemoryError& e) {
    require(std::string(e.what()).find("vm.max_map_count") != std::string::npos, 33, e.what());
  } catch (...) {
    require(false, 34, "not a MemoryError: " + weft::describe_exception(std::current_exception()));
  }
  // Mappings freed (from the middle of the run: each one freed is one fewer): stacks come again.
  for (std::size_t i = pages.size() / 2; i < pages.size() / 2 + 64; ++i) munmap(pages[i], page);
  require(later.send().value() == 2, 35, "a coroutine after mappings were freed did not run");
  std::fflush(stderr);
  std::_Exit(0);
}

TEST_F(StackFaultsDeathTest, ACoroutinePastTheMappingLimitRaisesMemoryError) {
  if (kSanitized) {
    GTEST_SKIP() << "the sanitizers map memory for their own bookkeeping as they go: with no "
                    "mapping left they fail before weft does";
  }
  std::ifstream limit_file("/proc/sys/vm/max_map_count");
  long limit = 0;
  if (!(limit_file >> limit) || limit > 256 * 1024) {
    GTEST_SKIP() << "vm.max_map_count is " << limit
                 << ": using up that many mappings would take too long and too much kernel memory";
  }
  EXPECT_EXIT(coroutine_past_the_mapping_limit(), testing::ExitedWithCode(0), "");
}

// ---- 13: a frame larger than the guard region is caught at the guard --------------------------

// A suspended coroutine's locals: a block of known bytes that the checks below read back.
constexpr std::size_t canary_bytes = 8 * 1024;
constexpr unsigned char canary_value = 0x5a;
constexpr unsigned char smash_value = 0xa5;

// Fills its canary, suspends, and on resumption returns how many of its bytes changed.
__attribute__((noinline)) int hold_canary() {
  volatile unsigned char canary[canary_bytes];
  for (std::size_t i = 0; i < canary_bytes; ++i) canary[i] = canary_value;
  weft::suspend();
  int changed = 0;
  for (std::size_t i = 0; i < canary_bytes; ++i) changed += canary[i] != canary_value;
  return changed;
}

const weft::CoroutineFunction neighbour{"neighbour", [] { return hold_canary(); }};

// A frame of `Bytes` that writes only its lowest bytes: without stack probes, nothing between
// the caller's frame and those bytes is touched -- the guard region included.
template <std::size_t Bytes>
__attribute__((noinline)) int large_frame() {
  volatile unsigned char locals[Bytes];
  for (std::size_t i = 0; i < 64; ++i) locals[i] = smash_value;
  return locals[0];
}

// Uses `Bytes` of its own stack (touching it all, top down) before calling `next`: the large
// frame then starts deep enough that it reaches past the guard into a neighbour's stack.
template <std::size_t Bytes>
__attribute__((noinline)) int descend_then(int (*next)()) {
  volatile unsigned char used[Bytes];
  for (std::size_t i = Bytes; i-- > 0;) used[i] = 1;
  return next() + used[0];
}

const weft::CoroutineFunction frame_of_24_kib{
    "frame_of_24_kib", [] { return descend_then<10 * 1024>(&large_frame<24 * 1024>); }};
const weft::CoroutineFunction frame_of_64_kib{
    "frame_of_64_kib", [] { return descend_then<4 * 1024>(&large_frame<64 * 1024>); }};

// 16 KiB stacks below 16 KiB guards. Three neighbours take the stacks just below the one the
// large frame runs on (a fresh pool hands out a slab's stacks from its lowest address up); the
// 24 KiB frame, 10 KiB down, would land in the first neighbour's stack, the 64 KiB frame in the
// second's. With stack probes, it touches its own guard first and is named as an overflow.
template <class F>
void large_frame_beside_suspended_neighbours(const weft::CoroutineFunction<F>& large) {
  weft::set_default_stack_size(16 * 1024);
  std::vector<weft::Coroutine<int>> neighbours;
  for (int i = 0; i < 3; ++i) {
    neighbours.push_back(neighbour());
    neighbours.back().send();
  }
  auto c = large();
  c.send();
  int changed = 0;
  for (auto& n : neighbours) changed += n.send().value();
  std::fprintf(stderr,
               "no overflow was reported; %d bytes of the suspended neighbours' locals were "
               "overwritten\n",
               changed);
}

TEST_F(StackFaultsDeathTest, A24KiBFrameIsReportedAsAnOverflowNotWrittenIntoANeighbour) {
  EXPECT_DEATH(large_frame_beside_suspended_neighbours(frame_of_24_kib),
               "stack overflow in coroutine 'frame_of_24_kib'");
}

TEST_F(StackFaultsDeathTest, A64KiBFrameIsReportedAsAnOverflowNotWrittenIntoANeighbour) {
  EXPECT_DEATH(large_frame_beside_suspended_neighbours(frame_of_64_kib),
               "stack overflow in coroutine 'frame_of_64_kib'");
}

}  // namespace
