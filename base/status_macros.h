/// \file
/// Early-return macros for absl::Status and absl::StatusOr, for functions that return a
/// Status or a StatusOr themselves.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

/// Evaluates `expr` (an absl::Status) and returns it from the enclosing function if it is
/// not OK.
#define TG_RETURN_IF_ERROR(expr)                   \
  do {                                             \
    ::absl::Status tg_status_ = (expr);            \
    if (!tg_status_.ok()) return tg_status_;       \
  } while (false)

/// \cond INTERNAL
#define TG_CONCAT_INNER(a, b) a##b
#define TG_CONCAT(a, b) TG_CONCAT_INNER(a, b)
/// \endcond

/// Evaluates `expr` (an absl::StatusOr): returns its error from the enclosing function if it
/// has one, else moves its value into `lhs`, which may declare a variable
/// (`TG_ASSIGN_OR_RETURN(Parameter w, store.Add(...));`). It expands to several
/// statements, so it cannot be the unbraced body of an `if`.
#define TG_ASSIGN_OR_RETURN(lhs, expr) \
  TG_ASSIGN_OR_RETURN_IMPL(TG_CONCAT(tg_statusor_, __LINE__), lhs, expr)

/// \cond INTERNAL
#define TG_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                             \
  if (!statusor.ok()) return statusor.status();       \
  lhs = std::move(statusor).value()
/// \endcond
