#pragma once
// Backend-neutral values, rows and typed column access for the storage layer.
// No sqlite3 or libpq type appears here: services and repositories see only these.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.hpp"

namespace parley::store {

/// SQL NULL.
using Null = std::monostate;
inline constexpr Null null_value{};

/// Binary data (SQLite BLOB, PostgreSQL BYTEA). May contain zero bytes.
using Blob = std::vector<std::byte>;

/// One SQL value. Integers are always 64-bit, floating point is double, text is UTF-8.
/// Booleans are stored as INTEGER 0/1 (see Row::get<bool>), times as BIGINT unix milliseconds.
using Value = std::variant<Null, std::int64_t, double, std::string, Blob>;

/// Name of the alternative a Value holds ("null", "integer", "real", "text", "blob"): for errors.
std::string_view type_name(const Value& value) noexcept;

/// Makes a blob Value from raw bytes.
Blob to_blob(std::string_view bytes);

/// NULL when the optional is empty, else the contained value.
template <class T>
Value nullable(const std::optional<T>& value) {
  if (!value) return Value{null_value};
  return Value{*value};
}

namespace detail {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {
  using type = T;
};

/// Converts one column value to T. Supported: std::int64_t, int, bool (0/1), double (integers
/// widen), std::string, Blob, and std::optional of any of these (NULL -> nullopt).
template <class T>
Result<T> convert(const Value& value, std::string_view column) {
  if constexpr (IsOptional<T>::value) {
    using Inner = typename IsOptional<T>::type;
    if (std::holds_alternative<Null>(value)) return T{std::nullopt};
    auto inner = convert<Inner>(value, column);
    if (!inner) return inner.error();
    return T{std::move(*inner)};
  } else {
    auto mismatch = [&](std::string_view expected) {
      return fail(Errc::internal, "column '" + std::string(column) + "' holds " +
                                      std::string(type_name(value)) + ", expected " +
                                      std::string(expected));
    };
    if constexpr (std::is_same_v<T, std::int64_t>) {
      if (const auto* v = std::get_if<std::int64_t>(&value)) return *v;
      return mismatch("integer");
    } else if constexpr (std::is_same_v<T, int>) {
      if (const auto* v = std::get_if<std::int64_t>(&value)) {
        if (*v < std::numeric_limits<int>::min() || *v > std::numeric_limits<int>::max()) {
          return fail(Errc::internal, "column '" + std::string(column) + "' is out of int range");
        }
        return static_cast<int>(*v);
      }
      return mismatch("integer");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (const auto* v = std::get_if<std::int64_t>(&value)) {
        if (*v == 0 || *v == 1) return *v == 1;
        return fail(Errc::internal, "column '" + std::string(column) + "' is not 0/1");
      }
      return mismatch("boolean (0/1)");
    } else if constexpr (std::is_same_v<T, double>) {
      if (const auto* v = std::get_if<double>(&value)) return *v;
      if (const auto* v = std::get_if<std::int64_t>(&value)) return static_cast<double>(*v);
      return mismatch("real");
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (const auto* v = std::get_if<std::string>(&value)) return *v;
      return mismatch("text");
    } else if constexpr (std::is_same_v<T, Blob>) {
      if (const auto* v = std::get_if<Blob>(&value)) return *v;
      return mismatch("blob");
    } else {
      static_assert(sizeof(T) == 0, "unsupported column type for Row::get");
    }
  }
}

}  // namespace detail

/// One result row. Cheap to move; shares the column names with the other rows of its result.
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
      : columns_(std::move(columns)), values_(std::move(values)) {}

  [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
  [[nodiscard]] const std::vector<std::string>& columns() const noexcept { return *columns_; }
  [[nodiscard]] const std::vector<Value>& values() const noexcept { return values_; }

  /// The value at `index`. Precondition: index < size() (checked with an assertion only).
  [[nodiscard]] const Value& operator[](std::size_t index) const noexcept { return values_[index]; }

  /// Index of the first column called `name`, or nullopt.
  [[nodiscard]] std::optional<std::size_t> index_of(std::string_view name) const noexcept;

  /// The value of column `name`, or nullptr if there is no such column.
  [[nodiscard]] const Value* find(std::string_view name) const noexcept;

  /// Typed read by index. Errors: Errc::internal when the index is out of range or the stored
  /// type does not convert to T (a schema/query bug, not a user error).
  template <class T>
  [[nodiscard]] Result<T> get(std::size_t index) const {
    if (index >= values_.size()) {
      return fail(Errc::internal, "column index " + std::to_string(index) + " out of range");
    }
    return detail::convert<T>(values_[index], (*columns_)[index]);
  }

  /// Typed read by column name. Errors: as get(index), and Errc::internal for an unknown column.
  template <class T>
  [[nodiscard]] Result<T> get(std::string_view name) const {
    auto index = index_of(name);
    if (!index) return fail(Errc::internal, "no column '" + std::string(name) + "' in result");
    return detail::convert<T>(values_[*index], name);
  }

  /// Typed read that folds every failure (missing column, NULL, wrong type) into nullopt.
  template <class T>
  [[nodiscard]] std::optional<T> try_get(std::string_view name) const {
    auto index = index_of(name);
    if (!index) return std::nullopt;
    auto value = detail::convert<std::optional<T>>(values_[*index], name);
    if (!value) return std::nullopt;
    return std::move(*value);
  }

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

/// The rows of one query, in order, with the result's column names (known even with no rows).
class Rows {
 public:
  Rows() : columns_(std::make_shared<const std::vector<std::string>>()) {}
  Rows(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Row> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}

  [[nodiscard]] const std::vector<std::string>& columns() const noexcept { return *columns_; }
  [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }
  [[nodiscard]] bool empty() const noexcept { return rows_.empty(); }
  [[nodiscard]] const Row& operator[](std::size_t index) const noexcept { return rows_[index]; }
  [[nodiscard]] auto begin() const noexcept { return rows_.begin(); }
  [[nodiscard]] auto end() const noexcept { return rows_.end(); }

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Row> rows_;
};

}  // namespace parley::store
