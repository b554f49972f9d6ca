// CPython's test_asyncio/test_tasks.py: the as_completed methods of BaseTaskTests (each with its
// plain- and async-iteration sub-tests: weft's range-for over as_completed(...) and over its
// aiter()) and GatherTestsBase.test_return_exceptions (FutureGatherTests, CoroutineGatherTests),
// plus gather(return_exceptions, x) of one awaitable of each kind, and the ensure_future and
// shield methods (EnsureFutureAndShieldTests; a task's own methods are in
// tests/runtime/task/cpython/test_tasks.cpp). On 1 and 2 workers with
// virtual time, where sleeps end exactly on time (CPython's test loop advances its clock by hand).
#include <gtest/gtest.h>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../../../support/test_support.hpp"

namespace {

class WorkerParam : public ::testing::TestWithParam<unsigned> {
 protected:
  template <class F>
  void run(F body) {
    weft::run(std::move(body), weft::RunOptions{.workers = GetParam(), .virtual_time = true});
  }
};
std::string workers_name(const ::testing::TestParamInfo<unsigned>& info) {
  return std::to_string(info.param) + "_workers";
}

class BaseTaskTests : public WorkerParam {};
class FutureGatherTests : public WorkerParam {};
class CoroutineGatherTests : public WorkerParam {};
INSTANTIATE_TEST_SUITE_P(Workers, BaseTaskTests, ::testing::Values(1u, 2u), workers_name);
INSTANTIATE_TEST_SUITE_P(Workers, FutureGatherTests, ::testing::Values(1u, 2u), workers_name);
INSTANTIATE_TEST_SUITE_P(Workers, CoroutineGatherTests, ::testing::Values(1u, 2u), workers_name);

double now() {
  return std::round(weft::get_running_loop().time() * 1000.0) / 1000.0;
}

weft::Coroutine<std::string> sleep_value(double delay, std::string value) {
  return weft::coro([delay, value] { return weft::sleep(delay, value); });
}
weft::Coroutine<int> value_of(int i) {
  return weft::coro([i] { return i; });
}

// The two ways to iterate, as CPython's try_iterator / try_async_iterator sub-tests.
enum class Iteration { plain, async };
const Iteration kBoth[] = {Iteration::plain, Iteration::async};
const char* name_of(Iteration how) {
  return how == Iteration::plain ? "try_iterator" : "try_async_iterator";
}

// Every result, in the order as_completed hands them out, by either kind of iteration.
template <class Completions>
auto collect(Completions completions, Iteration how) {
  std::vector<typename Completions::R> values;
  if (how == Iteration::plain) {
    for (auto next : completions) values.push_back(weft::await(next));
  } else {
    for (auto done : completions.aiter()) values.push_back(weft::await(done));
  }
  return values;
}

TEST_P(BaseTaskTests, test_as_completed) {
  for (Iteration how : kBoth) {
    SCOPED_TRACE(name_of(how));
    run([how] {
      std::vector<weft::Coroutine<std::string>> aws;
      aws.push_back(sleep_value(0.01, "b"));
      aws.push_back(sleep_value(0.15, "c"));
      aws.push_back(sleep_value(0.01, "a"));
      auto res = collect(weft::as_completed(aws), how);
      EXPECT_EQ(now(), 0.15);
      ASSERT_EQ(res.size(), 3u);
      std::set<std::string> first_two{res[0], res[1]};
      EXPECT_EQ(first_two, (std::set<std::string>{"a", "b"}));
      EXPECT_EQ(res[2], "c");
    });
  }
}

// Async iteration gives back the tasks that went in, and for a coroutine the task made for it
// (CPython: not the coroutine, which could not be awaited again). A C++ range holds one type, so
// the tasks and the coroutines are two runs.
TEST_P(BaseTaskTests, test_as_completed_same_tasks_in_as_out) {
  run([] {
    std::vector<weft::Coroutine<int>> coros;
    std::set<const void*> frames_in;
    for (int i = 0; i < 4; ++i) {
      coros.push_back(value_of(i));
      frames_in.insert(&coros.back().frame());
    }
    std::set<const void*> frames_out;
    for (weft::Task<int> t : weft::as_completed(coros).aiter()) {
      EXPECT_TRUE(t.done());
      frames_out.insert(&t.get_coro().frame());
    }
    EXPECT_EQ(frames_out, frames_in);

    std::vector<weft::Task<int>> tasks;
    for (int i = 0; i < 4; ++i) tasks.push_back(weft::create_task(value_of(i)));
    std::vector<weft::Task<int>> out;
    for (weft::Task<int> t : weft::as_completed(tasks).aiter()) out.push_back(t);
    ASSERT_EQ(out.size(), tasks.size());
    for (auto& t : tasks) EXPECT_NE(std::find(out.begin(), out.end(), t), out.end());
  });
}

TEST_P(BaseTaskTests, test_as_completed_with_timeout) {
  for (Iteration how : kBoth) {
    SCOPED_TRACE(name_of(how));
    run([how] {
      auto a = weft::create_task(sleep_value(0.1, "a"));
      auto b = weft::create_task(sleep_value(0.15, "b"));
      std::vector<std::string> values;  // "1 <value>" or "2 TimeoutError"
      auto completions = weft::as_completed(std::vector{a, b}, 0.12);
      if (how == Iteration::plain) {
        // Each awaitable raises the TimeoutError in its turn.
        for (auto next : completions) {
          try {
            values.push_back("1 " + weft::await(next));
          } catch (const weft::TimeoutError&) {
            values.push_back("2 TimeoutError");
          }
        }
      } else {
        // The loop itself raises it.
        try {
          for (auto done : completions.aiter()) values.push_back("1 " + weft::await(done));
        } catch (const weft::TimeoutError&) {
          values.push_back("2 TimeoutError");
        }
      }
      EXPECT_EQ(values, (std::vector<std::string>{"1 a", "2 TimeoutError"}));
      EXPECT_EQ(now(), 0.12);
      // Nothing was cancelled: b still finishes.
      weft::wait(std::vector{a, b});
      EXPECT_EQ(b.result(), "b");
    });
  }
}

TEST_P(BaseTaskTests, test_as_completed_with_unused_timeout) {
  for (Iteration how : kBoth) {
    SCOPED_TRACE(name_of(how));
    run([how] {
      std::vector<weft::Coroutine<std::string>> aws;
      aws.push_back(sleep_value(0.01, "a"));
      EXPECT_EQ(collect(weft::as_completed(aws, 1.0), how), std::vector<std::string>{"a"});
      EXPECT_EQ(now(), 0.01);
      weft::sleep(2);  // the timeout's timer was cancelled: nothing happens at 1
    });
  }
}

// The object is one iterator: a second loop goes on where the first one broke off.
TEST_P(BaseTaskTests, test_as_completed_resume_iterator) {
  for (Iteration how : kBoth) {
    SCOPED_TRACE(name_of(how));
    run([how] {
      std::vector<weft::Coroutine<int>> aws;
      for (int i = 0; i < 4; ++i) aws.push_back(value_of(i));
      auto iterator = weft::as_completed(aws);
      std::vector<int> collected;
      int iterations = 0;
      if (how == Iteration::plain) {
        for (auto next : iterator) {
          collected.push_back(weft::await(next));
          if (++iterations == 2) break;
        }
        EXPECT_EQ(collected.size(), 2u);
        for (auto next : iterator) collected.push_back(weft::await(next));  // resumes
      } else {
        for (auto done : iterator.aiter()) {
          collected.push_back(weft::await(done));
          if (++iterations == 2) break;
        }
        EXPECT_EQ(collected.size(), 2u);
        for (auto done : iterator.aiter()) collected.push_back(weft::await(done));  // resumes
      }
      std::sort(collected.begin(), collected.end());
      EXPECT_EQ(collected, (std::vector<int>{0, 1, 2, 3}));
      // Exhausted, whichever way it is asked.
      EXPECT_EQ(iterator.begin(), iterator.end());
      EXPECT_FALSE(iterator.anext().has_value());
    });
  }
}

// Plain iteration: the first awaitable awaited gets the first result, whichever it is.
TEST_P(BaseTaskTests, test_as_completed_reverse_wait) {
  run([] {
    std::vector<weft::Coroutine<std::string>> fs;
    fs.push_back(sleep_value(0.05, "a"));
    fs.push_back(sleep_value(0.10, "b"));
    auto completions = weft::as_completed(fs);
    std::vector futs(completions.begin(), completions.end());
    ASSERT_EQ(futs.size(), 2u);
    EXPECT_EQ(weft::await(futs[1]), "a");
    EXPECT_EQ(now(), 0.05);
    EXPECT_EQ(weft::await(futs[0]), "b");
    EXPECT_EQ(now(), 0.10);
  });
}

// More than one of them can be awaited at once (by tasks of their own, on any worker).
TEST_P(BaseTaskTests, test_as_completed_concurrent) {
  for (Iteration how : kBoth) {
    SCOPED_TRACE(name_of(how));
    run([how] {
      std::vector<weft::Coroutine<std::string>> fs;
      fs.push_back(sleep_value(0.05, "a"));
      fs.push_back(sleep_value(0.05, "b"));
      auto completions = weft::as_completed(fs);
      std::vector<weft::Task<std::string>> futs;
      if (how == Iteration::plain) {
        for (auto next : completions) {
          futs.push_back(weft::create_task([next] { return weft::await(next); }));
        }
      } else {
        for (auto done : completions.aiter()) futs.push_back(done);
      }
      ASSERT_EQ(futs.size(), 2u);
      auto [done, pending] = weft::wait(futs);
      std::set<std::string> results;
      for (auto& f : done) results.insert(f.result());
      EXPECT_EQ(results, (std::set<std::string>{"a", "b"}));
      EXPECT_TRUE(pending.empty());
    });
  }
}

// CPython passes one coroutine object twice; a weft::Coroutine is a move-only handle, so the
// awaitable given twice here is a task. It counts once.
TEST_P(BaseTaskTests, test_as_completed_duplicate_coroutines) {
  for (Iteration how : kBoth) {
    SCOPED_TRACE(name_of(how));
    run([how] {
      auto c = weft::create_task(sleep_value(0, "ham"));
      auto spam = weft::create_task(sleep_value(0, "spam"));
      auto completions = weft::as_completed(std::vector{c, c, spam});
      EXPECT_EQ(completions.size(), 2u);
      auto result = collect(completions, how);
      EXPECT_EQ(result.size(), 2u);
      EXPECT_EQ(std::set<std::string>(result.begin(), result.end()),
                (std::set<std::string>{"ham", "spam"}));
    });
  }
}

// Outside a runtime, a coroutine cannot become a task: RuntimeError, as asyncio's "no current
// event loop" (no workers involved, so not parameterized).
TEST(BaseTaskTestsNoLoop, test_as_completed_coroutine_without_loop) {
  std::vector<weft::Coroutine<int>> aws;
  aws.push_back(value_of(42));
  try {
    weft::as_completed(aws);
    ADD_FAILURE() << "as_completed() outside a runtime did not throw";
  } catch (const weft::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("no running event loop"), std::string::npos) << e.what();
  }
}

TEST_P(BaseTaskTests, test_as_completed_coroutine_use_running_loop) {
  run([] {
    std::vector<weft::Coroutine<int>> aws;
    aws.push_back(value_of(42));
    auto completions = weft::as_completed(aws);
    std::vector futs(completions.begin(), completions.end());
    ASSERT_EQ(futs.size(), 1u);
    EXPECT_EQ(weft::await(futs[0]), 42);
  });
}

// asyncio raises TypeError for one future or coroutine instead of an iterable of them; in C++
// that call does not compile.
template <class A>
concept AsCompletedAccepts = requires(A a) {
  weft::as_completed(a);
};
static_assert(!AsCompletedAccepts<weft::Future<int>>);
static_assert(!AsCompletedAccepts<weft::Task<int>>);
static_assert(!AsCompletedAccepts<weft::Coroutine<int>>);
static_assert(AsCompletedAccepts<std::vector<weft::Future<int>>>);

TEST_P(BaseTaskTests, test_as_completed_invalid_args) {
  run([] {
    // An empty iterable is fine: nothing to hand out either way.
    auto completions = weft::as_completed(std::vector<weft::Future<int>>{});
    EXPECT_EQ(completions.begin(), completions.end());
    EXPECT_FALSE(completions.anext().has_value());
  });
}

// ---- GatherTestsBase.test_return_exceptions ----

struct ZeroDivisionError : std::runtime_error {
  ZeroDivisionError() : std::runtime_error("division by zero") {}
};

// Runs the loop until `count` reaches `n` (the gather's done callback runs soon after, on any
// worker); gives up after many rounds.
void run_until(const std::atomic<int>& count, int n) {
  for (int i = 0; i < 10000 && count.load() < n; ++i) weft::sleep(0);
}

template <class MakeGather>
void return_exceptions_scenario(MakeGather make_gather) {
  weft::Future<int> a, b, c, d;
  auto fut = make_gather(a, b, c, d);
  std::atomic<int> calls{0};
  fut.add_done_callback([&calls](auto&) { calls.fetch_add(1); });
  auto exc = std::make_exception_ptr(ZeroDivisionError());
  auto exc2 = std::make_exception_ptr(std::runtime_error("second"));
  b.set_result(1);
  c.set_exception(exc);
  a.set_result(3);
  for (int i = 0; i < 10; ++i) weft::sleep(0);
  EXPECT_FALSE(fut.done());
  d.set_exception(exc2);
  auto [ra, rb, rc, rd] = weft::await(fut);
  run_until(calls, 1);
  EXPECT_TRUE(fut.done());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(ra.value(), 3);
  EXPECT_EQ(rb.value(), 1);
  EXPECT_EQ(rc.exception(), exc);
  EXPECT_EQ(rd.exception(), exc2);
}

TEST_P(FutureGatherTests, test_return_exceptions) {
  run([] {
    return_exceptions_scenario(
        [](auto&... fs) { return weft::gather_future(weft::return_exceptions, fs...); });
  });
}

weft::Coroutine<int> wrap(weft::Future<int> fut) {
  return weft::coro([fut] { return weft::await(fut); });
}

TEST_P(CoroutineGatherTests, test_return_exceptions) {
  run([] {
    return_exceptions_scenario(
        [](auto&... fs) { return weft::gather_future(weft::return_exceptions, wrap(fs)...); });
  });
}

// gather(return_exceptions, x) of a single coroutine (this did not compile: the range overload
// took it), and the same through gather_future.
TEST_P(CoroutineGatherTests, test_return_exceptions_one_coroutine) {
  run([] {
    auto [ok] = weft::gather(weft::return_exceptions, value_of(7));
    EXPECT_EQ(ok.value(), 7);
    auto [failed] = weft::gather(weft::return_exceptions,
                                 weft::coro([]() -> int { throw ZeroDivisionError(); }));
    EXPECT_FALSE(failed.has_value());
    EXPECT_THROW(failed.value(), ZeroDivisionError);
    auto [later] = weft::await(weft::gather_future(weft::return_exceptions, value_of(8)));
    EXPECT_EQ(later.value(), 8);
  });
}

// ... and of one task, one future, and one range (a vector of Outcomes, in order).
TEST_P(FutureGatherTests, test_return_exceptions_one_task_future_or_range) {
  run([] {
    auto task = weft::create_task(value_of(1));
    auto [from_task] = weft::gather(weft::return_exceptions, task);
    EXPECT_EQ(from_task.value(), 1);

    weft::Future<int> future;
    future.set_exception(ZeroDivisionError());
    auto [from_future] = weft::gather(weft::return_exceptions, future);
    EXPECT_THROW(from_future.value(), ZeroDivisionError);

    std::vector<weft::Coroutine<int>> range;
    range.push_back(value_of(2));
    range.push_back(weft::coro([]() -> int { throw ZeroDivisionError(); }));
    auto outcomes = weft::gather(weft::return_exceptions, range);
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[0].value(), 2);
    EXPECT_FALSE(outcomes[1].has_value());

    auto cancelled = weft::create_task(weft::coro([] { return weft::sleep(10, 3); }));
    cancelled.cancel();
    auto [from_cancelled] = weft::gather(weft::return_exceptions, cancelled);
    EXPECT_THROW(from_cancelled.value(), weft::CancelledError);
  });
}

// ---- ensure_future and shield (BaseTaskTests' methods of those names) ----

// CPython's test_utils.run_briefly: in virtual time a sleep returns once every worker is idle, so
// every callback scheduled before it has run, on any number of workers.
void run_briefly() {
  weft::sleep(0.01);
}

class EnsureFutureAndShieldTests : public ::testing::TestWithParam<unsigned> {
 protected:
  weft::RunOptions options() const {
    return weft::RunOptions{.workers = GetParam(), .virtual_time = true};
  }
};

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_coroutine) {
  weft::run(
      [] {
        auto t = weft::ensure_future(weft::coro([] { return std::string("ok"); }));
        EXPECT_EQ(&t.get_loop(), &weft::get_running_loop());
        EXPECT_EQ(weft::await(t), "ok");
        EXPECT_TRUE(t.done());
        EXPECT_EQ(t.result(), "ok");
      },
      options());
  // Outside a runtime: asyncio's "no current event loop" RuntimeError.
  try {
    (void)weft::ensure_future(weft::coro([] { return 1; }));
    ADD_FAILURE() << "ensure_future outside a runtime returned";
  } catch (const weft::RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("no running event loop", 0), 0u) << e.what();
  }
}

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_future) {
  weft::Runtime other({.workers = 1});
  weft::run(
      [&] {
        weft::Future<std::string> f_orig;
        f_orig.set_result("ko");
        auto f = weft::ensure_future(f_orig);
        EXPECT_EQ(weft::await(f), "ko");
        f_orig = weft::Future<std::string>();
        f = weft::ensure_future(f_orig);
        f_orig.set_result("same");
        EXPECT_TRUE(f.done());  // f is f_orig
        EXPECT_THROW(weft::ensure_future(f_orig, other), weft::ValueError);
        EXPECT_EQ(weft::ensure_future(f_orig, weft::get_running_loop()).result(), "same");
      },
      options());
}

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_task) {
  weft::Runtime other({.workers = 1});
  weft::run(
      [&] {
        auto t_orig = weft::create_task([] { return std::string("ok"); });
        auto t = weft::ensure_future(t_orig);
        EXPECT_EQ(weft::await(t), "ok");
        EXPECT_EQ(t.state(), t_orig.state());  // the same task
        EXPECT_THROW(weft::ensure_future(t_orig, other), weft::ValueError);
        EXPECT_EQ(weft::ensure_future(t_orig, weft::get_running_loop()).state(), t_orig.state());
      },
      options());
}

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_error_msg) {
  weft::Runtime other({.workers = 1});
  weft::run(
      [&] {
        weft::Future<int> f;
        try {
          (void)weft::ensure_future(f, other);
          ADD_FAILURE() << "accepted a future of another loop";
        } catch (const weft::ValueError& e) {
          EXPECT_EQ(std::string(e.what()).rfind("The future belongs to a different loop than the "
                                                "one specified as the loop argument",
                                                0),
                    0u)
              << e.what();
        }
        f.set_result(0);
      },
      options());
}

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_on_another_loop) {
  // asyncio.ensure_future(coro, loop=other): the task is made on that loop, from this thread.
  weft::Runtime other({.workers = 1});
  auto t = weft::ensure_future(weft::coro([] { return 7; }), other);
  EXPECT_EQ(&t.get_loop(), &other);
  weft::run([&] { EXPECT_NE(&weft::get_running_loop(), &t.get_loop()); }, options());
  while (!t.done()) std::this_thread::yield();
  EXPECT_EQ(t.result(), 7);
}

// What reaches the running runtime's exception handler once install() has run.
struct Reports {
  std::atomic<int> count{0};
  std::string last_message;  // read after weft::run returned (it joined the workers)
  void install() {
    weft::get_running_loop().set_exception_handler(
        [this](weft::Runtime&, const weft::ExceptionContext& context) {
          count += 1;
          last_message = context.message;
        });
  }
};

// shield(inner), let it settle, cancel the shield, let that settle (CPython's run_briefly calls).
weft::Future<int> shield_then_cancel(weft::Future<int>& inner) {
  auto outer = weft::shield(inner);
  run_briefly();
  outer.cancel();
  run_briefly();
  return outer;
}

TEST_P(EnsureFutureAndShieldTests, test_shield_cancel_outer_result) {
  Reports reports;
  weft::run(
      [&] {
        reports.install();
        weft::Future<int> inner;
        shield_then_cancel(inner);
        inner.set_result(1);
        run_briefly();
      },
      options());
  EXPECT_EQ(reports.count.load(), 0);
}

TEST_P(EnsureFutureAndShieldTests, test_shield_cancel_outer_exception) {
  // 3.14: the inner future fails after its shield was cancelled: reported when it fails.
  Reports reports;
  weft::run(
      [&] {
        reports.install();
        weft::Future<int> inner;
        shield_then_cancel(inner);
        inner.set_exception(weft::ValueError("foo"));
        run_briefly();
        EXPECT_EQ(reports.count.load(), 1);  // at once, while `inner` is still referenced
      },
      options());
  EXPECT_EQ(reports.count.load(), 1);  // and not again as "never retrieved" when it is destroyed
  EXPECT_EQ(reports.last_message, "ValueError exception in shielded future");
}

TEST_P(EnsureFutureAndShieldTests, test_shield_duplicate_log_once) {
  Reports reports;
  weft::run(
      [&] {
        reports.install();
        weft::Future<int> inner;
        shield_then_cancel(inner);
        shield_then_cancel(inner);
        inner.set_exception(weft::ValueError("foo"));
        run_briefly();
      },
      options());
  EXPECT_EQ(reports.count.load(), 1);
}

TEST_P(EnsureFutureAndShieldTests, test_shield_effect) {
  // Cancelling outer() does not affect inner().
  std::atomic<int> proof{0};
  weft::run(
      [&] {
        weft::Future<> waiter;
        auto f = weft::ensure_future(weft::coro([&, waiter] {
          weft::await(weft::shield(weft::coro([&, waiter] {
            weft::await(waiter);
            proof += 1;
          })));
          proof += 100;
        }));
        run_briefly();
        f.cancel();
        EXPECT_THROW(weft::await(f), weft::CancelledError);
        waiter.set_result();
        run_briefly();
      },
      options());
  EXPECT_EQ(proof.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Workers, EnsureFutureAndShieldTests, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

}  // namespace
