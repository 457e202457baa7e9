// The device identity and the group key, kept in the state directory.
#pragma once

#include <optional>
#include <string>

#include "core/device_id.hpp"

namespace cascade::app {

// A fresh group key: "cas1-" and 52 base32 characters (32 random bytes from OpenSSL).
std::string generate_group_key();

// True if `key` has the form generate_group_key makes.
bool valid_group_key(const std::string& key);

// The group's public tag for mDNS TXT records: a different hash from the proof, so that
// publishing it lets nobody in.
std::string group_tag(const std::string& key);

struct identity {
  core::device_id id{};    // SHA-256 of the Ed25519 public key
  std::string private_pem; // PKCS#8
};

// Loads `state/identity` (an Ed25519 private key), creating it (0600) on first use.
// Throws std::runtime_error.
identity load_or_create_identity(const std::string& state_dir);

// The group key from --key, --key-file or `state/group.key`; a new one is made and stored
// if there is none (`created` is set then). Throws std::runtime_error with a message for the user.
std::string resolve_group_key(const std::optional<std::string>& key,
                              const std::optional<std::string>& key_file,
                              const std::string& state_dir, bool& created);

} // namespace cascade::app
