// AsyncGenerator driven from tasks: async for, anext/asend/athrow/aclose, getasyncgenstate,
// awaits in the body suspending the driving task, cleanup that awaits, and the refusal of a
// second concurrent anext. Expected behaviour checked against CPython 3.11/3.12.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;
using Entries = std::vector<std::string>;

weft::AsyncGenerator<int> ticks(int n, double delay) {
  return weft::AsyncGenerator<int>([n, delay](auto& yield_) {
    for (int i = 0; i < n; ++i) {
      weft::sleep(delay);
      yield_(i);
    }
  });
}

TEST(AsyncGenerator, AsyncForVisitsEveryValue) {
  std::vector<int> seen;
  double end = weft::run(
      [&] {
        auto g = ticks(4, 1.0);
        for (int v : g) seen.push_back(v);
        return weft::get_running_loop().time();
      },
      deterministic());
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_DOUBLE_EQ(end, 4.0);
}

TEST(AsyncGenerator, AnextReturnsNulloptAtTheEndAndAfter) {
  weft::run(
      [] {
        auto g = ticks(2, 0.0);
        EXPECT_EQ(g.anext(), 0);
        EXPECT_EQ(g.anext(), 1);
        EXPECT_EQ(g.anext(), std::nullopt);  // StopAsyncIteration
        EXPECT_EQ(g.anext(), std::nullopt);
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_CLOSED);
      },
      deterministic());
}

TEST(AsyncGenerator, ExhaustedGeneratorReleasesWhatItsBodyCaptured) {
  auto captured = std::make_shared<int>(1);
  weft::run(
      [&] {
        weft::AsyncGenerator<int> g([captured](auto& yield_) { yield_(*captured); });
        EXPECT_EQ(g.anext(), 1);
        EXPECT_EQ(captured.use_count(), 2);  // suspended: the frame is alive
        EXPECT_EQ(g.anext(), std::nullopt);
        EXPECT_EQ(captured.use_count(), 1);
      },
      deterministic());
}

TEST(AsyncGenerator, AsendDeliversTheValueOfTheYield) {
  Log log;
  weft::run(
      [&] {
        weft::AsyncGenerator<int, std::string> g([&](auto& yield_) {
          auto got = yield_(1);
          log.add("got " + got.value_or("None"));
          auto again = yield_(2);
          log.add("got " + again.value_or("None"));
        });
        EXPECT_EQ(g.anext(), 1);
        EXPECT_EQ(g.asend("x"), 2);
        EXPECT_EQ(g.anext(), std::nullopt);  // anext sends None
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"got x", "got None"}));
}

TEST(AsyncGenerator, AsendBeforeTheFirstYieldIsATypeError) {
  weft::run(
      [] {
        weft::AsyncGenerator<int, int> g([](auto& yield_) { yield_(1); });
        try {
          g.asend(5);
          ADD_FAILURE();
        } catch (const weft::TypeError& e) {
          EXPECT_STREQ(e.what(), "can't send non-None value to a just-started async generator");
        }
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_CREATED);
        EXPECT_EQ(g.anext(), 1);
      },
      deterministic());
}

TEST(AsyncGenerator, AthrowRaisesAtTheYieldAndReturnsTheNextValue) {
  weft::run(
      [] {
        weft::AsyncGenerator<int> g([](auto& yield_) {
          try {
            yield_(1);
          } catch (const std::out_of_range&) {
            yield_(99);
          }
        });
        EXPECT_EQ(g.anext(), 1);
        EXPECT_EQ(g.athrow(std::make_exception_ptr(std::out_of_range("k"))), 99);
        EXPECT_EQ(g.anext(), std::nullopt);
      },
      deterministic());
}

TEST(AsyncGenerator, AnUncaughtAthrowPropagatesAndClosesTheGenerator) {
  weft::run(
      [] {
        auto g = ticks(3, 0.0);
        EXPECT_EQ(g.anext(), 0);
        EXPECT_THROW(g.athrow(std::make_exception_ptr(std::out_of_range("k"))), std::out_of_range);
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_CLOSED);
        EXPECT_EQ(g.anext(), std::nullopt);
      },
      deterministic());
}

TEST(AsyncGenerator, AthrowOnAFreshGeneratorRaisesAndClosesIt) {
  weft::run(
      [] {
        bool ran = false;
        weft::AsyncGenerator<int> g([&](auto& yield_) {
          ran = true;
          yield_(1);
        });
        EXPECT_THROW(g.athrow(std::make_exception_ptr(std::out_of_range("k"))), std::out_of_range);
        EXPECT_FALSE(ran);
        EXPECT_EQ(g.anext(), std::nullopt);
      },
      deterministic());
}

TEST(AsyncGenerator, AnExceptionInTheBodyPropagatesThenTheGeneratorIsExhausted) {
  weft::run(
      [] {
        weft::AsyncGenerator<int> g([](auto& yield_) {
          yield_(1);
          throw std::domain_error("x");
        });
        EXPECT_EQ(g.anext(), 1);
        EXPECT_THROW(g.anext(), std::domain_error);
        EXPECT_EQ(g.anext(), std::nullopt);
      },
      deterministic());
}

TEST(AsyncGenerator, AcloseRunsCleanupThatAwaits) {
  Log log;
  double end = weft::run(
      [&] {
        weft::AsyncGenerator<int> g([&](auto& yield_) {
          try {
            yield_(1);
            yield_(2);
          } catch (const weft::GeneratorExit&) {
            weft::sleep(1.0);  // cleanup awaits
            log.add("cleanup");
            throw;
          }
        });
        EXPECT_EQ(g.anext(), 1);
        g.aclose();
        log.add("closed");
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_CLOSED);
        g.aclose();  // closing again is a no-op
        return weft::get_running_loop().time();
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"cleanup", "closed"}));
  EXPECT_DOUBLE_EQ(end, 1.0);
}

TEST(AsyncGenerator, AcloseOnAFreshGeneratorRunsNothing) {
  weft::run(
      [] {
        bool ran = false;
        weft::AsyncGenerator<int> g([&](auto& yield_) {
          ran = true;
          yield_(1);
        });
        g.aclose();
        EXPECT_FALSE(ran);
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_CLOSED);
      },
      deterministic());
}

TEST(AsyncGenerator, YieldingAfterGeneratorExitIsARuntimeError) {
  weft::run(
      [] {
        weft::AsyncGenerator<int> g([](auto& yield_) {
          try {
            yield_(1);
          } catch (const weft::GeneratorExit&) {
            yield_(2);
          }
        });
        EXPECT_EQ(g.anext(), 1);
        try {
          g.aclose();
          ADD_FAILURE();
        } catch (const weft::RuntimeError& e) {
          EXPECT_STREQ(e.what(), "async generator ignored GeneratorExit");
        }
      },
      deterministic());
}

TEST(AsyncGenerator, StatesCreatedRunningSuspendedClosed) {
  weft::run(
      [] {
        weft::AsyncGenerator<int>* self = nullptr;
        std::optional<weft::AgenState> inside;
        weft::AsyncGenerator<int> g([&](auto& yield_) {
          inside = weft::getasyncgenstate(*self);
          yield_(1);
        });
        self = &g;
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_CREATED);
        EXPECT_EQ(g.anext(), 1);
        EXPECT_EQ(inside, weft::AGEN_RUNNING);
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_SUSPENDED);
        EXPECT_EQ(g.anext(), std::nullopt);
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_CLOSED);
      },
      deterministic());
}

TEST(AsyncGenerator, IsRunningWhileItsBodyAwaitsInsideAnext) {
  // CPython: ag_running is True while an anext is in progress, even while the body awaits;
  // inspect.getasyncgenstate then says AGEN_RUNNING.
  weft::run(
      [] {
        auto g = ticks(2, 1.0);
        auto driver = weft::create_task([&] { return g.anext(); });
        weft::sleep(0.5);  // the driver is inside anext, its body sleeping
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_RUNNING);
        EXPECT_EQ(weft::await(driver), 0);
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_SUSPENDED);
      },
      deterministic());
}

TEST(AsyncGenerator, AwaitsInTheBodySuspendTheTaskSoOthersRun) {
  Log log;
  weft::run(
      [&] {
        auto other = weft::create_task([&] {
          for (int i = 0; i < 3; ++i) {
            log.add("other " + std::to_string(i));
            weft::sleep(1.0);
          }
        });
        weft::AsyncGenerator<int> g([&](auto& yield_) {
          for (int i = 0; i < 2; ++i) {
            weft::sleep(1.5);
            yield_(i);
          }
        });
        for (int v : g) log.add("value " + std::to_string(v));
        weft::await(other);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"other 0", "other 1", "value 0", "other 2", "value 1"}));
}

TEST(AsyncGenerator, ASecondConcurrentAnextFromAnotherTaskIsRefused) {
  weft::run(
      [] {
        auto g = ticks(2, 1.0);
        auto first = weft::create_task([&] { return g.anext(); });
        weft::sleep(0.0);  // first is inside anext, awaiting in the body
        try {
          g.anext();
          ADD_FAILURE() << "a second anext ran concurrently";
        } catch (const weft::RuntimeError& e) {
          EXPECT_STREQ(e.what(), "anext(): asynchronous generator is already running");
        }
        EXPECT_EQ(weft::await(first), 0);
        EXPECT_EQ(g.anext(), 1);  // usable again once the first one returned
      },
      deterministic());
}

TEST(AsyncGenerator, CancellingTheDrivingTaskRaisesInsideTheBodysAwait) {
  Log log;
  weft::run(
      [&] {
        weft::AsyncGenerator<int> g([&](auto& yield_) {
          try {
            weft::sleep(10.0);
            yield_(1);
          } catch (const weft::CancelledError& e) {
            log.add("body saw " + e.message());
            throw;
          }
        });
        auto driver = weft::create_task([&] { return g.anext(); });
        weft::sleep(0.0);
        driver.cancel("stop");
        EXPECT_THROW(weft::await(driver), weft::CancelledError);
        EXPECT_TRUE(driver.cancelled());
        EXPECT_EQ(weft::getasyncgenstate(g), weft::AGEN_CLOSED);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"body saw stop"}));
}

TEST(AsyncGenerator, MayBeDrivenByDifferentTasksInTurn) {
  weft::run(
      [] {
        auto g = ticks(3, 1.0);
        for (int i = 0; i < 3; ++i) {
          auto t = weft::create_task([&] { return g.anext(); });
          EXPECT_EQ(weft::await(t), i);
        }
        EXPECT_EQ(g.anext(), std::nullopt);
      },
      weft::RunOptions{.workers = 2, .virtual_time = true});
}

}  // namespace
