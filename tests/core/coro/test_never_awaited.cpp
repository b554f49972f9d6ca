// "RuntimeWarning: coroutine 'fetch' was never awaited": reported when a coroutine that was never
// driven is destroyed, through the installed warning handler, with where it was created.
#include <gtest/gtest.h>

#include <string>

#include "../core_test_support.hpp"

namespace {

using weft_test::WarningCapture;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST(NeverAwaited, DestroyingAnUndrivenCoroutineReportsItWithWhereItWasCreated) {
  WarningCapture warnings;
  const unsigned created_line = __LINE__ + 2;
  {
    auto c = weft::coro([] { return 1; });
  }
  auto all = warnings.all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].category, "RuntimeWarning");
  EXPECT_EQ(all[0].message, "coroutine '<lambda>' was never awaited");
  EXPECT_TRUE(ends_with(all[0].file, "test_never_awaited.cpp")) << all[0].file;
  EXPECT_EQ(all[0].line, created_line);
}

const weft::CoroutineFunction fetch{"fetch", [](int id) { return id; }};

TEST(NeverAwaited, CoroutineFunctionNamesTheCoroutineInTheReport) {
  WarningCapture warnings;
  { weft::Coroutine<int> c = fetch(1); }
  auto all = warnings.all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].category, "RuntimeWarning");
  EXPECT_EQ(all[0].message, "coroutine 'fetch' was never awaited");
  EXPECT_TRUE(ends_with(all[0].file, "test_never_awaited.cpp")) << all[0].file;
}

TEST(NeverAwaited, TheReportUsesTheCurrentName) {
  WarningCapture warnings;
  {
    auto c = weft::coro([] {});
    c.set_name("renamed");
  }
  EXPECT_EQ(warnings.messages(), std::vector<std::string>{"coroutine 'renamed' was never awaited"});
}

TEST(NeverAwaited, AFailedFirstSendWithAValueDoesNotCountAsDriving) {
  WarningCapture warnings;
  {
    auto c = weft::coro([] {});
    EXPECT_THROW(c.send(1), weft::TypeError);
  }
  EXPECT_EQ(warnings.messages(),
            std::vector<std::string>{"coroutine '<lambda>' was never awaited"});
}

TEST(NeverAwaited, DrivenCoroutinesAreNotReported) {
  WarningCapture warnings;
  {
    auto finished = weft::coro([] {});
    finished.send();
    auto suspended = weft::coro([] { weft::suspend(); });
    suspended.send();
    auto failed = weft::coro([] { throw 1; });
    EXPECT_THROW(failed.send(), int);
  }
  EXPECT_TRUE(warnings.all().empty());
}

TEST(NeverAwaited, ClosedOrThrownIntoBeforeStartingIsNotReported) {
  WarningCapture warnings;
  {
    auto closed = weft::coro([] {});
    closed.close();
    auto thrown = weft::coro([] {});
    EXPECT_THROW(thrown.throw_(7), int);
  }
  EXPECT_TRUE(warnings.all().empty());
}

TEST(NeverAwaited, AwaitedCoroutineIsNotReported) {
  WarningCapture warnings;
  {
    auto outer = weft::coro([] { return weft::await(weft::coro([] { return 2; })); });
    EXPECT_EQ(outer.send().value(), 2);
  }
  EXPECT_TRUE(warnings.all().empty());
}

TEST(NeverAwaited, AMovedFromHandleReportsNothingAndTheCoroutineIsReportedOnce) {
  WarningCapture warnings;
  {
    auto made = weft::coro([] {});
    weft::Coroutine<void> moved = std::move(made);
  }
  EXPECT_EQ(warnings.all().size(), 1u);
}

TEST(NeverAwaited, GeneratorsAreNotReported) {
  WarningCapture warnings;
  {
    weft::Generator<int> g([](auto& yield_) { yield_(1); });
  }
  EXPECT_TRUE(warnings.all().empty());
}

TEST(WarningHandler, SetWarningHandlerReturnsThePreviousHandler) {
  int first_calls = 0;
  int second_calls = 0;
  weft::WarningHandler original =
      weft::set_warning_handler([&](const weft::Warning&) { ++first_calls; });
  weft::warn({"RuntimeWarning", "one", {}, 0});
  weft::WarningHandler first =
      weft::set_warning_handler([&](const weft::Warning&) { ++second_calls; });
  ASSERT_TRUE(static_cast<bool>(first));
  weft::warn({"RuntimeWarning", "two", {}, 0});
  first({"RuntimeWarning", "direct", {}, 0});
  weft::set_warning_handler(std::move(original));
  EXPECT_EQ(first_calls, 2);
  EXPECT_EQ(second_calls, 1);
}

TEST(WarningHandler, TheDefaultHandlerPrintsLikePython) {
  weft::WarningHandler previous = weft::set_warning_handler({});
  testing::internal::CaptureStderr();
  weft::warn({"RuntimeWarning", "coroutine 'f' was never awaited", "app.cpp", 12});
  weft::warn({"ERROR", "Future exception was never retrieved", {}, 0});
  std::string printed = testing::internal::GetCapturedStderr();
  weft::set_warning_handler(std::move(previous));
  EXPECT_EQ(printed,
            "app.cpp:12: RuntimeWarning: coroutine 'f' was never awaited\n"
            "ERROR: Future exception was never retrieved\n");
}

}  // namespace
