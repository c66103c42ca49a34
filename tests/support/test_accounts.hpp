#pragma once
// Accounts for tests that need users but not sign-in: a cheap password hasher and users created
// straight in the store.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "auth/password_hasher.hpp"
#include "auth/user_store.hpp"

namespace parley::testing {

/// bcrypt at its lowest cost: fast, and never for production.
inline auth::PasswordHasher cheap_hasher() {
  auth::PasswordHasherOptions options;
  options.cost = 4;
  return auth::PasswordHasher::insecure_for_tests(options);
}

/// A user `name` (name@example.test, no usable password); its id, or 0 after a test failure.
inline std::int64_t create_user(auth::UserStore& users, const std::string& name) {
  auth::NewUser input;
  input.email = name + "@example.test";
  input.username = name;
  input.password_hash = "x";
  auto created = users.create(input);
  EXPECT_TRUE(created) << created.error().message;
  return created ? created->id : 0;
}

}  // namespace parley::testing
