// "Task exception was never retrieved": reported (category "ERROR", asyncio's logger) when a
// task that failed is dropped without anyone looking at its exception; silent otherwise.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::WarningCapture;

const char* const kHeader = "Task exception was never retrieved\nfuture: ";

TEST(UnretrievedException, AFailedTaskDroppedUnobservedIsReported) {
  WarningCapture warnings;
  std::string name;
  weft::run(
      [&] {
        auto t = weft::create_task([]() -> int { throw std::runtime_error("lost"); }, "failing");
        name = t.get_name();
        weft::sleep(0.0);
        EXPECT_TRUE(t.done());
        EXPECT_TRUE(warnings.of("ERROR").empty()) << "reported while a handle is still held";
      },
      deterministic());
  auto errors = warnings.of("ERROR");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message.rfind(kHeader, 0), 0u) << errors[0].message;
  EXPECT_NE(errors[0].message.find("<Task finished name='failing'"), std::string::npos)
      << errors[0].message;
  EXPECT_NE(errors[0].message.find("lost"), std::string::npos) << errors[0].message;
}

TEST(UnretrievedException, ADetachedTaskIsReportedWhenItFinishes) {
  WarningCapture warnings;
  weft::run(
      [&] {
        weft::create_task([] {
          weft::sleep(1.0);
          throw std::logic_error("nobody listens");
        });
        weft::sleep(2.0);
        EXPECT_EQ(warnings.of("ERROR").size(), 1u);
      },
      deterministic());
  EXPECT_EQ(warnings.of("ERROR").size(), 1u);
}

TEST(UnretrievedException, AnAwaitedFailureIsNotReported) {
  WarningCapture warnings;
  weft::run(
      [] {
        auto t = weft::create_task([]() -> int { throw std::runtime_error("seen"); });
        EXPECT_THROW(weft::await(t), std::runtime_error);
      },
      deterministic());
  EXPECT_TRUE(warnings.of("ERROR").empty());
}

TEST(UnretrievedException, ExceptionRetrievesIt) {
  WarningCapture warnings;
  weft::run(
      [] {
        auto t = weft::create_task([] { throw std::runtime_error("seen"); });
        weft::sleep(0.0);
        EXPECT_NE(t.exception(), nullptr);
      },
      deterministic());
  EXPECT_TRUE(warnings.of("ERROR").empty());
}

TEST(UnretrievedException, ResultRetrievesIt) {
  WarningCapture warnings;
  weft::run(
      [] {
        auto t = weft::create_task([] { throw std::runtime_error("seen"); });
        weft::sleep(0.0);
        EXPECT_THROW(t.result(), std::runtime_error);
      },
      deterministic());
  EXPECT_TRUE(warnings.of("ERROR").empty());
}

TEST(UnretrievedException, ADoneCallbackThatLooksRetrievesIt) {
  WarningCapture warnings;
  weft::run(
      [] {
        auto t = weft::create_task([] { throw std::runtime_error("seen"); });
        t.add_done_callback([](weft::Task<void>& done) { EXPECT_NE(done.exception(), nullptr); });
        weft::sleep(0.0);
        weft::sleep(0.0);
      },
      deterministic());
  EXPECT_TRUE(warnings.of("ERROR").empty());
}

TEST(UnretrievedException, ACancelledOrSuccessfulTaskIsNotReported) {
  WarningCapture warnings;
  weft::run(
      [] {
        auto ok = weft::create_task([] { return 1; });
        auto cancelled = weft::create_task([] { weft::sleep(10.0); });
        weft::sleep(0.0);
        cancelled.cancel();
        weft::sleep(0.0);
        EXPECT_TRUE(ok.done());
        EXPECT_TRUE(cancelled.done());
      },
      deterministic());
  EXPECT_TRUE(warnings.all().empty());
}

TEST(UnretrievedException, TheFailureOfMainIsRetrievedByRun) {
  WarningCapture warnings;
  EXPECT_THROW(weft::run([] { throw std::runtime_error("main failed"); }, deterministic()),
               std::runtime_error);
  EXPECT_TRUE(warnings.of("ERROR").empty());
}

}  // namespace
