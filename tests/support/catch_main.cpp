// The test programs' main: Catch2's, run with a data directory of its own.
// Every `chat serve` a test starts keeps its database under
// $XDG_DATA_HOME/chat (docs: chat serve --db), so each test program (ctest
// runs one test case per process) gets a fresh empty XDG_DATA_HOME, and
// nothing a test stores reaches the user's own or another test's history.

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

int main(int argc, char* argv[]) {
    char pattern[] = "/tmp/chat-test-data-XXXXXX";
    const char* dir = ::mkdtemp(pattern);
    if (!dir) {
        std::perror("mkdtemp");
        return 2;
    }
    ::setenv("XDG_DATA_HOME", dir, 1);
    ::setenv("XDG_RUNTIME_DIR", dir, 1);  // guest keys (client/guest_keys.hpp) stay in the test too
    const int result = Catch::Session().run(argc, argv);
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    return result;
}
