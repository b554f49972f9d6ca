// CPython's Lib/test/test_asyncio/test_tasks.py, the methods about a task on its own (the
// composition tools' methods are in tests/asyncio/compose/cpython/test_tasks.cpp): each test is
// named after the method it mirrors and runs on 1 and 2 workers.
#include <gtest/gtest.h>

#include <any>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "../../runtime_test_support.hpp"

namespace {

class BaseTaskTests : public ::testing::TestWithParam<unsigned> {
 protected:
  weft::RunOptions options() const {
    return weft::RunOptions{.workers = GetParam(), .virtual_time = true};
  }
};

inline const weft::CoroutineFunction bar{
    "bar", [] {
      // get_stack() of the running task, by itself.
      auto frames = weft::current_task().get_stack(1);  // CPython's T: this task
      EXPECT_EQ(frames.size(), 1u);
      if (!frames.empty()) {
        EXPECT_EQ(frames[0].name, "foo");
      }
    }};
inline const weft::CoroutineFunction foo{"foo", [] { weft::await(bar()); }};

TEST_P(BaseTaskTests, test_get_stack) {
  weft::run(
      [&] {
        auto t = weft::create_task(foo());
        weft::await(t);
      },
      options());
}

std::string printed;  // what printing_foo printed
inline const weft::CoroutineFunction printing_foo{"foo", [] {
                                                    std::ostringstream file;
                                                    weft::current_task().print_stack(1, &file);
                                                    printed = file.str();
                                                  }};

TEST_P(BaseTaskTests, test_get_stack_print_stack) {
  // test_get_stack's print_stack half: the running task prints its own stack.
  printed.clear();
  weft::run([&] { weft::await(weft::create_task(printing_foo())); }, options());
  EXPECT_NE(printed.find("foo() running"), std::string::npos) << printed;
  EXPECT_NE(printed.find("Stack for <Task pending"), std::string::npos) << printed;
  EXPECT_NE(printed.find(__FILE__), std::string::npos) << printed;
}

inline const weft::CoroutineFunction notmuch{"notmuch", [] { return std::string("abc"); }};
constexpr unsigned kNotmuchLine = __LINE__ - 1;

TEST_P(BaseTaskTests, test_task_repr) {
  const std::string defined = std::string(__FILE__) + ":" + std::to_string(kNotmuchLine);
  weft::run(
      [&] {
        // On 2 workers another worker may run the new task at once: the pending reprs hold on
        // one worker only (CPython's one thread), and the task ends cancelled only if cancel()
        // came before it returned.
        const bool one_worker = GetParam() == 1;
        auto t = weft::create_task(notmuch(), "notmuch-task");
        if (one_worker) {
          EXPECT_EQ(t.repr(), "<Task pending name='notmuch-task' coro=<notmuch() running at " +
                                  defined + ">>");
        }
        const bool accepted = t.cancel();
        if (one_worker) {
          EXPECT_TRUE(accepted);
          EXPECT_EQ(t.repr(), "<Task pending name='notmuch-task' coro=<notmuch() running at " +
                                  defined + ">>");  // cancelling, not cancelled yet
        }
        if (accepted) {
          EXPECT_THROW(weft::await(t), weft::CancelledError);
          EXPECT_EQ(t.repr(),
                    "<Task cancelled name='notmuch-task' coro=<notmuch() done, defined at " +
                        defined + ">>");
        } else {
          EXPECT_EQ(weft::await(t), "abc");
          EXPECT_EQ(t.repr(),
                    "<Task finished name='notmuch-task' coro=<notmuch() done, defined at " +
                        defined + ">>");
        }
        auto t2 = weft::create_task(notmuch(), "notmuch-task-2");
        weft::await(t2);
        EXPECT_EQ(t2.repr(),
                  "<Task finished name='notmuch-task-2' coro=<notmuch() done, defined at " +
                      defined + ">>");
      },
      options());
}

TEST_P(BaseTaskTests, test_current_task) {
  weft::run(
      [&] {
        weft::Task<void> task;
        weft::Future<> assigned;  // on 2 workers the task may start before `task` is assigned
        task = weft::create_task([&, assigned] {
          weft::await(assigned);
          EXPECT_TRUE(weft::current_task().is(task));
          weft::sleep(0.0);
          EXPECT_TRUE(weft::current_task().is(task));  // still, after a suspension
        });
        assigned.set_result();
        weft::sleep(0.0);
        weft::await(task);
      },
      options());
}

TEST_P(BaseTaskTests, test_current_task_no_running_loop) {
  // asyncio.current_task(loop=loop) of a loop that is not running: None. weft's non-throwing
  // query gives the empty handle outside a runtime.
  EXPECT_FALSE(weft::current_task_or_null());
  EXPECT_FALSE(weft::in_runtime());
  weft::run([] { EXPECT_TRUE(weft::in_runtime()); }, options());
}

TEST_P(BaseTaskTests, test_current_task_no_running_loop_implicit) {
  try {
    (void)weft::current_task();
    ADD_FAILURE() << "current_task() outside a runtime returned";
  } catch (const weft::RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("no running event loop", 0), 0u) << e.what();
  }
}

TEST_P(BaseTaskTests, test_current_task_with_implicit_loop) {
  // In a callback the runtime runs (no task): the empty handle, not an error.
  weft::run(
      [&] {
        weft::Future<bool> empty;
        weft::get_running_loop().call_soon(
            [empty]() mutable { empty.set_result(!weft::current_task()); });
        EXPECT_TRUE(weft::await(empty));
      },
      options());
}

TEST_P(BaseTaskTests, test_sleep_when_delay_is_nan) {
  weft::run(
      [&] {
        auto t = weft::create_task([] { weft::sleep(std::numeric_limits<double>::quiet_NaN()); });
        try {
          weft::await(t);
          ADD_FAILURE() << "sleep(NaN) returned";
        } catch (const weft::ValueError& e) {
          EXPECT_EQ(std::string(e.what()).rfind("Invalid delay: NaN (not a number)", 0), 0u)
              << e.what();
        }
      },
      options());
}

TEST_P(BaseTaskTests, test_get_loop) {
  // Task.get_loop() (and Future.get_loop()): the runtime it belongs to.
  weft::run(
      [&] {
        auto& loop = weft::get_running_loop();
        auto t = weft::create_task([] {});
        EXPECT_EQ(&t.get_loop(), &loop);
        EXPECT_EQ(&weft::current_task().get_loop(), &loop);
        weft::await(t);
        EXPECT_EQ(&t.get_loop(), &loop);  // done, still its runtime's
      },
      options());
}

TEST_P(BaseTaskTests, test_step_result) {
  // A bare yield (None) suspends for one pass of the loop; any other value yielded to a task is
  // not one of the runtime's awaitables: "Task got bad yield", a RuntimeError in the task.
  weft::run(
      [&] {
        auto notmuch = weft::create_task([] {
          weft::suspend();
          weft::suspend(std::any(1));
          return std::string("ko");
        });
        try {
          weft::await(notmuch);
          ADD_FAILURE() << "a task that yielded 1 returned";
        } catch (const weft::RuntimeError& e) {
          EXPECT_EQ(std::string(e.what()).rfind("Task got bad yield", 0), 0u) << e.what();
        }
      },
      options());
}

INSTANTIATE_TEST_SUITE_P(Workers, BaseTaskTests, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

}  // namespace
