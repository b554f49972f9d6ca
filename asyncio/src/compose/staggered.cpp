// staggered_race(): as asyncio's (newest), each attempt runs in a runner task, which first waits
// for the attempt before it to fail (or for the delay), then starts the runner of the next one
// and runs its own. The calling task waits until no runner is left. Runners and their done
// callbacks run on any worker, so the race's bookkeeping is behind one mutex; tasks are created,
// cancelled and futures completed outside it.
#include "weft/staggered.hpp"

#include <algorithm>
#include <mutex>
#include <string>

#include "weft/detail/time_ns.hpp"
#include "weft/event.hpp"
#include "weft/task_group.hpp"
#include "weft/timeout.hpp"

namespace weft::detail {

namespace {

class Race {
 public:
  Race(std::size_t count, std::function<void(std::size_t)> attempt, std::optional<double> delay)
      : count(count), attempt(std::move(attempt)), delay(delay) {}

  const std::size_t count;
  const std::function<void(std::size_t)> attempt;
  const std::optional<double> delay;
  // The await graph (asyncio 3.14): the calling task awaits every runner. It waits in
  // run_staggered_race until each runner's done callback has taken its record back.
  FutureCore* const parent = current_task_core();

  std::mutex mutex;
  std::size_t next_index = 0;                  // guarded
  std::vector<std::exception_ptr> exceptions;  // guarded; one per attempt started
  std::optional<std::size_t> winner;           // guarded
  std::vector<Task<void>> running;             // guarded; the runners not yet done
  bool stopping = false;                       // guarded; the caller was cancelled
  std::string stop_message;                    // guarded
  std::vector<std::exception_ptr> unhandled;   // guarded; runners that failed themselves
  std::optional<Future<void>> on_completed;    // guarded; the caller's wake-up
};

void start_runner(const std::shared_ptr<Race>& race, std::shared_ptr<Event> previous_failed);

// The done callback of every runner: the caller wakes once none is left.
void runner_done(const std::shared_ptr<Race>& race, Task<void>& runner) {
  std::optional<Future<void>> wake;
  {
    std::lock_guard lock(race->mutex);
    std::erase(race->running, runner);
    // An attempt's own failure is caught in its runner; what escapes is weft's (or a bug).
    if (!runner.cancelled()) {
      if (auto error = runner.exception()) race->unhandled.push_back(error);
    }
    if (race->running.empty() && race->on_completed) {
      wake = std::move(race->on_completed);
      race->on_completed.reset();
    }
  }
  if (wake) {
    try {
      wake->set_result();
    } catch (const InvalidStateError&) {
      // The caller was cancelled meanwhile; it looks at `running` again anyway.
    }
  }
}

void run_one(const std::shared_ptr<Race>& race, const std::shared_ptr<Event>& previous_failed) {
  if (previous_failed) {
    // Until the attempt before this one fails, or for `delay` at most.
    if (race->delay) {
      try {
        timeout(*race->delay, [&] { previous_failed->wait(); });
      } catch (const TimeoutError&) {
        // Its time is up: start the next one anyway.
      }
    } else {
      previous_failed->wait();
    }
  }
  std::size_t index;
  {
    std::lock_guard lock(race->mutex);
    // A winner, or a cancelled caller, on another worker: start nothing more.
    if (race->winner || race->stopping || race->next_index == race->count) return;
    index = race->next_index++;
    race->exceptions.push_back(nullptr);
  }
  auto this_failed = std::make_shared<Event>();
  start_runner(race, this_failed);
  try {
    race->attempt(index);
  } catch (const GeneratorExit&) {
    throw;  // the task is being closed, not the attempt failing
  } catch (...) {
    {
      std::lock_guard lock(race->mutex);
      race->exceptions[index] = std::current_exception();
    }
    this_failed->set();  // the next one need not wait any longer
    return;
  }
  std::vector<Task<void>> others;
  {
    std::lock_guard lock(race->mutex);
    if (race->winner) {
      // Another attempt won on another worker a moment ago: this one lost the race.
      race->exceptions[index] = std::make_exception_ptr(CancelledError());
      return;
    }
    race->winner = index;
    TaskRef self = current_task();
    for (auto& runner : race->running) {
      if (!self.is(runner)) others.push_back(runner);
    }
  }
  // Not this runner itself: it is done already but for returning (asyncio's bpo-30048 note).
  for (auto& runner : others) runner.cancel();
}

void start_runner(const std::shared_ptr<Race>& race, std::shared_ptr<Event> previous_failed) {
  Task<void> runner = create_task([race, previous_failed] { run_one(race, previous_failed); });
  if (race->parent) runner.core().add_awaited_by(*race->parent);
  bool cancel_now;
  std::string message;
  {
    std::lock_guard lock(race->mutex);
    race->running.push_back(runner);
    cancel_now = race->stopping;
    message = race->stop_message;
  }
  // After the push: a runner that already finished still calls back (soon), and is erased then.
  runner.add_done_callback([race](Task<void>& done) {
    if (race->parent) done.core().discard_awaited_by(*race->parent);
    runner_done(race, done);
  });
  if (cancel_now) runner.cancel(message);
}

}  // namespace

StaggeredOutcome run_staggered_race(std::size_t count, std::function<void(std::size_t)> attempt,
                                    std::optional<double> delay) {
  if (delay) seconds_to_ns(*delay, "staggered_race()");  // NaN: ValueError before anything runs
  auto race = std::make_shared<Race>(count, std::move(attempt), delay);
  start_runner(race, nullptr);
  std::exception_ptr cancelled;
  for (;;) {
    Future<void> waiter;
    {
      std::lock_guard lock(race->mutex);
      if (race->running.empty()) break;
      race->on_completed = waiter;
    }
    try {
      waiter.await();
    } catch (const CancelledError& error) {
      // Cancel every runner (again, if this is a further cancellation) and keep waiting: no
      // attempt outlives the call.
      cancelled = std::current_exception();
      std::vector<Task<void>> runners;
      {
        std::lock_guard lock(race->mutex);
        race->stopping = true;
        race->stop_message = error.message();
        runners = race->running;
      }
      for (auto& runner : runners) runner.cancel(error.message());
    }
  }
  std::lock_guard lock(race->mutex);
  if (!race->unhandled.empty()) throw ExceptionGroup("staggered race failed", race->unhandled);
  if (cancelled) std::rethrow_exception(cancelled);
  return StaggeredOutcome{race->winner, std::move(race->exceptions)};
}

}  // namespace weft::detail
