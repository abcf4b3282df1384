// Errors that end a command. Modules throw pagetrace::Error at their boundary,
// with errno converted once and the context a user needs; only main() turns
// one into a message and an exit status.
#pragma once

#include <stdexcept>
#include <string>

namespace pagetrace {

// Exit statuses of the pagetrace binary (besides the traced command's own).
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitCommandNotExecutable = 126;
inline constexpr int kExitCommandNotFound = 127;

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message, int exit_code = kExitFailure)
        : std::runtime_error(message), exit_code_(exit_code) {}

    int exit_code() const { return exit_code_; }

private:
    int exit_code_;
};

// "what: strerror(errnum)"
std::string errno_message(const std::string& what, int errnum);

// "ENOMEM" for ENOMEM; "E<n>" for numbers glibc has no name for.
std::string errno_name(int errnum);

// "SIGKILL" for SIGKILL; "SIG<n>" for unknown numbers.
std::string signal_name(int signum);

}  // namespace pagetrace
