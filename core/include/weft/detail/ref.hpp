// Internal: Ref<T>, a counted reference to an object that keeps its own count -- a future or a
// task (FutureCore and what derives from it). What std::shared_ptr would do, without the second
// block or the second pointer per handle, the weak count, or enable_shared_from_this's 16 bytes
// in every object: a task is one block, and a handle on it is one pointer.
//
// The object gives three members (FutureCore's, future_core.hpp, where the memory orders are
// said): add_ref(), release_ref() (which deletes it at zero), and try_add_ref() (false once the
// count has reached zero: what weak_ptr::lock was for, on an object found through a plain pointer
// that may be dying).
#pragma once

#include <concepts>
#include <cstddef>
#include <functional>
#include <utility>

namespace weft::detail {

template <class T>
class Ref {
 public:
  Ref() noexcept = default;
  Ref(std::nullptr_t) noexcept {}  // NOLINT: as shared_ptr's
  // A new reference to `object` (null gives an empty Ref).
  explicit Ref(T* object) noexcept : object_(object) {
    if (object_) object_->add_ref();
  }
  // Takes over a reference the caller already counted (a new object's first one, or one taken
  // with try_add_ref).
  static Ref adopt(T* object) noexcept {
    Ref ref;
    ref.object_ = object;
    return ref;
  }
  Ref(const Ref& other) noexcept : Ref(other.object_) {}
  Ref(Ref&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  template <class U>
  requires std::convertible_to<U*, T*> Ref(const Ref<U>& other)
  noexcept : Ref(static_cast<T*>(other.get())) {}  // NOLINT
  template <class U>
  requires std::convertible_to<U*, T*> Ref(Ref<U>&& other)
  noexcept : object_(other.leak()) {}  // NOLINT
  ~Ref() {
    if (object_) object_->release_ref();
  }
  Ref& operator=(Ref other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }

  T* get() const noexcept { return object_; }
  T& operator*() const noexcept { return *object_; }
  T* operator->() const noexcept { return object_; }
  explicit operator bool() const noexcept { return object_ != nullptr; }
  void reset() noexcept { Ref().swap(*this); }
  void swap(Ref& other) noexcept { std::swap(object_, other.object_); }
  // Gives up the reference without releasing it: the caller now owns that count (adopt() takes
  // it back).
  [[nodiscard]] T* leak() noexcept { return std::exchange(object_, nullptr); }

  template <class U>
  friend bool operator==(const Ref& a, const Ref<U>& b) noexcept {
    return a.get() == b.get();
  }
  friend bool operator==(const Ref& a, std::nullptr_t) noexcept { return !a.object_; }
  // An order by address, for sorting and sets (std::less: a total order on pointers).
  friend bool operator<(const Ref& a, const Ref& b) noexcept {
    return std::less<T*>()(a.object_, b.object_);
  }

 private:
  T* object_ = nullptr;
};

// A new object, holding its first reference (an object is born with a count of one).
template <class T, class... A>
Ref<T> make_ref(A&&... args) {
  return Ref<T>::adopt(new T(std::forward<A>(args)...));
}

// static_pointer_cast's counterpart: the same object, seen as a `T`.
template <class T, class U>
Ref<T> static_ref_cast(Ref<U> ref) noexcept {
  return Ref<T>::adopt(static_cast<T*>(ref.leak()));
}

// A reference to an object found through a plain pointer, if it is still alive (not yet at a
// count of zero); empty otherwise.
template <class T>
Ref<T> try_ref(T* object) noexcept {
  return object && object->try_add_ref() ? Ref<T>::adopt(object) : Ref<T>();
}

}  // namespace weft::detail
