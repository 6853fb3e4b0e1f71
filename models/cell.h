/// \file
/// State, the Cell concept and AnyCell. A cell is any value type with
/// \code{.cpp}
///   State Step(Graph& g, Expr x, const State& s) const;   // x [B,I], s.h [B,H] -> next state
///   State ZeroState(Graph& g, int64_t batch) const;       // zeros in the parameters' dtype
///   int64_t hidden_size() const;
/// \endcode
/// Unroll, the stacks and the truncated-BPTT helper accept any Cell; AnyCell holds one chosen
/// at run time (a copyable value, like std::function).
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "graph/expr.h"
#include "graph/graph.h"

namespace tg {

/// A recurrent state: h [B,H]; c [B,H] for LSTM-like cells, an empty Expr (valid() false)
/// for RNN and GRU.
struct State {
  Expr h = {};  ///< Hidden state [B,H].
  Expr c = {};  ///< Cell state [B,H], or empty.
};

/// A recurrent cell: Step, ZeroState and hidden_size as in models/cell.h.
template <class C>
concept Cell = requires(const C& cell, Graph& g, Expr x, const State& s, int64_t batch) {
  { cell.Step(g, x, s) } -> std::convertible_to<State>;
  { cell.ZeroState(g, batch) } -> std::convertible_to<State>;
  { cell.hidden_size() } -> std::convertible_to<int64_t>;
};

/// Holds any Cell by value (type erasure); copying copies the cell (cells are cheap handles
/// to parameters, so this is cheap too). A default-constructed AnyCell is empty.
class AnyCell {
 public:
  /// Empty: Step, ZeroState and hidden_size must not be called.
  AnyCell() = default;
  /// Holds a copy of `cell` (any Cell but an AnyCell); converts implicitly.
  template <class C>
  requires(!std::same_as<std::remove_cvref_t<C>, AnyCell> && Cell<std::remove_cvref_t<C>>) AnyCell(
      C&& cell)  // NOLINT(google-explicit-constructor): any cell converts, as to std::function
      : impl_(std::make_unique<Model<std::remove_cvref_t<C>>>(std::forward<C>(cell))) {}
  /// Holds a copy of `other`'s cell.
  AnyCell(const AnyCell& other) : impl_(other.impl_ ? other.impl_->Clone() : nullptr) {}
  /// Takes `other`'s cell, leaving it empty.
  AnyCell(AnyCell&&) noexcept = default;
  /// Holds a copy of `other`'s cell.
  AnyCell& operator=(const AnyCell& other) {
    if (this != &other) impl_ = other.impl_ ? other.impl_->Clone() : nullptr;
    return *this;
  }
  /// Takes `other`'s cell, leaving it empty.
  AnyCell& operator=(AnyCell&&) noexcept = default;

  /// Whether it holds no cell.
  bool empty() const { return impl_ == nullptr; }
  /// The held cell's Step.
  State Step(Graph& g, Expr x, const State& s) const { return impl_->Step(g, x, s); }
  /// The held cell's ZeroState.
  State ZeroState(Graph& g, int64_t batch) const { return impl_->ZeroState(g, batch); }
  /// The held cell's hidden_size.
  int64_t hidden_size() const { return impl_->hidden_size(); }

  /// The held cell if it is a C, else nullptr.
  template <class C>
  const C* As() const {
    auto* m = dynamic_cast<const Model<C>*>(impl_.get());
    return m == nullptr ? nullptr : &m->cell;
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual std::unique_ptr<Concept> Clone() const = 0;
    virtual State Step(Graph& g, Expr x, const State& s) const = 0;
    virtual State ZeroState(Graph& g, int64_t batch) const = 0;
    virtual int64_t hidden_size() const = 0;
  };
  template <class C>
  struct Model final : Concept {
    explicit Model(C c) : cell(std::move(c)) {}
    std::unique_ptr<Concept> Clone() const override { return std::make_unique<Model>(cell); }
    State Step(Graph& g, Expr x, const State& s) const override { return cell.Step(g, x, s); }
    State ZeroState(Graph& g, int64_t batch) const override { return cell.ZeroState(g, batch); }
    int64_t hidden_size() const override { return cell.hidden_size(); }
    C cell;
  };

  std::unique_ptr<Concept> impl_;
};

static_assert(Cell<AnyCell>);

}  // namespace tg
