// Future<T>: asyncio.Future's states, result/exception rules, cancellation, done callbacks, the
// "exception was never retrieved" report, completion across threads, and awaiting it.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../core_test_support.hpp"

namespace {

using weft_test::WarningCapture;

TEST(Future, ANewFutureIsPending) {
  weft::Future<int> f;
  EXPECT_EQ(f.state(), weft::FutureState::PENDING);
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.repr(), "<Future pending>");
}

TEST(Future, ResultOfAPendingFutureIsResultIsNotSet) {
  weft::Future<int> f;
  try {
    f.result();
    FAIL();
  } catch (const weft::InvalidStateError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("Result is not set. ", 0), 0u)
        << e.what();  // asyncio's, then advice
  }
}

TEST(Future, ExceptionOfAPendingFutureIsExceptionIsNotSet) {
  weft::Future<int> f;
  try {
    f.exception();
    FAIL();
  } catch (const weft::InvalidStateError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("Exception is not set. ", 0), 0u) << e.what();
  }
}

TEST(Future, SetResultFinishesTheFutureWithThatValue) {
  weft::Future<std::string> f;
  f.set_result("value");
  EXPECT_EQ(f.state(), weft::FutureState::FINISHED);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
  EXPECT_EQ(f.result(), "value");
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(Future, VoidFutureFinishes) {
  weft::Future<> f;
  f.set_result();
  EXPECT_TRUE(f.done());
  EXPECT_NO_THROW(f.result());
}

TEST(Future, MoveOnlyResultIsReadByReference) {
  weft::Future<std::unique_ptr<int>> f;
  f.set_result(std::make_unique<int>(3));
  EXPECT_EQ(*f.result(), 3);
  EXPECT_EQ(*f.result(), 3);  // reading does not consume it
}

TEST(Future, SetExceptionMakesResultRethrowItAndExceptionReturnIt) {
  weft::Future<int> f;
  f.set_exception(std::runtime_error("failed"));
  EXPECT_EQ(f.state(), weft::FutureState::FINISHED);
  EXPECT_FALSE(f.cancelled());
  try {
    f.result();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "failed");
  }
  std::exception_ptr error = f.exception();
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::runtime_error);
}

TEST(Future, CancelledErrorSetAsTheExceptionFinishesWithoutCancelling) {
  // CPython accepts it (gather relies on it): the future is FINISHED, not cancelled, and
  // result() raises the CancelledError that was set.
  weft::Future<int> f;
  f.set_exception(weft::CancelledError("child cancelled"));
  EXPECT_EQ(f.state(), weft::FutureState::FINISHED);
  EXPECT_FALSE(f.cancelled());
  try {
    f.result();
    FAIL() << "result() should raise the CancelledError";
  } catch (const weft::CancelledError& e) {
    EXPECT_EQ(e.message(), "child cancelled");
  }
}

TEST(Future, CancelCancelsAPendingFutureAndCarriesTheMessage) {
  weft::Future<int> f;
  EXPECT_TRUE(f.cancel("shutting down"));
  EXPECT_EQ(f.state(), weft::FutureState::CANCELLED);
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.repr(), "<Future cancelled>");
  try {
    f.result();
    FAIL();
  } catch (const weft::CancelledError& e) {
    EXPECT_EQ(e.message(), "shutting down");
  }
  try {
    f.exception();
    FAIL();
  } catch (const weft::CancelledError& e) {
    EXPECT_EQ(e.message(), "shutting down");
  }
}

TEST(Future, CancelledErrorIsNotAStdException) {
  // asyncio.CancelledError is a BaseException: `except Exception` must not swallow it.
  weft::Future<int> f;
  f.cancel();
  bool swallowed_by_std_handler = false;
  try {
    try {
      f.result();
    } catch (const std::exception&) {
      swallowed_by_std_handler = true;
    }
  } catch (const weft::CancelledError& e) {
    EXPECT_EQ(e.message(), "");
    EXPECT_STREQ(e.type_name(), "CancelledError");
  }
  EXPECT_FALSE(swallowed_by_std_handler);
}

TEST(Future, CancelReturnsFalseOnceDone) {
  weft::Future<int> finished;
  finished.set_result(1);
  EXPECT_FALSE(finished.cancel());
  EXPECT_EQ(finished.state(), weft::FutureState::FINISHED);
  EXPECT_EQ(finished.result(), 1);

  weft::Future<int> cancelled;
  EXPECT_TRUE(cancelled.cancel("first"));
  EXPECT_FALSE(cancelled.cancel("second"));
  try {
    cancelled.result();
  } catch (const weft::CancelledError& e) {
    EXPECT_EQ(e.message(), "first");
  }
}

TEST(Future, CompletingADoneFutureIsAnInvalidStateError) {
  weft::Future<int> f;
  f.set_result(1);
  try {
    f.set_result(2);
    FAIL();
  } catch (const weft::InvalidStateError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("invalid state: ", 0), 0u)
        << e.what();  // asyncio's first
  }
  EXPECT_THROW(f.set_exception(std::runtime_error("late")), weft::InvalidStateError);
  EXPECT_EQ(f.result(), 1);

  weft::Future<int> cancelled;
  cancelled.cancel();
  EXPECT_THROW(cancelled.set_result(1), weft::InvalidStateError);
}

TEST(Future, CopiesShareOneFuture) {
  weft::Future<int> a;
  weft::Future<int> b = a;
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == weft::Future<int>());
  b.set_result(9);
  EXPECT_TRUE(a.done());
  EXPECT_EQ(a.result(), 9);
}

TEST(FutureCallbacks, ADoneCallbackRunsInlineWhenACoreFutureCompletes) {
  weft::Future<int> f;
  std::vector<int> seen;
  f.add_done_callback([&](weft::Future<int>& done) {
    EXPECT_TRUE(done == f);
    seen.push_back(done.result());
  });
  EXPECT_TRUE(seen.empty());
  f.set_result(5);
  EXPECT_EQ(seen, std::vector<int>{5});  // ran inside set_result: no loop to schedule it on
}

TEST(FutureCallbacks, CallbacksRunInRegistrationOrder) {
  weft::Future<int> f;
  std::vector<int> order;
  for (int i = 0; i < 4; ++i)
    f.add_done_callback([&, i](weft::Future<int>&) { order.push_back(i); });
  f.cancel();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(FutureCallbacks, ACallbackAddedToADoneFutureRunsAtOnce) {
  weft::Future<int> f;
  f.set_result(1);
  bool ran = false;
  f.add_done_callback([&](weft::Future<int>&) { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(FutureCallbacks, RemoveDoneCallbackReturnsHowManyItRemoved) {
  weft::Future<int> f;
  int runs = 0;
  auto kept = f.add_done_callback([&](weft::Future<int>&) { runs += 1; });
  auto removed = f.add_done_callback([&](weft::Future<int>&) { runs += 100; });
  EXPECT_NE(kept, removed);
  EXPECT_EQ(f.remove_done_callback(removed), 1u);
  EXPECT_EQ(f.remove_done_callback(removed), 0u);
  f.set_result(0);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(f.remove_done_callback(kept), 0u);  // already ran and dropped
}

TEST(FutureCallbacks, ACallbackRunsOnTheThreadThatCompletesTheFuture) {
  weft::Future<int> f;
  std::thread::id ran_on;
  f.add_done_callback([&](weft::Future<int>&) { ran_on = std::this_thread::get_id(); });
  std::thread::id completer;
  std::thread t([&] {
    completer = std::this_thread::get_id();
    f.set_result(1);
  });
  t.join();
  EXPECT_EQ(ran_on, completer);
}

TEST(FutureNeverRetrieved, AFailedFutureDroppedUnobservedIsReported) {
  WarningCapture warnings;
  {
    weft::Future<int> f;
    f.set_exception(std::runtime_error("lost"));
  }
  auto all = warnings.all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].category, "ERROR");
  EXPECT_EQ(all[0].message.rfind("Future exception was never retrieved", 0), 0u) << all[0].message;
  EXPECT_NE(all[0].message.find("lost"), std::string::npos) << all[0].message;
}

TEST(FutureNeverRetrieved, CallingExceptionCountsAsRetrieving) {
  WarningCapture warnings;
  {
    weft::Future<int> f;
    f.set_exception(std::runtime_error("seen"));
    EXPECT_TRUE(f.exception());
  }
  EXPECT_TRUE(warnings.all().empty());
}

TEST(FutureNeverRetrieved, CallingResultCountsAsRetrieving) {
  WarningCapture warnings;
  {
    weft::Future<int> f;
    f.set_exception(std::runtime_error("seen"));
    EXPECT_THROW(f.result(), std::runtime_error);
  }
  EXPECT_TRUE(warnings.all().empty());
}

TEST(FutureNeverRetrieved, FuturesWithoutAnExceptionAreNotReported) {
  WarningCapture warnings;
  {
    weft::Future<int> finished;
    finished.set_result(1);
    weft::Future<int> cancelled;
    cancelled.cancel();
    weft::Future<int> pending;
  }
  EXPECT_TRUE(warnings.all().empty());
}

TEST(FutureNeverRetrieved, TheReportComesOnceWhenTheLastCopyGoes) {
  WarningCapture warnings;
  {
    weft::Future<int> f;
    f.set_exception(std::runtime_error("lost"));
    { weft::Future<int> copy = f; }
    EXPECT_TRUE(warnings.all().empty());
  }
  EXPECT_EQ(warnings.all().size(), 1u);
}

// ---- across threads

TEST(FutureThreads, CompletionOnOneThreadIsSeenByManySpinningThreads) {
  constexpr int kWaiters = 8;
  const int rounds = weft_test::kTsan ? 50 : 400;
  for (int round = 0; round < rounds; ++round) {
    weft::Future<std::vector<int>> f;
    std::atomic<int> correct{0};
    std::vector<std::thread> waiters;
    for (int i = 0; i < kWaiters; ++i) {
      waiters.emplace_back([&] {
        while (!f.done()) std::this_thread::yield();
        // The value was written before done() turned true: a waiter must see all of it.
        const auto& v = f.result();
        if (v.size() == 100 && v.front() == round && v.back() == round + 99) correct.fetch_add(1);
      });
    }
    std::thread completer([&] {
      std::vector<int> v;
      for (int i = 0; i < 100; ++i) v.push_back(round + i);
      f.set_result(std::move(v));
    });
    completer.join();
    for (auto& t : waiters) t.join();
    ASSERT_EQ(correct.load(), kWaiters) << "round " << round;
  }
}

TEST(FutureThreads, ExactlyOneOfManyRacingCompletionsWins) {
  constexpr int kRacers = 8;
  const int rounds = weft_test::kTsan ? 50 : 300;
  for (int round = 0; round < rounds; ++round) {
    weft::Future<int> f;
    std::atomic<int> winners{0};
    std::atomic<int> callbacks{0};
    f.add_done_callback([&](weft::Future<int>&) { callbacks.fetch_add(1); });
    std::vector<std::thread> racers;
    for (int i = 0; i < kRacers; ++i) {
      racers.emplace_back([&, i] {
        bool won = false;
        if (i % 2 == 0) {
          won = f.cancel("racer");
        } else {
          try {
            f.set_result(i);
            won = true;
          } catch (const weft::InvalidStateError&) {
          }
        }
        if (won) winners.fetch_add(1);
      });
    }
    for (auto& t : racers) t.join();
    ASSERT_EQ(winners.load(), 1);
    ASSERT_EQ(callbacks.load(), 1);
    ASSERT_TRUE(f.done());
  }
}

// ---- awaiting a future from a coroutine driven by hand

TEST(FutureAwait, AwaitingAPendingFutureYieldsItToTheDriverAndResumesWithItsResult) {
  weft::Future<int> f;
  auto c = weft::coro([f] { return f.await() + 1; });
  auto step = c.send();
  ASSERT_TRUE(step.suspended());
  // What Task.__step sees: the future the coroutine is waiting for.
  auto* awaited = std::any_cast<weft::detail::AwaitFuture>(&step.yielded());
  ASSERT_NE(awaited, nullptr);
  EXPECT_EQ(awaited->future, &f.core());
  f.set_result(41);
  EXPECT_EQ(c.send().value(), 42);
}

TEST(FutureAwait, AwaitingADoneFutureDoesNotSuspend) {
  weft::Future<int> f;
  f.set_result(7);
  auto c = weft::coro([f] { return f.await(); });
  EXPECT_EQ(c.send().value(), 7);
}

TEST(FutureAwait, AwaitRaisesTheFuturesExceptionOrCancellation) {
  weft::Future<int> failed;
  failed.set_exception(std::runtime_error("bad"));
  auto c1 = weft::coro([failed] { return failed.await(); });
  EXPECT_THROW(c1.send(), std::runtime_error);

  weft::Future<int> cancelled;
  auto c2 = weft::coro([cancelled] { return cancelled.await(); });
  c2.send();
  cancelled.cancel("stop");
  try {
    c2.send();
    FAIL();
  } catch (const weft::CancelledError& e) {
    EXPECT_EQ(e.message(), "stop");
  }
}

TEST(FutureAwait, ResumingBeforeTheFutureIsDoneIsAnError) {
  weft::Future<int> f;
  auto c = weft::coro([f] { return f.await(); });
  c.send();
  try {
    c.send();
    FAIL();
  } catch (const weft::RuntimeError& e) {
    EXPECT_STREQ(e.what(), "await wasn't used with future");
  }
}

}  // namespace
