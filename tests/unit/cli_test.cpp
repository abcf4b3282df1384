// The command line: parsing, sizes, resolving the command to run, exit
// statuses, and the real binary's behaviour on the errors that need no root.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/options.h"
#include "cli_support.h"
#include "proc/command_launcher.h"
#include "support/files.h"
#include "support/subprocess.h"
#include "util/error.h"

using namespace pagetrace;
using pagetrace::test::parse;
using pagetrace::test::Parsed;
using pagetrace::test::RunResult;
using pagetrace::test::TempDir;
using pagetrace::test::wait_status_of_child;

TEST(CommandLine, TraceACommand) {
    const Parsed p = parse({"trace", "--", "/bin/true"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.subcommand, Subcommand::Trace);
    EXPECT_EQ(p.cli.trace.command, (std::vector<std::string>{"/bin/true"}));
    EXPECT_TRUE(p.cli.trace.pids.empty());
    // Defaults a user gets without asking.
    EXPECT_EQ(p.cli.trace.format, OutputFormat::Text);
    EXPECT_TRUE(p.cli.trace.follow_children);
    EXPECT_EQ(p.cli.trace.ring_bytes, 16ull << 20);
    EXPECT_EQ(p.cli.trace.output_path, "");
    EXPECT_EQ(p.cli.trace.user, "");
    EXPECT_EQ(p.cli.verbosity, 0);
    EXPECT_EQ(p.out, "");
    EXPECT_EQ(p.err, "");
}

TEST(CommandLine, CommandArgumentsAreNotPagetraceOptions) {
    const Parsed p = parse({"trace", "--", "ls", "-l", "-p", "3", "--format", "xml", "--"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.trace.command,
              (std::vector<std::string>{"ls", "-l", "-p", "3", "--format", "xml", "--"}));
    EXPECT_TRUE(p.cli.trace.pids.empty());
    EXPECT_EQ(p.cli.trace.format, OutputFormat::Text);
}

TEST(CommandLine, Pids) {
    const Parsed p = parse({"trace", "-p", "12,34"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.trace.pids, (std::vector<pid_t>{12, 34}));
    EXPECT_TRUE(p.cli.trace.command.empty());

    const Parsed repeated = parse({"trace", "--pid", "5", "-p", "6"});
    ASSERT_EQ(repeated.status, -1) << repeated.err;
    EXPECT_EQ(repeated.cli.trace.pids, (std::vector<pid_t>{5, 6}));
}

TEST(CommandLine, BadPids) {
    EXPECT_EQ(parse({"trace", "-p", "0"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "-p", "-5"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "-p", "abc"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "-p", "12,x"}).status, kExitUsage);
}

TEST(CommandLine, NothingToTrace) {
    const Parsed p = parse({"trace"});
    EXPECT_EQ(p.status, kExitUsage);
    EXPECT_NE(p.err.find("nothing to trace"), std::string::npos) << p.err;
}

TEST(CommandLine, NoSubcommandIsAUsageError) {
    const Parsed p = parse({});
    EXPECT_EQ(p.status, kExitUsage);
    EXPECT_NE(p.err, "");
    EXPECT_EQ(parse({"frobnicate"}).status, kExitUsage);
}

TEST(CommandLine, PidsAndCommandAreExclusive) {
    const Parsed p = parse({"trace", "-p", "1", "--", "ls"});
    EXPECT_EQ(p.status, kExitUsage);
    EXPECT_NE(p.err, "");
}

TEST(CommandLine, UserOnlyWithACommand) {
    EXPECT_EQ(parse({"trace", "--user", "nobody", "-p", "1"}).status, kExitUsage);
    const Parsed p = parse({"trace", "--user", "nobody", "--", "id"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.trace.user, "nobody");
}

TEST(CommandLine, Format) {
    EXPECT_EQ(parse({"trace", "--format", "xml", "--", "ls"}).status, kExitUsage);
    const Parsed json = parse({"trace", "--format", "json", "--", "ls"});
    ASSERT_EQ(json.status, -1) << json.err;
    EXPECT_EQ(json.cli.trace.format, OutputFormat::Json);
    const Parsed text = parse({"trace", "--format", "text", "--", "ls"});
    ASSERT_EQ(text.status, -1) << text.err;
    EXPECT_EQ(text.cli.trace.format, OutputFormat::Text);
}

TEST(CommandLine, RingSize) {
    const Parsed p = parse({"trace", "--ring-size", "16M", "--", "ls"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.trace.ring_bytes, 16ull << 20);

    const Parsed smallest = parse({"trace", "--ring-size", "4K", "--", "ls"});
    ASSERT_EQ(smallest.status, -1) << smallest.err;
    EXPECT_EQ(smallest.cli.trace.ring_bytes, 4096u);

    const Parsed largest = parse({"trace", "--ring-size", "2G", "--", "ls"});
    ASSERT_EQ(largest.status, -1) << largest.err;
    EXPECT_EQ(largest.cli.trace.ring_bytes, 2ull << 30);
}

TEST(CommandLine, BadRingSizes) {
    const Parsed not_power = parse({"trace", "--ring-size", "3M", "--", "ls"});
    EXPECT_EQ(not_power.status, kExitUsage);
    EXPECT_NE(not_power.err.find("power of two"), std::string::npos) << not_power.err;
    EXPECT_EQ(parse({"trace", "--ring-size", "2K", "--", "ls"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "--ring-size", "4G", "--", "ls"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "--ring-size", "0", "--", "ls"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "--ring-size", "16X", "--", "ls"}).status, kExitUsage);
    EXPECT_EQ(parse({"trace", "--ring-size", "lots", "--", "ls"}).status, kExitUsage);
}

TEST(CommandLine, TopLevelHelp) {
    const Parsed p = parse({"--help"});
    EXPECT_EQ(p.status, 0);
    EXPECT_NE(p.out.find("trace"), std::string::npos) << p.out;
    EXPECT_EQ(p.err, "");
}

TEST(CommandLine, TraceHelpHasExamples) {
    const Parsed p = parse({"trace", "--help"});
    EXPECT_EQ(p.status, 0);
    EXPECT_NE(p.out.find("Examples"), std::string::npos) << p.out;
    EXPECT_NE(p.out.find("--ring-size"), std::string::npos) << p.out;
    EXPECT_EQ(p.err, "");
}

TEST(CommandLine, Version) {
    const Parsed p = parse({"--version"});
    EXPECT_EQ(p.status, 0);
    EXPECT_EQ(p.out.rfind("pagetrace ", 0), 0u) << p.out;
}

TEST(CommandLine, NoFollow) {
    const Parsed p = parse({"trace", "--no-follow", "-p", "7"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_FALSE(p.cli.trace.follow_children);
}

TEST(CommandLine, FaultOutcomeIsOnUnlessAskedOff) {
    EXPECT_TRUE(parse({"trace", "-p", "7"}).cli.trace.fault_outcome);
    const Parsed p = parse({"record", "-o", "/tmp/x.ptr", "--no-fault-outcome", "-p", "7"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_FALSE(p.cli.record.fault_outcome);
}

TEST(CommandLine, VerbosityCounts) {
    EXPECT_EQ(parse({"-v", "trace", "-p", "1"}).cli.verbosity, 1);
    EXPECT_EQ(parse({"-v", "-v", "trace", "-p", "1"}).cli.verbosity, 2);
    EXPECT_EQ(parse({"-vv", "trace", "-p", "1"}).cli.verbosity, 2);
    EXPECT_EQ(parse({"--verbose", "trace", "-p", "1"}).cli.verbosity, 1);
    // Also accepted after the subcommand.
    const Parsed after = parse({"trace", "-v", "-p", "1"});
    ASSERT_EQ(after.status, -1) << after.err;
    EXPECT_EQ(after.cli.verbosity, 1);
}

TEST(CommandLine, OutputAndBtf) {
    const Parsed p = parse({"trace", "-o", "/tmp/out.txt", "--btf", "/bin/sh", "-p", "1"});
    ASSERT_EQ(p.status, -1) << p.err;
    EXPECT_EQ(p.cli.trace.output_path, "/tmp/out.txt");
    EXPECT_EQ(p.cli.trace.btf_path, "/bin/sh");
    EXPECT_EQ(parse({"trace", "--btf", "/no/such/btf", "-p", "1"}).status, kExitUsage);
}

TEST(ParseSize, PlainAndUnits) {
    EXPECT_EQ(parse_size("0"), 0u);
    EXPECT_EQ(parse_size("4096"), 4096u);
    EXPECT_EQ(parse_size("4096b"), 4096u);
    EXPECT_EQ(parse_size("1K"), 1024u);
    EXPECT_EQ(parse_size("1k"), 1024u);
    EXPECT_EQ(parse_size("8KB"), 8192u);
    EXPECT_EQ(parse_size("8KiB"), 8192u);
    EXPECT_EQ(parse_size("64M"), 64ull << 20);
    EXPECT_EQ(parse_size("16MiB"), 16ull << 20);
    EXPECT_EQ(parse_size("16mb"), 16ull << 20);
    EXPECT_EQ(parse_size("1g"), 1ull << 30);
    EXPECT_EQ(parse_size("3GiB"), 3ull << 30);
    EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
    EXPECT_EQ(parse_size("17179869183G"), 17179869183ull << 30);  // largest that fits
}

TEST(ParseSize, Rejects) {
    EXPECT_THROW(parse_size(""), std::invalid_argument);
    EXPECT_THROW(parse_size("M"), std::invalid_argument);
    EXPECT_THROW(parse_size("abc"), std::invalid_argument);
    EXPECT_THROW(parse_size("12T"), std::invalid_argument);
    EXPECT_THROW(parse_size("12 M x"), std::invalid_argument);
    EXPECT_THROW(parse_size("1.5M"), std::invalid_argument);
    EXPECT_THROW(parse_size("17179869184G"), std::invalid_argument);  // overflows
    EXPECT_THROW(parse_size("99999999999999999999"), std::invalid_argument);
}

// std::stoull accepts a minus sign and wraps around: "-1" must not become 2^64-1.
TEST(ParseSize, RejectsNegativeNumbers) {
    EXPECT_THROW(parse_size("-1"), std::invalid_argument);
    EXPECT_THROW(parse_size("-4096"), std::invalid_argument);
}

TEST(ParseSize, MessageShowsTheText) {
    try {
        parse_size("12Q");
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("12Q"), std::string::npos) << e.what();
    }
}

// --- resolve_command ------------------------------------------------------

namespace {

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~ScopedEnv() {
        if (old_) {
            ::setenv(name_.c_str(), old_->c_str(), 1);
        } else {
            ::unsetenv(name_.c_str());
        }
    }

private:
    std::string name_;
    std::optional<std::string> old_;
};

int resolve_status(const std::string& program, std::string* message = nullptr) {
    try {
        resolve_command(program);
    } catch (const Error& e) {
        if (message) *message = e.what();
        return e.exit_code();
    }
    return 0;
}

}  // namespace

TEST(ResolveCommand, PathWithSlashIsUsedAsIs) {
    EXPECT_EQ(resolve_command("/bin/sh"), "/bin/sh");
}

TEST(ResolveCommand, NameIsSearchedInPath) {
    ScopedEnv path("PATH", "/no/such/dir:/bin:/usr/bin");
    EXPECT_EQ(resolve_command("sh"), "/bin/sh");
}

TEST(ResolveCommand, FirstExecutableInPathWins) {
    TempDir first;
    TempDir second;
    first.add_file("tool", 0644, "not executable\n");
    const std::string wanted = second.add_file("tool", 0755, "#!/bin/sh\n");
    ScopedEnv path("PATH", (first.path() + ":" + second.path()).c_str());
    EXPECT_EQ(resolve_command("tool"), wanted);
}

TEST(ResolveCommand, MissingIsNotFound) {
    std::string message;
    EXPECT_EQ(resolve_status("no-such-command-xyz", &message), kExitCommandNotFound);
    EXPECT_NE(message.find("no-such-command-xyz"), std::string::npos) << message;
    EXPECT_NE(message.find("command not found"), std::string::npos) << message;
    EXPECT_EQ(resolve_status("/no/such/dir/prog", &message), kExitCommandNotFound);
    EXPECT_NE(message.find("/no/such/dir/prog"), std::string::npos) << message;
}

TEST(ResolveCommand, NotExecutable) {
    TempDir dir;
    const std::string file = dir.add_file("data.txt", 0644, "hello\n");
    std::string message;
    EXPECT_EQ(resolve_status(file, &message), kExitCommandNotExecutable);
    EXPECT_NE(message.find(file), std::string::npos) << message;
    // A directory cannot be executed either.
    EXPECT_EQ(resolve_status(dir.path()), kExitCommandNotExecutable);
}

TEST(ResolveCommand, EmptyNameIsAUsageError) {
    EXPECT_EQ(resolve_status(""), kExitUsage);
}

// --- shell_exit_status ----------------------------------------------------

TEST(ShellExitStatus, Exited) {
    EXPECT_EQ(shell_exit_status(W_EXITCODE(0, 0)), 0);
    EXPECT_EQ(shell_exit_status(W_EXITCODE(3, 0)), 3);
    EXPECT_EQ(shell_exit_status(W_EXITCODE(255, 0)), 255);
    EXPECT_EQ(shell_exit_status(wait_status_of_child([] { _exit(42); })), 42);
}

TEST(ShellExitStatus, Signalled) {
    EXPECT_EQ(shell_exit_status(W_EXITCODE(0, SIGKILL)), 128 + SIGKILL);
    EXPECT_EQ(shell_exit_status(W_EXITCODE(0, SIGSEGV) | 0x80), 128 + SIGSEGV);  // core
    EXPECT_EQ(shell_exit_status(wait_status_of_child([] {
                  ::signal(SIGTERM, SIG_DFL);
                  ::raise(SIGTERM);
              })),
              128 + SIGTERM);
}

// --- LaunchedCommand (no tracing involved) ---------------------------------

TEST(LaunchedCommand, PassesTheExitStatusThrough) {
    LaunchedCommand cmd({"/bin/sh", "-c", "exit 7"}, std::nullopt);
    EXPECT_GT(cmd.pid(), 0);
    cmd.release();
    EXPECT_EQ(cmd.wait_exit(), 7);
    EXPECT_EQ(cmd.poll_exit(), std::optional<int>(7));
}

TEST(LaunchedCommand, ChildDoesNotRunBeforeRelease) {
    TempDir dir;
    const std::string marker = dir.path() + "/ran";
    LaunchedCommand cmd({"/bin/sh", "-c", "echo x > " + marker}, std::nullopt);
    ::usleep(50'000);
    EXPECT_NE(::access(marker.c_str(), F_OK), 0) << "the command ran before release()";
    EXPECT_EQ(cmd.poll_exit(), std::nullopt);
    cmd.release();
    EXPECT_EQ(cmd.wait_exit(), 0);
    EXPECT_EQ(::access(marker.c_str(), F_OK), 0);
    ::unlink(marker.c_str());
}

TEST(LaunchedCommand, SignalledCommandGivesShellStatus) {
    LaunchedCommand cmd({"/bin/sh", "-c", "kill -KILL $$"}, std::nullopt);
    cmd.release();
    EXPECT_EQ(cmd.wait_exit(), 128 + SIGKILL);
}

TEST(LaunchedCommand, MissingCommandFailsBeforeForking) {
    try {
        LaunchedCommand cmd({"/no/such/program-xyz"}, std::nullopt);
        FAIL() << "starting a missing command did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), kExitCommandNotFound);
        EXPECT_NE(std::string(e.what()).find("/no/such/program-xyz"), std::string::npos);
    }
}

// An executable file the kernel cannot run (no ELF header, no #!) fails inside
// the child's execve; release() reports it like a shell would: 126.
TEST(LaunchedCommand, ExecFailureInTheChildIsReportedAtRelease) {
    char path[] = "/tmp/pagetrace-noexec-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, "garbage\n", 8), 8);
    close(fd);
    ASSERT_EQ(chmod(path, 0755), 0);
    LaunchedCommand cmd({path}, std::nullopt);
    try {
        cmd.release();
        ADD_FAILURE() << "release() did not throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.exit_code(), kExitCommandNotExecutable);
        EXPECT_NE(std::string(e.what()).find("Exec format error"), std::string::npos) << e.what();
    }
    unlink(path);
}

// --- The pagetrace binary ---------------------------------------------------

namespace {

// These paths never take long: a run that does is killed and fails the test.
RunResult run_pagetrace(const std::vector<std::string>& args) {
    return pagetrace::test::run_pagetrace(args, {.timeout_s = 10});
}

}  // namespace

TEST(PagetraceBinary, CommandNotFound) {
    const RunResult r = run_pagetrace({"trace", "--", "no-such-command-xyz"});
    EXPECT_EQ(r.status, kExitCommandNotFound) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find("command not found"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("no-such-command-xyz"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(PagetraceBinary, CommandNotExecutable) {
    TempDir dir;
    const std::string file = dir.add_file("data.txt", 0644, "hello\n");
    const RunResult r = run_pagetrace({"trace", "--", file});
    EXPECT_EQ(r.status, kExitCommandNotExecutable) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "");
}

TEST(PagetraceBinary, UsageErrors) {
    const RunResult none = run_pagetrace({});
    EXPECT_EQ(none.status, kExitUsage);
    EXPECT_NE(none.err, "");
    EXPECT_EQ(run_pagetrace({"trace"}).status, kExitUsage);
    EXPECT_EQ(run_pagetrace({"trace", "--format", "xml", "-p", "1"}).status, kExitUsage);
    EXPECT_EQ(run_pagetrace({"--no-such-option"}).status, kExitUsage);
}

TEST(PagetraceBinary, Version) {
    const RunResult r = run_pagetrace({"--version"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.rfind("pagetrace ", 0), 0u) << r.out;
}

TEST(PagetraceBinary, Help) {
    const RunResult r = run_pagetrace({"trace", "--help"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("Examples"), std::string::npos) << r.out;
}
