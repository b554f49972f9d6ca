// CPython's test_asyncio/test_staggered.py (StaggeredTests), every method, on 1 and 2 workers
// with virtual time. A "coroutine function" is a std::function returning a weft::Coroutine.
#include <gtest/gtest.h>
#include <weft/weft.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "../../../support/test_support.hpp"

namespace {

using weft_test_support::Log;

class StaggeredTests : public ::testing::TestWithParam<unsigned> {
 protected:
  template <class F>
  void run(F body) {
    weft::run(std::move(body), weft::RunOptions{.workers = GetParam(), .virtual_time = true});
  }
};

INSTANTIATE_TEST_SUITE_P(Workers, StaggeredTests, ::testing::Values(1u, 2u),
                         [](const ::testing::TestParamInfo<unsigned>& info) {
                           return std::to_string(info.param) + "_workers";
                         });

template <class E>
bool is(const std::exception_ptr& error) {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const E&) {
    return true;
  } catch (...) {
    return false;
  }
}

using StringFns = std::vector<std::function<weft::Coroutine<std::string>()>>;

std::string res(int index) {
  return "Res: " + std::to_string(index);
}

TEST_P(StaggeredTests, test_empty) {
  run([] {
    auto [winner, index, excs] = weft::staggered_race(StringFns{}, std::nullopt);
    EXPECT_FALSE(winner.has_value());
    EXPECT_FALSE(index.has_value());
    EXPECT_TRUE(excs.empty());
  });
}

TEST_P(StaggeredTests, test_one_successful) {
  Log started;
  run([&] {
    auto coro = [&](int index) -> weft::Coroutine<std::string> {
      return weft::coro([&started, index] {
        started.add(std::to_string(index));
        return res(index);
      });
    };
    auto [winner, index, excs] = weft::staggered_race(
        StringFns{[&] { return coro(0); }, [&] { return coro(1); }}, std::nullopt);
    EXPECT_EQ(winner, res(0));
    EXPECT_EQ(index, 0u);
    ASSERT_EQ(excs.size(), 1u);
    EXPECT_EQ(excs[0], nullptr);
  });
  // With no delay the second waits for the first to fail, so it never starts.
  EXPECT_EQ(started.entries(), std::vector<std::string>{"0"});
}

TEST_P(StaggeredTests, test_first_error_second_successful) {
  run([] {
    auto coro = [](int index) -> weft::Coroutine<std::string> {
      return weft::coro([index] {
        if (index == 0) throw weft::ValueError(std::to_string(index));
        return res(index);
      });
    };
    auto [winner, index, excs] = weft::staggered_race(
        StringFns{[&] { return coro(0); }, [&] { return coro(1); }}, std::nullopt);
    EXPECT_EQ(winner, res(1));
    EXPECT_EQ(index, 1u);
    ASSERT_EQ(excs.size(), 2u);
    EXPECT_TRUE(is<weft::ValueError>(excs[0]));
    EXPECT_EQ(excs[1], nullptr);
  });
}

TEST_P(StaggeredTests, test_first_timeout_second_successful) {
  run([] {
    auto coro = [](int index) -> weft::Coroutine<std::string> {
      return weft::coro([index] {
        if (index == 0) weft::sleep(10);  // much longer than the delay
        return res(index);
      });
    };
    auto [winner, index, excs] =
        weft::staggered_race(StringFns{[&] { return coro(0); }, [&] { return coro(1); }}, 0.1);
    EXPECT_EQ(winner, res(1));
    EXPECT_EQ(index, 1u);
    ASSERT_EQ(excs.size(), 2u);
    EXPECT_TRUE(is<weft::CancelledError>(excs[0]));  // the winner cancelled it
    EXPECT_EQ(excs[1], nullptr);
    // The second started after the delay, and the race ended with it, not with the first.
    EXPECT_NEAR(weft::get_running_loop().time(), 0.1, 1e-9);
  });
}

TEST_P(StaggeredTests, test_none_successful) {
  run([] {
    auto coro = [](int index) -> weft::Coroutine<std::string> {
      return weft::coro(
          [index]() -> std::string { throw weft::ValueError(std::to_string(index)); });
    };
    auto [winner, index, excs] = weft::staggered_race(
        StringFns{[&] { return coro(0); }, [&] { return coro(1); }}, std::nullopt);
    EXPECT_FALSE(winner.has_value());
    EXPECT_FALSE(index.has_value());
    ASSERT_EQ(excs.size(), 2u);
    EXPECT_TRUE(is<weft::ValueError>(excs[0]));
    EXPECT_TRUE(is<weft::ValueError>(excs[1]));
  });
}

TEST_P(StaggeredTests, test_multiple_winners) {
  const unsigned workers = GetParam();
  run([workers] {
    weft::Event event;
    auto coro = [&](int index) -> weft::Coroutine<int> {
      return weft::coro([&event, index] {
        event.wait();
        return index;
      });
    };
    auto do_set = [&]() -> weft::Coroutine<int> {
      return weft::coro([&event] {
        event.set();
        weft::Event never;
        never.wait();
        return -1;
      });
    };
    auto [winner, index, excs] =
        weft::staggered_race(std::vector<std::function<weft::Coroutine<int>()>>{
                                 [&] { return coro(0); }, [&] { return coro(1); }, do_set},
                             0.1);
    ASSERT_EQ(excs.size(), 3u);
    ASSERT_TRUE(index.has_value());
    if (workers == 1) {
      // asyncio's order: the first woken finishes first; the other is cancelled before it runs.
      EXPECT_EQ(index, 0u);
    } else {
      // Both may run at once on two workers; whichever finished first won.
      EXPECT_TRUE(*index == 0u || *index == 1u);
    }
    EXPECT_EQ(winner, static_cast<int>(*index));
    EXPECT_EQ(excs[*index], nullptr);
    EXPECT_TRUE(is<weft::CancelledError>(excs[1 - *index]));
    EXPECT_TRUE(is<weft::CancelledError>(excs[2]));
  });
}

// The caller is cancelled twice (two timeout scopes expiring, from inside the attempt): each time
// the race cancels the attempt still running and goes on waiting for it, and only once it ended
// does the CancelledError leave staggered_race -- which the outer scope turns into TimeoutError.
// CPython waits for the cancellation with two sleep(0)s; here the attempt waits on an Event
// nobody sets, which only the cancellation ends, on any number of workers.
TEST_P(StaggeredTests, test_cancelled) {
  Log log;
  run([&] {
    bool timed_out = false;
    try {
      weft::timeout(std::nullopt, [&](weft::Timeout& cs_outer) {
        weft::timeout(std::nullopt, [&](weft::Timeout& cs_inner) {
          std::function<void()> coro_fn = [&] {
            weft::Event never;
            cs_inner.reschedule(-1);
            try {
              never.wait();
            } catch (const weft::CancelledError&) {
              log.add("cancelled 1");
            }
            cs_outer.reschedule(-1);
            try {
              never.wait();
            } catch (const weft::CancelledError&) {
              log.add("cancelled 2");
            }
          };
          try {
            weft::staggered_race(std::vector{coro_fn}, std::nullopt);
          } catch (const weft::CancelledError&) {
            log.add("cancelled 3");
            throw;
          }
        });
      });
    } catch (const weft::TimeoutError&) {
      timed_out = true;
    }
    EXPECT_TRUE(timed_out);
  });
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"cancelled 1", "cancelled 2", "cancelled 3"}));
}

}  // namespace
