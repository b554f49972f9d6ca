// weft::run(main) and weft::Runner: asyncio.run and asyncio.Runner.
//
//   int v = weft::run(main);          // asyncio.run(main()): a runtime for one main, then gone
//
//   weft::Runner runner({.workers = 4});   // with asyncio.Runner() as runner:
//   runner.run(setup);                      //     runner.run(setup())
//   auto v = runner.run(work);              //     v = runner.run(work())
//                                           // closed at the end of the scope (or by close())
//
// Each run() makes `main` (a coroutine or a callable) a task on the runner's runtime, waits for
// it and returns its result or rethrows its exception. On the main thread, with no SIGINT handler
// of the program's own, Ctrl-C cancels the main task; run() then throws weft::KeyboardInterrupt
// unless main handled the cancellation (and ended otherwise), and a second Ctrl-C throws it at
// once, leaving main to close(). The previous handler is back when run() returns.
#pragma once

#include <memory>
#include <type_traits>

#include "weft/context_var.hpp"
#include "weft/detail/blocking_wait.hpp"
#include "weft/future.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
// RuntimeError if called from inside a running runtime.
void check_not_in_runtime(const char* what);
struct RunAccess;
// Runner::run's SIGINT handler, there for one run(): installed on the main thread over SIG_DFL
// only, and the previous disposition put back when it goes (see runner.cpp).
class SigintScope {
 public:
  SigintScope();
  ~SigintScope();
  SigintScope(const SigintScope&) = delete;
  SigintScope& operator=(const SigintScope&) = delete;
  bool installed() const noexcept { return installed_; }

 private:
  bool installed_ = false;
};
template <class T>
struct task_result;
template <class R>
struct task_result<Task<R>> {
  using type = R;
};
}  // namespace detail

// asyncio.Runner: several mains run in turn on one runtime, made on first use (run() or
// get_loop()) and shut down by close() or the destructor. One thread at a time uses a Runner.
// Unlike asyncio's loop, the runtime does not stop between run() calls: tasks a main left
// behind go on running on the workers until the next run() or close().
class Runner {
 public:
  explicit Runner(RunOptions options = {}) : options_(options) {}
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;
  // close(); from inside its own runtime, the Runtime's destructor shuts it down instead.
  ~Runner();

  // Runs `main` as a task to its end; returns its result or rethrows its exception. It runs in
  // `context` -- that Context, not a copy -- or in the runner's own, a copy of the creator's
  // Context made on first use, which every run() shares (a variable main sets is seen by the
  // next main). RuntimeError "Runner.run() cannot be called from a running event loop" from
  // inside a runtime, "Runner is closed" after close(). For Ctrl-C, see the top of this file.
  template <class C>
  auto run(C&& main) {
    return finish(start_and_wait(std::forward<C>(main), nullptr, "Runner.run()", false));
  }
  template <class C>
  auto run(C&& main, const Context& context) {
    return finish(start_and_wait(std::forward<C>(main), &context, "Runner.run()", false));
  }

  // The runner's runtime (loop.get_loop()), made if need be. RuntimeError once closed; a
  // reference taken before close() stays valid (and is_closed()) while the Runner lives.
  Runtime& get_loop();

  // Cancels the tasks left and waits for them, shuts down the to_thread pool and joins the
  // workers (Runtime::shutdown). Idempotent; run() and get_loop() raise RuntimeError after it.
  void close();

 private:
  friend struct detail::RunAccess;
  enum class State { created, initialized, closed };

  // The result of a finished main task, or its exception rethrown.
  template <class T>
  static auto finish(const T& task) {
    using R = typename detail::task_result<T>::type;
    if constexpr (std::is_void_v<R>) {
      task.result();
    } else {
      return Value<R>(task.result());
    }
  }

  void lazy_init();
  // Waits for `until`, turning Ctrl-C into cancelling `main` (see the top of this file) if
  // `sigint` is installed.
  void wait_for_main(detail::FutureCore& until, detail::TaskCore& main,
                     const detail::SigintScope& sigint);

  // Starts `main` and waits for it; `cancel_leftovers`: weft::run's teardown, see run() below.
  template <class C>
  auto start_and_wait(C&& main, const Context* context, const char* who, bool cancel_leftovers) {
    detail::check_not_in_runtime(who);
    auto coroutine = detail::as_coroutine(std::forward<C>(main));
    using R = typename decltype(coroutine)::result_type;
    lazy_init();
    auto& scheduler = runtime_->scheduler();
    auto state =
        detail::make_ref<detail::TypedTask<R>>(scheduler, std::move(coroutine), std::string(),
                                               nullptr, context ? context->state() : context_);
    Task<R> task(state);
    // asyncio.run stops the loop as soon as main is done and cancels what is left. Main's done
    // callback does it on the runtime, right after the steps already queued (asyncio's order, on
    // one worker); left to shutdown() alone, the leftovers would run on meanwhile -- in virtual
    // time the clock could even jump to their timers -- or, cancelled from this thread, lose the
    // step asyncio gives them. So the callback goes on before main can run, and we wait for it.
    Future<> until;  // made outside any runtime: completes inline
    task.add_done_callback([&scheduler, until, cancel_leftovers](Task<R>&) mutable {
      if (cancel_leftovers) detail::cancel_all_tasks(scheduler);
      until.set_result();
    });
    detail::SigintScope sigint;  // before main can run: its Ctrl-C must find the handler
    detail::submit_task(scheduler, *state, true);
    wait_for_main(until.core(), task.core(), sigint);
    return task;
  }

  RunOptions options_;
  State state_ = State::created;
  std::unique_ptr<Runtime> runtime_;
  detail::ContextStatePtr context_;  // the runs' Context (asyncio's Runner._context)
  int interrupt_count_ = 0;
};

namespace detail {
struct RunAccess {
  template <class C>
  static auto run(C&& main, RunOptions options) {
    Runner runner(options);
    auto task = runner.start_and_wait(std::forward<C>(main), nullptr, "weft::run()", true);
    runner.close();
    return Runner::finish(task);
  }
};
}  // namespace detail

// asyncio.run(main): a Runner for one main. Makes a runtime, runs `main` (a coroutine or a
// callable) as a task in a copy of the caller's Context, returns its result or rethrows its
// exception; as soon as main is done cancels the tasks left over, then awaits them, shuts down
// the to_thread pool and joins the workers. Ctrl-C as Runner::run.
template <class C>
auto run(C&& main, RunOptions options = {}) {
  return detail::RunAccess::run(std::forward<C>(main), options);
}

}  // namespace weft
